#!/usr/bin/env bash
# Session 16 call 2: trim_masked_blocks (each consumer warpgroup's GEMMs end at its own rows' last visible key
# block): fp64 checks, compute-sanitizer, paired timings against trim_masked_blocks=false; d64 causal dynamic
# persistent at 128 keys (newly allowed).
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
P3=block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma
r() { # r SPEC SCHEDULE ARGS...
  local s=$1 f=$2; shift 2
  echo "-- $s $f $*"; timeout -s KILL 60 $g run specs/$s --schedule=$f "$@" 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
}
for v in "fp16_d64_causal.yaml $P3" "fp16_d64_causal.yaml $P3,scheduler=dynamic_persistent,tile_order=longest_first" \
         "fp16_d128_causal.yaml pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent,tile_order=longest_first" \
         "fp16_d128_causal.yaml block_n=160,overlap=false,pingpong=true" "fp16_d256_causal.yaml overlap=true,epilogue=tma" \
         "bf16_d128_local.yaml block_n=176,pingpong=true,overlap=true" "fp16_d128_varlen_causal.yaml block_n=176,pingpong=true,overlap=true"; do
  set -- $v
  r $1 $2 --batch 2 --heads 4 --seqlen 1000 --check-rows 0
  r $1 $2 --batch 1 --heads 4 --seqlen 777 --seqlen-k 1500 --check-rows 0
  r $1 $2 --batch 1 --heads 4 --seqlen 1500 --seqlen-k 777 --check-rows 0
done
for tool in racecheck synccheck memcheck; do
  echo "== $tool"
  timeout -s KILL 60 compute-sanitizer --tool $tool --error-exitcode 99 $g run specs/fp16_d64_causal.yaml --schedule=$P3 \
    --batch 1 --heads 2 --seqlen 700 --check-rows 0 --repeats 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|rror" | head -3
done
c() { # c NAME HDIMS SCHEDULE [SEQLENS]
  echo "== compare $1 d$2 causal $3"
  timeout -s KILL 120 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$3" --dtypes bf16 --hdims $2 --causal yes --seqlens ${4:-1024,2048,4096,8192} --repeats 5 \
    --json $OUT/c2-$1.json 2>&1 | grep -E "^\| bf16|geomean|rror"
}
c d64-notrim 64 trim_masked_blocks=false
c d256-notrim 256 trim_masked_blocks=false
c d64-dyn 64 scheduler=dynamic_persistent,tile_order=longest_first 2048,4096,8192
c d128-notrim 128 trim_masked_blocks=false 2048,8192
