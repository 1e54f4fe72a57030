#!/usr/bin/env bash
# Session 21 call 5 (any GPU): the three new fields, prefetch_q, late_tile_claim and producer_decodes_tiles, on the table's dynamic-persistent
# entries: fp64 checks first, then paired timings of one build with and without them (compare_libs --self
# --after-schedule), worst rows against FA3 first. LIMIT bounds the whole call (the session's last device time).
s=$(date +%s); LIMIT=${LIMIT:-330}
left() { echo $(( LIMIT - ($(date +%s) - s) )); }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen; L=build/lib/libflashcore.so
B=pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent
S64=consumer_warpgroups=1,ctas_per_sm=2,block_n=128,overlap=true,epilogue=tma,scheduler=dynamic_persistent
N=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
for v in "bf16_d128_causal.yaml $B,tile_order=longest_first,$N" "default.yaml $B,$N" "fp16_d64_causal.yaml $S64,$N"; do
  set -- $v; echo "== $1 $2"
  timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 4 --heads 16 --seqlen 2000 --check-rows 96 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
done
echo "== checks $(( $(date +%s) - s )) s"
compare() { # FIELDS NAME compare_libs-args...
  local a=$1 n=$2; shift 2
  local t=$(left); [ $t -lt 25 ] && { echo "== skip $n $a (no time)"; return; }
  echo "== $n $a"
  timeout -s KILL $t python3 bench/compare_libs.py $L $L --self --after-schedule "$a" --dtypes bf16 --repeats 5 "$@" \
    --json "$OUT/c5-$n-$(echo "$a" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|rror"
}
compare $N d128-causal --hdims 128 --causal yes --seqlens 2048,4096,8192
compare $N d128-nc --hdims 128 --causal no --seqlens 1024,2048,4096
compare $N d64-causal --hdims 64 --causal yes --seqlens 1024,2048,4096
compare prefetch_q=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare late_tile_claim=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare producer_decodes_tiles=true d128-causal --hdims 128 --causal yes --seqlens 2048,4096
compare prefetch_q=true d128-nc --hdims 128 --causal no --seqlens 1024,2048
# FA3 loads K/V with EVICT_LAST; session 6 tried evict_last only on single-tile entries, before the persistent ones.
compare kv_cache_hint=evict_last d128-causal --hdims 128 --causal yes --seqlens 4096,8192
echo "wall $(( $(date +%s) - s )) s"
