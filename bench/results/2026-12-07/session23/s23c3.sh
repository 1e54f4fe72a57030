#!/usr/bin/env bash
# Session 23 call 3 (any GPU): the rows still furthest behind FA3 after the table took FA3's producer fields
# (call 2: d128 non-causal 8192 0.93-0.94, d128 causal 2048-4096 0.94-0.95, d64 causal >= 4096 0.95-0.98, d256
# non-causal 512 0.94), each against the schedules around its table entry: compare_libs --self --after-schedule,
# one build with and without the override on top of the row's entry, 5 paired repeats, bf16. LIMIT bounds the call.
s=$(date +%s); LIMIT=${LIMIT:-540}
left() { echo $(( LIMIT - ($(date +%s) - s) )); }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
L=build/lib/libflashcore.so
F=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
compare() { # FIELDS NAME compare_libs-args...
  local a=$1 n=$2; shift 2
  local t=$(left); [ $t -lt 25 ] && { echo "== skip $n $a (no time)"; return; }
  echo "== $n $a"
  timeout -s KILL $t python3 bench/compare_libs.py $L $L --self --after-schedule "$a" --dtypes bf16 --repeats 5 "$@" \
    --json "$OUT/c3-$n-$(echo "$a" | tr -c 'a-z0-9\n' '-' | cut -c1-80).json" 2>&1 | grep -E "^\| bf16|geomean|rror"
}
# d128 non-causal long (entry: 192-key single tile): FA3 runs its static persistent scheduler and 176 keys there.
# (192 keys with the dynamic scheduler break the overlap register rule; 176 keys fit.)
compare block_n=176,scheduler=dynamic_persistent,$F d128-nc --hdims 128 --causal no --seqlens 8192,16384
compare scheduler=static_persistent,prefetch_q=true d128-nc --hdims 128 --causal no --seqlens 8192,16384
compare block_n=176 d128-nc --hdims 128 --causal no --seqlens 8192,16384
compare block_n=176 d128-nc-med --hdims 128 --causal no --seqlens 2048,4096
# d64 causal long (entry: 3 warpgroups, 128 keys, single tile): the dynamic longest-first order with the fields.
compare scheduler=dynamic_persistent,tile_order=longest_first,$F d64-causal --hdims 64 --causal yes --seqlens 8192,16384
# d128 causal 16k (entry: 160-key single tile) on the medium-long entry's schedule.
compare block_n=128,scheduler=dynamic_persistent,tile_order=longest_first,$F d128-causal --hdims 128 --causal yes --seqlens 16384
# d256 (entry: 80-key single tile, lazy rescale): the dynamic scheduler with the fields on the short rows (a persistent
# scheduler fits the overlap register rule at 64 keys only).
compare block_n=64,scheduler=dynamic_persistent,$F d256 --hdims 256 --causal no,yes --seqlens 512,1024,2048
echo "wall $(( $(date +%s) - s )) s"
