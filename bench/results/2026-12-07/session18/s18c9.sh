#!/usr/bin/env bash
# Session 18 call 9 (H200: the full 28-row grid needs more than an H100's 80 GB): the decode table with session 17's
# rules, FA3's decode build in the same call, eager + graph timings; the Python API suite while FA3 builds.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=400 DECODE_ARGS="${DECODE_ARGS:---graphs}" PYAPI_T=120 \
  timeout 560 bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL|FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -90
echo "wall $(( $(date +%s) - s )) s"
