# Session 14 call 2: late_k_release=first_half -- does ptxas then keep the exponentials under P·V, and does it pay?
g=build/bin/flashcore-gen
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
C=pingpong=true,overlap=true,epilogue=tma,scheduler=dynamic_persistent,tile_order=longest_first
export SASS_VARIANTS="bf16_d128_causal.yaml@$C bf16_d128_causal.yaml@$C,late_k_release=first_half default.yaml@block_n=192,pingpong=true,overlap=true,epilogue=tma,late_k_release=first_half bf16_d64.yaml@block_m=192,consumer_warpgroups=3,block_n=96,overlap=true,epilogue=tma,defer_rescale=false,late_k_release=first_half bf16_d256.yaml@overlap=true,epilogue=tma,lazy_rescale=true,defer_rescale=false,late_k_release=first_half"
timeout 90 bash tests/gpu/device_run.sh env sassoverlap 2>&1 | grep -v "^\s*$" | tail -40
for v in "bf16_d128_causal.yaml $C,late_k_release=first_half" "default.yaml block_n=192,pingpong=true,overlap=true,epilogue=tma,late_k_release=first_half" "bf16_d64.yaml overlap=true,late_k_release=first_half" "bf16_d256.yaml overlap=true,late_k_release=first_half"; do
  set -- $v; echo "== $1 $2"; timeout -s KILL 60 $g run specs/$1 --schedule=$2 --batch 2 --heads 8 --seqlen 1000 --check-rows 128 2>&1 | grep -E "^check|FAIL|PASS|rror" | cut -c1-200
done
echo "== compare late_k_release"
timeout -s KILL 200 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-schedule late_k_release=first_half --dtypes bf16 --seqlens 2048,8192 --repeats 5 --json $OUT/compare-halfk.json 2>&1 | grep -E "^\| bf16|geomean|device"
