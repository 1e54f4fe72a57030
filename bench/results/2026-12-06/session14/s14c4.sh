#!/usr/bin/env bash
# Session 14 call 4: the decode table with FA3's decode build (call 3's fa3wait took call 1's stale rc file).
s=$(date +%s)
FA3_MODE=decode FA3_WAIT_S=420 DECODE_T=170 bash tests/gpu/device_run.sh fa3 pyinstall fa3wait decodebench 2>&1 | tee "$OUT/log.txt" | grep -E "==========|FA3|device|^\||rror" | cut -c1-220 | tail -60
echo "wall $(( $(date +%s) - s )) s"; tail -5 /tmp/fa3.err
