#!/usr/bin/env bash
# Session 15 call 4: pingpong over three consumer warpgroups (FA3's scheduler barriers at head_dim 64):
# fp64 checks, compute-sanitizer, then paired timings against the table's d64 schedules.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen
P3=block_m=192,consumer_warpgroups=3,block_n=96,overlap=true,epilogue=tma,defer_rescale=false,pingpong=true
P3N=block_m=192,consumer_warpgroups=3,block_n=128,overlap=true,epilogue=tma,pingpong=true
for v in "bf16_d64.yaml $P3" "fp16_d64_causal.yaml $P3" "bf16_d64.yaml $P3N" "fp16_d64_causal.yaml $P3,scheduler=static_persistent"; do
  set -- $v; echo "== $1 $2"
  timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 2 --heads 8 --seqlen 1000 --check-rows 192 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
  timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 1 --heads 4 --seqlen 777 --seqlen-k 1500 --check-rows 0 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
done
SANVAR_VARIANTS="fp16_d64_causal.yaml@$P3 bf16_d64.yaml@$P3N" timeout 300 bash tests/gpu/device_run.sh sanvar 2>&1 | grep -E "^==|ERROR SUMMARY|rror" | head -20
for A in "pingpong=true" "pingpong=true,block_n=128"; do
  echo "== compare d64 $A"
  timeout -s KILL 150 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$A" --dtypes bf16 --hdims 64 --seqlens 2048,4096,8192 --repeats 5 \
    --json "$OUT/compare-d64-$(echo "$A" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|device|rror"
done
echo "== compare d128 non-causal scheduler=static_persistent"
timeout -s KILL 100 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-schedule "scheduler=static_persistent" --dtypes bf16 --hdims 128 --causal no --seqlens 8192,16384 --repeats 5 \
  --json "$OUT/compare-d128-static.json" 2>&1 | grep -E "^\| bf16|geomean|device|rror"
