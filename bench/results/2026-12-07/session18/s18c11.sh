#!/usr/bin/env bash
# Session 18 call 11: leader_waits=true (FA3: inside the ping-pong round robin only warpgroup 0 waits for K/V stages)
# on the non-causal ping-pong rows, alone and with edge_turns=false; the feature suite against fp64 with it.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
cl() { timeout $1 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule $2 --dtypes bf16 --hdims $3 --causal no --seqlens $4 --repeats 5 --json $OUT/$5.json > $OUT/$5.txt 2>&1; grep -E "^\||geomean|rror" $OUT/$5.txt | tail -9; echo "== $5 $(( $(date +%s) - s )) s"; }
cl 100 leader_waits=true 128 512,1024,2048,4096,8192,16384 leader-d128
cl 80 leader_waits=true 64 2048,4096,8192,16384 leader-d64
cl 80 leader_waits=true,edge_turns=false 128 1024,2048,4096,8192 leader-edge-d128
FEATURE_VARIANTS="leader_waits=true" FEATURE_TIMEOUT=200 FEATURE_RANDOM=2 timeout 210 bash tests/gpu/device_run.sh featvar 2>&1 | grep -E "FAIL|cases passed|override" | tail -8
echo "wall $(( $(date +%s) - s )) s"
