#!/usr/bin/env bash
# Session 15 call 2 (warm machine after call 1): ncu of FlashCore, FA3 (call 1's protocol build) and cuDNN
# on the rows furthest behind FA3; then the decode table with FA3's decode build (built meanwhile).
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
FA3_MODE=decode bash tests/gpu/device_run.sh fa3 pyinstall 2>&1 | tail -2
export PYTHONPATH=/tmp/site
export FA3_PATH=$(cat /tmp/fa3-protocol.path 2>/dev/null); echo "FA3_PATH=$FA3_PATH"
FWD_ROWS="bf16 128 0 8192;bf16 64 1 2048" FWDNCU_T=150 bash tests/gpu/device_run.sh fwdncu 2>&1 | grep -v "^\s*$"
unset FA3_PATH
FA3_MODE=decode DECODE_T=200 bash tests/gpu/device_run.sh fa3wait decodebench 2>&1 | grep -v "^\s*$" | tail -60
