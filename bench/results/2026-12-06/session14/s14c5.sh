#!/usr/bin/env bash
# Session 14 call 5: decode with 64-key blocks at head_dim 128 (the new default): Python API suite, decode sanitizers, decode table with FA3.
s=$(date +%s)
FA3_MODE=decode SANDECODE_TOOLS="memcheck racecheck" SANDECODE_T=120 FA3_WAIT_S=300 DECODE_T=170 PYAPI_T=200 \
  bash tests/gpu/device_run.sh env fa3 pyinstall pyapi sandecode fa3wait decodebench 2>&1 | tee "$OUT/log.txt" \
  | grep -E "^PASS|^FAIL|passed|==========|FA3|device|^\||rror|ERROR SUMMARY|sanitize" | grep -v -- "---" | cut -c1-200 | tail -70
echo "wall $(( $(date +%s) - s )) s"
