#!/usr/bin/env bash
# compute-sanitizer's four tools on every shipped spec and every kernel kind,
# small shapes with tails (issue 13):
#   - each forward spec through `flashcore-gen run` (200 query rows, 177 keys,
#     GQA 4/2, so both the query and the key tail are partial blocks), under
#     memcheck, racecheck, synccheck and initcheck, and with each schedule
#     variant of the lit tests under memcheck;
#   - varlen, cache_seqlens, split-KV + combine, pack-GQA and paged kernels
#     through tests/gpu/sanitize_decode.py, local and softcap (run-time window
#     sizes and softcap) through test_features.py --only varlen/local/softcap
#     (Python, torch), memcheck and racecheck/synccheck.
#   sanitize_all.sh <flashcore-gen> <specs dir>
# Prints one line per run; exit 1 if any tool reports an error, 77 without a
# GPU or compute-sanitizer.
set -u
gen=$1
specs=$2
here=$(cd "$(dirname "$0")" && pwd)
nvidia-smi -L >/dev/null 2>&1 || { echo "skipped: no CUDA device"; exit 77; }
san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
[ -x "$san" ] || { echo "skipped: compute-sanitizer not found"; exit 77; }
rc=0
# SANITIZE_JOBS runs at once (processes on the one GPU; the JIT compiles are
# what takes the time): each result lands in a file, printed in order at the end.
jobs=${SANITIZE_JOBS:-1}
results=$(mktemp -d)
n=0
run() { # label, command...
  n=$((n + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_one "$@" > "$results/$(printf %05d $n)" &
}
run_one() { # label, command...
  local label=$1; shift
  local log
  log=$(timeout -s KILL ${SANITIZE_T:-180} "$san" --error-exitcode 99 "$@" 2>&1)
  local status=$?
  local summary
  summary=$(echo "$log" | grep -E "ERROR SUMMARY|LEAK SUMMARY|RACECHECK SUMMARY" | tr '\n' ' ')
  if [ $status -eq 0 ]; then
    echo "ok   $label: $summary"
  elif { [ $status -eq 1 ] && ! echo "$log" | grep -qE "========= (Invalid|Race|Barrier|Uninitialized|Program hit|Leaked|Error)"; } ||
       { [ $status -eq 255 ] && echo "$log" | grep -q "terminated before first instrumented API call"; } &&
       echo "$log" | grep -q "error: "; then
    # A schedule variant the spec does not admit: validation says so.
    echo "n/a  $label: $(echo "$log" | grep -m1 "error: ")"
  else
    echo "FAIL $label (exit $status): $summary"
    echo "$log" | grep -E "=========" | head -20
  fi
}
for spec in "$specs"/*.yaml; do
  name=$(basename "$spec" .yaml)
  # Kernels `run` cannot drive alone are covered from Python below.
  # (Local and softcap specs: their run-time values are varied from Python.)
  if grep -qE "^\s*(kind: combine|cache_seqlens: true|varlen: true|local: true|softcap: true)" "$spec"; then
    continue
  fi
  for tool in memcheck racecheck synccheck initcheck; do
    run "$tool $name" --tool $tool "$gen" run "$spec" --batch 1 --heads 4 --kv-heads 2 \
      --seqlen 200 --seqlen-k 177 --check-rows 0 --repeats 1
  done
  while read -r variant; do
    [ "$variant" = - ] && continue
    run "memcheck $name $variant" --tool memcheck "$gen" run "$spec" --schedule="$variant" \
      --batch 3 --heads 4 --kv-heads 2 --seqlen 200 --seqlen-k 177 --check-rows 0 --repeats 1
  done < <(grep -v -e '^#' -e '^$' "$here/../gen/Inputs/schedule-variants.txt")
done
if python3 -c "import flashcore, torch" 2>/dev/null; then
  for tool in memcheck racecheck synccheck; do
    run "$tool decode kinds (sanitize_decode.py)" --tool $tool python3 "$here/sanitize_decode.py"
  done
  for only in varlen local softcap; do
    run "memcheck $only (test_features.py --only $only)" --tool memcheck python3 \
      "$here/test_features.py" --only $only --random 0 --max-seqlen 700
  done
fi
wait
cat "$results"/*
grep -q "^FAIL" "$results"/* && rc=1
awk '/^ok/ {o++} /^n\/a/ {a++} /^FAIL/ {f++} END {print o + 0 " ok, " a + 0 " n/a, " f + 0 " failed"}' "$results"/*
rm -rf "$results"
exit $rc
