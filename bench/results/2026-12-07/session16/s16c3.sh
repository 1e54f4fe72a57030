#!/usr/bin/env bash
# Session 16 call 3: test_features.py (local, varlen, GQA, ... on the table's schedules, trim_masked_blocks on),
# then d64 causal dynamic persistent longest-first (128 keys) against the table, bf16 + fp16.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
timeout -s KILL 170 python3 tests/gpu/test_features.py --json $OUT/features.json 2>&1 | grep -E "FAIL|cases passed|rror" | head -20
timeout -s KILL 150 python3 bench/compare_libs.py build/lib/libflashcore.so build/lib/libflashcore.so --self \
  --after-schedule scheduler=dynamic_persistent,tile_order=longest_first --dtypes bf16,fp16 --hdims 64 --causal yes \
  --seqlens 2048,4096,8192,16384 --repeats 5 --json $OUT/c3-d64-dyn.json 2>&1 | grep -E "^\| |geomean|rror"
