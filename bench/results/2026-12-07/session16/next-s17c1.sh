#!/usr/bin/env bash
# Prepared for session 17 (not run yet). Copy to .peers/ and run with
# carry ["build/lib", "build/bin/flashcore-gen", ".peers"].
# 1. The d64 rows with session 16's table (dense-d64-causal-medium on the dynamic scheduler, trim_masked_blocks),
#    FA3 built in the same call (~250 s on an H100).
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
BENCH_ENV="REPEATS=5 HDIMS=64" timeout 400 bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench \
  > $OUT/bench-d64-log.txt 2>&1
grep -E "^\||geomean|device" $OUT/bench-d64-log.txt | tail -30
# 2. Then, on an H200 if the pool gives one (decode has not run on an H200 since session 13):
#   FA3_MODE=decode bash tests/gpu/device_run.sh env fa3 pyinstall decodesass fa3wait decodebench
