#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (libFuzzer + ASan + UBSan,
# only FlashCore's MLIR-free sources instrumented; LLVMSupport linked as is)
# and runs each for a fixed number of executions from its seed corpus.
#
#   tests/fuzz/run.sh <build dir> [runs per target (default 20000)] [target ...]
#
# Targets: spec (spec text -> parser -> validator -> canonical form),
# cache (disk-cache entry reader and dispatch-table reader). Findings are
# written to <build dir>/fuzz/<target>/ (crash-*, leak-*, timeout-*); the
# script exits 1 when a target finds one. Exit 77 (skipped) without clang.
set -u
build=$(cd "$1" && pwd)
runs=${2:-20000}
shift $(( $# >= 2 ? 2 : 1 ))
targets=${*:-spec cache}
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${FUZZ_CXX:-$(command -v clang++-22 || command -v clang++ || true)}
if [ -z "$cxx" ]; then
  echo "skipped: no clang++ (apt install clang)"
  exit 77
fi
llvm=${LLVM_DIR:-/usr/lib/llvm-22}
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root" -I"$root/runtime/include" -I"$build/runtime/generated" -I"$llvm/include"
       -I"${CUDA_HOME:-/usr/local/cuda}/include"
       -DFLASHCORE_DEFAULT_PTXAS="\"\"" -DFLASHCORE_VERSION_STRING="\"fuzz\"")
spec_sources=("$root"/compiler/{Spec,SpecYaml,KernelABI,TileSchedule,Swizzle,WgmmaDescriptor}.cpp)
cache_sources=("${spec_sources[@]}" "$root"/runtime/{CacheEntry,CacheKey,CudaDriver,DiskCache,DispatchTable,Log,PtxAssembler,Subprocess}.cpp)
libs=(-L"$llvm/lib" -lLLVMSupport -lLLVMDemangle -lz -lzstd -ltinfo -lpthread -ldl)
rc=0
for target in $targets; do
  case $target in
    spec) main=SpecFuzzer.cpp; sources=("${spec_sources[@]}") ;;
    cache) main=CacheFuzzer.cpp; sources=("${cache_sources[@]}") ;;
    *) echo "unknown fuzz target $target (spec, cache)"; exit 2 ;;
  esac
  out="$build/fuzz/$target"
  mkdir -p "$out/corpus"
  bin="$build/fuzz/${target}_fuzzer"
  if [ ! -x "$bin" ] || [ -n "$(find "$root/tests/fuzz" "$root/compiler" "$root/runtime" -newer "$bin" -name '*.cpp' -o -newer "$bin" -name '*.h' | head -1)" ]; then
    echo "== building $bin with $cxx"
    "$cxx" "${flags[@]}" "$root/tests/fuzz/$main" "${sources[@]}" "${libs[@]}" -o "$bin" || exit 1
  fi
  # The seeds, then what earlier runs kept; a fixed seed makes a run repeatable.
  cp -n "$root/tests/fuzz/corpus/$target"/* "$out/corpus/" 2>/dev/null
  echo "== $target: $runs executions"
  log="$out/last-run.log"
  (cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -runs="$runs" -seed=${FUZZ_SEED:-1} -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      $( [ -f "$root/tests/fuzz/$target.dict" ] && echo "-dict=$root/tests/fuzz/$target.dict" ) \
      -print_final_stats=1 corpus >"$log" 2>&1)
  status=$?
  grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written|Done" "$log"
  if [ $status -ne 0 ]; then
    echo "FAIL: the $target fuzzer exited $status:"; tail -20 "$log"
    rc=1
  fi
  if ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* >/dev/null 2>&1; then
    echo "FAIL: $target found: $(ls "$out" | grep -E '^(crash|leak|timeout|oom)-' | tr '\n' ' ')"
    rc=1
  fi
done
exit $rc
