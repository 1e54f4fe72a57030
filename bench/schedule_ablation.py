"""Schedule ablation: each technique's gain alone, in one process on one GPU.

  python3 bench/schedule_ablation.py [--json out.json] [--set single|combos]
      [--hdims 64,128,256] [--seqlens 2048,8192] [--dtype bf16] [--repeats 3]
      [--causal both|yes|no] [--only "fields;fields;..."]

For each row (FA3 protocol: batch = 16384 / S, heads = 2048 / head_dim) every
schedule variant of that head dim gets its own libflashcore handle with a
spec override (flashcore_set_spec: the row's problem + the variant's schedule
fields). Per row the variants run alternately (V1 V2 ... V1 V2 ..., median
of triton.testing.do_bench each), so clock drift hits all alike. Before
timing, every variant's output (NaN-prefilled) is compared with the default
schedule's on the same random inputs: max |a - b| must stay <= 2e-2 with no
NaN, else the variant is marked WRONG and not timed. A variant the spec rules
reject for the row is "n/a" with the rule's message.

Prints one table per head dim: TFLOPS of the default and variant / default.
The library is $FLASHCORE_LIB (default build/lib/libflashcore.so).
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import triton  # noqa: E402

from flashcore_ctypes import Library  # noqa: E402

# Variants per head dim: schedule fields (field=value,...); "" is the default.
# One row here is one technique (or one tile) measured on its own.
COMMON = ["", "overlap=true", "pingpong=true", "pingpong=true,overlap=true",
          "scheduler=static_persistent", "epilogue=tma", "stages=3"]
VARIANTS = {
    64: COMMON + ["block_n=192", "block_n=192,pingpong=true,overlap=true",
                  "consumer_warpgroups=3,block_n=128",
                  "consumer_warpgroups=3,block_n=128,overlap=true",
                  "consumer_warpgroups=3,block_n=160"],
    128: COMMON + ["block_n=176", "block_n=176,overlap=true",
                   "block_n=176,pingpong=true,overlap=true",
                   "block_n=160,pingpong=true,overlap=true",
                   "block_n=176,pingpong=true"],
    256: [v for v in COMMON if v != "stages=3"] +
         ["block_n=64", "block_n=64,pingpong=true,overlap=true", "block_n=64,pingpong=true"],
}


# Round two: the techniques that paid alone, combined (bench/results/
# 2026-12-01/session3 has round one).
W3 = "block_m=192,consumer_warpgroups=3"
COMBOS = {
    64: ["", W3 + ",block_n=128,overlap=true", W3 + ",block_n=128,overlap=true,epilogue=tma",
         W3 + ",block_n=160", W3 + ",block_n=160,epilogue=tma",
         W3 + ",block_n=160,scheduler=static_persistent,epilogue=tma",
         W3 + ",block_n=128,scheduler=static_persistent,epilogue=tma",
         W3 + ",block_n=112,overlap=true,epilogue=tma"],
    128: ["", "overlap=true,epilogue=tma", "overlap=true,scheduler=static_persistent",
          "overlap=true,scheduler=static_persistent,epilogue=tma",
          "block_n=160,overlap=true,scheduler=static_persistent,epilogue=tma",
          "block_n=160,pingpong=true,overlap=true,epilogue=tma",
          "block_n=160,pingpong=true,overlap=true,scheduler=static_persistent,epilogue=tma",
          "pingpong=true,overlap=true,epilogue=tma",
          "pingpong=true,overlap=true,scheduler=static_persistent,epilogue=tma",
          "block_n=176,pingpong=true,overlap=true,epilogue=tma",
          "block_n=176,overlap=true,epilogue=tma"],
    256: ["", "overlap=true,epilogue=tma", "pingpong=true,overlap=true,epilogue=tma",
          "block_n=64,pingpong=true,overlap=true,epilogue=tma", "pingpong=true,overlap=true"],
}
# Round three: around the shipped table's entries (specs/dispatch/table.yaml),
# for the rows still behind FA3 (short rows, head_dim 64 causal).
PPT = "pingpong=true,overlap=true,epilogue=tma"
ROUND3 = {
    64: ["", W3 + ",block_n=128,overlap=true,epilogue=tma", "overlap=true,epilogue=tma", PPT,
         "block_n=192," + PPT, "block_n=176," + PPT, W3 + ",block_n=96,overlap=true,epilogue=tma",
         W3 + ",block_n=128,overlap=true,epilogue=tma,stages=3",
         W3 + ",block_n=112,overlap=true,epilogue=tma,stages=3"],
    128: ["", "block_n=176," + PPT, PPT, "block_n=160," + PPT, "block_n=144," + PPT,
          "block_n=192," + PPT, "block_n=112," + PPT, "overlap=true,scheduler=static_persistent",
          "pingpong=true,overlap=true,scheduler=static_persistent"],
    256: ["", "overlap=true,epilogue=tma", PPT, "block_n=64,overlap=true,epilogue=tma",
          "block_n=48,overlap=true,epilogue=tma", "block_n=48," + PPT],
}
# Tile order and lazy rescaling (GPU-untested when written): the shipped
# entries with the longest-first order (single-tile grid and persistent) and
# with lazy_rescale.
LF = "tile_order=longest_first"
ORDER = {
    64: ["", W3 + ",block_n=96,overlap=true,epilogue=tma", PPT,
         W3 + ",block_n=96,overlap=true,epilogue=tma," + LF, PPT + "," + LF,
         PPT + "," + LF + ",scheduler=static_persistent"],
    128: ["", "block_n=160," + PPT, PPT, "block_n=160," + PPT + "," + LF, PPT + "," + LF,
          PPT + "," + LF + ",scheduler=static_persistent",
          "overlap=true,scheduler=static_persistent," + LF],
    256: ["", "overlap=true,epilogue=tma", "overlap=true,epilogue=tma," + LF,
          "block_n=64,overlap=true,epilogue=tma,scheduler=static_persistent," + LF],
}
LAZY = "lazy_rescale=true"
ORDER[64] += [W3 + ",block_n=128,overlap=true,epilogue=tma," + LAZY, PPT + "," + LAZY]
ORDER[128] += ["block_n=192," + PPT + "," + LAZY, "block_n=160," + PPT + "," + LAZY]
ORDER[256] += ["overlap=true,epilogue=tma," + LAZY]
# The shipped table's entries (specs/dispatch/table.yaml) with and without
# lazy_rescale, side by side.
W3N = W3 + ",block_n=%d,overlap=true,epilogue=tma"
LAZY_SET = {
    64: ["", W3N % 128, W3N % 128 + "," + LAZY, PPT, PPT + "," + LAZY, W3N % 96,
         W3N % 96 + "," + LAZY],
    128: ["", PPT, PPT + "," + LAZY, "block_n=192," + PPT, "block_n=192," + PPT + "," + LAZY,
          "block_n=160," + PPT, "block_n=160," + PPT + "," + LAZY],
    256: ["", "overlap=true,epilogue=tma", "overlap=true,epilogue=tma," + LAZY],
}
# Two CTAs per SM with one consumer warpgroup (64-row tiles) against the
# shipped entries, for the short rows (--seqlens 512,1024,2048).
C2 = "consumer_warpgroups=1,ctas_per_sm=2,block_n=%d"
CTAS_SET = {
    64: ["", W3N % 128, PPT, C2 % 128 + ",overlap=true,epilogue=tma",
         C2 % 64 + ",overlap=true,epilogue=tma", C2 % 128 + ",overlap=true",
         C2 % 128 + ",overlap=true,epilogue=tma,scheduler=static_persistent"],
    128: ["", PPT, C2 % 64 + ",overlap=true,epilogue=tma", C2 % 80 + ",overlap=true",
          C2 % 64 + ",overlap=true", C2 % 64 + ",overlap=true,epilogue=tma,scheduler=static_persistent"],
    256: ["", "overlap=true,epilogue=tma," + LAZY],
}
SETS = {"single": VARIANTS, "combos": COMBOS, "round3": ROUND3, "order": ORDER, "lazy": LAZY_SET,
        "ctas": CTAS_SET}


def spec_text(dtype, hdim, causal, variant):
    lines = ["problem:", "  dtype: %s" % dtype, "  head_dim: %d" % hdim,
             "  causal: %s" % ("true" if causal else "false")]
    fields = [f.split("=", 1) for f in variant.split(",") if f]
    if fields:
        lines += ["schedule:"] + ["  %s: %s" % (k, v) for k, v in fields]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--hdims", default="64,128,256")
    parser.add_argument("--seqlens", default="2048,8192")
    parser.add_argument("--set", default="single", choices=sorted(SETS),
                        help="single: each technique alone; combos: the winners combined")
    parser.add_argument("--only", default="", help="variants (';'-separated) instead of the set")
    parser.add_argument("--causal", default="both", choices=["both", "yes", "no"],
                        help="which masks to time (default both)")
    args = parser.parse_args()
    masks = {"both": (False, True), "yes": (True,), "no": (False,)}[args.causal]
    path = os.environ.get("FLASHCORE_LIB", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "lib", "libflashcore.so"))
    dt = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    print("device %s, library %s" % (torch.cuda.get_device_name(0), path), flush=True)
    results = []
    for hdim in [int(x) for x in args.hdims.split(",")]:
        variants = ([""] + [v for v in args.only.split(";") if v] if args.only
                    else SETS[args.set][hdim])
        for causal in masks:
            handles = {}
            for v in variants:
                lib = Library(path)
                try:
                    lib.set_spec(spec_text(args.dtype, hdim, causal, v))
                    handles[v] = lib
                except RuntimeError as e:
                    handles[v] = str(e)
            for s in [int(x) for x in args.seqlens.split(",")]:
                b, h = max(1, 16384 // s), 2048 // hdim
                q, k, v_ = (torch.randn(b, s, h, hdim, device="cuda", dtype=dt) for _ in range(3))
                flops = 4 * b * h * s * s * hdim / (2 if causal else 1)
                row = {"dtype": args.dtype, "hdim": hdim, "causal": causal, "seqlen": s,
                       "variants": {}}
                fns, ref = {}, None
                for var in variants:
                    lib = handles[var]
                    entry = row["variants"].setdefault(var or "default", {})
                    if isinstance(lib, str):
                        entry["status"] = "n/a: " + lib[:300]
                        continue
                    out = torch.full_like(q, float("nan"))
                    fn = lib.forward_fn(q, k, v_, out, causal)
                    try:
                        fn()
                        torch.cuda.synchronize()
                    except RuntimeError as e:
                        entry["status"] = "n/a: " + str(e)[:300]
                        continue
                    if ref is None:
                        ref = out.float()
                        diff = 0.0 if not torch.isnan(out).any() else float("nan")
                    else:
                        diff = (out.float() - ref).abs().max().item()
                    entry["max_abs_vs_default"] = diff
                    if not diff <= 2e-2:
                        entry["status"] = "WRONG"
                        continue
                    entry["status"] = "ok"
                    fns[var] = fn
                times = {var: [] for var in fns}
                for _ in range(args.repeats):
                    for var, fn in fns.items():
                        times[var].append(triton.testing.do_bench(fn, warmup=25, rep=100))
                base = None
                for var in variants:
                    entry = row["variants"][var or "default"]
                    if var in times:
                        entry["tflops"] = round(flops / statistics.median(times[var]) / 1e9, 1)
                        if base is None:
                            base = entry["tflops"]
                        entry["vs_default"] = round(entry["tflops"] / base, 3)
                results.append(row)
                print(json.dumps(row), flush=True)
                del q, k, v_, fns, ref
    # One table per head dim: variants down, rows across.
    for hdim in sorted({r["hdim"] for r in results}):
        mine = [r for r in results if r["hdim"] == hdim]
        names = list(mine[0]["variants"])
        print("\n### %s head_dim %d: TFLOPS of the default, variant / default" % (args.dtype, hdim))
        print("| variant | " + " | ".join("%s S%d" % ("causal" if r["causal"] else "non-causal",
                                                    r["seqlen"]) for r in mine) + " |")
        print("|---|" + "---|" * len(mine))
        for name in names:
            cells = []
            for r in mine:
                e = r["variants"][name]
                if e.get("status") != "ok":
                    cells.append(e.get("status", "?")[:40])
                elif name == "default":
                    cells.append("%.1f" % e["tflops"])
                else:
                    cells.append("%.3f" % e["vs_default"])
            print("| %s | %s |" % (name, " | ".join(cells)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
