#!/usr/bin/env bash
# Prepared in session 24 (not yet run). One call, any GPU (~560 s): the 72 FA3-protocol rows + GQA + odd lengths under
# the shipped table, FA3 built from source in the same call, cuDNN and FA2 in the same process (as session 22's
# s22c2.sh with no DYN / ALL), plus fa3spills: where the spills of FA3's causal kernels sit in its SASS. FA3's setup.py
# uses the system's CUDA 13.0 toolchain here; its ptxas spills FA3's causal kernels (28 bytes at hdim 64, 12 at hdim
# 128: bench/fa3_ptx.sh on this repo's machine, same ptxas V13.0.88), which FA3 avoids with ptxas 12.8 on CUDA 12.x.
set -u
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
BENCH_ENV="REPEATS=5 GEMM=1 EXTRA=gqa,odd" bash tests/gpu/device_run.sh env fa3 pyinstall fa3wait fa3spills bench
