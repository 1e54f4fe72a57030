#!/usr/bin/env bash
# Session 18 call 13: the two 256 MB decode rows under 90 % of copy: split counts x (default, 2 CTAs per SM, 3 stages).
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
DECODE_VARIANTS="-;ctas_per_sm=2;stages=3" DECODE_T=40 \
  DECODE_SWEEP_ARGS="--rows 8,8,8192;8,64,1024 --splits 0,1,2,3,4,6,8" \
  timeout 125 bash tests/gpu/device_run.sh decodesweep > $OUT/sweep.txt 2>&1
grep -E "^\{|^---|rror" $OUT/sweep.txt | sed -E 's/"max_abs_vs_cudnn": [0-9.e-]+, //; s/"schedule": "[^"]*", //' | cut -c1-300
echo "wall $(( $(date +%s) - s )) s"
