#!/usr/bin/env bash
# Prepared in session 19 for session 20 (any GPU; on an H100 the 32 / 128 / 32k row is skipped): every row of
# issue 10's grid whose cache is >= 256 MB, FlashCore (automatic splits) and cuDNN, each flush (zero: do_bench's
# 256 MB memset, clean: a 256 MB read), with the copy bandwidth measured with the same flush -- does the 90 %-of-copy
# shortfall of the two 256 MB rows come from the memset's dirty L2 lines written back inside the timed call?
# Then the forward rows where FlashCore's kernel ties cuDNN's under ncu but trails it in the benchmark (d64, S 512 /
# 1024): FlashCore and cuDNN under each flush -- does the write-back cost FlashCore more than cuDNN?
s=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
export LD_LIBRARY_PATH=$PWD/build/syslib:${LD_LIBRARY_PATH:-}
bash tests/gpu/device_run.sh pyinstall > /dev/null 2>&1; export PYTHONPATH=/tmp/site
mem=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
rows=$(python3 -c "
import sys; mem = int(sys.argv[1]) << 20
r = [(h, b, s) for h in (8, 32) for b in (1, 8, 64, 128) for s in (1024, 8192, 32768, 131072)
     if b * s <= 4 << 20 and 4 * b * s * h * 128 >= 256 << 20 and 4 * b * s * h * 128 < mem * 0.8]
print(';'.join('%d,%d,%d' % x for x in r))" $mem)
echo "rows: $rows"
for f in zero clean; do timeout 180 python3 bench/decode_sweep.py --rows "$rows" --splits 0 --copy --flush $f \
  --json $OUT/big-rows-$f.json 2>&1 | cut -c1-330; echo "== $f $(( $(date +%s) - s )) s"; done
for f in zero clean; do mkdir -p $OUT/fwd-$f; FLUSH=$f SEQLENS=512,1024 HDIMS=64 PROVIDERS=flashcore,cudnn REPEATS=3 \
  OUT=$OUT/fwd-$f timeout 120 python3 bench/bench_attention.py 2>&1 | grep -E "^\||geomean|rror" | tail -12
  echo "== fwd $f $(( $(date +%s) - s )) s"; done
echo "wall $(( $(date +%s) - s )) s"
