#!/usr/bin/env bash
# Session 17 call 2: SASS of the dense-d64-causal-medium kernel (three warpgroups, 128 keys, ping-pong, dynamic
# longest-first; not read on a GPU before), then the 72 protocol rows + GQA + odd lengths with the current table,
# FA3 built from source in the same call.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
M="block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma"
SASS_VARIANTS="fp16_d64_causal.yaml@$M,scheduler=dynamic_persistent,tile_order=longest_first fp16_d64_causal.yaml@$M" \
  timeout 40 bash tests/gpu/device_run.sh sassvar 2>&1 | tail -4
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" timeout 530 bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench \
  > $OUT/bench-log.txt 2>&1
grep -E "^\||geomean|GEMM|device|FA3" $OUT/bench-log.txt | tail -100
ls $OUT
echo "wall $(( $(date +%s) - s )) s"
