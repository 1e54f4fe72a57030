#!/usr/bin/env bash
# Prepared in session 19, whose device calls never started; for session 20's first call (any GPU, < 600 s; copy
# to .peers/, carry ["build/lib", "build/bin/flashcore-gen", ".peers"]). Correctness first: the feature suite
# against fp64 with prefetch_tensormaps=true and FLASHCORE_TILE_COUNTER=stream at once (both new in session 18;
# every dynamic kernel also runs the self-resetting counter). Then paired timings: the per-stream tile counter (no
# memset or allocation per call), the decode L2 flush (zero vs clean, with the copy bandwidth of each), prefetch
# on decode rows and forward rows.
s=$(date +%s)
nvidia-smi --query-gpu=name --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
FLASHCORE_TILE_COUNTER=stream FEATURE_VARIANTS="prefetch_tensormaps=true" FEATURE_TIMEOUT=190 FEATURE_RANDOM=2 \
  timeout 195 bash tests/gpu/device_run.sh featvar 2>&1 | grep -E "FAIL|cases passed|override|rror" | tail -8
echo "== features $(( $(date +%s) - s )) s"
cl() { timeout $1 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self $2 \
  --dtypes bf16 --hdims 64,128 --causal no,yes --seqlens $3 --repeats 5 --json $OUT/$4.json 2>&1 \
  | grep -E "^\||geomean|rror" | tail -14; echo "== $4 $(( $(date +%s) - s )) s"; }
cl 100 "--after-env FLASHCORE_TILE_COUNTER=stream" 512,1024,2048 tile-counter
for f in zero clean; do timeout 45 python3 bench/decode_sweep.py --rows "8,8,8192;8,64,1024;32,8,32768" --splits 0 \
  --copy --flush $f --json $OUT/flush-$f.json 2>&1 | cut -c1-400; done
echo "== flush $(( $(date +%s) - s )) s"
DECODE_VARIANTS="-;prefetch_tensormaps=true;-;prefetch_tensormaps=true" DECODE_T=25 \
  DECODE_SWEEP_ARGS="--rows 8,8,8192;8,64,1024;8,1,8192 --splits 0" \
  timeout 110 bash tests/gpu/device_run.sh decodesweep 2>&1 | grep -E "^\{|^---" | cut -c1-200
echo "== decode prefetch $(( $(date +%s) - s )) s"
cl 90 "--after-schedule prefetch_tensormaps=true" 512,1024,4096 prefetch
echo "wall $(( $(date +%s) - s )) s"
