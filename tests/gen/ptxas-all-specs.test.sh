#!/usr/bin/env bash
# Helper of ptxas-all-specs.test: emit, assemble and inspect every spec of a
# directory, each with every schedule variant of a variants file (one
# --schedule value per line, "-" = the spec as written). Prints one FAIL line
# per problem, then "assembled N kernels, F failures"; exits 1 on a failure.
#   bash ptxas-all-specs.test.sh SPECS_DIR PTXAS TMP [VARIANTS_FILE]
set -u
specs=$1
ptxas=$2
tmp=$3
variants=${4:-}
mkdir -p "$tmp"
n=0
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
list="-"
[ -n "$variants" ] && list=$(grep -v '^#' "$variants")
for spec in "$specs"/*.yaml; do
  name=$(basename "$spec" .yaml)
  for variant in $list; do
    args=()
    tag=$name
    if [ "$variant" != "-" ]; then
      args=(--schedule="$variant")
      tag="$name[$variant]"
    fi
    out="$tmp/$name.$n"
    if ! err=$(flashcore-gen emit-ptx "$spec" "${args[@]}" -o "$out.ptx" 2>&1); then
      # A variant that the spec rules reject (e.g. a register budget) is not a
      # kernel; a spec as written must always generate.
      if [ "$variant" = "-" ]; then fail "$tag: emit-ptx: $err"; fi
      continue
    fi
    log=$("$ptxas" -arch=sm_90a -O3 -v "$out.ptx" -o "$out.cubin" 2>&1) ||
      { fail "$tag: ptxas"; echo "$log"; continue; }
    echo "$log" | grep -q "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" ||
      { fail "$tag: spills"; echo "$log"; }
    echo "$log" | grep -E "C7508|C7514|C7515|C7517|C7519|warning" &&
      fail "$tag: ptxas warning"
    n=$((n + 1))
  done
done
echo "assembled $n kernels, $failures failures"
[ "$failures" -eq 0 ]
