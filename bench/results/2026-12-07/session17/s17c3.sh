#!/usr/bin/env bash
# Session 17 call 3: suspend_waits (mbarrier try_wait without the 0 ns hint, so waiting warps may sleep instead of
# polling): SASS, fp64 checks, then paired timings against the table's schedules (compare_libs --self).
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
SASS_VARIANTS="bf16_d128_causal.yaml@pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent,suspend_waits=true \
bf16_d128_causal.yaml@pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent" \
  timeout 40 bash tests/gpu/device_run.sh sassvar 2>&1 | tail -4
cuobjdump -sass /tmp/v.cubin 2>/dev/null | grep -m3 -E "SYNCS.PHASECHK"
r() { echo "-- $*"; timeout -s KILL 60 $g run "$@" 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200; }
W=suspend_waits=true
r specs/bf16_d128_causal.yaml --schedule=pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent,tile_order=longest_first,$W --batch 2 --heads 4 --seqlen 1000 --check-rows 0
r specs/fp16_d64_causal.yaml --schedule=block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent,$W --batch 1 --heads 4 --seqlen 1500 --seqlen-k 777 --check-rows 0
r specs/fp16_d256_causal.yaml --schedule=$W --batch 2 --heads 4 --seqlen 1000 --check-rows 0
r specs/fp16_d128.yaml --schedule=block_n=192,pingpong=true,overlap=true,epilogue=tma,$W --batch 1 --heads 4 --seqlen 777 --seqlen-k 1500 --check-rows 0
python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule $W \
  --dtypes bf16 --hdims 64,128,256 --causal no,yes --seqlens 1024,2048,8192 --repeats 5 --json $OUT/c3-suspend.json 2>&1 \
  | grep -E "^\||geomean" | tail -25
# Decode (one consumer warpgroup, memory bound: its consumers do wait on full stages), A / B / A / B.
DECODE_VARIANTS="-;$W;-;$W" DECODE_T=100 DECODE_SWEEP_ARGS="--rows 8,1,8192;8,1,131072;8,8,32768;8,128,4096;32,1,8192;32,8,32768;32,128,4096 --splits 0" \
  timeout 480 bash tests/gpu/device_run.sh pyinstall decodesweep 2>&1 | grep -E "^-------|^[{]" | cut -c1-230 | tail -40
echo "wall $(( $(date +%s) - s )) s"
