#!/usr/bin/env python3
"""Small decode calls for compute-sanitizer (tests/gpu/device_run.sh, stage
sandecode): split-KV with the combine kernel, pack-GQA, cache_seqlens with a
tail and an empty cache, and a paged cache with shuffled pages of 16 and 64
rows. Each output is checked against a float64 reference, so a run is a
correctness check as well; exit 1 on a wrong result, 0 (or the sanitizer's
error exit code) otherwise.

    compute-sanitizer --tool memcheck --error-exitcode 99 python3 sanitize_decode.py
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_skip import SKIP, torch_or_skip  # noqa: E402


def reference(torch, q, kc, vc, lens, causal):
    b, sq, h, d = q.shape
    out = torch.zeros(b, sq, h, d, dtype=torch.float64, device=q.device)
    group = h // kc.shape[2]
    for i in range(b):
        n = int(lens[i])
        if n == 0:
            continue
        k = kc[i, :n].double().repeat_interleave(group, dim=1)
        v = vc[i, :n].double().repeat_interleave(group, dim=1)
        s = torch.einsum("qhd,khd->hqk", q[i].double(), k) / math.sqrt(d)
        if causal:  # aligned to the cache end: query row r sees keys < n - sq + r + 1
            rows = torch.arange(sq, device=q.device)[:, None]
            keys = torch.arange(n, device=q.device)[None, :]
            s = s.masked_fill(keys > n - sq + rows, -math.inf)
        out[i] = torch.einsum("hqk,khd->qhd", torch.softmax(s, -1).nan_to_num(0.0), v)
    return out


def shuffled_table(torch, b, cap, page, gen):
    """Page table (B, ceil(cap / page)) int32 of distinct pages in random order
    from a pool with two pages more than it names."""
    cols = -(-cap // page)
    num_pages = b * cols + 2
    table = torch.randperm(num_pages, generator=gen)[:b * cols].reshape(b, cols)
    return table.to(torch.int32).cuda(), num_pages


def to_pages(torch, cache, page, table, num_pages):
    b, cap, h, d = cache.shape
    cols = table.shape[1]
    padded = cache.new_zeros(b, cols * page, h, d)
    padded[:, :cap] = cache
    pool = torch.randn(num_pages, page, h, d, dtype=cache.dtype, device=cache.device)
    pool[table.flatten().long()] = padded.reshape(b * cols, page, h, d)
    return pool


def main():
    torch = torch_or_skip(custom_op=True)
    if torch is None:
        return SKIP
    import flashcore as fc
    gen = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    cases = [
        # B, Sq, capacity, Hq, Hkv, D, causal, page, num_splits, pack_gqa
        (3, 1, 700, 16, 4, 128, True, None, 3, True),
        (2, 3, 333, 8, 2, 64, True, None, 0, None),
        (3, 1, 600, 16, 4, 128, True, 16, 4, True),
        (2, 2, 500, 8, 8, 128, False, 64, 1, False),
    ]
    failed = 0
    for b, sq, cap, h, hkv, d, causal, page, splits, pack in cases:
        q = torch.randn(b, sq, h, d, generator=gen).to("cuda", torch.bfloat16)
        kc = torch.randn(b, cap, hkv, d, generator=gen).to("cuda", torch.bfloat16)
        vc = torch.randn(b, cap, hkv, d, generator=gen).to("cuda", torch.bfloat16)
        lens = torch.randint(sq, cap + 1, (b,), generator=gen, dtype=torch.int32)
        lens[0] = cap  # a full cache: the last block's tail
        if b > 2:
            lens[2] = 0  # an empty cache
        kwargs = dict(cache_seqlens=lens.cuda(), causal=causal, num_splits=splits, pack_gqa=pack)
        if page:
            table, num_pages = shuffled_table(torch, b, cap, page, gen)
            kp = to_pages(torch, kc, page, table, num_pages)
            vp = to_pages(torch, vc, page, table, num_pages)
            out = fc.flash_attn_with_kvcache(q, kp, vp, page_table=table, **kwargs)
        else:
            out = fc.flash_attn_with_kvcache(q, kc, vc, **kwargs)
        ref = reference(torch, q, kc, vc, lens, causal)
        err = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        ok = err <= 2e-2 and bool(torch.isfinite(out).all())
        failed += not ok
        print("%s B%d Sq%d cache%d H%d/%d d%d page=%s splits=%s: rel err %.2e" % (
            "ok  " if ok else "FAIL", b, sq, cap, h, hkv, d, page, splits, err), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
