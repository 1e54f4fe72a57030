# Session 12 cluster_m diagnosis (see docs/PERFORMANCE.md, session 12).
g=build/bin/flashcore-gen  # built with cluster-debug.patch applied
export FLASHCORE_EXPERIMENTAL_CLUSTER=1 LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-} FLASHCORE_DISK_CACHE=0
nvidia-smi --query-gpu=name --format=csv,noheader; nvcc -arch=sm_90a -o /tmp/smem bench/results/2026-12-06/session12/next-smem-window.cu && /tmp/smem
r() { echo "== FC_DBG=$1 $2 $3"; FC_DBG=$1 timeout -s KILL 40 $g run specs/${3:-default.yaml} --schedule=$2 --batch 2 --heads 8 --seqlen 1000 --check-rows 128 2>&1 | grep -E "^check|^plan|FAIL|PASS|rror" | cut -c1-200; }
r "" kv_box_rows=64
r plainnosync cluster_m=2
r plain cluster_m=2
r plainnosync cluster_m=2,epilogue=tma
for s in 256 2048; do echo "== seqlen $s"; timeout -s KILL 40 $g run specs/default.yaml --schedule=cluster_m=2 --batch 2 --heads 8 --seqlen $s --check-rows 128 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200; done
