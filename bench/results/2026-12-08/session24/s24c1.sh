#!/usr/bin/env bash
# Prepared in session 24, when no device was lent (not yet run). One call, any GPU, LIMIT seconds (default 540):
#  1. fp64 checks (checkvar) of the tiles session 23's register rule opened on the dynamic scheduler (FA3's d256
#     128 x 80 and d128 128 x 192), of d128 176 keys in fp16 (session 23's fp16 check stalled in the tool), and of
#     key_order descending (session 24, never run on a GPU) on the d128 and d64 causal entries;
#  2. SASS (sassvar: HGMMA shapes and counts, LDL/STL, registers) of every dispatch-table entry on its first
#     matching spec (table-entries-ptxas.py --list), and of the two opened tiles;
#  3. paired timings (pairs: compare_libs --self --after-schedule) of key_order descending on the causal entries
#     (only if its checks passed: a wrong kernel's time means nothing), then of the opened tiles against the table's
#     entries;
#  4. the quick GPU suite under the shipped table.
# Replaces session 23's s23c9.sh, built on device_run.sh's checkvar / sassvar / pairs stages.
set -u
LIMIT=${LIMIT:-540}
F=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
D256=overlap=true,epilogue=tma,lazy_rescale=true,kv_l2_promotion=256,defer_rescale=false,early_finish=true,scheduler=dynamic_persistent,$F
D128=pingpong=true,overlap=true,epilogue=tma,early_finish=true,scheduler=dynamic_persistent,$F
C128=$D128,tile_order=longest_first
C64=block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma,early_finish=true
export CHECK_VARIANTS="bf16_d128_causal.yaml@$C128,key_order=descending fp16_d128_causal.yaml@$C128,key_order=descending
  fp16_d64_causal.yaml@$C64,key_order=descending bf16_d256.yaml@block_n=80,$D256 fp16_d256_causal.yaml@block_n=80,$D256
  default.yaml@block_n=192,$D128 fp16_d128.yaml@block_n=176,$D128 fp16_d128.yaml@block_n=192,$D128"
export SASS_VARIANTS="$(python3 tests/gen/table-entries-ptxas.py --list specs/dispatch/table.yaml specs)
  bf16_d256.yaml@block_n=80,$D256 default.yaml@block_n=192,$D128 bf16_d128_causal.yaml@$C128,key_order=descending"
export PAIRS="d128-causal-keydown key_order=descending --dtypes bf16 --hdims 128 --causal yes --seqlens 1024,2048,4096,8192
d64-causal-keydown key_order=descending --dtypes bf16 --hdims 64 --causal yes --seqlens 2048,8192
d256 block_n=80 --dtypes bf16,fp16 --hdims 256 --causal no,yes --seqlens 512,2048,8192
d256-16k scheduler=dynamic_persistent,$F --dtypes bf16,fp16 --hdims 256 --causal no,yes --seqlens 16384
d128-nc block_n=192 --dtypes bf16,fp16 --hdims 128 --causal no --seqlens 8192,16384"
# The pairs stop starting 60 s before the quick suite's share of the call.
DEVICE_LIMIT=$(( LIMIT - 90 )) bash tests/gpu/device_run.sh env checkvar sassvar > "$OUT/c1-checks.txt" 2>&1
cat "$OUT/c1-checks.txt"
# key_order's pairs only where all of its fp64 checks passed.
if awk '/^== /{k = /key_order=descending/} k && /FAIL|exit code/ {bad = 1} END {exit !bad}' "$OUT/c1-checks.txt"; then
  echo "key_order descending failed a check: its pairs are left out"
  PAIRS=$(grep -v keydown <<< "$PAIRS"); export PAIRS
fi
DEVICE_LIMIT=$(( LIMIT - 90 - SECONDS )) bash tests/gpu/device_run.sh pairs
t=$(( LIMIT - SECONDS ))
echo "=================== quick ($t s left)"
[ $t -gt 30 ] && timeout -s KILL $t python3 tests/gpu/test_attention.py --quick --json "$OUT/quick.json" 2>&1 | tail -5
echo "wall $SECONDS s"
