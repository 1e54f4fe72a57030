#!/usr/bin/env bash
# Session 15 call 1: decode SASS of the kernels the runtime launches (64-key, one warpgroup);
# FA3's softmax order (defer_rescale=false) and FA3's 128-key blocks on d64 causal, paired in one process.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
timeout 120 bash tests/gpu/device_run.sh env fa3 decodesass 2>&1 | grep -v "^\s*$"
timeout 200 bash tests/gpu/device_run.sh fa3wait 2>&1 | tail -3
for A in "late_k_release=first_half,defer_rescale=false" "defer_rescale=false"; do
  echo "== compare $A"
  timeout -s KILL 170 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$A" --dtypes bf16 --hdims 64,128 --seqlens 2048,8192 --repeats 5 \
    --json "$OUT/compare-$(echo "$A" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|device"
done
for A in "block_n=128" "block_n=128,defer_rescale=true"; do
  echo "== compare d64 $A"
  timeout -s KILL 100 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$A" --dtypes bf16 --hdims 64 --causal yes --seqlens 2048,4096,8192 --repeats 5 \
    --json "$OUT/compare-d64-$(echo "$A" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|device"
done
