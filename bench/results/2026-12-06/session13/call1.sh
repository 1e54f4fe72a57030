# Session 13 call 1: is cluster_m 2 right after the descriptor fix, and does it pay?
g=build/bin/flashcore-gen
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-} FLASHCORE_EXPERIMENTAL_CLUSTER=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
r() { echo "== $1 $2 S=${3:-1000}"; timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 2 --heads 8 --seqlen ${3:-1000} --check-rows 128 2>&1 | grep -E "^check|FAIL|PASS|rror|max|rel" | cut -c1-220; }
r default.yaml scheduler=single_tile
r default.yaml cluster_m=2
r default.yaml cluster_m=2 2048
r default.yaml cluster_m=2,stages=3
r default.yaml cluster_m=2,block_n=192,pingpong=true,overlap=true,epilogue=tma
r bf16_d256.yaml cluster_m=2
r bf16_d64.yaml cluster_m=2
r fp16_d128.yaml cluster_m=2,block_n=176
r default.yaml cluster_m=2 600
bash tests/gpu/device_run.sh run 2>&1 | grep -E "check|FAIL|rror" | head -20
echo "== compare"
timeout -s KILL 260 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-schedule cluster_m=2,scheduler=single_tile,tile_order=m_fastest --causal no --dtypes bf16 --hdims 128,256 \
  --repeats 3 --json $OUT/compare-cluster.json 2>&1 | grep -v '^{' | tail -20
export SANVAR_VARIANTS="default.yaml@cluster_m=2,block_n=192,pingpong=true,overlap=true,epilogue=tma"
bash tests/gpu/device_run.sh sanvar 2>&1 | grep -E "==|ERROR|SUMMARY" | tail -20
