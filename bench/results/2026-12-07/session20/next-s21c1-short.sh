#!/usr/bin/env bash
# Prepared in session 20 (never started) for session 21 (any GPU, ~130 s): kernel_trace only (event time against CUPTI kernel durations).
s=$(date +%s)
nvidia-smi --query-gpu=name --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > $OUT/log.txt 2>&1; export PYTHONPATH=/tmp/site
timeout 100 python3 bench/kernel_trace.py --iters 20 --json $OUT/trace.json 2>&1 | tee $OUT/trace.txt | cut -c1-150 | head -60
echo "wall $(( $(date +%s) - s )) s"
