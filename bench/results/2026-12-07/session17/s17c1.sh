#!/usr/bin/env bash
# Session 17 call 1: decode on the H200: SASS of the decode kernels, then issue 10's 28-row grid (GQA 32:8 and
# MHA 32:32, B 1-128, seqlen_k 1k-128k, B * seqlen_k <= 4M), paged and other shapes, FA3's decode build in the
# same call, eager and CUDA-graph timings.
s=$(date +%s)
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode FA3_WAIT_S=300 DECODE_T=480 DECODE_ARGS="--graphs" \
  bash tests/gpu/device_run.sh env fa3 pyinstall decodesass fa3wait decodebench > $OUT/log.txt 2>&1
grep -E "====|FA3|device|^\||caches|best peer on|HGMMA|registers|LDL|STL|rror" $OUT/log.txt | grep -v -- "---" \
  | cut -c1-220 | tail -110
echo "wall $(( $(date +%s) - s )) s"
