"""Ring attention's math on one GPU (issue 14): flashcore.distributed's step plans,
sharding and LSE merge, with the sequence cut for W ranks on one device.

First, without torch or a GPU: the step plans checked exhaustively for 1..8
ranks (check_step_plans). Then, on a GPU: zig-zag shard/unshard, the merge on
rows of LSE -inf, argument errors, and the matrix causal x zig-zag x
{bf16, fp16} x head_dim {64, 128} x heads {8/8, 8/2 (GQA)} x S {1024, 4096}
x W {2, 4, 8}: ring_attention_reference (the ring's plans, calls and merge,
no communication) against the unsplit flash_attn_func and an fp64 reference
(causal: the ordinary mask, seqlen_q == seqlen_k). Fresh random inputs (the
seed, from the clock, is printed; --seed repeats a run); the unsplit output
lands in a NaN-filled block (every element written). Bar: ring vs fp64 max abs
<= 2x unsplit's + 1e-3, relative <= 2x unsplit's + 1e-4, LSE within 2x
unsplit's + 1e-4 (and 5e-3), no NaN.

  python3 tests/gpu/test_ring.py [--json out.json] [--seed N] [--worlds 2,4] [--seqlens 1024]

Exit 0: all passed; 1: a failure; 77: skipped (no CUDA device / torch < 2.4;
the plan check still runs and a failure there exits 1).
"""
import argparse
import itertools
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_skip import SKIP, run_check, torch_or_skip  # noqa: E402

RESULTS = []


def record(name, fn, *args):
    """Runs one check (gpu_skip.run_check; the matrix's rows stay in the JSON only)."""
    return run_check(RESULTS, name, fn, args, hidden=("test", "pass", "trace", "rows"))


def test_plans(fd):
    problems = fd.check_step_plans(8)
    return {"pass": not problems, "worlds": "1..8", "problems": problems[:20]}


def test_shard(torch, fd):
    """zigzag_shard holds chunks r and 2W-1-r; zigzag_unshard inverts it, on any dim."""
    bad = []
    for world in (1, 2, 3, 4, 8):
        s = 2 * world * 3
        t = torch.arange(s, device="cuda").view(1, s, 1, 1).expand(2, s, 3, 4).contiguous()
        shards = [fd.zigzag_shard(t, r, world) for r in range(world)]
        for r, sh in enumerate(shards):
            want = list(range(3 * r, 3 * r + 3)) + list(range(3 * (2 * world - 1 - r),
                                                              3 * (2 * world - r)))
            if sh[0, :, 0, 0].tolist() != want:
                bad.append("world %d rank %d: %s" % (world, r, sh[0, :, 0, 0].tolist()))
        if not torch.equal(fd.zigzag_unshard(shards), t):
            bad.append("world %d: unshard(shard) != t" % world)
        lse = t[:, :, :, 0].transpose(1, 2).contiguous()  # (B, H, S): the LSE layout
        if not torch.equal(fd.zigzag_unshard([fd.zigzag_shard(lse, r, world, dim=2)
                                              for r in range(world)], dim=2), lse):
            bad.append("world %d: dim=2 round trip" % world)
    return {"pass": not bad, "problems": bad}


