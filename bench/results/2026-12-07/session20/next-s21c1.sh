#!/usr/bin/env bash
# Prepared in session 20 (its call 4 never started) for session 21 (any GPU): FA3's decode build in the background; kernel_trace (event time against CUPTI kernel
# durations: does FlashCore lose its d64 short-row time inside or outside its kernel?); the Python API suite (the
# self-resetting tile counter under CUDA graphs); then the decode table with FA3 under the clean flush.
s=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode bash tests/gpu/device_run.sh fa3 pyinstall > $OUT/log.txt 2>&1; export PYTHONPATH=/tmp/site
timeout 100 python3 bench/kernel_trace.py --iters 20 --json $OUT/trace.json 2>&1 | tee $OUT/trace.txt | cut -c1-160 | head -70
echo "== trace $(( $(date +%s) - s )) s"
FLASHCORE_TILE_COUNTER=stream timeout 40 python3 bench/kernel_trace.py --iters 20 --rows "bf16,64,0,512;bf16,64,1,512" 2>&1 | grep event
PYAPI_T=110 timeout 115 bash tests/gpu/device_run.sh pyapi >> $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL" $OUT/log.txt; echo "== pyapi $(( $(date +%s) - s )) s"
FA3_MODE=decode FA3_WAIT_S=150 bash tests/gpu/device_run.sh fa3wait >> $OUT/log.txt 2>&1
[ "$(cat /tmp/fa3-decode.rc 2>/dev/null)" = 0 ] && export FA3_PATH=$(cat /tmp/fa3-decode.path)
DECODE_T=$(( 580 - ($(date +%s) - s) )) DECODE_ARGS="--flush clean" \
  bash tests/gpu/device_run.sh decodebench >> $OUT/log.txt 2>&1
grep -E "FA3_PATH|^device|^\||best peer on|of copy|rror" $OUT/log.txt | grep -v -- "---" | cut -c1-200 | tail -50
echo "wall $(( $(date +%s) - s )) s"
