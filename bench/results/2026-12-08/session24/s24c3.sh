#!/usr/bin/env bash
# Prepared in session 24 (not yet run). One call, any GPU (~450 s): FA3 built with the ptxas it pins (12.8: Triton's
# bundled one, through bench/cuda_with_ptxas.sh's shadow toolkit), where its spills went (fa3spills), and the 72
# FA3-protocol rows for FlashCore and that FA3 alone in one process (cuDNN still checks FlashCore's output on each
# row). Against call 2's FA3 (CUDA 13.0's ptxas) this says how much the toolchain moves FA3 on its causal rows.
set -u
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
FA3_PTXAS=triton BENCH_ENV="REPEATS=5 PROVIDERS=flashcore,fa3" \
  bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait fa3spills bench
