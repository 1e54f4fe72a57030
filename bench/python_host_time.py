"""Host time per eager call from Python: FlashCore's flash_attn_func against
FA3's flash_attn_func (when importable: FA3_PATH) and torch SDPA, same run.

A problem whose GPU time is a few microseconds (B=1, S=128, H=8, D=128,
bf16, causal), so the launch queue never fills: each call is timed alone with
perf_counter_ns (no synchronisation inside the timed region) and the median
over many calls is the host time. The GPU time of the same call (CUDA events
over a graph-free loop) is printed beside it to show the queue stays ahead.
Also timed: the parts of FlashCore's call (the binding call alone with
preallocated outputs, the allocation of the output).

  python3 bench/python_host_time.py [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401,E402  (makes `import flashcore` find the build tree)


def host_us(fn, calls=3000, warmup=200):
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
        if len(samples) % 500 == 0:
            torch.cuda.synchronize()  # keep the queue short; outside the timed call
    torch.cuda.synchronize()
    return statistics.median(samples) / 1e3, statistics.quantiles(samples, n=10)[0] / 1e3


def gpu_us(fn, calls=500):
    import torch
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    fn()
    torch.cuda.synchronize()
    start.record()
    for _ in range(calls):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) * 1e3 / calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    import torch
    import torch.nn.functional as F
    import flashcore
    from flashcore import interface as fi

    b, s, h, d = 1, 128, 8, 128
    q, k, v = (torch.randn(b, s, h, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
    out = torch.empty_like(q)
    rows = []

    def add(name, fn):
        med, p10 = host_us(fn)
        rows.append({"call": name, "host_us_median": med, "host_us_p10": p10, "gpu_us": gpu_us(fn)})
        print("%-52s host %6.2f us (p10 %6.2f)  gpu %6.2f us" % (
            name, med, p10, rows[-1]["gpu_us"]), flush=True)

    add("flashcore.flash_attn_func", lambda: flashcore.flash_attn_func(q, k, v, causal=True))
    add("flashcore.flash_attn_func(return_attn_probs=True)",
        lambda: flashcore.flash_attn_func(q, k, v, causal=True, return_attn_probs=True))
    add("flashcore torch op (torch.ops.flashcore.flash_attn_fwd)",
        lambda: torch.ops.flashcore.flash_attn_fwd(q, k, v, d ** -0.5, True, -1, -1, 0.0, 1,
                                                   -1))
    meta = fi._check_qkv(q, k, v, 4)
    strides = meta[2][:3] + meta[3][:3] + meta[4][:3] + out.stride()[:3] + (0, 0)
    ptrs = (q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr())
    stream = torch.cuda.current_stream().cuda_stream
    add("flashcore launch into a preallocated out",
        lambda: fi._forward_into(q, k, v, out, None, True, d ** -0.5, -1, -1, 0.0, meta,
                                 out.stride()))
    # forward()'s 45 arguments: pointers, sizes, strides, dtype, causal, scale, window,
    # softcap, varlen (4), cache_seqlens, num_splits, pack_gqa, workspace (2), paging (4),
    # flags.
    c_args = (*ptrs, 0, b, s, s, h, h, d, *strides, 1, True, d ** -0.5, -1, -1, 0.0,
              0, 0, 0, 0, 0, 1, -1, 0, 0, 0, 0, 0, 0, 0)
    checked = c_args[:-1] + (flashcore._C.ARGS_POINTERS_CHECKED,)
    status, prepared = flashcore._C.prepare(*checked, stream)
    if status:
        raise fi.error_for(status)
    add("  _C.forward with precomputed arguments (binding + C API)",
        lambda: flashcore._C.forward(*c_args, stream))
    add("  _C.forward, pointers checked (no residency queries)",
        lambda: flashcore._C.forward(*checked, stream))
    add("  prepared launch (flash_attn_func's repeated-signature path)",
        lambda: prepared(*ptrs, 0, stream))
    add("  _C.validate with precomputed arguments (binding + checks)",
        lambda: flashcore._C.validate(*c_args))
    add("  argument checks (_check_qkv)", lambda: fi._check_qkv(q, k, v, 4))
    # What the repeated-signature path reads of the tensors (interface.py's key).
    add("  signature key (tensor attributes) + lookup",
        lambda: fi._PREPARED.get((q.shape, k.shape, v.shape, q.stride(), k.stride(), v.stride(),
                                  q.dtype, k.dtype, v.dtype, q.get_device(), k.get_device(),
                                  v.get_device(), True, None, (-1, -1), 0.0, 0, False)))
    add("  data pointers and stream", lambda: (q.data_ptr(), k.data_ptr(), v.data_ptr(),
                                              out.data_ptr(), fi._raw_stream(0)))
    add("  eager fast-path test (_direct)", lambda: fi._direct(q, k, v))
    add("torch.empty_like (the output allocation)", lambda: q.new_empty(q.shape))
    add("torch SDPA (default backend)",
        lambda: F.scaled_dot_product_attention(qt, kt, vt, is_causal=True))
    fa3 = None
    if os.environ.get("FA3_PATH"):
        sys.path.insert(0, os.environ["FA3_PATH"])
        try:
            import flash_attn_interface as fa3
        except Exception as e:  # FA3 not built in this run
            print("FA3 not importable: %s" % e)
    if fa3 is not None:
        add("FA3 flash_attn_interface.flash_attn_func",
            lambda: fa3.flash_attn_func(q, k, v, causal=True))
    # The first row again: the first rows of a process run on a host still settling.
    add("flashcore.flash_attn_func (again, after the others)",
        lambda: flashcore.flash_attn_func(q, k, v, causal=True))
    print("\n| call | host µs (median) | host µs (p10) | GPU µs |\n|---|---|---|---|")
    for r in rows:
        print("| %s | %.2f | %.2f | %.2f |" % (r["call"], r["host_us_median"], r["host_us_p10"],
                                              r["gpu_us"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
