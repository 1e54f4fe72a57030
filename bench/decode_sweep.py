"""Decode schedule research: FlashCore's flash_attn_with_kvcache on the large
decode rows (bf16, head_dim 128, 32 query heads, seqlen_q 1, full caches)
with num_splits forced over a range, against cuDNN (SDPA) in the same
process; the schedule comes from the environment (FLASHCORE_SCHEDULE, read
once per process), so each variant is its own process:

  FLASHCORE_SCHEDULE=block_m=64,consumer_warpgroups=1 python3 bench/decode_sweep.py --json v.json

Prints one line per row: TB/s (K and V bytes / median time) per split count,
the best, the automatic choice (num_splits 0), cuDNN, and FlashCore's max abs
difference from cuDNN (auto splits).

With --page N every row also runs on a paged cache of N-row pages (a pool of
B * seqlen_k / N pages; --page-order shuffled: a random permutation as
decode_bench.py uses, sequential: page i of sequence b is pool page
b * pages + i, the contiguous layout cut into pages), automatic splits:
`paged_tbs` and `paged_over_contiguous` (over splits_0, the same process).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_bench import bench, bench_graph, copy_bandwidth, nbytes_of, sdpa_fns  # noqa: E402

import torch  # noqa: E402

import decode_bench  # noqa: E402
import flashcore  # noqa: E402
import timing  # noqa: E402

ROWS = [(8, 8, 32768), (8, 64, 8192), (32, 8, 32768), (32, 128, 4096)]
SPLITS = [0, 1, 2, 4, 8]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--rows", default="",
                        help="'HKV,B,SK;...' instead of the four large rows")
    parser.add_argument("--splits", default="",
                        help="comma-separated num_splits values (0 = automatic) instead of 0,1,2,4,8")
    parser.add_argument("--graphs", action="store_true",
                        help="time CUDA graph replays (kernel time) instead of eager calls")
    parser.add_argument("--page", type=int, default=0,
                        help="also time a paged cache of this page size (16 ... 256)")
    parser.add_argument("--page-order", choices=["shuffled", "sequential"], default="shuffled")
    timing.add_flush_argument(parser)
    parser.add_argument("--copy", action="store_true",
                        help="also time a 1 GB device-to-device copy with the same flush and report "
                             "each row's FlashCore and cuDNN bandwidth as %% of it")
    args = parser.parse_args()
    decode_bench.FLUSH = args.flush
    timer = bench_graph if args.graphs else bench
    copy_tbs = None
    if args.copy:
        copy_tbs = copy_bandwidth()
        print("device %s, flush %s, copy %.3f TB/s (read + write)" % (
            torch.cuda.get_device_name(0), args.flush, copy_tbs), flush=True)
    rows_to_run = ([tuple(int(x) for x in r.split(",")) for r in args.rows.split(";") if r]
                   or ROWS)
    splits = [int(x) for x in args.splits.split(",") if x] or SPLITS
    h, d = 32, 128
    schedule = os.environ.get("FLASHCORE_SCHEDULE", "")
    rows = []
    for hkv, b, sk in rows_to_run:
        q = torch.randn(b, 1, h, d, device="cuda", dtype=torch.bfloat16)
        kc = torch.randn(b, sk, hkv, d, device="cuda", dtype=torch.bfloat16)
        vc = torch.randn_like(kc)
        lens = torch.full((b,), sk, dtype=torch.int32, device="cuda")
        nbytes = nbytes_of(b, sk, hkv, d)
        row = {"schedule": schedule, "flush": args.flush, "heads_kv": hkv, "batch": b,
               "seqlen_k": sk}
        peer = sdpa_fns(q, kc, vc)["cudnn"]
        ours = flashcore.flash_attn_with_kvcache(q, kc, vc, cache_seqlens=lens, causal=True)
        row["max_abs_vs_cudnn"] = (ours.float() - peer().transpose(1, 2).float()).abs().max().item()
        for s in splits:
            try:
                ms = timer(lambda: flashcore.flash_attn_with_kvcache(
                    q, kc, vc, cache_seqlens=lens, causal=True, num_splits=s))
                row["splits_%d" % s] = round(nbytes / (ms * 1e-3) / 1e12, 3)
            except Exception as e:
                row["splits_%d" % s] = None
                row["error_%d" % s] = "%s: %s" % (type(e).__name__, str(e)[:160])
        row["cudnn"] = round(nbytes / (timer(peer) * 1e-3) / 1e12, 3)
        if args.page:
            pages = sk // args.page
            # (B, S, H, D) -> (B * pages, page, H, D): pool page b * pages + i
            # holds rows [i * page, (i + 1) * page) of sequence b.
            pool_k = kc.reshape(b * pages, args.page, hkv, d)
            pool_v = vc.reshape(b * pages, args.page, hkv, d)
            order = (torch.randperm(b * pages, device="cuda") if args.page_order == "shuffled"
                     else torch.arange(b * pages, device="cuda")).to(torch.int32)
            # Pool page order[j] receives logical page j, so the table is the
            # permutation and the cache's contents stay those of kc / vc.
            pk, pv = torch.empty_like(pool_k), torch.empty_like(pool_v)
            pk[order.long()] = pool_k
            pv[order.long()] = pool_v
            table = order.reshape(b, pages)
            paged = flashcore.flash_attn_with_kvcache(q, pk, pv, cache_seqlens=lens,
                                                      page_table=table, causal=True)
            row["paged_max_abs_vs_contiguous"] = (paged.float() - ours.float()).abs().max().item()
            ms = timer(lambda: flashcore.flash_attn_with_kvcache(
                q, pk, pv, cache_seqlens=lens, page_table=table, causal=True))
            row["page"], row["page_order"] = args.page, args.page_order
            row["paged_tbs"] = round(nbytes / (ms * 1e-3) / 1e12, 3)
            if row.get("splits_0"):
                row["paged_over_contiguous"] = round(row["paged_tbs"] / row["splits_0"], 3)
            del pk, pv, pool_k, pool_v
        if copy_tbs:
            row["copy_tbs"] = round(copy_tbs, 3)
            for key in ("splits_0", "cudnn"):
                if row.get(key):
                    row[key + "_of_copy"] = round(row[key] / copy_tbs, 3)
        timed = {s: row["splits_%d" % s] for s in splits if s and row["splits_%d" % s]}
        if timed:
            best = max(timed, key=timed.get)
            row["best_splits"], row["best_tbs"] = best, timed[best]
        rows.append(row)
        print(json.dumps(row), flush=True)
        del q, kc, vc
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(0), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