def test_merge(torch, fd):
    """The merge by LSE: equals attention over the union of keys, and rows with
    LSE -inf (no key) stay finite."""
    b, n, h, d = 2, 64, 4, 32
    o1, o2 = (torch.randn(b, n, h, d, device="cuda") for _ in range(2))
    l1, l2 = (torch.randn(b, h, n, device="cuda") * 3 for _ in range(2))
    l1[0, 0, :8] = -math.inf          # rows where the first part saw no key
    l2[0, 0, 4:12] = -math.inf        # and where the second did not (4..7: neither)
    o1[0, :8, 0] = 0.0                # FlashAttention's O for such rows
    o2[0, 4:12, 0] = 0.0
    out, lse = o1.clone(), l1.clone()
    fd._merge_(out, lse, o2.to(torch.bfloat16), l2)
    w1 = torch.exp(l1.double() - torch.logaddexp(l1.double(), l2.double())).nan_to_num(0.0)
    w2 = torch.exp(l2.double() - torch.logaddexp(l1.double(), l2.double())).nan_to_num(0.0)
    want = (o1.double() * w1.transpose(1, 2)[..., None]
            + o2.to(torch.bfloat16).double() * w2.transpose(1, 2)[..., None])
    finite = torch.isfinite(out).all().item() and not torch.isnan(lse).any().item()
    neither = bool(torch.isneginf(lse[0, 0, 4:8]).all().item()
                   and (out[0, 4:8, 0] == 0).all().item())
    err = (out.double() - want).abs().max().item()
    lse_err = (lse.double() - torch.logaddexp(l1.double(), l2.double())).nan_to_num(
        0.0, posinf=0.0, neginf=0.0).abs().max().item()
    return {"pass": finite and neither and err < 1e-5 and lse_err < 1e-5, "max_abs": err,
            "lse_max_abs": lse_err, "finite": finite, "no_key_rows_ok": neither}


def test_errors(torch, fd):
    from test_python_api import expect
    q = torch.randn(1, 1000, 2, 64, device="cuda", dtype=torch.bfloat16)
    msgs = [
        expect(ValueError, "must be a multiple of 2 * world = 6", fd.ring_attention_reference,
               q, q, q, 3, True),
        expect(ValueError, "must be a multiple of world = 3", fd.ring_attention_reference,
               q, q, q, 3, False, None, False),
        expect(ValueError, "world must be an int >= 1, got: 0", fd.ring_attention_reference,
               q, q, q, 0),
        expect(ValueError, "seqlen_local (dimension 1 of q) must be even",
               fd._check_ring_args, q[:, :999], q[:, :999], q[:, :999], True, True),
        expect(ValueError, "must have q's seqlen_local 1000", fd._check_ring_args, q,
               q[:, :500], q[:, :500], True, False),
        expect(TypeError, "must have q's dtype", fd.ring_attention_reference, q, q.half(),
               q.half(), 2),
        expect(ValueError, "heads (dimension 2 of t) must be a multiple of 4", fd.shard_heads,
               q, 0, 4),
        expect(ValueError, "rank must be an int in [0, world = 2)", fd.zigzag_shard, q, 2, 2),
    ]
    return {"messages": msgs}


def errors(torch, out, lse, ref, ref_lse):
    """max abs, relative and LSE errors of (out, lse) against the fp64 reference."""
    from test_features import rel
    finite = torch.isfinite(ref_lse)
    return {"max_abs": (out.double() - ref).abs().max().item(), "rel": rel(out, ref),
            "lse_max_abs": (lse.double()[finite] - ref_lse[finite]).abs().max().item(),
            "lse_inf_ok": bool(torch.equal(torch.isneginf(lse), ~finite))}


