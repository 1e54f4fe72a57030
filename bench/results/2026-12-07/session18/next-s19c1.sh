#!/usr/bin/env bash
# Prepared for session 19 (not run). Copy to .peers/ and run with carry ["build/lib", "build/bin/flashcore-gen",
# ".peers"]. Any GPU (~450 s): prefetch_tensormaps (new in session 18, never run on a GPU) -- correctness on the
# feature suite, then paired timings where a CTA's first loads weigh most: the short decode rows and the short forward
# rows. If it pays, set it on the entries it helps (or make it the default) and rerun the tables.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
FEATURE_VARIANTS="prefetch_tensormaps=true" FEATURE_TIMEOUT=200 FEATURE_RANDOM=2 timeout 210 \
  bash tests/gpu/device_run.sh featvar 2>&1 | grep -E "FAIL|cases passed|override" | tail -6
DECODE_VARIANTS="-;prefetch_tensormaps=true;-;prefetch_tensormaps=true" DECODE_T=40 \
  DECODE_SWEEP_ARGS="--rows 8,8,8192;8,64,1024;32,8,1024;8,1,8192;32,128,1024 --splits 0" \
  timeout 200 bash tests/gpu/device_run.sh decodesweep 2>&1 | grep -E "^\{|^---" | cut -c1-200
for h in 64 128; do timeout 90 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so \
  --self --after-schedule prefetch_tensormaps=true --dtypes bf16 --hdims $h --causal no,yes --seqlens 512,1024,8192 \
  --repeats 5 --json $OUT/prefetch-d$h.json 2>&1 | grep -E "^\||geomean"; done
# The dynamic scheduler's self-resetting counter (new in session 18, default path: memset + self-reset) and
# FLASHCORE_TILE_COUNTER=stream (no memset, no allocation): correctness with it on, then paired timings.
FLASHCORE_TILE_COUNTER=stream timeout 200 python3 tests/gpu/test_features.py --random 2 2>&1 | grep -E "FAIL|cases passed"
FLASHCORE_TILE_COUNTER=stream timeout 150 python3 tests/gpu/test_python_api.py 2>&1 | grep -E "FAIL|checks passed"
timeout 120 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-env FLASHCORE_TILE_COUNTER=stream --dtypes bf16 --hdims 64,128 --causal no,yes --seqlens 512,1024,2048 \
  --repeats 5 --json $OUT/tile-counter.json 2>&1 | grep -E "^\||geomean"
echo "wall $(( $(date +%s) - s )) s"
# Then, on an H200 (needs_h200: the 28-row grid's 32 / 128 / 32k row does not fit 80 GB), the decode table with
# session 17's rules on the issue's GPU (s18c9.sh), and the 72 rows with FA3 built from source:
#   BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench
