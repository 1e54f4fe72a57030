#!/usr/bin/env bash
# Prepared for session 18 (not run yet). Copy to .peers/ and run with
# carry ["build/lib", "build/bin/flashcore-gen", ".peers"], preferably on an H200.
# 1. The decode table with session 17's dispatch rules (paged: 3 stages; contiguous <= 4096 keys: 2 CTAs per SM),
#    FA3's decode build in the same call, eager + graph timings; the Python API suite first (~320 s).
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=420 DECODE_ARGS="--graphs" PYAPI_T=120 \
  bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL|FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -90
echo "wall $(( $(date +%s) - s )) s"
# 2. Then (forward, no FA3 needed), d64 short rows against cuDNN: larger key blocks on the one-warpgroup,
#    two-CTA entries (compare_libs --self):
#   for f in block_n=192 block_n=176 stages=3; do python3 bench/compare_libs.py build/lib/libflashcore.so \
#     build/lib/libflashcore.so --self --after-schedule $f --dtypes bf16,fp16 --hdims 64 --causal no,yes \
#     --seqlens 512,1024 --repeats 5 --json $OUT/d64-short-$f.json; done
# 3. The large-batch decode rows still 1-4 % behind cuDNN (which reads them at ~107 % of the copy figure):
#   DECODE_VARIANTS="-;stages=3;stages=4;kv_cache_hint=evict_first;-" DECODE_T=100 \
#   DECODE_SWEEP_ARGS="--rows 32,128,8192;32,128,32768;32,64,32768;8,128,32768 --splits 0" \
#     bash tests/gpu/device_run.sh decodesweep
# 4. The worst forward rows (bf16 d128 causal 2048 0.918x FA3, non-causal 1024-4096 0.93-0.96x): ncu source counters
#    of FlashCore's and FA3's kernels on the non-causal 2048 row (needs FA3_MODE=protocol fa3 ... fa3wait first):
#   FWD_ROW="bf16 128 0 2048" FWDSRC_TOP=30 bash tests/gpu/device_run.sh fwdncusrc   (add --loop to the summary)
