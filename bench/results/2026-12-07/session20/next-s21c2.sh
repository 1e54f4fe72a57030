#!/usr/bin/env bash
# Prepared in session 20 for session 21 (H200 with needs_h200: issue 10's 28-row grid has a 32 GiB-per-tensor row,
# 32 / 128 / 32k, that does not fit 80 GB). Session 18's s18c9.sh with the clean flush (session 20: the memset
# flush's write-back costs the 268 MB rows 9 points of copy): the decode table with session 17's dispatch rules on
# the issue's GPU, FA3's decode build in the same call; the Python API suite while FA3 builds.
DECODE_ARGS="--flush clean" exec bash "$(dirname "$0")/../session18/s18c9.sh"
