#!/usr/bin/env bash
# Session 21 call 1 (any GPU; on an H200 the decode grid includes its 32 GiB row). kernel_trace first, with nothing
# else on the machine (the FA3 build would steal the host's cores, and host gaps are what it measures); then FA3's
# decode build in the background under the Python API suite; then the decode table with FA3 under the clean flush.
s=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > $OUT/log.txt 2>&1; export PYTHONPATH=/tmp/site
echo "== pyinstall $(( $(date +%s) - s )) s"
timeout 100 python3 bench/kernel_trace.py --iters 20 --json $OUT/trace.json 2>&1 | tee $OUT/trace.txt | cut -c1-170 | head -60
FLASHCORE_TILE_COUNTER=stream timeout 40 python3 bench/kernel_trace.py --iters 20 --rows "bf16,64,0,512;bf16,64,1,512" 2>&1 | grep event
echo "== trace $(( $(date +%s) - s )) s"
FA3_MODE=decode bash tests/gpu/device_run.sh fa3 >> $OUT/log.txt 2>&1
PYAPI_T=110 timeout 115 bash tests/gpu/device_run.sh pyapi >> $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL" $OUT/log.txt; echo "== pyapi $(( $(date +%s) - s )) s"
FA3_MODE=decode FA3_WAIT_S=120 bash tests/gpu/device_run.sh fa3wait >> $OUT/log.txt 2>&1
[ "$(cat /tmp/fa3-decode.rc 2>/dev/null)" = 0 ] && export FA3_PATH=$(cat /tmp/fa3-decode.path)
DECODE_T=$(( 585 - ($(date +%s) - s) )) DECODE_ARGS="--flush clean" \
  bash tests/gpu/device_run.sh decodebench >> $OUT/log.txt 2>&1
grep -E "FA3_PATH|^device|^\||best peer on|of copy|rror" $OUT/log.txt | grep -v -- "---" | cut -c1-200 | tail -50
echo "wall $(( $(date +%s) - s )) s"
