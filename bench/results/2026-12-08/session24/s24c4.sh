#!/usr/bin/env bash
# Prepared in session 24 (not yet run). One call, any GPU (~500 s): key_order descending (session 24; FA3's downward
# walk over a tile's key blocks) through the feature suite against fp64 (every case whose spec takes the override:
# causal / local / softcap / varlen / GQA / KV cache / split-KV / odd lengths; paged caches reject it) and
# compute-sanitizer (memcheck, racecheck, synccheck) on the trimmed ping-pong causal entry, the d64 three-warpgroup
# entry and a local window. Run it before key_order goes into any table entry.
set -u
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
F=prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true
C128=pingpong=true,overlap=true,epilogue=tma,early_finish=true,scheduler=dynamic_persistent,tile_order=longest_first,$F
C64=block_m=192,consumer_warpgroups=3,block_n=128,pingpong=true,overlap=true,epilogue=tma,early_finish=true
FEATURE_VARIANTS="key_order=descending;$C128,key_order=descending" FEATURE_TIMEOUT=200 \
SANVAR_VARIANTS="$C128,key_order=descending fp16_d64_causal.yaml@$C64,key_order=descending bf16_d128_local.yaml@overlap=true,pingpong=true,key_order=descending" \
  bash tests/gpu/device_run.sh env pyinstall featvar sanvar
