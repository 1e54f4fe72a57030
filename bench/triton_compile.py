"""Cold compile time of an attention forward kernel: Triton vs FlashCore.

Both compile the same problem (bf16, head_dim 128, non-causal FlashAttention
forward, BLOCK_M 128, BLOCK_N 64 or 128, 8 warps) in a new process with an
empty cache, timed inside that process (interpreter and library start-up
excluded on both sides):

  Triton     a fresh TRITON_CACHE_DIR; the kernel's warmup() (source -> TTIR
             -> TTGIR -> LLIR -> PTX -> cubin); then one launch is checked
             against torch's SDPA so the kernel is known to be equivalent
  FlashCore  flashcore-latency's "cold total": the first compileKernel with an
             empty FLASHCORE_CACHE_DIR (key, spec -> PTX, ptxas, disk write)

  python3 bench/triton_compile.py [--flashcore-latency PATH] [--repeats 3] [--json out.json]

Prints a table and FlashCore's time as a ratio of Triton's (goal <= 0.5).
Exit code 0 on success, 1 on an error, 77 when torch, Triton or a CUDA
device is missing.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SKIP = 77
MARK = "TRITON-RESULT "

KERNEL_SOURCE = '''
import triton
import triton.language as tl


@triton.jit
def attn_fwd(Q, K, V, O, sm_scale,
             stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
             stride_vb, stride_vh, stride_vn, stride_ob, stride_oh, stride_om,
             H, N_CTX, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    start_m = tl.program_id(0)
    off_hb = tl.program_id(1)
    off_b = off_hb // H
    off_h = off_hb % H
    q_base = Q + off_b * stride_qb + off_h * stride_qh
    k_base = K + off_b * stride_kb + off_h * stride_kh
    v_base = V + off_b * stride_vb + off_h * stride_vh
    o_base = O + off_b * stride_ob + off_h * stride_oh
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_base + offs_m[:, None] * stride_qm + offs_d[None, :],
                mask=offs_m[:, None] < N_CTX, other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    qk_scale = sm_scale * 1.44269504
    for start_n in range(0, N_CTX, BLOCK_N):
        cols = start_n + offs_n
        k = tl.load(k_base + cols[None, :] * stride_kn + offs_d[:, None],
                    mask=cols[None, :] < N_CTX, other=0.0)
        qk = tl.dot(q, k) * qk_scale
        qk = tl.where(cols[None, :] < N_CTX, qk, float("-inf"))
        m_ij = tl.maximum(m_i, tl.max(qk, 1))
        p = tl.math.exp2(qk - m_ij[:, None])
        alpha = tl.math.exp2(m_i - m_ij)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        v = tl.load(v_base + cols[:, None] * stride_vn + offs_d[None, :],
                    mask=cols[:, None] < N_CTX, other=0.0)
        acc += tl.dot(p.to(v.dtype), v)
        m_i = m_ij
    acc = acc / l_i[:, None]
    tl.store(o_base + offs_m[:, None] * stride_om + offs_d[None, :], acc.to(O.dtype.element_ty),
             mask=offs_m[:, None] < N_CTX)
'''


def triton_child(block_n):
    """In a new process with an empty TRITON_CACHE_DIR: compile, then check."""
    import importlib.util
    import math
    import torch
    import triton

    # The kernel lives in a real file: Triton reads the source of jit
    # functions with inspect.
    path = os.path.join(os.environ["TRITON_CACHE_DIR"], "flashcore_attn_kernel.py")
    with open(path, "w") as f:
        f.write(KERNEL_SOURCE)
    spec = importlib.util.spec_from_file_location("flashcore_attn_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kernel = module.attn_fwd

    b, h, n, d = 2, 16, 1024, 128
    q, k, v = (torch.randn(b, n, h, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.empty_like(q)
    scale = 1.0 / math.sqrt(d)
    block_m = 128
    grid = (triton.cdiv(n, block_m), b * h)
    num_stages = 3 if block_n == 64 else 2
    call = (q, k, v, o, scale,
            q.stride(0), q.stride(2), q.stride(1), k.stride(0), k.stride(2), k.stride(1),
            v.stride(0), v.stride(2), v.stride(1), o.stride(0), o.stride(2), o.stride(1), h, n)
    meta = dict(HEAD_DIM=d, BLOCK_M=block_m, BLOCK_N=block_n, num_warps=8, num_stages=num_stages)
    torch.cuda.synchronize()
    how = "warmup()"
    start = time.perf_counter()
    try:
        kernel.warmup(*call, grid=grid, **meta)
        compile_ms = (time.perf_counter() - start) * 1e3
    except (AttributeError, TypeError):
        # Older Triton: time the first launch, minus a warm launch.
        how = "first launch - warm launch"
        kernel[grid](*call, **meta)
        torch.cuda.synchronize()
        first = time.perf_counter() - start
        start = time.perf_counter()
        kernel[grid](*call, **meta)
        torch.cuda.synchronize()
        compile_ms = (first - (time.perf_counter() - start)) * 1e3
    kernel[grid](*call, **meta)
    torch.cuda.synchronize()
    ref = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=scale).transpose(1, 2)
    max_diff = (o.float() - ref.float()).abs().max().item()
    print(MARK + json.dumps({"compile_ms": compile_ms, "how": how, "max_abs_vs_sdpa": max_diff,
                             "triton": triton.__version__}), flush=True)
    return 0


def run_triton(block_n):
    cache = tempfile.mkdtemp(prefix="flashcore-triton-cache-")
    try:
        env = dict(os.environ, TRITON_CACHE_DIR=cache)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--triton-child", str(block_n)],
                           env=env, capture_output=True, text=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    for line in p.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError("the Triton child failed (exit %d):\n%s%s" % (p.returncode, p.stdout, p.stderr[-3000:]))


def run_flashcore(latency):
    out = tempfile.mktemp(prefix="flashcore-latency-", suffix=".json")
    p = subprocess.run([latency, "--json", out, "--repeats", "200"], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("%s failed (exit %d):\n%s%s" % (latency, p.returncode, p.stdout, p.stderr))
    with open(out) as f:
        result = json.load(f)
    os.unlink(out)
    return result


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--triton-child":
        return triton_child(int(sys.argv[2]))
    parser = argparse.ArgumentParser()
    parser.add_argument("--flashcore-latency",
                        default=os.environ.get("FLASHCORE_LATENCY",
                                               os.path.join(ROOT, "build", "bin", "flashcore-latency")))
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per compiler and config")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    try:
        import torch
        import triton  # noqa: F401
    except ImportError as e:
        print("skipped: %s" % e)
        return SKIP
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return SKIP
    if not os.access(args.flashcore_latency, os.X_OK):
        print("error: %s is not built (cmake --build build --target flashcore-latency)" % args.flashcore_latency)
        return 1

    rows = {}
    for block_n in (64, 128):
        runs = [run_triton(block_n) for _ in range(args.repeats)]
        rows["triton BLOCK_N=%d" % block_n] = runs
    fc = [run_flashcore(args.flashcore_latency) for _ in range(args.repeats)]
    fc_cold = statistics.median(r["cold_total_ms"] for r in fc)

    print("GPU: %s, Triton %s, FlashCore cold compile = flashcore-latency cold total (%s)" % (
        torch.cuda.get_device_name(0), rows["triton BLOCK_N=64"][0]["triton"], fc[0]["spec"]))
    print("| compiler | config | cold compile (median of %d) | FlashCore / this |" % args.repeats)
    print("|---|---|---|---|")
    result = {"flashcore": fc, "triton": rows, "ratios": {}}
    print("| FlashCore | bf16 d128 BLOCK 128x128, spec -> PTX %.1f ms + ptxas %.1f ms | %.1f ms | 1.00 |" % (
        statistics.median(r["spec_to_ptx_first_ms"] for r in fc),
        statistics.median(r["ptx_to_cubin_ms"] for r in fc), fc_cold))
    for name, runs in rows.items():
        t = statistics.median(r["compile_ms"] for r in runs)
        ratio = fc_cold / t
        result["ratios"][name] = ratio
        print("| Triton | bf16 d128 %s, %s, max |diff| vs SDPA %.1e | %.1f ms | %.2f |" % (
            name.split()[1], runs[0]["how"], max(r["max_abs_vs_sdpa"] for r in runs), t, ratio))
    # Against the Triton configuration that compiles fastest (the larger ratio).
    worst = max(result["ratios"].values())
    result["ratio"] = worst
    print("FlashCore cold compile / Triton cold compile (fastest Triton config): %.2f "
          "(goal <= 0.5) %s" % (worst, "met" if worst <= 0.5 else "NOT met"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    bad = [n for n, runs in rows.items() if max(r["max_abs_vs_sdpa"] for r in runs) > 5e-2]
    if bad:
        print("error: the Triton kernel disagrees with SDPA for %s" % ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
