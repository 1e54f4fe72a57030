#!/usr/bin/env bash
# Prepared in session 19 for a call with little device time left (~170 s of script; written when every start of
# the session had failed): a 0.6-minute soak (4 threads, a stream each, random shapes against fp64) with
# FLASHCORE_TILE_COUNTER=stream and prefetch_tensormaps=true -- the self-resetting counter carries over between
# calls on each stream -- then the decode L2 flush A/B on the two 256 MB rows.
s=$(date +%s)
nvidia-smi --query-gpu=name --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
FLASHCORE_TILE_COUNTER=stream FLASHCORE_SCHEDULE=prefetch_tensormaps=true timeout 80 python3 tests/gpu/soak.py \
  --minutes 0.6 --threads 4 --json $OUT/soak.json 2>&1 | tail -12
echo "== soak $(( $(date +%s) - s )) s"
for f in zero clean; do timeout 30 python3 bench/decode_sweep.py --rows "8,8,8192;8,64,1024" --splits 0 \
  --copy --flush $f --json $OUT/flush-$f.json 2>&1 | cut -c1-330; done
echo "wall $(( $(date +%s) - s )) s"
