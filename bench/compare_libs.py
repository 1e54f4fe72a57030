"""Two builds of libflashcore on the FA3 protocol, in one process on one GPU.

  python3 bench/compare_libs.py BEFORE.so AFTER.so [--json out.json]

Rows: bf16 and fp16 x head_dim 64, 128, 256 x causal no/yes x S 512 ... 16k,
batch = 16384 / S, heads = 2048 / head_dim, random inputs. Each library runs
with its own default kernel choice. Per row the two are timed alternately
(A B A B A B, median of triton.testing.do_bench each; --flush clean:
bench/timing.py's read flush), so clock drift hits both alike; the table
gives TFLOPS of both and after / before, and flags rows outside +-2 %.
Before timing, the two outputs of a row are compared (they must agree to
bf16/fp16 rounding: max |A - B| <= 2e-2).

after / before of a row is the median over the repeats of the paired ratio
t_before(i) / t_after(i) (each pair timed back to back, so a clock change
between pairs cancels), next to the ratio of the medians. --self names the
same library twice (loaded from a copy, so the process holds two): the rows
then show the protocol's own noise, the floor any +-2 % claim stands on.
--heuristics makes both libraries ignore their dispatch tables (an empty
table through FLASHCORE_DISPATCH_TABLE), so builds whose tables differ are
compared on the same (default) schedules. --after-schedule FIELDS gives the
AFTER library's handle the schedule override FIELDS (FLASHCORE_SCHEDULE,
read when the handle is created): with --self, one build with and without a
schedule field on top of every dispatch-table entry. --after-env NAME=VALUE
(repeatable) sets an environment variable around every call of AFTER only
(e.g. FLASHCORE_PTXAS=/other/ptxas: one build assembled by two ptxas; the
variable is set and restored on the host around each launch, so both sides
pay the same host work and the GPU time is what differs).
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import timing  # noqa: E402
from flashcore_ctypes import Library  # noqa: E402


def with_env(env, fn):
    """fn run with the variables of env set (and every other one of them
    restored afterwards); fn itself when env is empty."""
    if not env:
        return fn

    def run():
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            fn()
        finally:
            for k, old in saved.items():
                if old is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = old
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--json")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--self", action="store_true",
                        help="compare AFTER with a copy of itself (the noise floor)")
    parser.add_argument("--heuristics", action="store_true",
                        help="both libraries on the heuristics' schedules (no dispatch table)")
    parser.add_argument("--after-schedule", default="",
                        help="FLASHCORE_SCHEDULE fields for AFTER's handle only")
    parser.add_argument("--after-env", action="append", default=[],
                        help="NAME=VALUE set around every call of AFTER only (repeatable)")
    timing.add_flush_argument(parser)
    parser.add_argument("--dtypes", default="bf16,fp16")
    parser.add_argument("--hdims", default="64,128,256")
    parser.add_argument("--seqlens", default="512,1024,2048,4096,8192,16384")
    parser.add_argument("--causal", default="no,yes",
                        help="which of the causal / non-causal rows: no, yes or no,yes")
    args = parser.parse_args()
    after_env = {}
    for item in args.after_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error("--after-env must be NAME=VALUE, got: %s" % item)
        after_env[name] = value
    scratch = tempfile.mkdtemp(prefix="compare-libs-")
    if args.heuristics:
        table = os.path.join(scratch, "empty-table.yaml")
        with open(table, "w") as f:
            f.write("version: 1\nentries: []\n")
        os.environ["FLASHCORE_DISPATCH_TABLE"] = table
    if args.self:
        args.before = shutil.copy(args.after, os.path.join(scratch, "libflashcore-copy.so"))
    # Each handle reads FLASHCORE_SCHEDULE once, when it is created.
    os.environ.pop("FLASHCORE_SCHEDULE", None)
    libs = [Library(args.before)]
    if args.after_schedule:
        os.environ["FLASHCORE_SCHEDULE"] = args.after_schedule
    libs.append(Library(args.after))
    os.environ.pop("FLASHCORE_SCHEDULE", None)
    print("device %s; before %s (%s); after %s (%s)%s" % (
        torch.cuda.get_device_name(0), args.before, libs[0].version(), args.after,
        libs[1].version(),
        (" with FLASHCORE_SCHEDULE=" + args.after_schedule if args.after_schedule else "")
        + "".join(" %s=%s" % kv for kv in after_env.items())),
        flush=True)
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    rows = []
    for dname in args.dtypes.split(","):
        for hdim in [int(x) for x in args.hdims.split(",")]:
            for causal in [c == "yes" for c in args.causal.split(",")]:
                for s in [int(x) for x in args.seqlens.split(",")]:
                    b, h = 16384 // s, 2048 // hdim
                    q, k, v = (torch.randn(b, s, h, hdim, device="cuda", dtype=dtypes[dname])
                               for _ in range(3))
                    outs = [torch.full_like(q, float("nan")) for _ in libs]
                    fns = [lib.forward_fn(q, k, v, o, causal) for lib, o in zip(libs, outs)]
                    fns[1] = with_env(after_env, fns[1])
                    for fn in fns:
                        fn()
                    torch.cuda.synchronize()
                    diff = (outs[0].float() - outs[1].float()).abs().max().item()
                    flops = 4 * b * h * s * s * hdim / (2 if causal else 1)
                    times = [[], []]
                    for _ in range(args.repeats):
                        for i, fn in enumerate(fns):
                            times[i].append(timing.do_bench(fn, warmup=25, rep=100,
                                                            flush=args.flush))
                    tf = [flops / statistics.median(t) / 1e9 for t in times]
                    paired = [tb / ta for tb, ta in zip(times[0], times[1])]
                    row = {"dtype": dname, "hdim": hdim, "causal": causal, "seqlen": s,
                           "before": round(tf[0], 1), "after": round(tf[1], 1),
                           "ratio": round(statistics.median(paired), 4),
                           "ratio_of_medians": round(tf[1] / tf[0], 4),
                           "paired_min": round(min(paired), 4),
                           "paired_max": round(max(paired), 4), "max_abs_diff": diff,
                           "nan": bool(torch.isnan(outs[1]).any().item())}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    del q, k, v, outs
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0),
                       "after_schedule": args.after_schedule, "after_env": after_env,
                       "rows": rows}, f, indent=1)
    print("\n| dtype | hdim | causal | S | before | after | after/before (paired median) "
          "| paired min-max | ratio of medians |")
    print("|---|---|---|---|---|---|---|---|---|")
    outside = 0
    for r in rows:
        flag = "" if abs(r["ratio"] - 1) <= 0.02 else " **"
        outside += 1 if flag else 0
        print("| %s | %d | %s | %d | %.1f | %.1f | %.3f%s | %.3f-%.3f | %.3f |" % (
            r["dtype"], r["hdim"], "yes" if r["causal"] else "no", r["seqlen"], r["before"],
            r["after"], r["ratio"], flag, r["paired_min"], r["paired_max"],
            r["ratio_of_medians"]))
    geo = statistics.geometric_mean([r["ratio"] for r in rows])
    bad = [r for r in rows if r["max_abs_diff"] > 2e-2 or r["nan"]]
    print("geomean after/before %.4f; %d/%d rows outside +-2%%; %d rows whose outputs differ"
          % (geo, outside, len(rows), len(bad)))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
