# Session 13 call 2: the usual GPU suite on the bfe descriptor build; FlashCore vs FA3 per instruction on a worst row.
export FEATURE_VARIANTS="-" FEATURE_TIMEOUT=200 FWD_ROW="${FWD_ROW:-bf16 128 1 2048}" FWDSRC_TOP=30
bash tests/gpu/device_run.sh env fa3 pyinstall 2>&1 | tail -5
PYTHONPATH=/tmp/site FLASHCORE_SCHEDULE= timeout -s KILL 200 python3 tests/gpu/test_features.py --random 2 --json $OUT/features.json | grep -E "FAIL|n/a|cases passed" | head -20
PYTHONPATH=/tmp/site bash tests/gpu/device_run.sh fa3wait fwdncusrc 2>&1 | tail -90
