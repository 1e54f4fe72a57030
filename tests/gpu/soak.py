#!/usr/bin/env python3
"""GPU soak (issue 13): for --minutes, several host threads, each with its own CUDA stream,
call flash_attn_func / flash_attn_varlen_func / flash_attn_with_kvcache on random shapes
(head dims, GQA, causal, windows, softcap, tails, varlen, KV caches with split-KV and pages)
and check every output against a float64 reference of the same inputs. Any error above the
input-dtype bar, NaN, exception or hang is a failure; the per-kind counts and the worst error
are printed and written to --json.

    python3 tests/gpu/soak.py [--minutes 5] [--threads 4] [--seed N] [--json soak.json]
"""
import argparse
import json
import math
import os
import random
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_skip import SKIP, torch_or_skip  # noqa: E402
from test_features import reference, rel  # noqa: E402


def dense_case(torch, fc, rng):
    b = rng.choice([1, 2, 3])
    sq = rng.choice([1, 17, 128, 200, 513])
    sk = rng.choice([sq, 64, 300, 1000])
    d = rng.choice([64, 96, 128, 192, 256])
    hkv = rng.choice([1, 2, 4])
    h = hkv * rng.choice([1, 2, 4])
    dtype = rng.choice([torch.bfloat16, torch.float16])
    causal = rng.random() < 0.5
    window = (-1, -1) if rng.random() < 0.7 else (rng.choice([-1, 32, 100]), rng.choice([0, 16, -1]))
    softcap = 0.0 if rng.random() < 0.8 else 30.0
    q = torch.randn(b, sq, h, d, device="cuda", dtype=dtype)
    k = torch.randn(b, sk, hkv, d, device="cuda", dtype=dtype)
    v = torch.randn(b, sk, hkv, d, device="cuda", dtype=dtype)
    out = fc.flash_attn_func(q, k, v, causal=causal, window_size=window, softcap=softcap)
    torch.cuda.current_stream().synchronize()
    scale = 1.0 / math.sqrt(d)
    worst = bar = 0.0
    for i in range(b):
        ref, _ = reference(q[i], k[i], v[i], causal, window, softcap, scale)
        emu, _ = reference(q[i], k[i], v[i], causal, window, softcap, scale, dtype)
        worst, bar = max(worst, rel(out[i], ref)), max(bar, rel(emu, ref))
    return "dense B%d Sq%d Sk%d H%d/%d d%d causal=%s window=%s softcap=%s" % (
        b, sq, sk, h, hkv, d, causal, window, softcap), out, worst, bar


def varlen_case(torch, fc, rng):
    lens_q = [rng.choice([1, 33, 128, 250]) for _ in range(rng.choice([1, 2, 4]))]
    lens_k = [lq + rng.choice([0, 0, 50]) for lq in lens_q]
    d = rng.choice([64, 128])
    h, hkv = 8, rng.choice([2, 8])
    dtype = torch.bfloat16
    causal = rng.random() < 0.5
    q = torch.randn(sum(lens_q), h, d, device="cuda", dtype=dtype)
    k = torch.randn(sum(lens_k), hkv, d, device="cuda", dtype=dtype)
    v = torch.randn(sum(lens_k), hkv, d, device="cuda", dtype=dtype)
    cu_q = torch.tensor([0] + list(_cumsum(lens_q)), dtype=torch.int32, device="cuda")
    cu_k = torch.tensor([0] + list(_cumsum(lens_k)), dtype=torch.int32, device="cuda")
    out = fc.flash_attn_varlen_func(q, k, v, cu_q, cu_k, max(lens_q), max(lens_k), causal=causal)
    torch.cuda.current_stream().synchronize()
    scale = 1.0 / math.sqrt(d)
    worst = bar = 0.0
    for i in range(len(lens_q)):
        a, b = int(cu_q[i]), int(cu_q[i + 1])
        c, e = int(cu_k[i]), int(cu_k[i + 1])
        ref, _ = reference(q[a:b], k[c:e], v[c:e], causal, (-1, -1), 0.0, scale)
        emu, _ = reference(q[a:b], k[c:e], v[c:e], causal, (-1, -1), 0.0, scale, dtype)
        worst, bar = max(worst, rel(out[a:b], ref)), max(bar, rel(emu, ref))
    return "varlen %s/%s H%d/%d d%d causal=%s" % (lens_q, lens_k, h, hkv, d, causal), out, worst, bar


