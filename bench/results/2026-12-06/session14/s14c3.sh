#!/usr/bin/env bash
# Session 14 call 3: FA3's decode build in the background; the Python API suite meanwhile; then the decode table with FA3.
s=$(date +%s)
FA3_MODE=decode PYAPI_T=240 FA3_WAIT_S=200 DECODE_T=280 bash tests/gpu/device_run.sh env fa3 pyinstall pyapi fa3wait decodebench 2>&1 | tee "$OUT/log.txt" | grep -E "^PASS|^FAIL|passed|==========|FA3|device|^\||TB/s|ratio|geomean|rror" | cut -c1-220 | tail -80
echo "wall $(( $(date +%s) - s )) s"
