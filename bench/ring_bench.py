"""Ring attention throughput (issue 14): flashcore.distributed.ring_flash_attn_func on
N GPUs against flash_attn_func on one GPU, and how much of the K/V traffic the
compute hides.

  torchrun --nproc_per_node=N bench/ring_bench.py [--seqlens 32768,131072] [--json out.json]
  python3 bench/ring_bench.py            # one process: the single-GPU baseline only

Batch 1, heads 16 / 16 (the FA3 protocol's 2048 / head_dim; --heads, --heads-kv),
head_dim 128, bf16, NCCL with NCCL_NVLS_ENABLE=0; random inputs, each rank
its own shard of S / N tokens. Modes: non-causal (contiguous sharding) and
causal (zig-zag sharding; --modes also takes causal_contiguous). FLOPs = 4 * B
* S^2 * H * D, halved when causal; TFLOPS per GPU = FLOPs / N / time. Times:
CUDA events around --iters calls after --warmup, the slowest rank's (MAX
all-reduce):
  t_ring     the ring (K and V packed into one buffer, then passed around with
             batch_isend_irecv, double-buffered);
  t_compute  the same steps, calls and merges on the rank's own block, no
             communication (what the ring would take with free transfers);
  t_comm     the N - 1 transfers alone, one after the other as in the ring;
  hidden     1 - (t_ring - t_compute) / t_comm, clipped to [0, 1]: the
             fraction of the transfer time the compute covers.
Prints a markdown table last; --json writes the rows.
"""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gpu"))
import gpu_skip  # noqa: F401,E402  (makes `import flashcore` find the build tree)

os.environ["NCCL_NVLS_ENABLE"] = "0"  # NVLink multicast off, before NCCL starts

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

import flashcore  # noqa: E402
from flashcore import distributed as fd  # noqa: E402

# name: (causal, zigzag)
MODES = {"noncausal": (False, False), "causal": (True, True),
         "causal_contiguous": (True, False)}


def timed(fn, warmup, iters, multi):
    """Milliseconds per call of fn (the slowest rank's when multi)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    if multi:
        dist.barrier()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    ms = torch.tensor([start.elapsed_time(end) / iters], device="cuda")
    if multi:
        dist.all_reduce(ms, op=dist.ReduceOp.MAX)
    return ms.item()


def flops(b, s, h, d, causal):
    return 4.0 * b * s * s * h * d / (2 if causal else 1)


def comm_only(kv, rank, world):
    """The ring's N - 1 transfers of the packed K/V buffer, each waited on."""
    cur, nxt = kv, torch.empty_like(kv)
    send_to, recv_from = (rank + 1) % world, (rank - 1) % world

    def run():
        a, b = cur, nxt
        for _ in range(world - 1):
            for r in dist.batch_isend_irecv([dist.P2POp(dist.isend, a, send_to),
                                             dist.P2POp(dist.irecv, b, recv_from)]):
                r.wait()
            a, b = b, a
    return run


def single_gpu(row, b, s, h, hkv, d, dtype, causal, warmup, iters):
    """flash_attn_func on the full sequence, into row."""
    q = torch.randn(b, s, h, d, device="cuda", dtype=dtype)
    k = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
    v = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
    ms = timed(lambda: flashcore.flash_attn_func(q, k, v, causal=causal), warmup, iters, False)
    row["single_ms"] = round(ms, 3)
    row["single_tflops"] = round(flops(b, s, h, d, causal) / (ms * 1e-3) / 1e12, 1)


