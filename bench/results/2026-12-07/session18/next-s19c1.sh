#!/usr/bin/env bash
# Prepared for session 19 (not run). Copy to .peers/ and run with carry ["build/lib", "build/bin/flashcore-gen",
# ".peers"] on an H200 (needs_h200: the 28-row grid's 32 / 128 / 32k row does not fit 80 GB):
# the decode table with session 17's dispatch rules on the GPU, FA3's decode build in the same call.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=400 DECODE_ARGS="--graphs" PYAPI_T=120 \
  timeout 560 bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL|FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -90
echo "wall $(( $(date +%s) - s )) s"
# Then, same machine: the 72 rows with FA3 built from source (session 17's call 3):
#   BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench
