#!/usr/bin/env bash
# Session 14 call 1: the 72 protocol rows + GQA + odd with FA3 (protocol build) in one process.
s=$(date +%s)
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench 2>&1 | tee "$OUT/log.txt" | grep -v "^|" | tail -40
echo "wall $(( $(date +%s) - s )) s"
