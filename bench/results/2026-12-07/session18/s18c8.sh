#!/usr/bin/env bash
# Session 18: persistent CTAs for decode on the short / mid caches (the rows under 90 % of copy).
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
DECODE_VARIANTS="-;scheduler=static_persistent;-;scheduler=static_persistent" DECODE_T=70 \
  DECODE_SWEEP_ARGS="--rows 8,64,1024;8,8,8192;32,8,1024;8,128,1024;32,64,1024;8,8,32768 --splits 0" \
  timeout 330 bash tests/gpu/device_run.sh decodesweep > $OUT/sweep.txt 2>&1
grep -E "^\{|^---|rror" $OUT/sweep.txt | cut -c1-230
echo "wall $(( $(date +%s) - s )) s"
