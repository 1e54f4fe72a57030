#!/usr/bin/env bash
# Session 22 call 2 (any GPU): the 72 FA3-protocol rows (and GQA / odd lengths), FA3 built from source in the
# same call, cuDNN and FA2 in the same process, with a candidate dispatch table: DYN fields on every
# dynamic_persistent entry, ALL on every overlap entry (make_tables.py). Empty DYN and ALL: the shipped table.
set -u
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
if [ -n "${DYN:-}${ALL:-}" ]; then
  python3 bench/results/2026-12-07/session22/make_tables.py /tmp/s22-table.yaml "${DYN:-}" "${ALL:-}"
  export FLASHCORE_DISPATCH_TABLE=/tmp/s22-table.yaml
fi
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait bench
