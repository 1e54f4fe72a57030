"""FlashCore vs FA3, cuDNN and FA2 with the FlashAttention-3 protocol, one process.

batch = 16384 / seqlen, heads = 2048 / head_dim, layout (B, S, H, D), random
inputs, FLOPs = 4 * B * H * S^2 * D (halved when causal), median of
triton.testing.do_bench. Every provider runs in this process on this GPU, so
the ratios are meaningful; absolute numbers move between machines.
Providers: FlashCore (`flashcore.attention`), FA3's `flash_attn_func` when
FA3_PATH names a build (`../shared/bench/fa3_build.sh`), cuDNN and FA2 through
torch SDPA. Before a row is timed, FlashCore's output is compared with cuDNN's
(FA2's where cuDNN does not run) on that row's inputs.

  python3 bench/bench_attention.py                 # the 72 protocol rows
  SEQLENS=8192 HDIMS=128 DTYPES=bf16 CAUSAL=0 python3 bench/bench_attention.py
  REPEATS=5 EXTRA=gqa,odd FA3_PATH=... python3 bench/bench_attention.py

Environment: DTYPES (bf16,fp16), HDIMS (64,128,256), CAUSAL (0,1), SEQLENS
(512..16384), PROVIDERS (flashcore,fa3,cudnn,fa2), REPEATS (timings per row and
provider, default 1; the median is reported, and the coefficient of variation
when > 1), EXTRA (gqa: LLaMA-style GQA prefill, 32 query / 8 KV heads, d128,
causal, (B, S) in (1, 8k), (4, 4k), (1, 32k); odd: S in 1000, 3000, 5000),
GEMM (1: the bf16 8192^3 GEMM rate through torch, the ceiling of the issue's
90 % target), FLUSH (zero: do_bench's 256 MB memset before each timed call, as
FA3's benchmark_attn.py; clean: a 256 MB read instead, bench/timing.py), OUT
(where bench.json and the plots go).

Writes $OUT/bench.json, PNG plots (matplotlib, when installed: TFLOPS against
S, one panel per head_dim x causal, one line per provider) as
$OUT/bench-<dtype>.png, and prints a markdown table with per-row ratios and
geomeans last.
"""
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401,E402  (makes `import flashcore` find the build tree)

import torch  # noqa: E402
import triton  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import flashcore  # noqa: E402
import timing  # noqa: E402

# FLUSH: how the L2 is emptied before every timed call (bench/timing.py).
FLUSH = os.environ.get("FLUSH", "zero")


def bench(fn):
    return timing.do_bench(fn, warmup=50, rep=200, flush=FLUSH)


def time_round_robin(timers, repeats, row, error_chars=200):
    """Runs each of `timers` (key -> a callable returning one timing, ms)
    `repeats` times, round robin over the keys: every key's timings spread
    over the whole window, so a drift of the clocks (power, temperature)
    falls on all of them alike instead of on whichever ran first. A key whose
    timer raises stops there, with row[key + "_error"]; returns {key: [ms,
    ...]} for the keys without an error."""
    times = {key: [] for key in timers}
    for _ in range(repeats):
        for key, timer in timers.items():
            if key + "_error" in row:
                continue
            try:
                times[key].append(timer())
            except Exception as e:
                row[key + "_error"] = "%s: %s" % (type(e).__name__, str(e)[:error_chars])
    return {key: ts for key, ts in times.items() if ts and key + "_error" not in row}


def sdpa_fn(backend, q, k, v, causal):
    qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
    gqa = k.shape[2] != q.shape[2]

    def f():
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal,
                                                  enable_gqa=gqa).transpose(1, 2)
    return f


def flashcore_fn(q, k, v, causal):
    out = torch.empty_like(q)
    return lambda: flashcore.attention(q, k, v, causal=causal, out=out, return_lse=False)[0]


def load_fa3():
    if not os.environ.get("FA3_PATH"):
        return None
    sys.path.insert(0, os.environ["FA3_PATH"])
    try:
        import flash_attn_interface
        return flash_attn_interface
    except Exception as e:  # a missing or broken build: time without it
        print("FA3 not importable from FA3_PATH: %s" % e, flush=True)
        return None


