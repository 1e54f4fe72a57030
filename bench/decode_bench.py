"""Decode: one new token per sequence against a KV cache, bf16, head_dim 128,
32 query heads, seqlen_q = 1, in one process on one GPU.

Bandwidth = bytes of K and V read (batch * seqlen_k * heads_kv * head_dim * 2
* 2) / time: the floor of decode is reading the cache once. Providers:
FlashCore's flash_attn_with_kvcache (num_splits 0: its own split-KV and
pack-GQA choice; then paged caches of 16- and 256-row shuffled pages against
the contiguous row), FA3's flash_attn_with_kvcache (FA3_PATH, built with
`fa3_build.sh ... decode`), cuDNN and FA2 through torch SDPA (enable_gqa). The
device-to-device copy bandwidth of the same run is printed for reference.
Before timing, FlashCore's output is compared with cuDNN's (or FA2's).

  FA3_PATH=... python3 bench/decode_bench.py [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401,E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

import flashcore  # noqa: E402
import timing  # noqa: E402
from bench_attention import load_fa3, time_round_robin  # noqa: E402

# Issue 10's grid: GQA 32:8 and MHA 32:32, B in {1, 8, 64, 128}, seqlen_k in
# {1k, 8k, 32k, 128k} with B * seqlen_k <= 4M (28 rows; --short: the ten rows
# of ../shared/docs/PEERS.md).
GRID = [(hkv, b, sk) for hkv in (8, 32) for b in (1, 8, 64, 128)
        for sk in (1024, 8192, 32768, 131072) if b * sk <= 4 << 20]
SHORT_ROWS = [(8, 1, 8192), (8, 1, 131072), (8, 8, 32768), (8, 64, 8192), (8, 128, 4096),
              (32, 1, 8192), (32, 1, 131072), (32, 8, 32768), (32, 64, 8192), (32, 128, 4096)]
# KV caches of at least this size are held to 90 % of the copy bandwidth.
BIG_CACHE = 256 << 20


PAGED_ROWS = [(8, 8, 32768), (8, 64, 8192), (32, 8, 32768)]

# Other head dims and several query tokens per sequence (speculative decoding,
# chunked prefill): (head_dim, seqlen_q, KV heads, batch, seqlen_k), 32 query
# heads; FlashCore and FA3 only (SDPA's causal mask is top-left aligned, not
# aligned to the cache end).
SHAPE_ROWS = [(64, 1, 8, 8, 32768), (256, 1, 8, 8, 32768),
              (64, 1, 8, 1, 131072), (64, 1, 32, 64, 8192), (64, 1, 8, 128, 1024),
              (256, 1, 8, 1, 131072), (256, 1, 32, 64, 8192), (256, 1, 8, 128, 1024),
              (128, 2, 8, 8, 32768), (128, 4, 8, 8, 32768), (128, 8, 8, 8, 32768),
              (128, 16, 8, 8, 32768), (128, 4, 8, 64, 8192)]


def nbytes_of(b, sk, hkv, d):
    return 2 * b * sk * hkv * d * 2


# --flush: how the L2 is emptied before every timed call (bench/timing.py):
# zero (do_bench's 256 MB memset, whose dirty lines are written back inside the
# timed call) or clean (a 256 MB read). Every provider (and the copy
# bandwidth) is timed with the same flush. Issue 10's 90 %-of-copy target is
# judged with `clean` (session 20: the memset's write-back costs the 268 MB
# rows 9 points of copy, every provider alike); `zero` stays the default so
# that the peer ratios compare with earlier tables.
FLUSH = "zero"


def bench(fn):
    return timing.do_bench(fn, warmup=25, rep=100, flush=FLUSH)


def copy_bandwidth():
    """TB/s (read + write) of a 1 GB device-to-device copy, timed by bench()."""
    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    return 2 * x.numel() / (bench(lambda: y.copy_(x)) * 1e-3) / 1e12


def bench_graph(fn):
    """Median ms of replaying `fn` captured in a CUDA graph. bench() empties the
    L2 (--flush) before each replay, so K and V come from HBM and the GPU is
    busy while the host enqueues the replay: this is the kernels' time, where
    bench() of a short call also counts the host's per-call work (SDPA's and
    FA3's Python and C++ layers, FlashCore's) whenever that exceeds the
    clearing's ~0.1 ms. Serving stacks replay decode steps as graphs."""
    fn()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return bench(g.replay)


