#!/usr/bin/env bash
# Session 16 call 4: flashcore-gen run with run-time windows and softcap (new flags) on the GPU; local with
# trim_masked_blocks at 176 keys.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
g=build/bin/flashcore-gen
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
r() { echo "-- $*"; timeout -s KILL 60 $g run "$@" 2>&1 | grep -E "^check|FAIL|PASS|rror|plan" | cut -c1-220; }
r specs/bf16_d128_local.yaml --batch 1 --heads 4 --seqlen 777 --seqlen-k 900 --window-left 100 --window-right 20 --check-rows 0
r specs/bf16_d128_local.yaml --schedule=block_n=176,pingpong=true,overlap=true --batch 2 --heads 4 --seqlen 1000 --window-left 300 --window-right 0 --check-rows 0
r specs/bf16_d128_local.yaml --schedule=block_n=176,pingpong=true,overlap=true --batch 1 --heads 4 --seqlen 1500 --seqlen-k 777 --window-left -1 --window-right 64 --check-rows 0
r specs/bf16_d128_softcap.yaml --batch 1 --heads 4 --seqlen 700 --softcap 10 --check-rows 0
r specs/bf16_d128_softcap.yaml --batch 2 --heads 4 --seqlen 1000 --check-rows 0
