#!/usr/bin/env python3
"""Where a provider's benchmark time goes: CUDA-event time per call (as
do_bench measures it, with the L2 flush before each call) against the
durations of the kernels that call ran, from CUPTI (torch.profiler).

A provider whose event time exceeds its kernels' durations loses the rest
outside its kernels (launch gaps, extra small kernels, memsets); one whose
kernel runs longer here than under ncu loses it inside the kernel.

  python3 bench/kernel_trace.py [--rows "bf16,64,0,512;..."] [--iters 30] [--flush zero|clean]
Rows: dtype, head_dim, causal (0/1), S, with the FA3 protocol's batch and
heads. Providers: flashcore, cudnn (and fa3 when FA3_PATH names a build).
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_attention as ba  # noqa: E402
import timing  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402


def profiled(body):
    """{kernel name: (count, mean µs)} of the kernels `body` ran (CUPTI)."""
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        body()
        torch.cuda.synchronize()
    kernels = {}
    for ev in prof.key_averages():
        # self time: a CPU op's device total is its kernels' again
        t = getattr(ev, "self_device_time_total", None)
        if t is None:
            t = getattr(ev, "self_cuda_time_total", 0)
        if t and ev.count:
            kernels[ev.key[:90]] = (ev.count, t / ev.count)
    return kernels


def trace(fn, iters, flush):
    """Median event time of fn() (µs) with the L2 flushed before each call,
    as timing.do_bench does, and the kernels those calls ran."""
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]

    def body():
        for i in range(iters):
            timing.flush_l2(flush)
            starts[i].record()
            fn()
            ends[i].record()

    def median_us():
        return statistics.median(s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends))
    # The event time without the profiler (CUPTI's tracing adds to each
    # launch), then the same calls profiled for their kernels' durations.
    body()
    torch.cuda.synchronize()
    plain_us = median_us()
    kernels = profiled(body)
    return plain_us, median_us(), kernels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="bf16,64,0,512;bf16,64,1,512;bf16,64,0,1024;bf16,128,0,1024")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--json")
    timing.add_flush_argument(ap)
    a = ap.parse_args()
    # the flush's own kernels, left out of each provider's kernel time
    flush_kernels = set(profiled(lambda: timing.flush_l2(a.flush)))
    makers = {"flashcore": ba.flashcore_fn,
              "cudnn": lambda q, k, v, c: ba.sdpa_fn(ba.SDPBackend.CUDNN_ATTENTION, q, k, v, c)}
    fa3 = ba.load_fa3()
    if fa3 is not None:
        makers["fa3"] = ba.fa3_fn(fa3)
    out = []
    for row in a.rows.split(";"):
        dt, d, c, s = row.split(",")
        d, c, s = int(d), bool(int(c)), int(s)
        b, h = 16384 // s, 2048 // d
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dt]
        q, k, v = (torch.randn(b, s, h, d, device="cuda", dtype=dtype) for _ in range(3))
        for name, mk in makers.items():
            ev, ev_prof, kern = trace(mk(q, k, v, c), a.iters, a.flush)
            ktot = sum(cnt * t for n, (cnt, t) in kern.items()
                       if n not in flush_kernels) / a.iters
            print("%s d%d %s S%d %-9s event %7.1f us (profiled %7.1f)  kernels/call %7.1f us  "
                  "outside %5.1f us" % (dt, d, "causal" if c else "nc", s, name, ev, ev_prof, ktot,
                                        ev - ktot), flush=True)
            for n, (cnt, t) in sorted(kern.items(), key=lambda x: -x[1][0] * x[1][1]):
                print("      %4d x %8.1f us  %s" % (cnt, t, n))
            out.append({"row": row, "provider": name, "flush": a.flush, "event_us": ev,
                        "event_profiled_us": ev_prof, "kernels_us": ktot,
                        "kernels": {n: list(v) for n, v in kern.items()}})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
