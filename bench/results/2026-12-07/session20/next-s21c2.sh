#!/usr/bin/env bash
# Prepared in session 20 for session 21 (H200 with needs_h200: issue 10's 28-row grid has a 32 GiB-per-tensor row,
# 32 / 128 / 32k, that does not fit 80 GB). Session 18's s18c9.sh with the clean flush (session 20: the memset
# flush's write-back costs the 268 MB rows 9 points of copy): the decode table with session 17's dispatch rules on
# the issue's GPU, FA3's decode build in the same call; the Python API suite while FA3 builds.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=400 DECODE_ARGS="--flush clean" PYAPI_T=120 \
  timeout 560 bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "checks passed|^FAIL|FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -90
echo "wall $(( $(date +%s) - s )) s"
