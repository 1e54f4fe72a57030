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
from test_features import reference  # noqa: E402
from test_python_api import shuffled_table, to_pages  # noqa: E402


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
            table, num_pages = shuffled_table(torch, b, cap, page)
            kp = to_pages(torch, kc, page, table, num_pages)
            vp = to_pages(torch, vc, page, table, num_pages)
            out = fc.flash_attn_with_kvcache(q, kp, vp, page_table=table, **kwargs)
        else:
            out = fc.flash_attn_with_kvcache(q, kc, vc, **kwargs)
        ref = torch.zeros(b, sq, h, d, dtype=torch.float64, device="cuda")
        for i in range(b):
            n = int(lens[i])
            if n:
                ref[i] = reference(q[i], kc[i, :n], vc[i, :n], causal, (-1, -1), 0.0,
                                   1.0 / math.sqrt(d))[0]
        err = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        ok = err <= 2e-2 and bool(torch.isfinite(out).all())
        failed += not ok
        print("%s B%d Sq%d cache%d H%d/%d d%d page=%s splits=%s: rel err %.2e" % (
            "ok  " if ok else "FAIL", b, sq, cap, h, hkv, d, page, splits, err), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
