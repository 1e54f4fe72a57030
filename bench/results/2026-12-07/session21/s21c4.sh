#!/usr/bin/env bash
# Session 21 call 4 (H200, needs_h200: issue 10's grid has a 32 GiB-per-tensor row that does not fit 80 GB): the
# decode table with FA3's decode build in the same call under the clean flush, on the issue's GPU. Trimmed to fit the
# session's last ~400 s: no Python API suite (15 / 15 on the H100 in call 1), nothing timed while FA3 builds.
s=$(date +%s)
LIMIT=${LIMIT:-375}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode bash tests/gpu/device_run.sh fa3 pyinstall > $OUT/log.txt 2>&1; export PYTHONPATH=/tmp/site
FA3_MODE=decode FA3_WAIT_S=150 bash tests/gpu/device_run.sh fa3wait >> $OUT/log.txt 2>&1
[ "$(cat /tmp/fa3-decode.rc 2>/dev/null)" = 0 ] && export FA3_PATH=$(cat /tmp/fa3-decode.path)
echo "== fa3 $(( $(date +%s) - s )) s"
DECODE_T=$(( LIMIT - ($(date +%s) - s) )) DECODE_ARGS="--flush clean" \
  bash tests/gpu/device_run.sh decodebench >> $OUT/log.txt 2>&1
grep -E "FA3_PATH|^device|^\||best peer on|of copy|rror" $OUT/log.txt | grep -v -- "---" | cut -c1-200 | tail -60
echo "wall $(( $(date +%s) - s )) s"