# --graphs: time_providers also records graph-replay timings (name_graph_tbs).
GRAPHS = False
# --repeats: do_bench medians per provider, taken round-robin over the
# providers (a clock or thermal drift falls on all of them alike); the row
# reports the median of the medians and keeps each (name_us_reps).
REPEATS = 3


def time_providers(row, fns, nbytes):
    """Times each provider of `fns` into row[name_tbs] (K/V bytes per second) and
    row[name_us] (and with GRAPHS, row[name_graph_tbs] / row[name_graph_us]):
    REPEATS rounds over the providers in turn, the median of each round's
    medians, every round's in row[name_us_reps]; a provider that fails gets
    None and its error."""
    timers = [("", bench)] + ([("_graph", bench_graph)] if GRAPHS else [])
    keyed = {name + suffix: (lambda fn=fn, timer=timer: timer(fn))
             for name, fn in fns.items() for suffix, timer in timers}
    reps = time_round_robin(keyed, REPEATS, row, error_chars=160)
    for key in keyed:
        if key not in reps:
            row[key + "_tbs"] = None
    for key, times in reps.items():
        ms = statistics.median(times)
        row[key + "_tbs"] = round(nbytes / (ms * 1e-3) / 1e12, 3)
        row[key + "_us"] = round(ms * 1e3, 1)
        row[key + "_us_reps"] = [round(t * 1e3, 1) for t in times]


