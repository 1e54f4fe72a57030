"""One timer for the benchmarks: triton's do_bench, or the same loop with a
cleaner L2 flush.

  flush "zero" (the default; FA3's benchmark_attn.py and triton's do_bench):
      zero a 256 MB buffer before every timed call. The memset leaves the L2
      (50 MB on the H100 and the H200) full of dirty lines, so the timed
      call's first reads also write those back to HBM: up to 50 MB of write
      traffic inside the measurement, a fixed cost that weighs most on the
      shortest calls and on the memory-bound ones (decode).
  flush "clean": empty the L2 by *reading* a 256 MB buffer (a max-reduction)
      before every timed call: inputs still come from HBM, but no write-back
      of someone else's data falls inside the timed call.

Every provider of a run must be timed with the same flush.
"""
import statistics

import torch
import triton

FLUSHES = ("zero", "clean")
_CLEAN = []
_ZERO = []


def _read_flush():
    if not _CLEAN:
        _CLEAN.append(torch.ones(64 << 20, dtype=torch.int32, device="cuda"))  # 256 MB
        _CLEAN[0].amax()  # its own initialisation's dirty lines go back here
        torch.cuda.synchronize()
    _CLEAN[0].amax()


def flush_l2(flush):
    """Empties the L2 once, as do_bench(flush=...) does before each timed call
    (zero: a 256 MB memset, as triton's do_bench; clean: a 256 MB read)."""
    if flush == "clean":
        _read_flush()
        return
    if not _ZERO:
        _ZERO.append(torch.empty(64 << 20, dtype=torch.int32, device="cuda"))  # 256 MB
    _ZERO[0].zero_()


def _bench_clean(fn, warmup, rep):
    """do_bench's loop (an estimate over five calls, ~warmup ms of warm-up
    calls, ~rep ms of timed calls, each between its own CUDA events, the
    median) with the read flush before every timed call."""
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(5):
        _read_flush()
        fn()
    end.record()
    torch.cuda.synchronize()
    estimate = max(start.elapsed_time(end) / 5, 1e-3)
    for _ in range(max(1, int(warmup / estimate))):
        fn()
    n = max(1, int(rep / estimate))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    for i in range(n):
        _read_flush()
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def add_flush_argument(parser):
    """--flush for a benchmark's command line."""
    parser.add_argument("--flush", choices=FLUSHES, default="zero",
                        help="how the L2 is emptied before each timed call: zero (triton's "
                             "do_bench: a 256 MB memset, whose dirty lines are written back "
                             "inside the timed call) or clean (a 256 MB read; bench/timing.py); "
                             "default %(default)s")


def do_bench(fn, warmup=25, rep=100, flush="zero"):
    """Median ms of fn() with the L2 emptied before every timed call."""
    if flush not in FLUSHES:
        raise ValueError("flush must be one of %s, got: %r" % ("/".join(FLUSHES), flush))
    if flush == "clean":
        return _bench_clean(fn, warmup, rep)
    return triton.testing.do_bench(fn, warmup=warmup, rep=rep, return_mode="median")
