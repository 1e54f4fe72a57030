#!/usr/bin/env bash
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
cl() { timeout $1 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule $2 --dtypes bf16 --hdims $3 --causal $4 --seqlens $5 --repeats 5 --json $OUT/$6.json 2>&1 | grep -E "^\||geomean" | tail -12; echo "== $6 $(( $(date +%s) - s )) s"; }
cl 110 block_n=176 128 no 1024,2048,4096 d128nc-176
cl 110 block_n=192 128 no 1024,2048,4096 d128nc-192
cl 90 scheduler=dynamic_persistent 128 no 8192,16384 d128nc-long-dyn
cl 90 block_n=176,scheduler=dynamic_persistent 128 no 8192,16384 d128nc-long-176dyn
cl 90 block_n=160 128 yes 2048,4096 d128c-160
cl 80 block_n=192 64 no,yes 512,1024 d64s-192
cl 80 stages=3 64 no,yes 512,1024 d64s-st3
echo "wall $(( $(date +%s) - s )) s"
