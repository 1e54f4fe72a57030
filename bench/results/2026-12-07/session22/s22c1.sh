#!/usr/bin/env bash
# Session 22 call 1 (any GPU): the four fields no GPU has run yet -- prefetch_q, late_tile_claim,
# producer_decodes_tiles (session 21), early_finish and q_cache_hint (session 22) -- on the dispatch table's entries: fp64
# checks on shapes with several tiles per CTA first, then paired timings of one build with and without them
# (compare_libs --self --after-schedule: the fields on top of every table entry), all four together on the
# dynamic-persistent rows, then each alone on the worst rows against FA3 (d128 causal 2048 / 4096).
# LIMIT bounds the whole call.
s=$(date +%s); LIMIT=${LIMIT:-540}
left() { echo $(( LIMIT - ($(date +%s) - s) )); }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen; L=build/lib/libflashcore.so
B=pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent
S64=consumer_warpgroups=1,ctas_per_sm=2,block_n=128,overlap=true,epilogue=tma,scheduler=dynamic_persistent
N=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
A=$N,early_finish=true
for v in "bf16_d128_causal.yaml $B,tile_order=longest_first,$A" "default.yaml $B,$A" "fp16_d64_causal.yaml $S64,$A" \
         "bf16_d128_causal.yaml pingpong=true,overlap=true,epilogue=tma,block_n=160,early_finish=true" \
         "bf16_d256.yaml overlap=true,epilogue=tma,lazy_rescale=true,early_finish=true"; do
  set -- $v; echo "== $1 $2"
  timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 4 --heads 16 --seqlen 2000 --check-rows 96 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
done
echo "== checks $(( $(date +%s) - s )) s"
# early_finish in SASS: the tail's MUFU.RCP before its last WARPGROUP.DEPBAR (ptxas may move it).
CUOBJ=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
$g emit-cubin specs/bf16_d128_causal.yaml --schedule=$B,tile_order=longest_first,early_finish=true -o /tmp/ef.cubin >/dev/null 2>&1 &&
  $CUOBJ -sass /tmp/ef.cubin 2>/dev/null | grep -E "MUFU.RCP|MUFU.LG2|WARPGROUP.DEPBAR|HGMMA.*gsb0 ;$" | tail -8 | sed 's/^ */sass: /'
compare() { # FIELDS NAME compare_libs-args...
  local a=$1 n=$2; shift 2
  local t=$(left); [ $t -lt 25 ] && { echo "== skip $n $a (no time)"; return; }
  echo "== $n $a"
  timeout -s KILL $t python3 bench/compare_libs.py $L $L --self --after-schedule "$a" --dtypes bf16 --repeats 5 "$@" \
    --json "$OUT/c1-$n-$(echo "$a" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|rror"
}
compare $A d128-causal --hdims 128 --causal yes --seqlens 2048,4096,8192
compare $A d128-nc --hdims 128 --causal no --seqlens 1024,2048,4096
compare $A d64-causal --hdims 64 --causal yes --seqlens 1024,2048
compare early_finish=true all-2048 --hdims 64,128,256 --causal no,yes --seqlens 2048
compare prefetch_q=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare late_tile_claim=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare producer_decodes_tiles=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare early_finish=true d128-causal --hdims 128 --causal yes --seqlens 4096,8192
# FA3's L2 policies: K/V EVICT_LAST, Q EVICT_FIRST (session 6 tried evict_last only on single-tile entries).
compare kv_cache_hint=evict_last,q_cache_hint=evict_first d128-causal --hdims 128 --causal yes --seqlens 2048,4096,8192
compare q_cache_hint=evict_first d128-nc --hdims 128 --causal no --seqlens 1024,2048
echo "wall $(( $(date +%s) - s )) s"
