#!/usr/bin/env python3
"""Randomized argument validation of the Python API (issue 13): many random calls of
flash_attn_func with random shapes, dtypes, devices, strides and options, valid and not.
Every call must either match the fp64 reference (within the input-dtype emulation's error,
like the other suites) or raise ValueError / TypeError / NotImplementedError whose message
names what is wrong ("... must ..., got: ..."); anything else -- another exception, a wrong
result, NaN in a written output -- is a failure. A fixed seed per run is printed, so a
failure can be replayed (--seed).

    python3 tests/gpu/test_random_args.py [--calls 300] [--seed N] [--json out.json]
"""
import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_skip import SKIP, torch_or_skip  # noqa: E402
from test_features import reference, rel  # noqa: E402


def random_call(torch, rng):
    """One random call: (description, tensors and kwargs, whether it is valid)."""
    dtypes = [torch.bfloat16] * 4 + [torch.float16] * 3 + [torch.float32, torch.int8]
    b = rng.choice([1, 1, 2, 3])
    sq = rng.choice([1, 7, 64, 128, 200, 333])
    sk = rng.choice([sq, sq, 1, 64, 129, 500])
    d = rng.choice([64, 64, 128, 128, 96, 256, 48, 72])
    hkv = rng.choice([1, 2, 4])
    h = hkv * rng.choice([1, 2, 4]) if rng.random() < 0.9 else hkv * 2 + 1
    dt = rng.choice(dtypes)
    kdt = dt if rng.random() < 0.9 else rng.choice(dtypes)
    dev = "cuda" if rng.random() < 0.95 else "cpu"
    layout = rng.choice(["contiguous"] * 6 + ["bhsd-transposed", "sliced-heads", "strided-last"])
    causal = rng.random() < 0.4
    window = (-1, -1) if rng.random() < 0.7 else (rng.choice([-1, 0, 16, 100]),
                                                   rng.choice([-1, 0, 16, 100, -5]))
    softcap = 0.0 if rng.random() < 0.8 else rng.choice([5.0, 30.0, -1.0])
    scale = None if rng.random() < 0.8 else rng.choice([0.05, 0.125, -1.0, float("nan")])

    def make(s, heads, dtype):
        shape = (b, s, heads, d)
        if dtype in (torch.int8,):
            t = torch.randint(-3, 3, shape, device=dev, dtype=dtype)
        else:
            t = torch.randn(shape, device=dev, dtype=torch.float32).to(dtype)
        if layout == "bhsd-transposed":
            t = t.transpose(1, 2).contiguous().transpose(1, 2)
        elif layout == "sliced-heads":
            t = torch.cat([t, t], dim=2)[:, :, ::2]
        elif layout == "strided-last":
            t = torch.cat([t, t], dim=3)[..., ::2]
        return t

    q = make(sq, h, dt)
    k = make(sk, hkv, kdt)
    v = make(sk, hkv, kdt)
    kwargs = {"causal": causal, "window_size": window, "softcap": softcap}
    if scale is not None:
        kwargs["softmax_scale"] = scale
    desc = ("B%d Sq%d Sk%d H%d/%d d%d %s/%s %s %s causal=%s window=%s softcap=%s scale=%s" % (
        b, sq, sk, h, hkv, d, str(dt).split(".")[-1], str(kdt).split(".")[-1], dev, layout,
        causal, window, softcap, scale))
    return desc, q, k, v, kwargs


def check_one(torch, fc, desc, q, k, v, kwargs):
    """'ok' (matches), 'rejected' (clear error) or raises AssertionError."""
    try:
        out, lse = fc.flash_attn_func(q, k, v, return_attn_probs=True, **kwargs)
    except (ValueError, TypeError, NotImplementedError) as e:
        text = str(e)
        if "must" not in text and "not supported" not in text:
            raise AssertionError("%s: unclear error %s: %s" % (desc, type(e).__name__, text))
        return "rejected", type(e).__name__ + ": " + text[:120]
    torch.cuda.synchronize()
    if torch.isnan(out).any():
        raise AssertionError("%s: NaN in the output" % desc)
    scale = kwargs.get("softmax_scale") or 1.0 / math.sqrt(q.shape[-1])
    window = kwargs["window_size"]
    worst, bar = 0.0, 0.0
    for i in range(q.shape[0]):
        ref, _ = reference(q[i], k[i], v[i], kwargs["causal"], window, kwargs["softcap"], scale)
        emu, _ = reference(q[i], k[i], v[i], kwargs["causal"], window, kwargs["softcap"], scale,
                           q.dtype)
        worst = max(worst, rel(out[i], ref))
        bar = max(bar, rel(emu, ref))
    if worst > 1.2 * max(bar, 1e-6) + 1e-4:
        raise AssertionError("%s: rel err %.3g above the bar %.3g" % (desc, worst, bar))
    return "ok", "rel err %.2e (bar %.2e)" % (worst, bar)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch = torch_or_skip(custom_op=True)
    if torch is None:
        return SKIP
    import flashcore as fc
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print("seed %d (replay: --seed %d)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    counts = {"ok": 0, "rejected": 0, "failed": 0}
    failures, examples = [], {}
    for n in range(args.calls):
        desc, q, k, v, kwargs = random_call(torch, rng)
        try:
            kind, detail = check_one(torch, fc, desc, q, k, v, kwargs)
            counts[kind] += 1
            examples.setdefault(kind, []).append(desc + " -> " + detail)
        except AssertionError as e:
            counts["failed"] += 1
            failures.append(str(e))
            print("FAIL", e, flush=True)
        except Exception as e:  # anything but the three clear errors
            counts["failed"] += 1
            failures.append("%s: %s: %s" % (desc, type(e).__name__, str(e)[:300]))
            print("FAIL", failures[-1], flush=True)
    print(json.dumps(counts))
    for kind in ("ok", "rejected"):
        for line in examples.get(kind, [])[:4]:
            print("  %s: %s" % (kind, line))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": seed, "counts": counts, "failures": failures,
                       "examples": {k: v[:20] for k, v in examples.items()}}, f, indent=1)
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
