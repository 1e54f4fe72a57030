#!/usr/bin/env bash
# Prepared for session 16 (not run yet): the 72 protocol rows + GQA + odd lengths with session 15's d64 table
# (ping-pong over three warpgroups), FA3 built in the same call. Copy to .peers/ and run with
# carry ["build/lib", "build/bin/flashcore-gen", ".peers"]. ~540 s on an H100.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" timeout 590 bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench \
  2>&1 | grep -E "^\||geomean|GEMM|device|FA3" | tail -110
# Then, on an H200 if the pool gives one (decode has not run on an H200 since session 13):
#   FA3_MODE=decode bash tests/gpu/device_run.sh env fa3 pyinstall decodesass fa3wait decodebench