def fa3_fn(fa3):
    def make(q, k, v, causal):
        def f():
            out = fa3.flash_attn_func(q, k, v, causal=causal)
            return out[0] if isinstance(out, tuple) else out
        return f
    return make


def env_list(name, default, conv=str):
    return [conv(x) for x in os.environ.get(name, default).split(",") if x]


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def shapes():
    """(dtype, hdim, causal, batch, seqlen, heads_q, heads_kv, group) rows."""
    rows = []
    for dname in env_list("DTYPES", "bf16,fp16"):
        for hdim in env_list("HDIMS", "64,128,256", int):
            for causal in [c == "1" for c in env_list("CAUSAL", "0,1")]:
                for s in env_list("SEQLENS", "512,1024,2048,4096,8192,16384", int):
                    h = 2048 // hdim
                    rows.append((dname, hdim, causal, max(1, 16384 // s), s, h, h, "protocol"))
    extra = env_list("EXTRA", "")
    if "gqa" in extra:
        for b, s in ((1, 8192), (4, 4096), (1, 32768)):
            rows.append(("bf16", 128, True, b, s, 32, 8, "gqa"))
    if "odd" in extra:
        for causal in (False, True):
            for s in (1000, 3000, 5000):
                rows.append(("bf16", 128, causal, max(1, 16384 // s), s, 16, 16, "odd"))
    return rows


def plot(rows, providers, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: matplotlib is not installed", flush=True)
        return []
    written = []
    for dname in sorted({r["dtype"] for r in rows if r["group"] == "protocol"}):
        mine = [r for r in rows if r["dtype"] == dname and r["group"] == "protocol"]
        panels = sorted({(r["hdim"], r["causal"]) for r in mine})
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
        for ax, (hdim, causal) in zip(axes[0], panels):
            sub = sorted((r for r in mine if (r["hdim"], r["causal"]) == (hdim, causal)),
                         key=lambda r: r["seqlen"])
            for p in providers:
                xs = [r["seqlen"] for r in sub if r.get(p)]
                ys = [r[p] for r in sub if r.get(p)]
                if xs:
                    ax.plot(xs, ys, marker="o", label=p)
            ax.set_xscale("log", base=2)
            ax.set_title("%s d%d %s" % (dname, hdim, "causal" if causal else "non-causal"))
            ax.set_xlabel("seqlen")
            ax.set_ylabel("TFLOPS")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle("%s, %s" % (torch.cuda.get_device_name(0), dname))
        fig.tight_layout()
        path = os.path.join(out_dir, "bench-%s.png" % dname)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main():
    props = torch.cuda.get_device_properties(0)
    print("device: %s sms=%d torch=%s cudnn=%s triton=%s flashcore=%s" % (
        props.name, props.multi_processor_count, torch.__version__,
        torch.backends.cudnn.version(), triton.__version__, flashcore.version()), flush=True)
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    makers = {"flashcore": flashcore_fn}
    fa3 = load_fa3()
    if fa3 is not None:
        makers["fa3"] = fa3_fn(fa3)
    makers["cudnn"] = lambda q, k, v, c: sdpa_fn(SDPBackend.CUDNN_ATTENTION, q, k, v, c)
    makers["fa2"] = lambda q, k, v, c: sdpa_fn(SDPBackend.FLASH_ATTENTION, q, k, v, c)
    providers = [p for p in env_list("PROVIDERS", ",".join(makers)) if p in makers]
    repeats = int(os.environ.get("REPEATS", "1"))
    if FLUSH not in timing.FLUSHES:
        sys.exit("FLUSH must be one of %s, got: %r" % ("/".join(timing.FLUSHES), FLUSH))
    result = {"device": props.name, "repeats": repeats, "providers": providers, "flush": FLUSH}
    if os.environ.get("GEMM") == "1":
        a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
        b = torch.randn_like(a)
        result["gemm_bf16_tflops"] = round(2 * 8192 ** 3 / bench(lambda: a @ b) / 1e9, 1)
        print("bf16 GEMM 8192^3: %.1f TFLOPS" % result["gemm_bf16_tflops"], flush=True)
        del a, b
    rows = []
    for dname, hdim, causal, b, s, hq, hkv, group in shapes():
        q = torch.randn(b, s, hq, hdim, device="cuda", dtype=dtypes[dname])
        k, v = (torch.randn(b, s, hkv, hdim, device="cuda", dtype=dtypes[dname]) for _ in range(2))
        flops = 4 * b * hq * s * s * hdim / (2 if causal else 1)
        row = {"dtype": dname, "hdim": hdim, "causal": causal, "seqlen": s, "batch": b,
               "heads_q": hq, "heads_kv": hkv, "group": group}
        fns = {p: makers[p](q, k, v, causal) for p in providers}
        # Correctness on this row's inputs before any timing.
        if "flashcore" in fns:
            ours = fns["flashcore"]().float()
            for peer in ("cudnn", "fa2"):
                try:
                    theirs = makers[peer](q, k, v, causal)().float()
                except Exception:
                    continue
                row["max_abs_vs_" + peer] = (ours - theirs).abs().max().item()
                row["rel_vs_" + peer] = ((ours - theirs).norm() / theirs.norm()).item()
                break
            del ours
        # Repeats round-robin over the providers; the raw medians go into
        # the JSON next to the CV.
        times = time_round_robin({name: (lambda fn=fn: bench(fn)) for name, fn in fns.items()},
                                 repeats, row)
        for name in fns:
            ts = times.get(name)
            if ts is None:
                row[name] = None
                continue
            row[name] = round(flops / statistics.median(ts) / 1e9, 1)
            row[name + "_ms"] = [round(t, 5) for t in ts]
            if repeats > 1:
                row[name + "_cv"] = round(statistics.stdev(ts) / statistics.mean(ts), 4)
        for peer in ("fa3", "cudnn", "fa2"):
            if row.get("flashcore") and row.get(peer):
                row["vs_" + peer] = round(row["flashcore"] / row[peer], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
        del q, k, v, fns
    out_dir = os.environ.get("OUT", ".")
    result["rows"] = rows
    result["geomean"] = {"vs_" + p: geomean([r.get("vs_" + p) for r in rows if r["group"] == "protocol"])
                         for p in ("fa3", "cudnn", "fa2")}
    result["plots"] = plot(rows, providers, out_dir)
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(result, f, indent=1)
    cols = [p for p in ("fa3", "cudnn", "fa2") if p in providers]
    print("\n| dtype | hdim | causal | B | S | H/Hkv | FlashCore | %s | %s | FC CV | max abs vs peer |"
          % (" | ".join({"fa3": "FA3", "cudnn": "cuDNN", "fa2": "FA2"}[p] for p in cols),
             " | ".join("vs " + p for p in cols)))
    print("|" + "---|" * (9 + 2 * len(cols)))
    for r in rows:
        print("| %s | %d | %s | %d | %d | %d/%d | %s | %s | %s | %s | %s |" % (
            r["dtype"], r["hdim"], "yes" if r["causal"] else "no", r["batch"], r["seqlen"],
            r["heads_q"], r["heads_kv"], r.get("flashcore"),
            " | ".join(str(r.get(p)) for p in cols), " | ".join(str(r.get("vs_" + p)) for p in cols),
            "%.1f%%" % (100 * r["flashcore_cv"]) if r.get("flashcore_cv") is not None else "—",
            "%.1e" % r["max_abs_vs_cudnn"] if "max_abs_vs_cudnn" in r
            else "%.1e" % r["max_abs_vs_fa2"] if "max_abs_vs_fa2" in r else "—"))
    for p in cols:
        g = result["geomean"]["vs_" + p]
        if g:
            print("geomean FlashCore / %s over the protocol rows: %.3f" % (p, g))


if __name__ == "__main__":
    main()
