#!/usr/bin/env bash
# Session 18 call 3: which ptxas binaries the device has; one build assembled by CUDA 13's ptxas and by another
# (Triton's bundled one) on d128 / d64 rows (compare_libs --after-env FLASHCORE_PTXAS=...); d64 short rows on
# two / three warpgroups with one CTA per SM.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
for p in $(find / -xdev -name ptxas -type f 2>/dev/null | head -8); do echo "$p: $($p --version | tail -2 | tr '\n' ' ')"; done
TP=$(python3 -c "import triton,os; print(os.path.join(os.path.dirname(triton.__file__),'backends/nvidia/bin/ptxas'))")
echo "triton ptxas $TP"
cl() { timeout $1 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self $2 --dtypes bf16 --hdims $3 --causal $4 --seqlens $5 --repeats 5 --json $OUT/$6.json > $OUT/$6.txt 2>&1; grep -E "^\||geomean|rror" $OUT/$6.txt | tail -12; echo "== $6 $(( $(date +%s) - s )) s"; }
if [ -x "$TP" ]; then
  FLASHCORE_LOG=1 cl 200 "--after-env FLASHCORE_PTXAS=$TP" 128 no,yes 1024,2048,8192 ptxas-d128
  grep -i -E "assembl|ptxas" $OUT/ptxas-d128.txt | cut -c1-200 | sort | uniq -c | head -8
  cl 100 "--after-env FLASHCORE_PTXAS=$TP" 64,256 yes 2048 ptxas-d64-d256
fi
cl 90 "--after-schedule consumer_warpgroups=2,block_m=128,ctas_per_sm=1,pingpong=true" 64 no,yes 512,1024 d64s-2wg
cl 90 "--after-schedule consumer_warpgroups=3,block_m=192,ctas_per_sm=1,pingpong=true" 64 no,yes 512,1024 d64s-3wg
echo "wall $(( $(date +%s) - s )) s"
