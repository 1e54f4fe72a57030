#!/usr/bin/env bash
# Prepared in session 19 for session 20 (H200 with needs_h200: issue 10's 28-row grid has a 32 GiB row,
# 32 / 128 / 32k, that does not fit 80 GB). The decode table with session 17's dispatch rules on the issue's GPU:
# FA3's decode build in the same call, eager + graph timings, do_bench's flush (as every earlier table); the
# Python API suite while FA3 builds. It is session 18's s18c9.sh, which never ran (no H200 came).
exec bash "$(dirname "$0")/../session18/s18c9.sh"
