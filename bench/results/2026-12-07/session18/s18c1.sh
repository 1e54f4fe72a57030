#!/usr/bin/env bash
# Session 18 call 1: pyapi + the 28-row decode table with session 17's dispatch rules (FA3 decode build), then the
# large-batch decode sweep.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=400 DECODE_ARGS="--graphs" PYAPI_T=120 \
  timeout 420 bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL|FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -90
echo "wall $(( $(date +%s) - s )) s"
export PYTHONPATH=/tmp/site
left=$(( 575 - ($(date +%s) - s) ))
DECODE_VARIANTS="-;stages=3;kv_cache_hint=evict_first;-" DECODE_T=60 \
  DECODE_SWEEP_ARGS="--rows 32,128,8192;32,128,32768;32,64,32768;8,128,32768 --splits 0" \
  timeout $left bash tests/gpu/device_run.sh decodesweep > $OUT/sweep.txt 2>&1
grep -v "^\s*$" $OUT/sweep.txt | tail -40
echo "wall $(( $(date +%s) - s )) s"
