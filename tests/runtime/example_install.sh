#!/usr/bin/env bash
#===- tests/runtime/example_install.sh - The installed tree is enough -----===#
#
#   bash example_install.sh <build dir> <source dir> [--run]
#
# Installs the build into <build dir>/example-check/prefix, checks that every
# installed header compiles with only -I<prefix>/include (and cuda.h), and
# builds examples/ as a separate CMake project that finds FlashCore through
# find_package(flashcore) in that prefix alone. With --run, runs the example
# (attention checked against fp64 on the CPU); exit 77 without a GPU. Where
# cmake or a compiler is missing (a bare GPU machine), --run uses the binary
# a previous run left in <build dir>/example-check.
#
#===----------------------------------------------------------------------===#
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
run=${3:-}
out=$build/example-check
prefix=$out/prefix
cuda=${CUDA_HOME:-/usr/local/cuda}
exe=$out/build/attention_forward

have_tools() { command -v cmake >/dev/null && command -v cc >/dev/null && command -v c++ >/dev/null &&
  [ -f "$cuda/include/cuda.h" ]; }

if have_tools; then
  # Step 1. Install.
  rm -rf "$prefix" "$out/build"
  cmake --install "$build" --prefix "$prefix" >"$out.install.log" 2>&1 ||
    { cat "$out.install.log"; echo "FAIL: cmake --install"; exit 1; }
  for f in lib/libflashcore.so lib/cmake/flashcore/flashcoreConfig.cmake bin/flashcore-gen \
           include/flashcore/flashcore.h include/flashcore/Runtime.h include/flashcore/Device.h \
           include/flashcore/Compile.h include/flashcore/Cache.h \
           include/flashcore/compiler/Spec.h include/flashcore/compiler/KernelABI.h; do
    [ -f "$prefix/$f" ] || { echo "FAIL: $f is not installed"; exit 1; }
  done
  # Step 2. Each installed header on its own, with nothing from the source tree.
  for h in $(cd "$prefix/include" && find flashcore -name '*.h' | sort); do
    echo "#include <$h>" | c++ -std=c++17 -fsyntax-only -Wall -I"$prefix/include" \
      -I"$cuda/include" -x c++ - || { echo "FAIL: $h does not compile alone"; exit 1; }
  done
  echo '#include <flashcore/flashcore.h>' | cc -std=c99 -fsyntax-only -Wall -I"$prefix/include" \
    -I"$cuda/include" -x c - || { echo "FAIL: flashcore.h is not C"; exit 1; }
  # Step 3. The example as an outside project.
  cmake -S "$src/examples" -B "$out/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCUDAToolkit_ROOT="$cuda" >"$out.configure.log" 2>&1 ||
    { cat "$out.configure.log"; echo "FAIL: configuring examples/"; exit 1; }
  cmake --build "$out/build" >"$out.build.log" 2>&1 ||
    { cat "$out.build.log"; echo "FAIL: building examples/"; exit 1; }
  grep -q -- "-I$src" "$out.build.log" && { echo "FAIL: the source tree leaked into the build"; exit 1; }
  readelf -d "$exe" | grep -q "NEEDED.*libflashcore.so" ||
    { echo "FAIL: the example does not link libflashcore.so"; exit 1; }
  ldd "$exe" 2>/dev/null | grep "libflashcore.so" | grep -q "$prefix/lib" ||
    { ldd "$exe"; echo "FAIL: the example does not load the installed library"; exit 1; }
  echo "installed into $prefix; headers compile alone; examples/ built against it"
elif [ "$run" != --run ] || [ ! -x "$exe" ]; then
  echo "FAIL: cmake, cc, c++ and $cuda/include/cuda.h are needed (and no prebuilt $exe)"
  exit 1
else
  echo "no build tools here: running the prebuilt $exe"
fi

[ "$run" = --run ] || exit 0
# Step 4. Run it.
LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$exe" 2>"$out.run.err"
rc=$?
cat "$out.run.err" >&2
if [ $rc -eq 77 ] || { [ $rc -eq 127 ] && grep -q "libcuda.so" "$out.run.err"; }; then
  echo "skipped: no CUDA device"
  exit 77
fi
exit $rc
