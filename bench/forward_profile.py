"""Forward under ncu: one FA3-protocol row run by FlashCore (its dispatch-table
schedule), FA3 (when FA3_PATH names a build) and cuDNN through SDPA, three
times each, so that `ncu` shows the providers' kernels side by side:

  ncu --clock-control none --section SpeedOfLight ... \
      python3 bench/forward_profile.py DTYPE HDIM CAUSAL S

(CAUSAL is 0 or 1; batch = 16384 / S and heads = 2048 / HDIM, as in
bench/bench_attention.py). Not a benchmark (ncu serialises the kernels);
bench_attention.py times.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_attention import fa3_fn, flashcore_fn, load_fa3, sdpa_fn  # noqa: E402

import torch  # noqa: E402
from torch.nn.attention import SDPBackend  # noqa: E402


def main():
    dtype_name, hdim, causal, s = (sys.argv[1:5] if len(sys.argv) >= 5
                                   else ("bf16", "128", "1", "2048"))
    hdim, causal, s = int(hdim), bool(int(causal)), int(s)
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float16
    b, h = 16384 // s, 2048 // hdim
    q, k, v = (torch.randn(b, s, h, hdim, device="cuda", dtype=dtype) for _ in range(3))
    fns = {"flashcore": flashcore_fn(q, k, v, causal),
           "cudnn": sdpa_fn(SDPBackend.CUDNN_ATTENTION, q, k, v, causal)}
    fa3 = load_fa3()
    if fa3 is not None:
        fns["fa3"] = fa3_fn(fa3)(q, k, v, causal)
    for name, fn in fns.items():
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        print("profiled: %s %s d%d causal=%d S=%d B=%d H=%d" % (
            name, dtype_name, hdim, causal, s, b, h), flush=True)


if __name__ == "__main__":
    main()