def kvcache_case(torch, fc, rng):
    b = rng.choice([1, 2, 4])
    sq = rng.choice([1, 1, 2, 4])
    cap = rng.choice([500, 2048, 5000])
    d = rng.choice([64, 128])
    hkv = rng.choice([1, 4, 8])
    h = hkv * rng.choice([1, 4])
    dtype = torch.bfloat16
    page = rng.choice([None, None, 16, 64, 256])
    q = torch.randn(b, sq, h, d, device="cuda", dtype=dtype)
    kc = torch.randn(b, cap, hkv, d, device="cuda", dtype=dtype)
    vc = torch.randn(b, cap, hkv, d, device="cuda", dtype=dtype)
    lens = torch.tensor([rng.randint(sq, cap) for _ in range(b)], dtype=torch.int32)
    splits = rng.choice([0, 0, 1, 3])
    kwargs = dict(cache_seqlens=lens.cuda(), causal=True, num_splits=splits)
    if page:
        cols = -(-cap // page)
        perm = torch.randperm(b * cols + 1, device="cuda")[:b * cols]
        table = perm.reshape(b, cols).to(torch.int32)
        pools = []
        for cache in (kc, vc):
            padded = cache.new_zeros(b, cols * page, hkv, d)
            padded[:, :cap] = cache
            pool = torch.randn(b * cols + 1, page, hkv, d, device="cuda", dtype=dtype)
            pool[table.flatten().long()] = padded.reshape(b * cols, page, hkv, d)
            pools.append(pool)
        out = fc.flash_attn_with_kvcache(q, pools[0], pools[1], page_table=table, **kwargs)
    else:
        out = fc.flash_attn_with_kvcache(q, kc, vc, **kwargs)
    torch.cuda.current_stream().synchronize()
    scale = 1.0 / math.sqrt(d)
    worst = bar = 0.0
    for i in range(b):
        n = int(lens[i])
        ref, _ = reference(q[i], kc[i, :n], vc[i, :n], True, (-1, -1), 0.0, scale)
        emu, _ = reference(q[i], kc[i, :n], vc[i, :n], True, (-1, -1), 0.0, scale, dtype)
        worst, bar = max(worst, rel(out[i], ref)), max(bar, rel(emu, ref))
    return "kvcache B%d Sq%d cache%d H%d/%d d%d page=%s splits=%d" % (
        b, sq, cap, h, hkv, d, page, splits), out, worst, bar


def _cumsum(xs):
    total = 0
    for x in xs:
        total += x
        yield total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch = torch_or_skip(custom_op=True)
    if torch is None:
        return SKIP
    import flashcore as fc
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print("seed %d, %d threads, %.1f min" % (seed, args.threads, args.minutes), flush=True)
    deadline = time.time() + 60 * args.minutes
    lock = threading.Lock()
    counts, worst, failures = {}, {}, []

    def worker(t):
        rng = random.Random(seed * 1000 + t)
        torch.manual_seed(seed * 1000 + t)
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            while time.time() < deadline:
                kind = rng.choice([dense_case, dense_case, varlen_case, kvcache_case])
                try:
                    desc, out, err, bar = kind(torch, fc, rng)
                    bad = bool(torch.isnan(out).any()) or err > 1.2 * max(bar, 1e-6) + 1e-4
                    with lock:
                        name = kind.__name__
                        counts[name] = counts.get(name, 0) + 1
                        worst[name] = max(worst.get(name, 0.0), err)
                        if bad:
                            failures.append("%s: rel err %.3g, bar %.3g" % (desc, err, bar))
                            print("FAIL", failures[-1], flush=True)
                except Exception as e:
                    with lock:
                        failures.append("%s: %s\n%s" % (type(e).__name__, e,
                                                        traceback.format_exc()[-800:]))
                        print("FAIL", failures[-1], flush=True)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60 * args.minutes + 300)
    hung = [i for i, th in enumerate(threads) if th.is_alive()]
    if hung:
        failures.append("threads %s did not finish (hang)" % hung)
    summary = {"seed": seed, "threads": args.threads, "minutes": args.minutes, "calls": counts,
               "worst_rel_err": worst, "failures": len(failures)}
    print(json.dumps(summary), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(summary, failure_text=failures[:50]), f, indent=1)
    if hung:
        os._exit(1)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
