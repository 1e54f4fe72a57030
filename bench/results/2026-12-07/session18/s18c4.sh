#!/usr/bin/env bash
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
TP=/opt/torch/.venv/lib/python3.12/site-packages/triton/backends/nvidia/bin/ptxas
rm -rf /root/.cache/flashcore
FLASHCORE_LOG=1 timeout 60 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-env FLASHCORE_PTXAS=$TP --dtypes bf16 --hdims 128 --causal no --seqlens 2048 --repeats 3 2>&1 | grep -E "flashcore:|^\|" | cut -c1-160
ls /root/.cache/flashcore | head; for f in /root/.cache/flashcore/*/*; do strings $f 2>/dev/null | grep -m1 -i -E "cuda compilation|ptxas|V1[23]\." ; done | sort | uniq -c | head
timeout 80 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule cluster_m=2,scheduler=single_tile --dtypes bf16,fp16 --hdims 64 --causal no --seqlens 512,1024,2048 --repeats 5 --json $OUT/d64s-cluster-nc.json 2>&1 | grep -E "^\||geomean" 
timeout 80 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self --after-schedule cluster_m=2,scheduler=single_tile --dtypes bf16 --hdims 128 --causal no --seqlens 1024,2048 --repeats 5 --json $OUT/d128-cluster-nc.json 2>&1 | grep -E "^\||geomean" 
echo "wall $(( $(date +%s) - s )) s"