def test_matrix(torch, fd, fc, worlds, seqlens):
    from test_features import reference
    from test_python_api import nan_block
    rows, all_ok = [], True
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    for dt, d, (h, hkv), s, causal in itertools.product(dtypes, (64, 128), ((8, 8), (8, 2)),
                                                        seqlens, (False, True)):
        dtype, b = dtypes[dt], 2 if s <= 1024 else 1
        q = torch.randn(b, s, h, d, device="cuda", dtype=dtype)
        k = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
        v = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
        scale = 1.0 / math.sqrt(d)
        refs = [reference(q[i], k[i], v[i], causal, (-1, -1), 0.0, scale) for i in range(b)]
        ref = torch.stack([r[0] for r in refs])
        ref_lse = torch.stack([r[1] for r in refs])
        nan_block(torch, (b, s, h, d), dtype)
        full, full_lse = fc.flash_attn_func(q, k, v, causal=causal, return_attn_probs=True)
        torch.cuda.synchronize()
        base = errors(torch, full, full_lse, ref, ref_lse)
        base["unwritten"] = int(torch.isnan(full).sum().item())
        for world, zigzag in itertools.product(worlds, (True, False)):
            if s % (2 * world if zigzag else world):
                continue
            name = "%s d%d H%d/%d B%d S%d%s W%d %s" % (dt, d, h, hkv, b, s,
                                                     " causal" if causal else "", world,
                                                     "zigzag" if zigzag else "contiguous")
            out, lse = fd.ring_attention_reference(q, k, v, world, causal, scale, zigzag)
            torch.cuda.synchronize()
            e = errors(torch, out, lse, ref, ref_lse)
            row = {"case": name, "ring": e, "unsplit": base,
                   "ring_vs_unsplit_max_abs": (out.float() - full.float()).abs().max().item(),
                   "ring_vs_unsplit_lse_max_abs": (lse - full_lse).abs().nan_to_num(0.0).max()
                   .item(),
                   "nan": int(torch.isnan(out).sum().item() + torch.isnan(lse).sum().item())}
            ok = (row["nan"] == 0 and base["unwritten"] == 0 and e["lse_inf_ok"]
                  and list(out.shape) == [b, s, h, d] and list(lse.shape) == [b, h, s]
                  and e["max_abs"] <= 2 * base["max_abs"] + 1e-3
                  and e["rel"] <= 2 * base["rel"] + 1e-4
                  and e["lse_max_abs"] <= min(2 * base["lse_max_abs"] + 1e-4, 5e-3))
            row["pass"] = ok
            all_ok &= ok
            rows.append(row)
            print("   %s %s: ring max_abs %.2e rel %.2e lse %.2e | unsplit max_abs %.2e rel %.2e "
                  "lse %.2e | ring-unsplit %.2e" % (
                      "ok  " if ok else "FAIL", name, e["max_abs"], e["rel"], e["lse_max_abs"],
                      base["max_abs"], base["rel"], base["lse_max_abs"],
                      row["ring_vs_unsplit_max_abs"]), flush=True)
    return {"pass": all_ok, "cases": len(rows),
            "failed": [r["case"] for r in rows if not r["pass"]], "rows": rows}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--seed", type=int, help="repeat a run (default: from the clock)")
    parser.add_argument("--worlds", default="2,4,8")
    parser.add_argument("--seqlens", default="1024,4096")
    args = parser.parse_args()
    worlds = [int(w) for w in args.worlds.split(",")]
    seqlens = [int(s) for s in args.seqlens.split(",")]
    from flashcore import distributed as fd  # torch-free at import
    plans_ok = record("step plans cover every causal chunk pair once (1..8 ranks)",
                      test_plans, fd)
    torch = torch_or_skip(custom_op=True)
    if torch is None:
        return SKIP if plans_ok else 1
    import flashcore as fc
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % (1 << 31)
    torch.manual_seed(seed)
    props = torch.cuda.get_device_properties(0)
    print("GPU: %s, torch %s, flashcore %s (%s), seed %d" % (
        props.name, torch.__version__, fc.version(), fd.__file__, seed), flush=True)
    record("zigzag_shard / zigzag_unshard", test_shard, torch, fd)
    record("LSE merge, rows of LSE -inf", test_merge, torch, fd)
    record("argument errors", test_errors, torch, fd)
    record("ring_attention_reference matches unsplit flash_attn_func and fp64", test_matrix,
           torch, fd, fc, worlds, seqlens)
    failed = [r["test"] for r in RESULTS if not r["pass"]]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": props.name, "seed": seed, "results": RESULTS}, f, indent=1,
                      default=str)
    print("%d/%d checks passed%s" % (len(RESULTS) - len(failed), len(RESULTS),
                                     "; failed: " + ", ".join(failed) if failed else ""))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
