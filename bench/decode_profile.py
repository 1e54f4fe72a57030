"""Decode under ncu: one large decode row (bf16, head_dim 128, 32 query heads,
seqlen_q 1, full caches) run by FlashCore's flash_attn_with_kvcache (its own
split choice, then num_splits forced to 8) and by cuDNN through SDPA, a few
times each, so that `ncu` shows each provider's kernels side by side (time,
DRAM throughput, occupancy, registers, grid):

  ncu --clock-control none --metrics ... python3 bench/decode_profile.py [HKV B SK]

Not a benchmark (ncu serialises the kernels); bench/decode_bench.py times.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import sdpa_fns  # noqa: E402

import torch  # noqa: E402

import flashcore  # noqa: E402


def main():
    hkv, b, sk = (int(x) for x in sys.argv[1:4]) if len(sys.argv) >= 4 else (8, 8, 32768)
    h, d = 32, 128
    q = torch.randn(b, 1, h, d, device="cuda", dtype=torch.bfloat16)
    kc = torch.randn(b, sk, hkv, d, device="cuda", dtype=torch.bfloat16)
    vc = torch.randn_like(kc)
    lens = torch.full((b,), sk, dtype=torch.int32, device="cuda")
    cudnn = sdpa_fns(q, kc, vc)["cudnn"]
    for _ in range(2):
        flashcore.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=lens, causal=True)
        flashcore.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=lens, causal=True,
                                          num_splits=8)
        cudnn()
    torch.cuda.synchronize()
    print("profiled: KV heads %d, batch %d, seqlen_k %d, %.0f MB of K and V" % (
        hkv, b, sk, 2 * b * sk * hkv * d * 2 / 1e6))


if __name__ == "__main__":
    main()
