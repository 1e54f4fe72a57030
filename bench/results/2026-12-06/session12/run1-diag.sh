# Session 12 cluster_m diagnosis (see docs/PERFORMANCE.md, session 12).
g=build/bin/flashcore-gen  # built with cluster-debug.patch applied
export FLASHCORE_EXPERIMENTAL_CLUSTER=1 LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-} FLASHCORE_DISK_CACHE=0
nvidia-smi --query-gpu=name --format=csv,noheader
r() { echo "== FC_DBG=$1 $2 $3"; FC_DBG=$1 timeout -s KILL 40 $g run specs/${3:-default.yaml} --schedule=$2 --batch 2 --heads 8 --seqlen 1000 --check-rows 128 2>&1 | grep -E "^check|^plan|FAIL|PASS|rror" | cut -c1-200; }
r "" scheduler=single_tile
for d in "" selfload noremote arrivecta; do r "$d" cluster_m=2; done
r "" cluster_m=2,stages=3
r "" cluster_m=2,stages=1
r selfload cluster_m=2,block_n=192,pingpong=true,overlap=true,epilogue=tma
r "" cluster_m=2,block_n=192,pingpong=true,overlap=true,epilogue=tma
r "" cluster_m=2,kv_box_rows=32
