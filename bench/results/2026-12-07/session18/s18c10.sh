#!/usr/bin/env bash
# Session 18 call 10: edge_turns=false (FA3: a tile's first Q·Kᵀ and last P·V outside the ping-pong round robin):
# the feature suite against fp64 with it on every ping-pong entry, then compare_libs on the ping-pong rows.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
cl() { timeout $1 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule edge_turns=false --dtypes bf16 --hdims $2 --causal no,yes --seqlens $3 --repeats 5 --json $OUT/$4.json > $OUT/$4.txt 2>&1; grep -E "^\||geomean|rror" $OUT/$4.txt | tail -16; echo "== $4 $(( $(date +%s) - s )) s"; }
cl 150 128 512,1024,2048,4096,8192,16384 edge-d128
cl 90 64 2048,4096,8192,16384 edge-d64
FEATURE_VARIANTS="edge_turns=false" FEATURE_TIMEOUT=220 FEATURE_RANDOM=2 timeout 230 bash tests/gpu/device_run.sh featvar 2>&1 | tail -30
echo "wall $(( $(date +%s) - s )) s"
