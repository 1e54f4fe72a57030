#!/usr/bin/env bash
# The spec fuzzer's corpus through the whole generator: every input the
# parser accepts must generate PTX that ptxas assembles (flashcore-gen
# emit-cubin exit 0); every other input must be rejected with a located
# error (exit 1). Exit 2 (a validated spec the generator or ptxas rejects)
# or a crash is a finding: the input is copied to <build>/fuzz/findings/.
#   tests/fuzz/generate_corpus.sh <build dir> [corpus dir]
set -u
build=$(cd "$1" && pwd)
corpus=${2:-$build/fuzz/spec/corpus}
gen="$build/bin/flashcore-gen"
out=$(mktemp -d)
mkdir -p "$build/fuzz/findings"
export FLASHCORE_DISK_CACHE=0
accepted=0 rejected=0 findings=0
for f in "$corpus"/*; do
  [ -f "$f" ] || continue
  cp "$f" "$out/spec.yaml"
  timeout -s KILL 120 "$gen" emit-cubin "$out/spec.yaml" -o "$out/k.cubin" >/dev/null 2>"$out/err"
  rc=$?
  case $rc in
    0) accepted=$((accepted + 1)) ;;
    1) if grep -q "spec.yaml:[0-9]*:[0-9]*: error: \|error: " "$out/err"; then
         rejected=$((rejected + 1))
       else
         echo "FINDING (exit 1 without a located error): $f"; cat "$out/err" | head -5
         cp "$f" "$build/fuzz/findings/"; findings=$((findings + 1))
       fi ;;
    *) echo "FINDING (exit $rc): $f"; head -5 "$out/err"
       cp "$f" "$build/fuzz/findings/"; findings=$((findings + 1)) ;;
  esac
done
rm -rf "$out"
echo "generate_corpus: $accepted accepted and assembled, $rejected rejected, $findings findings"
[ $findings -eq 0 ]