def sdpa_fns(q, kc, vc):
    """cuDNN and FA2 through SDPA on (batch, seqlen, heads, head_dim) tensors,
    without a mask: one query row sees the whole cache (with a few query rows,
    FA3's bottom-right causal mask hides under 16 of the keys: the same work)."""
    qt, kt, vt = q.transpose(1, 2), kc.transpose(1, 2), vc.transpose(1, 2)
    fns = {}
    for name, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("fa2", SDPBackend.FLASH_ATTENTION)):
        def sdpa(backend=backend):
            with sdpa_kernel([backend]):
                return F.scaled_dot_product_attention(qt, kt, vt,
                                                      enable_gqa=kc.shape[2] != q.shape[2])
        fns[name] = sdpa
    return fns


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--paged-only", action="store_true",
                        help="only the paged rows and the contiguous rows they are compared with")
    parser.add_argument("--graphs", action="store_true",
                        help="also time every provider as CUDA graph replays (kernel time)")
    parser.add_argument("--short", action="store_true",
                        help="the ten rows of PEERS.md instead of the issue's 28-row grid")
    parser.add_argument("--repeats", type=int, default=3,
                        help="do_bench medians per provider, round-robin (default %(default)s)")
    timing.add_flush_argument(parser)
    args = parser.parse_args()
    global GRAPHS, REPEATS, FLUSH
    FLUSH = args.flush
    GRAPHS = args.graphs
    if args.repeats < 1:
        parser.error("--repeats must be >= 1, got: %d" % args.repeats)
    REPEATS = args.repeats
    fa3 = load_fa3()
    copy_tbs = copy_bandwidth()
    print("device %s, flush %s, copy %.2f TB/s (read + write), FA3 %s" % (
        torch.cuda.get_device_name(0), FLUSH, copy_tbs, "yes" if fa3 else "no"), flush=True)
    h, d = 32, 128
    rows = []
    main_rows = SHORT_ROWS if args.short else GRID
    for hkv, b, sk in (PAGED_ROWS if args.paged_only else main_rows):
        row = {"heads_kv": hkv, "batch": b, "seqlen_k": sk}
        try:
            q = torch.randn(b, 1, h, d, device="cuda", dtype=torch.bfloat16)
            kc = torch.randn(b, sk, hkv, d, device="cuda", dtype=torch.bfloat16)
            vc = torch.randn_like(kc)
        except torch.cuda.OutOfMemoryError as e:
            # (32 KV heads, B 128, 32k) is 64 GiB of cache: reported, not timed, where it does not fit.
            row["error"] = "out of memory: %s" % str(e)[:120]
            rows.append(row)
            print(json.dumps(row), flush=True)
            q = kc = vc = None
            torch.cuda.empty_cache()
            continue
        lens = torch.full((b,), sk, dtype=torch.int32, device="cuda")
        nbytes = 2 * kc.numel() * kc.element_size()
        row["kv_mb"] = round(nbytes / 2**20)
        fns = {"flashcore": lambda: flashcore.flash_attn_with_kvcache(
            q, kc, vc, cache_seqlens=lens, causal=True)}
        if fa3 is not None:
            fns["fa3"] = lambda: fa3.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=lens,
                                                             causal=True, num_splits=0)
        fns.update(sdpa_fns(q, kc, vc))
        ours = fns["flashcore"]()
        for peer in ("cudnn", "fa2"):
            try:
                theirs = fns[peer]().transpose(1, 2)
                row["max_abs_vs_" + peer] = (ours.float() - theirs.float()).abs().max().item()
                break
            except Exception:
                continue
        time_providers(row, fns, nbytes)
        rows.append(row)
        print(json.dumps(row), flush=True)
        del q, kc, vc
        torch.cuda.empty_cache()
    # Paged caches: the same shapes cut into shuffled pages, FlashCore and FA3,
    # against FlashCore's contiguous time of the row above.
    paged_rows = []
    for hkv, b, sk in PAGED_ROWS:
        base = next(r for r in rows if (r["heads_kv"], r["batch"], r["seqlen_k"]) == (hkv, b, sk))
        for page in (16, 256):
            q = torch.randn(b, 1, h, d, device="cuda", dtype=torch.bfloat16)
            cols = sk // page
            pool_k = torch.randn(b * cols, page, hkv, d, device="cuda", dtype=torch.bfloat16)
            pool_v = torch.randn_like(pool_k)
            table = torch.randperm(b * cols, device="cuda").to(torch.int32).reshape(b, cols)
            lens = torch.full((b,), sk, dtype=torch.int32, device="cuda")
            row = {"heads_kv": hkv, "batch": b, "seqlen_k": sk, "page": page}
            fns = {"flashcore": lambda: flashcore.flash_attn_with_kvcache(
                q, pool_k, pool_v, cache_seqlens=lens, page_table=table, causal=True)}
            if fa3 is not None:
                fns["fa3"] = lambda: fa3.flash_attn_with_kvcache(
                    q, pool_k, pool_v, cache_seqlens=lens, page_table=table, causal=True,
                    num_splits=0)
            time_providers(row, fns, nbytes_of(b, sk, hkv, d))
            if row.get("flashcore_tbs") and base.get("flashcore_tbs"):
                row["paged_over_contiguous"] = round(row["flashcore_tbs"] / base["flashcore_tbs"], 3)
            paged_rows.append(row)
            print(json.dumps(row), flush=True)
            del q, pool_k, pool_v
            torch.cuda.empty_cache()
    shape_rows = []
    for d, sq, hkv, b, sk in ([] if args.paged_only else SHAPE_ROWS):
        q = torch.randn(b, sq, h, d, device="cuda", dtype=torch.bfloat16)
        kc = torch.randn(b, sk, hkv, d, device="cuda", dtype=torch.bfloat16)
        vc = torch.randn_like(kc)
        lens = torch.full((b,), sk, dtype=torch.int32, device="cuda")
        row = {"head_dim": d, "seqlen_q": sq, "heads_kv": hkv, "batch": b, "seqlen_k": sk}
        fns = {"flashcore": lambda: flashcore.flash_attn_with_kvcache(
            q, kc, vc, cache_seqlens=lens, causal=True)}
        fns.update(sdpa_fns(q, kc, vc))
        # The decode build of FA3 (.peers/fa3_build.sh decode) has head dim 128
        # alone, and crashes on the others: FA3_HDIMS names what it was built with.
        if fa3 is not None and str(d) in os.environ.get("FA3_HDIMS", "128").split(","):
            fns["fa3"] = lambda: fa3.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=lens,
                                                             causal=True, num_splits=0)
            try:
                ours, theirs = fns["flashcore"](), fns["fa3"]()
                theirs = theirs[0] if isinstance(theirs, tuple) else theirs
                row["max_abs_vs_fa3"] = (ours.float() - theirs.float()).abs().max().item()
            except Exception as e:
                row["compare_error"] = "%s: %s" % (type(e).__name__, str(e)[:160])
        time_providers(row, fns, nbytes_of(b, sk, hkv, d))
        shape_rows.append(row)
        print(json.dumps(row), flush=True)
        del q, kc, vc
        torch.cuda.empty_cache()
    def of_copy(r, key):
        # K/V bytes read per second against the copy's (read + write) bytes per second.
        return "%.0f %%" % (100 * r[key] / copy_tbs) if r.get(key) else None

    def best_peer(r, suffix):
        return max([r.get(p + suffix) or 0 for p in ("fa3", "cudnn", "fa2")])

    print("\n| KV heads | B | seqlen_k | KV MB | FlashCore TB/s | FA3 | cuDNN | FA2 | FC / best peer "
          "| FC % of copy | FC µs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        best = best_peer(r, "_tbs")
        ours = r.get("flashcore_tbs")
        print("| %d | %d | %dk | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["heads_kv"], r["batch"], r["seqlen_k"] // 1024, r.get("kv_mb"), ours,
            r.get("fa3_tbs"), r.get("cudnn_tbs"), r.get("fa2_tbs"),
            "%.3f" % (ours / best) if ours and best else r.get("error"),
            of_copy(r, "flashcore_tbs"), r.get("flashcore_us")))
    big = [r for r in rows if (r.get("kv_mb") or 0) * 2**20 >= BIG_CACHE and r.get("flashcore_tbs")]
    if big:
        low = min(big, key=lambda r: r["flashcore_tbs"])
        print("\ncaches >= %d MB: %d rows, FlashCore %.0f-%.0f %% of the copy bandwidth (lowest: %d / %d / %dk;"
              " flush %s)" % (
            BIG_CACHE >> 20, len(big), 100 * low["flashcore_tbs"] / copy_tbs,
            100 * max(r["flashcore_tbs"] for r in big) / copy_tbs,
            low["heads_kv"], low["batch"], low["seqlen_k"] // 1024, FLUSH))
    timed = [r for r in rows if r.get("flashcore_tbs") and best_peer(r, "_tbs")]
    if timed:
        ratios = [r["flashcore_tbs"] / best_peer(r, "_tbs") for r in timed]
        print("FlashCore >= best peer on %d / %d rows; geomean %.3f; lowest %.3f" % (
            sum(x >= 1 for x in ratios), len(ratios),
            statistics.geometric_mean(ratios), min(ratios)))
    if GRAPHS:
        print("\nCUDA graph replays (kernel time):")
        print("\n| KV heads | B | seqlen_k | FlashCore | FA3 | cuDNN | FA2 | FC / best peer |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            best = best_peer(r, "_graph_tbs")
            ours = r.get("flashcore_graph_tbs")
            print("| %d | %d | %dk | %s | %s | %s | %s | %s |" % (
                r["heads_kv"], r["batch"], r["seqlen_k"] // 1024, ours, r.get("fa3_graph_tbs"),
                r.get("cudnn_graph_tbs"), r.get("fa2_graph_tbs"),
                "%.2f" % (ours / best) if ours and best else None))
    print("\n| KV heads | B | seqlen_k | page | FlashCore | FA3 | paged / contiguous |")
    print("|---|---|---|---|---|---|---|")
    for r in paged_rows:
        print("| %d | %d | %dk | %d | %s | %s | %s |" % (
            r["heads_kv"], r["batch"], r["seqlen_k"] // 1024, r["page"], r.get("flashcore_tbs"),
            r.get("fa3_tbs"), r.get("paged_over_contiguous")))
    print("\n| head_dim | seqlen_q | KV heads | B | seqlen_k | FlashCore | FA3 | cuDNN | FA2 "
          "| FC / best peer | max abs vs FA3 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in shape_rows:
        best = max([r.get(p + "_tbs") or 0 for p in ("fa3", "cudnn", "fa2")])
        ratio = r["flashcore_tbs"] / best if r.get("flashcore_tbs") and best else None
        print("| %d | %d | %d | %d | %dk | %s | %s | %s | %s | %s | %s |" % (
            r["head_dim"], r["seqlen_q"], r["heads_kv"], r["batch"], r["seqlen_k"] // 1024,
            r.get("flashcore_tbs"), r.get("fa3_tbs"), r.get("cudnn_tbs"), r.get("fa2_tbs"),
            "%.2f" % ratio if ratio else None, r.get("max_abs_vs_fa3")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "flush": FLUSH, "copy_tbs": copy_tbs,
                       "rows": rows, "paged_rows": paged_rows, "shape_rows": shape_rows},
                      f, indent=1)


if __name__ == "__main__":
    main()