def ring(row, rank, world, b, s, h, hkv, d, dtype, causal, zigzag, warmup, iters):
    """The ring on this rank's shard of S / N tokens, its compute alone and its
    transfers alone, into row."""
    n = s // world
    q = torch.randn(b, n, h, d, device="cuda", dtype=dtype)
    k = torch.randn(b, n, hkv, d, device="cuda", dtype=dtype)
    v = torch.randn(b, n, hkv, d, device="cuda", dtype=dtype)
    scale = d ** -0.5
    t_ring = timed(lambda: fd.ring_flash_attn_func(q, k, v, causal=causal, zigzag=zigzag,
                                                   softmax_scale=scale), warmup, iters, True)
    # The same plans, calls and merges with the rank's own block at every step.
    t_compute = timed(lambda: fd._ring_forward(
        q, ((src, k, v) for src in fd._ring_sources(rank, world)), rank, world, causal, zigzag,
        scale), warmup, iters, True)
    t_comm = timed(comm_only(torch.stack((k, v)), rank, world), warmup, iters, True)
    hidden = 1.0 if t_comm <= 0 else 1.0 - (t_ring - t_compute) / t_comm
    step_bytes = 2 * b * n * hkv * d * q.element_size()
    row.update(ring_ms=round(t_ring, 3), compute_ms=round(t_compute, 3),
               comm_ms=round(t_comm, 3), hidden=round(min(1.0, max(0.0, hidden)), 3),
               ring_tflops_per_gpu=round(flops(b, s, h, d, causal) / world
                                         / (t_ring * 1e-3) / 1e12, 1),
               comm_gbs=round(step_bytes * (world - 1) / (t_comm * 1e-3) / 1e9, 1))
    if "single_ms" in row:
        row["speedup"] = round(row["single_ms"] / t_ring, 2)
        row["efficiency"] = round(row["speedup"] / world, 3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seqlens", default="32768,131072")
    parser.add_argument("--modes", default="noncausal,causal",
                        help="comma-separated among %s" % ", ".join(MODES))
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"))
    parser.add_argument("--hdim", type=int, default=128)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--heads-kv", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, help="default: 20 for S <= 32k, else 5")
    parser.add_argument("--json")
    args = parser.parse_args()
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error("--modes must be among %s, got: %s" % (", ".join(MODES), ", ".join(unknown)))
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return gpu_skip.SKIP
    world = int(os.environ.get("WORLD_SIZE", "1"))
    multi = world > 1
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    rank = 0
    if multi:
        dist.init_process_group("nccl", timeout=datetime.timedelta(seconds=600))
        rank = dist.get_rank()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    b, h, hkv, d = args.batch, args.heads, args.heads_kv, args.hdim
    name = torch.cuda.get_device_name(local)
    say = print if rank == 0 else (lambda *a, **k: None)
    say("%d GPU(s): %s; flashcore %s; B%d H%d/%d d%d %s; NCCL_NVLS_ENABLE=%s" % (
        world, name, flashcore.version(), b, h, hkv, d, args.dtype,
        os.environ["NCCL_NVLS_ENABLE"]), flush=True)
    rows = []
    for s in (int(x) for x in args.seqlens.split(",")):
        iters = args.iters or (20 if s <= 32768 else 5)
        for mode in modes:
            causal, zigzag = MODES[mode]
            row = {"seqlen": s, "mode": mode, "gpus": world, "iters": iters}
            # Step 1. One GPU, the full sequence (rank 0; the others wait).
            if rank == 0:
                single_gpu(row, b, s, h, hkv, d, dtype, causal, args.warmup, iters)
            if not multi:
                rows.append(row)
                say("  S=%d %s: one GPU %.3f ms, %.1f TFLOPS" % (s, mode, row["single_ms"],
                                                                 row["single_tflops"]), flush=True)
                continue
            dist.barrier()
            parts = 2 * world if zigzag else world
            if s % parts:
                row["skipped"] = "S must be a multiple of %d" % parts
            else:  # Step 2. The ring, its compute alone, its transfers alone.
                ring(row, rank, world, b, s, h, hkv, d, dtype, causal, zigzag, args.warmup, iters)
            rows.append(row)
            say("  %s" % json.dumps(row), flush=True)
    if rank == 0:
        if multi:
            print("\n| S | mode | GPUs | 1 GPU TFLOPS | ring TFLOPS/GPU | speedup | efficiency | "
                  "ring ms | compute ms | comm ms | hidden |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for r in rows:
                print("| %dk | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    r["seqlen"] // 1024, r["mode"], r["gpus"], r.get("single_tflops"),
                    r.get("ring_tflops_per_gpu"), r.get("speedup"), r.get("efficiency"),
                    r.get("ring_ms"), r.get("compute_ms"), r.get("comm_ms"), r.get("hidden")))
        else:
            print("\nmulti-GPU not run: one process (torchrun --nproc_per_node=N "
                  "bench/ring_bench.py, N >= 2, runs the ring)")
            print("| S | mode | 1 GPU ms | 1 GPU TFLOPS |\n|---|---|---|---|")
            for r in rows:
                print("| %dk | %s | %s | %s |" % (r["seqlen"] // 1024, r["mode"], r["single_ms"],
                                                 r["single_tflops"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"device": name, "gpus": world, "dtype": args.dtype, "batch": b,
                           "heads": h, "heads_kv": hkv, "head_dim": d, "rows": rows}, f,
                          indent=1)
    if multi:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
