#!/usr/bin/env bash
# FA3's forward kernels as PTX, built here (no GPU, no torch): nvcc -ptx on one of FA3's hopper/instantiations
# with the flags of its setup.py and fa3_build.sh's protocol feature set (no split, pack-GQA, varlen, paged KV,
# local, softcap, FP8, clusters), for a desk comparison with FlashCore's PTX (bench/ptx_opmix.py). ~5 min on 2 cores.
#   bash bench/fa3_ptx.sh TARBALL HDIM DTYPE OUT.ptx     e.g. .peers/fa3-hopper-src.tar.xz 128 bf16 /tmp/fa3.ptx
# The instantiation holds FA3's kernels for causal and non-causal (their tiles differ: entry 0 is 128 x 128 causal,
# entry 1 128 x 176 at hdim 128); `ptxas -arch=sm_90a -v` on OUT.ptx gives their registers and spills.
set -eu
tarball=$1 hdim=$2 dtype=$3 out=$4
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
tar xJf "$tarball" -C "$src"
cd "$src/fa/hopper"
defs=""
for f in BACKWARD PAGEDKV SPLIT APPENDKV LOCAL SOFTCAP PACKGQA FP8 VARLEN CLUSTER HDIM96 HDIM192 SM8x HDIMDIFF64 \
         HDIMDIFF192; do defs="$defs -DFLASHATTENTION_DISABLE_$f"; done
# shellcheck disable=SC2086
/usr/local/cuda/bin/nvcc -O3 -std=c++17 --use_fast_math --expt-relaxed-constexpr --expt-extended-lambda \
  -DCUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED -DCUTLASS_ENABLE_GDC_FOR_SM90 -DCUTLASS_DEBUG_TRACE_LEVEL=0 -DNDEBUG $defs \
  -I. -I../csrc/cutlass/include -gencode arch=compute_90a,code=sm_90a -ptx \
  "instantiations/flash_fwd_hdim${hdim}_${dtype}_sm90.cu" -o "$out" 2> "$out.log" || { tail -20 "$out.log" >&2; exit 1; }
grep -c "^\.entry" "$out" | sed "s|^|$out: |; s|$| kernels|"
