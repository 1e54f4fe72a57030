#!/usr/bin/env bash
# Helper of ptxas-all-specs.test: emit, assemble and inspect every spec.
set -u
specs=$1
ptxas=$2
tmp=$3
mkdir -p "$tmp"
n=0
for spec in "$specs"/*.yaml; do
  name=$(basename "$spec" .yaml)
  if ! flashcore-gen emit-ptx "$spec" -o "$tmp/$name.ptx"; then
    echo "FAIL $name: emit-ptx"; continue
  fi
  log=$("$ptxas" -arch=sm_90a -O3 -v "$tmp/$name.ptx" -o "$tmp/$name.cubin" 2>&1) ||
    { echo "FAIL $name: ptxas"; echo "$log"; continue; }
  echo "$log" | grep -q "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" ||
    { echo "FAIL $name: spills"; echo "$log"; }
  echo "$log" | grep -E "C7508|C7514|C7515|C7517|C7519|warning" &&
    echo "FAIL $name: ptxas warning"
  n=$((n + 1))
done
echo "assembled $n specs"
