#!/usr/bin/env bash
# compute-sanitizer memcheck and racecheck on one small shape (with a query
# and key tail: 200 rows), run through `flashcore-gen run`.
#   sanitize.sh <flashcore-gen> <spec.yaml>
# Exit 77 (skipped) without a GPU or without compute-sanitizer.
set -u
gen=$1
spec=$2
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no CUDA device"
  exit 77
fi
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ ! -x "$sanitizer" ]; then
  echo "skipped: compute-sanitizer not found"
  exit 77
fi
rc=0
for tool in memcheck racecheck; do
  echo "== compute-sanitizer --tool $tool"
  "$sanitizer" --tool "$tool" --error-exitcode 99 "$gen" run "$spec" \
      --batch 1 --heads 2 --seqlen 200 --check-rows 0 --repeats 1 || rc=1
done
# The tail and varlen cases of the feature matrix (issue 5), through the C API
# from Python: memcheck only (racecheck of torch's own kernels is not ours).
features=$(dirname "$0")/test_features.py
if python3 -c "import torch" 2>/dev/null; then
  for only in len varlen; do
    echo "== compute-sanitizer --tool memcheck test_features.py --only $only"
    "$sanitizer" --tool memcheck --error-exitcode 99 python3 "$features" \
        --only "$only" --random 0 --max-seqlen 1300 || rc=1
  done
  # Decode: split-KV + combine, pack-GQA, cache_seqlens, paged
  # (sanitize_decode.py checks each output against float64 too).
  if python3 -c "import flashcore, torch" 2>/dev/null; then
    for tool in memcheck racecheck synccheck; do
      echo "== compute-sanitizer --tool $tool sanitize_decode.py"
      "$sanitizer" --tool "$tool" --error-exitcode 99 python3 \
          "$(dirname "$0")/sanitize_decode.py" || rc=1
    done
  fi
fi
exit $rc
