#!/usr/bin/env bash
# Prepared in session 23 for the next device call (any GPU; LIMIT seconds, default 540): the tiles the session's
# register-rule change opened (FA3's d256 128 x 80 and the d128 192-key tile on the dynamic scheduler), fp64 checks
# first, then paired timings against the shipped table's entries (compare_libs --self --after-schedule); then the
# quick GPU suite under the shipped table (every table change of session 23 through test_attention.py's checks).
s=$(date +%s); LIMIT=${LIMIT:-540}
left() { echo $(( LIMIT - ($(date +%s) - s) )); }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen; L=build/lib/libflashcore.so
F=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
D256=overlap=true,epilogue=tma,lazy_rescale=true,kv_l2_promotion=256,defer_rescale=false,early_finish=true,scheduler=dynamic_persistent,$F
D128=pingpong=true,overlap=true,epilogue=tma,early_finish=true,scheduler=dynamic_persistent,$F
for v in "bf16_d256.yaml block_n=80,$D256" "fp16_d256_causal.yaml block_n=80,$D256" "default.yaml block_n=192,$D128" \
         "fp16_d128.yaml block_n=176,$D128" "fp16_d128.yaml block_n=192,$D128"; do
  set -- $v; echo "== $1 $2"
  timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 2 --heads 16 --seqlen 3000 --check-rows 96 2>&1 | grep -E "^check|FAIL|PASS|rror|TFLOPS" | cut -c1-200
done
echo "== checks $(( $(date +%s) - s )) s"
compare() { # FIELDS NAME compare_libs-args...
  local a=$1 n=$2; shift 2
  local t=$(left); [ $t -lt 25 ] && { echo "== skip $n $a (no time)"; return; }
  echo "== $n $a"
  timeout -s KILL $t python3 bench/compare_libs.py $L $L --self --after-schedule "$a" --repeats 5 "$@" \
    --json "$OUT/c9-$n-$(echo "$a" | tr -c 'a-z0-9\n' '-' | cut -c1-60).json" 2>&1 | grep -E "^\| (bf|fp)16|geomean|rror"
}
# d256: 80 keys against the 64-key dynamic entry (S <= 8192), and dynamic 80 against the single 80-key tile at 16k.
compare block_n=80 d256 --dtypes bf16,fp16 --hdims 256 --causal no,yes --seqlens 512,2048,8192
compare scheduler=dynamic_persistent,$F d256-16k --dtypes bf16,fp16 --hdims 256 --causal no,yes --seqlens 16384
# d128 non-causal: 192 keys against the 176-key dynamic entry (S > 4096).
compare block_n=192 d128-nc --dtypes bf16,fp16 --hdims 128 --causal no --seqlens 8192,16384
echo "== quick suite $(( $(date +%s) - s )) s"
t=$(left); [ $t -gt 60 ] && timeout -s KILL $t python3 tests/gpu/test_attention.py --quick --json $OUT/c9-quick.json 2>&1 | tail -5
echo "wall $(( $(date +%s) - s )) s"
