"""FlashCore: generated FlashAttention-style kernels for NVIDIA Hopper.

`attention(q, k, v, causal=False, softmax_scale=None)` takes torch tensors laid
out (batch, seqlen, heads, head_dim) (any strides with the last dimension
contiguous) and returns (out, lse) computed by libflashcore on the tensors'
current CUDA stream.
"""
from ._capi import BF16, FP16, AttentionArgs, Library

_library = None


def library():
    global _library
    if _library is None:
        _library = Library()
    return _library


def attention(q, k, v, causal=False, softmax_scale=None, out=None, lse=None,
              return_lse=True, window_size=(-1, -1), softcap=0.0):
    """Attention forward on (batch, seqlen, heads, head_dim) tensors.

    window_size=(left, right) and softcap follow FlashAttention; returns
    (out, lse) with lse shaped (batch, heads_q, seqlen_q), natural log.
    """
    import torch

    lib = library()
    if q.dtype not in (torch.bfloat16, torch.float16):
        raise TypeError("q must be bfloat16 or float16, got: %s" % q.dtype)
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError("q, k and v must have one dtype, got: %s, %s, %s" % (q.dtype, k.dtype, v.dtype))
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.dim() != 4 or t.stride(3) != 1:
            raise ValueError("%s must be 4-D (batch, seqlen, heads, head_dim) with a contiguous last "
                             "dimension, got: shape %s strides %s" % (name, tuple(t.shape), t.stride()))
        if not t.is_cuda:
            raise ValueError("%s must be a CUDA tensor, got: %s" % (name, t.device))
    batch, seqlen_q, heads_q, head_dim = q.shape
    seqlen_k, heads_kv = k.shape[1], k.shape[2]
    if out is None:
        out = torch.empty_like(q, memory_format=torch.contiguous_format)
    if lse is None and return_lse:
        lse = torch.empty(batch, heads_q, seqlen_q, device=q.device, dtype=torch.float32)
    a = lib.new_args()
    a.q, a.k, a.v, a.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr()
    a.lse = lse.data_ptr() if lse is not None else None
    a.batch, a.seqlen_q, a.seqlen_k = batch, seqlen_q, seqlen_k
    a.heads_q, a.heads_kv, a.head_dim = heads_q, heads_kv, head_dim
    a.q_batch_stride, a.q_seq_stride, a.q_head_stride = q.stride(0), q.stride(1), q.stride(2)
    a.k_batch_stride, a.k_seq_stride, a.k_head_stride = k.stride(0), k.stride(1), k.stride(2)
    a.v_batch_stride, a.v_seq_stride, a.v_head_stride = v.stride(0), v.stride(1), v.stride(2)
    a.o_batch_stride, a.o_seq_stride, a.o_head_stride = out.stride(0), out.stride(1), out.stride(2)
    if lse is not None:
        a.lse_batch_stride, a.lse_head_stride = lse.stride(0), lse.stride(1)
    _set_common(a, q, causal, softmax_scale, window_size, softcap)
    lib.forward(a, torch.cuda.current_stream(q.device).cuda_stream)
    return out, lse


def _set_common(a, q, causal, softmax_scale, window_size, softcap):
    import torch
    a.dtype = BF16 if q.dtype == torch.bfloat16 else FP16
    a.causal = 1 if causal else 0
    a.softmax_scale = 0.0 if softmax_scale is None else float(softmax_scale)
    a.window_left, a.window_right = int(window_size[0]), int(window_size[1])
    a.softcap = float(softcap)


def attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                     causal=False, softmax_scale=None, out=None, lse=None, return_lse=True,
                     window_size=(-1, -1), softcap=0.0):
    """FlashAttention's varlen API: q (total_q, heads_q, d), k/v (total_k, heads_kv, d),
    cu_seqlens_* int32 (batch + 1) on the device; returns (out, lse (heads_q, total_q))."""
    import torch

    lib = library()
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.dim() != 3 or t.stride(2) != 1 or not t.is_cuda:
            raise ValueError("%s must be a CUDA tensor (total, heads, head_dim) with a contiguous "
                             "last dimension, got: shape %s strides %s" % (name, tuple(t.shape), t.stride()))
    for name, t in (("cu_seqlens_q", cu_seqlens_q), ("cu_seqlens_k", cu_seqlens_k)):
        if t.dtype != torch.int32 or not t.is_cuda or t.dim() != 1:
            raise ValueError("%s must be a 1-D int32 CUDA tensor, got: %s %s" % (name, t.dtype, t.device))
    total_q, heads_q, head_dim = q.shape
    total_k, heads_kv = k.shape[0], k.shape[1]
    batch = cu_seqlens_q.numel() - 1
    if out is None:
        out = torch.empty_like(q, memory_format=torch.contiguous_format)
    if lse is None and return_lse:
        lse = torch.empty(heads_q, total_q, device=q.device, dtype=torch.float32)
    a = lib.new_args()
    a.q, a.k, a.v, a.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr()
    a.lse = lse.data_ptr() if lse is not None else None
    a.batch, a.seqlen_q, a.seqlen_k = batch, int(max_seqlen_q), int(max_seqlen_k)
    a.heads_q, a.heads_kv, a.head_dim = heads_q, heads_kv, head_dim
    a.q_seq_stride, a.q_head_stride = q.stride(0), q.stride(1)
    a.k_seq_stride, a.k_head_stride = k.stride(0), k.stride(1)
    a.v_seq_stride, a.v_head_stride = v.stride(0), v.stride(1)
    a.o_seq_stride, a.o_head_stride = out.stride(0), out.stride(1)
    if lse is not None:
        a.lse_head_stride = lse.stride(0)
    a.cu_seqlens_q, a.cu_seqlens_k = cu_seqlens_q.data_ptr(), cu_seqlens_k.data_ptr()
    a.total_q, a.total_k = total_q, total_k
    _set_common(a, q, causal, softmax_scale, window_size, softcap)
    lib.forward(a, torch.cuda.current_stream(q.device).cuda_stream)
    return out, lse
