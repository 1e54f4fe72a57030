"""FlashCore vs FA2 and cuDNN (torch SDPA) with the FlashAttention-3 protocol.

batch = 16384 / seqlen, heads = 2048 / head_dim, layout (B, S, H, D), random
inputs, FLOPs = 4 * B * H * S^2 * D (halved when causal), median of
triton.testing.do_bench. Every provider runs in this process on this GPU, so
the ratios are meaningful; absolute numbers move between machines.

  python3 bench/bench_attention.py                 # all rows
  SEQLENS=8192 HDIMS=128 DTYPES=bf16 CAUSAL=0 python3 bench/bench_attention.py

Writes $OUT/bench.json (or ./bench.json) and prints a markdown table last.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401  (makes `import flashcore` find the build tree)

import torch
import triton
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

import flashcore


def bench(fn):
    return triton.testing.do_bench(fn, warmup=50, rep=200, return_mode="median")


def sdpa_fn(backend, q, k, v, causal):
    qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))

    def f():
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal)
    return f


def flashcore_fn(q, k, v, causal):
    out = torch.empty_like(q)
    return lambda: flashcore.attention(q, k, v, causal=causal, out=out, return_lse=False)


PROVIDERS = {
    "flashcore": flashcore_fn,
    "fa2": lambda q, k, v, c: sdpa_fn(SDPBackend.FLASH_ATTENTION, q, k, v, c),
    "cudnn": lambda q, k, v, c: sdpa_fn(SDPBackend.CUDNN_ATTENTION, q, k, v, c),
}


def env_list(name, default, conv=str):
    return [conv(x) for x in os.environ.get(name, default).split(",") if x]


def main():
    props = torch.cuda.get_device_properties(0)
    print("device: %s sms=%d torch=%s cudnn=%s triton=%s flashcore=%s" % (
        props.name, props.multi_processor_count, torch.__version__,
        torch.backends.cudnn.version(), triton.__version__, flashcore.version()), flush=True)
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    rows = []
    providers = env_list("PROVIDERS", ",".join(PROVIDERS))
    for dname in env_list("DTYPES", "bf16"):
        for hdim in env_list("HDIMS", "128", int):
            for causal in [c == "1" for c in env_list("CAUSAL", "0,1")]:
                for s in env_list("SEQLENS", "512,1024,2048,4096,8192,16384", int):
                    b, h = 16384 // s, 2048 // hdim
                    q, k, v = (torch.randn(b, s, h, hdim, device="cuda", dtype=dtypes[dname])
                               for _ in range(3))
                    flops = 4 * b * h * s * s * hdim / (2 if causal else 1)
                    row = {"dtype": dname, "hdim": hdim, "causal": causal, "seqlen": s}
                    for name, make in PROVIDERS.items():
                        if name not in providers:
                            continue
                        try:
                            ms = bench(make(q, k, v, causal))
                            row[name] = round(flops / ms / 1e9, 1)
                        except Exception as e:
                            row[name] = None
                            row[name + "_error"] = "%s: %s" % (type(e).__name__, str(e)[:200])
                    for peer in ("fa2", "cudnn"):
                        if row.get("flashcore") and row.get(peer):
                            row["vs_" + peer] = round(row["flashcore"] / row[peer], 3)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    del q, k, v
    out_dir = os.environ.get("OUT", ".")
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump({"device": props.name, "rows": rows}, f, indent=1)
    print("\n| dtype | hdim | causal | seqlen | FlashCore | FA2 | cuDNN | vs FA2 | vs cuDNN |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %d | %s | %s | %s | %s | %s |" % (
            r["dtype"], r["hdim"], "yes" if r["causal"] else "no", r["seqlen"], r.get("flashcore"),
            r.get("fa2"), r.get("cudnn"), r.get("vs_fa2"), r.get("vs_cudnn")))


if __name__ == "__main__":
    main()
