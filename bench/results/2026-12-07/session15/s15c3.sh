#!/usr/bin/env bash
# Session 15 call 3 (warm): decode table (FA3 decode build of call 2), then the fwdncu rows into $OUT.
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall >/dev/null 2>&1; export PYTHONPATH=/tmp/site
FA3_PATH=/tmp/fa3-decode/fa/hopper DECODE_T=260 bash tests/gpu/device_run.sh decodebench 2>&1 | grep -v "^\s*$" > $OUT/decode-log.txt
tail -5 $OUT/decode-log.txt
export FA3_PATH=$(cat /tmp/fa3-protocol.path)
FWD_ROWS="bf16 128 0 8192;bf16 64 1 2048" FWDNCU_T=150 bash tests/gpu/device_run.sh fwdncu > $OUT/fwdncu-log.txt 2>&1
grep -E "^-------|flashcore|device_kernel|cudnn|gpu__time|tensor_cycles" $OUT/fwdncu-log.txt | cut -c1-120
