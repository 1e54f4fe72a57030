# Session 13 call 3: cluster_m 2 on the feature suite (to lift its launch gate), its SASS, and whether a deeper ring pays.
export FLASHCORE_EXPERIMENTAL_CLUSTER=1 FEATURE_TIMEOUT=170
export FEATURE_VARIANTS="cluster_m=2,scheduler=single_tile,tile_order=m_fastest"
export SASS_VARIANTS="default.yaml@block_n=192,pingpong=true,overlap=true,epilogue=tma default.yaml@cluster_m=2,block_n=192,pingpong=true,overlap=true,epilogue=tma bf16_d256.yaml@overlap=true,epilogue=tma,lazy_rescale=true default.yaml@cluster_m=2,stages=3"
bash tests/gpu/device_run.sh env pyinstall featvar sassvar 2>&1 | grep -v "^\s*o = F\|UserWarning" | tail -30
for a in cluster_m=2 cluster_m=2,stages=3,block_n=128 stages=3,block_n=128; do
timeout -s KILL 100 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-schedule $a --causal no --dtypes bf16 --hdims 128 --seqlens 8192,16384 \
  --repeats 3 2>&1 | grep -E "^\| bf16|geomean|device"
done
