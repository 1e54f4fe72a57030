#!/usr/bin/env bash
# Session 18 call 12 (H200; the 28-row grid needs more than 80 GB): the decode table with session 17's rules, eager
# timings, cuDNN and FA2 in the same process (no FA3 build: too little device time left; FA3 was never the best peer).
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
DECODE_T=200 timeout 230 bash tests/gpu/device_run.sh env pyinstall decodebench > $OUT/log.txt 2>&1
grep -E "FA3_PATH|device|^\||caches|best peer on|rror" $OUT/log.txt | grep -v -- "---" | cut -c1-220 | tail -60
echo "wall $(( $(date +%s) - s )) s"
