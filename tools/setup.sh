#!/usr/bin/env bash
#===- tools/setup.sh - Install, build, and run or test FlashCore ---------===#
#
#   bash tools/setup.sh run    install what is missing, build, emit the PTX of
#                              specs/default.yaml, assemble it for sm_90a and
#                              print its resource use; on a GPU also run it on
#                              a default shape, check it against an fp64
#                              reference and print the error and TFLOPS.
#   bash tools/setup.sh test   install, build, then every test (ctest: unit
#                              tests, lit, Python, GPU tests that skip
#                              without a GPU).
#
# Both build the Python extension (build/python/flashcore); install the
# package with `python3 -m pip install --no-build-isolation ./python`.
#
# Needs Debian 12 and the CUDA toolkit at /usr/local/cuda (ptxas, cuda.h).
# Environment: FLASHCORE_BUILD_DIR (default build/), JOBS (default nproc),
# FLASHCORE_PYTHON (default /usr/bin/python3).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

mode=${1:-run}
case "$mode" in
  run|test) ;;
  *) echo "usage: bash tools/setup.sh run|test" >&2; exit 1 ;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FLASHCORE_BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

# Step 1. Debian packages: install only what is missing (silent otherwise).
packages="cmake make g++ python3 libgtest-dev zlib1g-dev libzstd-dev
          llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
          python3-dev pybind11-dev python3-pytest python3-venv python3-setuptools
          python3-wheel clang libclang-rt-14-dev"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
cuda=${FLASHCORE_CUDA_HOME:-/usr/local/cuda}
if [ ! -x "$cuda/bin/ptxas" ] || [ ! -f "$cuda/include/cuda.h" ]; then
  echo "error: the CUDA toolkit (ptxas, cuda.h) must be at $cuda (or set FLASHCORE_CUDA_HOME)" >&2
  exit 1
fi

# Step 2. Configure and build (flashcore._C for Debian's python3, which the
# packages above equip, unless FLASHCORE_PYTHON names another interpreter).
python=${FLASHCORE_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3)
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DFLASHCORE_CUDA_HOME="$cuda" -DPython3_EXECUTABLE="$python" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$jobs"

if [ "$mode" = test ]; then
  # Step 3. Every test.
  cd "$build"
  exec ctest --output-on-failure -j"$jobs"
fi

# Step 3. The default kernel: PTX, ptxas, resource use.
gen="$build/bin/flashcore-gen"
spec="$root/specs/default.yaml"
out="$build/default"
echo "== spec ($spec)"
"$gen" emit-spec "$spec"
echo "== PTX"
"$gen" emit-ptx "$spec" -o "$out.ptx" --time
grep -o -E "cp\.async\.bulk\.tensor[^ ]*|mbarrier\.try_wait[^ ]*|wgmma\.mma_async[^ ]*|setmaxnreg[^ ]*" \
  "$out.ptx" | sort | uniq -c
echo "== ptxas -arch=sm_90a"
"$cuda/bin/ptxas" -arch=sm_90a -O3 -v "$out.ptx" -o "$out.cubin" 2>&1 | sed 's/^/  /'
"$gen" emit-cubin "$spec" -o "$out.cubin"

# Step 4. On a GPU: run, check, time.
echo "== run"
rc=0
"$gen" run "$spec" --batch 4 --heads 16 --seqlen 2048 --check-rows 64 || rc=$?
if [ "$rc" -eq 3 ]; then
  exit 0 # no CUDA device: flashcore-gen printed "skipped: no CUDA device"
fi
exit "$rc"
