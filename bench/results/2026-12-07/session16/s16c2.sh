#!/usr/bin/env bash
# Session 16 call 1: SASS of the three-warpgroup ping-pong d64 kernels, then the 72 protocol rows + GQA + odd
# with session 15's table, FA3 built in the same call.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
S="block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma"
SASS_VARIANTS="bf16_d64.yaml@$S fp16_d64_causal.yaml@$S" timeout 40 bash tests/gpu/device_run.sh sassvar 2>&1 | tail -6
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" timeout 540 bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench \
  > $OUT/bench-log.txt 2>&1
grep -E "^\||geomean|GEMM|device|FA3" $OUT/bench-log.txt | tail -100
ls $OUT
