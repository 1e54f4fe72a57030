#!/usr/bin/env bash
# Prepared for session 15 (not run yet): FA3's exact softmax order, then ncu on the rows behind FA3.
# Copy to .peers/ and run with carry ["build/lib", "build/bin/flashcore-gen", ".peers"].
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
for A in "late_k_release=first_half,defer_rescale=false" "defer_rescale=false"; do
  echo "== compare $A"
  timeout -s KILL 200 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$A" --dtypes bf16 --hdims 64,128 --seqlens 2048,8192 --repeats 5 \
    --json "$OUT/compare-$(echo "$A" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|device"
done
# d64 causal at S 2048 / 4096 is 6-7 % behind FA3 (192 x 96 tiles); FA3 runs 192 x 128 causal.
for A in "block_n=128" "block_n=128,defer_rescale=true"; do
  echo "== compare d64 $A"
  timeout -s KILL 120 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
    --after-schedule "$A" --dtypes bf16 --hdims 64 --causal yes --seqlens 2048,4096,8192 --repeats 5 \
    --json "$OUT/compare-d64-$(echo "$A" | tr -c 'a-z0-9\n' '-').json" 2>&1 | grep -E "^\| bf16|geomean|device"
done
# Then, with FA3 (protocol build) in the same call:
#   FWD_ROWS="bf16 128 0 8192;bf16 64 1 2048" bash tests/gpu/device_run.sh fa3 pyinstall fa3wait fwdncu
