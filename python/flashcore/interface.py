"""FlashAttention-3's Python API (``flash_attn_interface``) on FlashCore kernels.

``flash_attn_func`` and ``flash_attn_varlen_func`` take FA3's arguments, with
its names, defaults, layouts and return conventions, so that
``import flashcore as flash_attn_interface`` works for existing callers.
Arguments FlashCore does not support yet raise ``NotImplementedError`` naming
the argument; bad tensors raise ``TypeError`` / ``ValueError`` naming the
argument and the value before anything is launched.

Each function is a torch op (``torch.ops.flashcore.flash_attn_fwd`` and
``torch.ops.flashcore.flash_attn_varlen_fwd``, registered with
``torch.library.custom_op`` plus a fake implementation), which is what
``torch.compile``, autograd, ``torch.export``-style tracing and dispatch modes
see. A plain eager call on plain tensors that need no gradient skips the op
dispatcher and calls the same implementation directly (the op's dispatch
alone costs more host time than the whole launch). Either way the kernel runs
on torch's current stream and allocates only through torch's allocator, so
CUDA-graph capture and replay work.

Autograd: FlashCore has no backward kernel yet, so ``.backward()`` through
these ops raises ``NotImplementedError`` naming the missing backward.
"""
from typing import Optional
import math

import torch

from . import _C
from ._errors import error_for

__all__ = ["flash_attn_func", "flash_attn_varlen_func", "flash_attn_with_kvcache"]

_DTYPES = {torch.bfloat16: _C.DTYPE_BF16, torch.float16: _C.DTYPE_FP16}

try:
    _raw_stream = torch._C._cuda_getCurrentRawStream
except AttributeError:  # pragma: no cover - older torch
    def _raw_stream(index):
        return torch.cuda.current_stream(index).cuda_stream

try:
    _dispatch_modes = torch._C._len_torch_dispatch_stack
except AttributeError:  # pragma: no cover
    def _dispatch_modes():
        return 0
_function_modes = getattr(torch._C, "_is_torch_function_mode_enabled", lambda: False)


#===------------------------------------------------------------------------===#
# Argument checks (shared by the op and the direct path; dynamo traces them)
#===------------------------------------------------------------------------===#

def _shape(t):
    return tuple(t.shape)


def _check_qkv(q, k, v, dims, paged=False):
    """q, k, v: tensors of one supported dtype on one CUDA device, `dims`-D
    with a contiguous last dimension and consistent shapes (paged: k and v are
    page pools, their first dimension is not the batch). Returns what the
    launch needs, each tensor attribute read once (they cost host time):
    (q shape, k shape, q strides, k strides, v strides)."""
    T = torch.Tensor
    if isinstance(q, T) and isinstance(k, T) and isinstance(v, T):
        qs, ks, vs = q.shape, k.shape, v.shape
        qst, kst, vst = q.stride(), k.stride(), v.stride()
        dtype, device = q.dtype, q.get_device()
        # The common case in one expression; anything off goes to _explain.
        if (dtype in _DTYPES and k.dtype == dtype and v.dtype == dtype and device >= 0
                and k.get_device() == device and v.get_device() == device
                and len(qs) == dims and len(ks) == dims and ks == vs
                and qst[-1] == 1 and kst[-1] == 1 and vst[-1] == 1 and ks[-1] == qs[-1]
                and (dims == 3 or paged or ks[0] == qs[0]) and ks[-2] >= 1
                and qs[-2] % ks[-2] == 0):
            return qs, ks, qst, kst, vst
    return _explain(q, k, v, dims, paged)


def _explain(q, k, v, dims, paged=False):
    """The checks of _check_qkv one by one: raises naming the first argument
    that is wrong (or returns the metadata when nothing is)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError("%s must be a torch.Tensor, got: %s" % (name, type(t).__name__))
    dtype = q.dtype
    if dtype not in _DTYPES:
        raise TypeError("q must be torch.bfloat16 or torch.float16, got: %s" % dtype)
    if k.dtype != dtype or v.dtype != dtype:
        name, t = ("k", k) if k.dtype != dtype else ("v", v)
        raise TypeError("%s must have q's dtype %s, got: %s" % (name, dtype, t.dtype))
    device = q.get_device()
    if device < 0:
        raise ValueError("q must be a CUDA tensor, got: device %s" % q.device)
    if k.get_device() != device or v.get_device() != device:
        name, t = ("k", k) if k.get_device() != device else ("v", v)
        raise ValueError("%s must be on q's device %s, got: %s" % (name, q.device, t.device))
    qs, ks, vs = q.shape, k.shape, v.shape
    qst, kst, vst = q.stride(), k.stride(), v.stride()
    layout = "(batch, seqlen, heads, head_dim)" if dims == 4 else "(total_tokens, heads, head_dim)"
    for name, shape, stride in (("q", qs, qst), ("k", ks, kst), ("v", vs, vst)):
        if len(shape) != dims:
            raise ValueError("%s must be %d-D %s, got: shape %s" % (name, dims, layout,
                                                                   tuple(shape)))
        if stride[-1] != 1 and shape[-1] > 1:
            raise ValueError("%s must have a contiguous last dimension (stride 1), got: strides %s"
                             % (name, tuple(stride)))
    if ks != vs:
        raise ValueError("v must have k's shape %s, got: %s" % (tuple(ks), tuple(vs)))
    if dims == 4 and not paged and ks[0] != qs[0]:
        raise ValueError("k and v must have q's batch size %d (dimension 0), got: %d"
                         % (qs[0], ks[0]))
    if ks[-1] != qs[-1]:
        raise ValueError("k and v must have q's head_dim %d (last dimension), got: %d"
                         % (qs[-1], ks[-1]))
    if ks[-2] < 1 or qs[-2] % ks[-2]:
        raise ValueError("q's heads (%d) must be a multiple of k and v's heads, got: %d"
                         % (qs[-2], ks[-2]))
    return qs, ks, qst, kst, vst


def _check_cu_seqlens(name, t, q):
    if not isinstance(t, torch.Tensor):
        raise TypeError("%s must be a torch.Tensor, got: %s" % (name, type(t).__name__))
    if t.dtype != torch.int32:
        raise TypeError("%s must be torch.int32, got: %s" % (name, t.dtype))
    if not t.is_cuda or t.get_device() != q.get_device():
        raise ValueError("%s must be on q's device %s, got: %s" % (name, q.device, t.device))
    if t.dim() != 1 or t.shape[0] < 2:
        raise ValueError("%s must be 1-D with batch + 1 >= 2 entries, got: shape %s"
                         % (name, _shape(t)))
    if t.stride(0) != 1:
        raise ValueError("%s must be contiguous, got: stride %d" % (name, t.stride(0)))


def _check_page_table(t, q, ks):
    """A paged cache's table: int32 (batch, max_pages) on q's device, rows of
    stride-1 columns; k_cache (num_pages, page_size, heads, d)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError("page_table must be a torch.Tensor, got: %s" % type(t).__name__)
    if t.dtype != torch.int32:
        raise TypeError("page_table must be torch.int32, got: %s" % t.dtype)
    if not t.is_cuda or t.get_device() != q.get_device():
        raise ValueError("page_table must be on q's device %s, got: %s" % (q.device, t.device))
    if t.dim() != 2 or t.shape[0] != q.shape[0] or t.shape[1] < 1:
        raise ValueError("page_table must be 2-D (batch, max_pages) = (%d, >= 1), got: shape %s"
                         % (q.shape[0], _shape(t)))
    if t.stride(1) != 1:
        raise ValueError("page_table must have contiguous rows (stride 1), got: strides %s"
                         % (tuple(t.stride()),))
    if ks[1] < 16 or ks[1] % 16:
        raise ValueError("page_size (dimension 1 of a paged k_cache) must be a multiple of 16, "
                         "got: %d" % ks[1])


def _unsupported(**kwargs):
    """NotImplementedError naming the first FA3 argument FlashCore cannot honour."""
    for name, value in kwargs.items():
        if value is not None:
            raise NotImplementedError(
                "flashcore: %s is not supported yet, got: %s" % (name, type(value).__name__))


def _common_args(head_dim, softmax_scale, window_size, softcap, num_splits, attention_chunk):
    if num_splits is None or num_splits < 0 or num_splits > _C.MAX_SPLITS:
        raise ValueError("num_splits must be in [0, %d] (0 = FlashCore chooses, 1 = no split), "
                         "got: %r" % (_C.MAX_SPLITS, num_splits))
    if attention_chunk:
        raise NotImplementedError(
            "flashcore: attention_chunk is not supported yet, got: %d" % attention_chunk)
    if len(window_size) != 2:
        raise ValueError("window_size must be (left, right), got: %r" % (window_size,))
    scale = int(head_dim) ** -0.5 if softmax_scale is None else float(softmax_scale)
    return scale, int(window_size[0]), int(window_size[1]), float(softcap)


def _direct(q, k, v):
    """True for a plain eager call that no tracer, mode or autograd must see."""
    if torch.compiler.is_compiling():
        return False
    if type(q) is not torch.Tensor or type(k) is not torch.Tensor or type(v) is not torch.Tensor:
        return False
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        return False
    return not (_dispatch_modes() or _function_modes())


#===------------------------------------------------------------------------===#
# The launch (one implementation behind the ops and the direct path)
#===------------------------------------------------------------------------===#

class _Split:
    """How a call may split its key range: num_splits (0 = FlashCore chooses,
    1 = no split), pack_gqa (-1 = FlashCore chooses, 0, 1), an optional int32
    cache_seqlens tensor (a KV cache) and an optional int32 (batch, max_pages)
    page_table (a paged cache: k and v are (num_pages, page_size, heads, d))."""
    __slots__ = ("num_splits", "pack_gqa", "cache_seqlens", "page_table")

    def __init__(self, num_splits=1, pack_gqa=-1, cache_seqlens=None, page_table=None):
        self.num_splits, self.pack_gqa, self.cache_seqlens = num_splits, pack_gqa, cache_seqlens
        self.page_table = page_table


_NO_SPLIT = _Split()


def _pack_flag(pack_gqa):
    return -1 if pack_gqa is None else (1 if pack_gqa else 0)


def _launch(q, k, v, out, lse, meta, out_strides, lse_strides, batch, seqlen_q, seqlen_k, causal,
            scale, window_left, window_right, softcap, cu_seqlens_q=None, cu_seqlens_k=None,
            split=_NO_SPLIT, plan=False):
    """One flashcore_attention_forward on torch's current stream of q's device. A call that
    may split gets its workspace from torch's allocator (sized by the C API). With `plan`
    (a call that does not split, of tensors _check_qkv passed and outputs allocated on q's
    device) the call is made as a C API plan (FLASHCORE_ARGS_POINTERS_CHECKED), which is
    returned for later calls of the same signature; else returns None."""
    qs, ks, qst, kst, vst = meta
    if cu_seqlens_q is not None:  # packed (total, heads, head_dim): no batch strides
        strides = (0, qst[0], qst[1], 0, kst[0], kst[1], 0, vst[0], vst[1], 0, out_strides[0],
                   out_strides[1]) + lse_strides
        cu_q, cu_k = cu_seqlens_q.data_ptr(), cu_seqlens_k.data_ptr()
        total_q, total_k = qs[0], ks[0]
    else:
        strides = qst[:3] + kst[:3] + vst[:3] + out_strides[:3] + lse_strides
        cu_q = cu_k = total_q = total_k = 0
    args = [q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(),
            0 if lse is None else lse.data_ptr(),
            batch, seqlen_q, seqlen_k, qs[-2], ks[-2], qs[-1], *strides, _DTYPES[q.dtype], causal,
            scale, window_left, window_right, softcap, cu_q, cu_k, total_q, total_k,
            0 if split.cache_seqlens is None else split.cache_seqlens.data_ptr(),
            split.num_splits, split.pack_gqa, 0, 0]
    workspace_at = len(args) - 2
    table = split.page_table
    if table is None:
        args += (0, 0, 0, 0, 0)
    else:  # page pools: (num_pages, page_size, heads, d)
        args += (table.data_ptr(), table.stride(0), ks[1], ks[0], 0)
    stream = _raw_stream(q.get_device())
    if plan:
        args[-1] = _C.ARGS_POINTERS_CHECKED
        status, prepared = _C.prepare(*args, stream)
        if not status:
            status = prepared(*args[:5], stream)
        if status:
            raise error_for(status)
        return prepared
    workspace = None
    if split.num_splits != 1:
        status, size = _C.workspace_size(*args)
        if status:
            raise error_for(status)
        if size:
            workspace = torch.empty(size, dtype=torch.uint8, device=q.device)
            args[workspace_at], args[workspace_at + 1] = workspace.data_ptr(), size
    status = _C.forward(*args, stream)
    if status:
        raise error_for(status)
    return None


# flash_attn_func's eager calls by signature (q, k, v shapes and strides, dtype, device and
# the options): the C API plan (flashcore_attention_plan_create) the first such call ran as, so a
# repeated call only allocates its outputs and launches the plan with its own pointers (no
# validation, dispatch or context queries in the C API; a plain C function in the binding). Only outputs
# allocated here from q and q, k, v checked by _check_qkv reach a prepared launch, so it
# passes FLASHCORE_ARGS_POINTERS_CHECKED (every pointer is memory of q's device: the C API
# skips its per-pointer residency queries).
_PREPARED = {}
_PREPARED_MAX = 64


def _remember(key, prepared):
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.clear()
    _PREPARED[key] = prepared


def _contiguous_strides(shape):
    """Element strides of a contiguous tensor of `shape` (3-D or 4-D)."""
    if len(shape) == 4:
        return (shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1)
    return (shape[1] * shape[2], shape[2], 1)


def _forward_into(q, k, v, out, lse, causal, scale, window_left, window_right, softcap,
                  meta=None, out_strides=None, split=_NO_SPLIT, plan=False):
    """(batch, seqlen, heads, head_dim) forward into `out` and `lse` (may be None); returns
    what _launch returns (None when nothing was launched)."""
    meta = meta or _check_qkv(q, k, v, 4)
    qs, ks = meta[0], meta[1]
    batch, seqlen_q, seqlen_k = qs[0], qs[1], ks[1]
    if split.page_table is not None:  # the keys the table addresses
        seqlen_k = split.page_table.shape[1] * ks[1]
    if batch == 0 or seqlen_q == 0:
        return None
    if seqlen_k == 0:  # no keys: FlashAttention's O = 0, LSE = -inf
        out.zero_()
        if lse is not None:
            lse.fill_(-math.inf)
        return None
    lse_strides = (0, 0) if lse is None else lse.stride()[:2]
    return _launch(q, k, v, out, lse, meta, out_strides or out.stride(), lse_strides, batch,
                   seqlen_q, seqlen_k, causal, scale, window_left, window_right, softcap,
                   split=split, plan=plan)


def _varlen_into(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, out, lse,
                 causal, scale, window_left, window_right, softcap, meta=None, out_strides=None,
                 split=_NO_SPLIT):
    """Packed (total, heads, head_dim) forward into `out` and `lse` ((heads, total_q))."""
    meta = meta or _check_qkv(q, k, v, 3)
    if meta[0][0] == 0 or max_seqlen_q == 0:
        return
    if meta[1][0] == 0 or max_seqlen_k == 0:
        out.zero_()
        if lse is not None:
            lse.fill_(-math.inf)
        return
    lse_strides = (0, 0) if lse is None else (0, lse.stride(0))
    _launch(q, k, v, out, lse, meta, out_strides or out.stride(), lse_strides,
            cu_seqlens_q.shape[0] - 1, int(max_seqlen_q), int(max_seqlen_k), causal, scale,
            window_left, window_right, softcap, cu_seqlens_q, cu_seqlens_k, split)


def _backward_message(name):
    return ("flashcore: %s has no backward: FlashCore's attention backward kernel is not "
            "implemented yet, so no gradient can be computed through it (run the forward under "
            "torch.no_grad() or torch.inference_mode(), or train with another attention)" % name)


#===------------------------------------------------------------------------===#
# The torch ops
#===------------------------------------------------------------------------===#

@torch.library.custom_op("flashcore::backward_unavailable", mutates_args=())
def _backward_unavailable(grad: torch.Tensor, q_shape: list[int], k_shape: list[int],
                          v_shape: list[int], name: str) -> tuple[torch.Tensor, torch.Tensor,
                                                                  torch.Tensor]:
    """What the backward of the forward ops calls: raises when it runs. An op
    rather than a plain raise so that torch.compile can trace a training graph
    through the forward (the error then comes when the backward runs)."""
    raise NotImplementedError(_backward_message(name))


@_backward_unavailable.register_fake
def _backward_unavailable_fake(grad, q_shape, k_shape, v_shape, name):
    return grad.new_empty(q_shape), grad.new_empty(k_shape), grad.new_empty(v_shape)


def _register_no_backward(op, name, num_inputs):
    def setup_context(ctx, inputs, output):
        ctx.shapes = [list(t.shape) for t in inputs[:3]]  # shapes only: no tensor kept alive

    def backward(ctx, grad_out, grad_lse):
        grads = torch.ops.flashcore.backward_unavailable(grad_out, *ctx.shapes, name)
        return tuple(grads) + (None,) * (num_inputs - 3)

    op.register_autograd(backward, setup_context=setup_context)


@torch.library.custom_op("flashcore::flash_attn_fwd", mutates_args=(), device_types="cuda")
def _flash_attn_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, softmax_scale: float,
                    causal: bool, window_left: int, window_right: int, softcap: float,
                    num_splits: int, pack_gqa: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = q.new_empty(q.shape)
    lse = q.new_empty((q.shape[0], q.shape[2], q.shape[1]), dtype=torch.float32)
    _forward_into(q, k, v, out, lse, causal, softmax_scale, window_left, window_right, softcap,
                  split=_Split(num_splits, pack_gqa))
    return out, lse


@_flash_attn_fwd.register_fake
def _flash_attn_fwd_fake(q, k, v, softmax_scale, causal, window_left, window_right, softcap,
                         num_splits, pack_gqa):
    return (q.new_empty(q.shape),
            q.new_empty((q.shape[0], q.shape[2], q.shape[1]), dtype=torch.float32))


_register_no_backward(_flash_attn_fwd, "flash_attn_func", 10)


@torch.library.custom_op("flashcore::flash_attn_varlen_fwd", mutates_args=(), device_types="cuda")
def _flash_attn_varlen_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                           cu_seqlens_q: torch.Tensor, cu_seqlens_k: torch.Tensor,
                           max_seqlen_q: int, max_seqlen_k: int, softmax_scale: float,
                           causal: bool, window_left: int, window_right: int,
                           softcap: float, num_splits: int,
                           pack_gqa: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = q.new_empty(q.shape)
    lse = q.new_empty((q.shape[1], q.shape[0]), dtype=torch.float32)
    _varlen_into(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, out, lse,
                 causal, softmax_scale, window_left, window_right, softcap,
                 split=_Split(num_splits, pack_gqa))
    return out, lse


@_flash_attn_varlen_fwd.register_fake
def _flash_attn_varlen_fwd_fake(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                                softmax_scale, causal, window_left, window_right, softcap,
                                num_splits, pack_gqa):
    return (q.new_empty(q.shape),
            q.new_empty((q.shape[1], q.shape[0]), dtype=torch.float32))


_register_no_backward(_flash_attn_varlen_fwd, "flash_attn_varlen_func", 14)


@torch.library.custom_op("flashcore::flash_attn_kvcache_fwd", mutates_args=(),
                         device_types="cuda")
def _flash_attn_kvcache_fwd(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                            cache_seqlens: torch.Tensor, page_table: Optional[torch.Tensor],
                            softmax_scale: float, causal: bool,
                            window_left: int, window_right: int, softcap: float,
                            num_splits: int, pack_gqa: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = q.new_empty(q.shape)
    lse = q.new_empty((q.shape[0], q.shape[2], q.shape[1]), dtype=torch.float32)
    _forward_into(q, k_cache, v_cache, out, lse, causal, softmax_scale, window_left,
                  window_right, softcap,
                  meta=_check_qkv(q, k_cache, v_cache, 4, page_table is not None),
                  split=_Split(num_splits, pack_gqa, cache_seqlens, page_table))
    return out, lse


@_flash_attn_kvcache_fwd.register_fake
def _flash_attn_kvcache_fwd_fake(q, k_cache, v_cache, cache_seqlens, page_table, softmax_scale,
                                 causal, window_left, window_right, softcap, num_splits,
                                 pack_gqa):
    return (q.new_empty(q.shape),
            q.new_empty((q.shape[0], q.shape[2], q.shape[1]), dtype=torch.float32))


_register_no_backward(_flash_attn_kvcache_fwd, "flash_attn_with_kvcache", 12)


#===------------------------------------------------------------------------===#
# FlashAttention-3's functions
#===------------------------------------------------------------------------===#

def flash_attn_func(q, k, v, softmax_scale=None, causal=False, qv=None, q_descale=None,
                    k_descale=None, v_descale=None, window_size=(-1, -1), attention_chunk=0,
                    softcap=0.0, num_splits=1, pack_gqa=None, deterministic=False, sm_margin=0,
                    return_attn_probs=False):
    """Attention forward, FA3's ``flash_attn_func``.

    q: (batch, seqlen_q, heads, head_dim); k, v: (batch, seqlen_k, heads_kv, head_dim), with
    heads a multiple of heads_kv (GQA/MQA), bf16 or fp16, any strides with a contiguous last
    dimension. Causal is aligned to the bottom right; window_size=(left, right) is a sliding
    window (-1: unbounded); softcap > 0 caps the scores with tanh. Returns out (batch,
    seqlen_q, heads, head_dim), and with return_attn_probs=True (out, softmax_lse) with
    softmax_lse (batch, heads, seqlen_q) fp32, natural log. num_splits (1: no split, 0:
    FlashCore chooses, n: split-KV into n ranges) and pack_gqa (None: FlashCore chooses)
    shape the kernel; deterministic and sm_margin are accepted and change nothing (the
    forward is deterministic).
    """
    if qv is not None or q_descale is not None or k_descale is not None or v_descale is not None:
        _unsupported(qv=qv, q_descale=q_descale, k_descale=k_descale, v_descale=v_descale)
    direct = _direct(q, k, v)
    key = None
    if direct and num_splits == 1 and pack_gqa is None:
        # A call signature seen before launches its prepared arguments (_PREPARED). The key
        # holds every tensor attribute _check_qkv reads, so a hit passed its checks before.
        qs, device = q.shape, q.get_device()
        key = (qs, k.shape, v.shape, q.stride(), k.stride(), v.stride(), q.dtype, k.dtype,
               v.dtype, device, k.get_device(), v.get_device(), causal, softmax_scale,
               window_size, softcap, attention_chunk, return_attn_probs)
        try:
            prepared = _PREPARED.get(key)
        except TypeError:  # an unhashable argument (window_size as a list)
            prepared = key = None
        if prepared is not None:
            out = q.new_empty(qs)
            if return_attn_probs:
                lse = q.new_empty((qs[0], qs[2], qs[1]), dtype=torch.float32)
                lse_ptr = lse.data_ptr()
            else:
                lse, lse_ptr = None, 0
            status = prepared(q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(),
                              lse_ptr, _raw_stream(device))
            if status:
                raise error_for(status)
            return (out, lse) if return_attn_probs else out
    meta = _check_qkv(q, k, v, 4)
    scale, left, right, cap = _common_args(meta[0][-1], softmax_scale, window_size, softcap,
                                           num_splits, attention_chunk)
    pack = _pack_flag(pack_gqa)
    if not direct:
        out, lse = torch.ops.flashcore.flash_attn_fwd(q, k, v, scale, bool(causal), left, right,
                                                      cap, int(num_splits), pack)
        return (out, lse) if return_attn_probs else out
    qs = meta[0]
    out = q.new_empty(qs)
    lse = q.new_empty((qs[0], qs[2], qs[1]), dtype=torch.float32) if return_attn_probs else None
    # A call of a key (eager, no split, no pack choice) runs as a plan kept for its repeats.
    prepared = _forward_into(q, k, v, out, lse, bool(causal), scale, left, right, cap, meta,
                             _contiguous_strides(qs),
                             _NO_SPLIT if num_splits == 1 and pack == -1
                             else _Split(num_splits, pack), plan=key is not None)
    if prepared is not None:
        _remember(key, prepared)
    return (out, lse) if return_attn_probs else out


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                           seqused_q=None, seqused_k=None, softmax_scale=None, causal=False,
                           qv=None, q_descale=None, k_descale=None, v_descale=None,
                           window_size=(-1, -1), attention_chunk=0, softcap=0.0, num_splits=1,
                           pack_gqa=None, deterministic=False, sm_margin=0,
                           return_attn_probs=False):
    """Variable-length attention forward, FA3's ``flash_attn_varlen_func``.

    q: (total_q, heads, head_dim), k, v: (total_k, heads_kv, head_dim), packed; sequence b
    is rows [cu_seqlens_q[b], cu_seqlens_q[b+1]) of q (likewise k, v); cu_seqlens_* are
    int32 (batch + 1) on q's device (not read by the host); max_seqlen_* the longest
    lengths. Returns out (total_q, heads, head_dim), with return_attn_probs=True also
    softmax_lse (heads, total_q).
    """
    if (seqused_q is not None or seqused_k is not None or qv is not None or q_descale is not None
            or k_descale is not None or v_descale is not None):
        _unsupported(seqused_q=seqused_q, seqused_k=seqused_k, qv=qv, q_descale=q_descale,
                     k_descale=k_descale, v_descale=v_descale)
    meta = _check_qkv(q, k, v, 3)
    _check_cu_seqlens("cu_seqlens_q", cu_seqlens_q, q)
    _check_cu_seqlens("cu_seqlens_k", cu_seqlens_k, q)
    if cu_seqlens_k.shape[0] != cu_seqlens_q.shape[0]:
        raise ValueError("cu_seqlens_k must have cu_seqlens_q's length %d (batch + 1), got: %d"
                         % (cu_seqlens_q.shape[0], cu_seqlens_k.shape[0]))
    for name, value in (("max_seqlen_q", max_seqlen_q), ("max_seqlen_k", max_seqlen_k)):
        if isinstance(value, torch.Tensor):
            raise TypeError("%s must be an int, got: a tensor (call .item() first)" % name)
        if value < 0:
            raise ValueError("%s must be >= 0, got: %d" % (name, value))
    scale, left, right, cap = _common_args(meta[0][-1], softmax_scale, window_size, softcap,
                                           num_splits, attention_chunk)
    pack = _pack_flag(pack_gqa)
    if not _direct(q, k, v):
        out, lse = torch.ops.flashcore.flash_attn_varlen_fwd(
            q, k, v, cu_seqlens_q, cu_seqlens_k, int(max_seqlen_q), int(max_seqlen_k), scale,
            bool(causal), left, right, cap, int(num_splits), pack)
        return (out, lse) if return_attn_probs else out
    qs = meta[0]
    out = q.new_empty(qs)
    lse = q.new_empty((qs[1], qs[0]), dtype=torch.float32) if return_attn_probs else None
    _varlen_into(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, out, lse,
                 bool(causal), scale, left, right, cap, meta, _contiguous_strides(qs),
                 _NO_SPLIT if num_splits == 1 and pack == -1 else _Split(num_splits, pack))
    return (out, lse) if return_attn_probs else out


def _append_kv(k_cache, v_cache, k, v, cache_seqlens, page_table, capacity, q):
    """Writes k and v into the caches at each sequence's cache_seqlens (a (batch,) int32
    tensor); returns the new lengths cache_seqlens + seqlen_new."""
    if k is None or v is None:
        raise ValueError("k and v must be given together, got: %s"
                         % ("k only" if v is None else "v only"))
    for name, t, cache in (("k", k, k_cache), ("v", v, v_cache)):
        if not isinstance(t, torch.Tensor):
            raise TypeError("%s must be a torch.Tensor, got: %s" % (name, type(t).__name__))
        if t.dtype != cache.dtype:
            raise TypeError("%s must have the cache's dtype %s, got: %s"
                            % (name, cache.dtype, t.dtype))
        if t.device != q.device:
            raise ValueError("%s must be on q's device %s, got: %s" % (name, q.device, t.device))
        want = (q.shape[0], k.shape[1] if k.dim() == 4 else -1, cache.shape[2], cache.shape[3])
        if t.dim() != 4 or tuple(t.shape) != want:
            raise ValueError("%s must be (batch, seqlen_new, heads_kv, head_dim) = (%d, seqlen_new, "
                             "%d, %d) with k's seqlen_new, got: shape %s"
                             % (name, want[0], want[2], want[3], tuple(t.shape)))
    new = k.shape[1]
    if new == 0:
        return cache_seqlens
    # Bounds: an int cache_seqlens was checked by the caller; a tensor's values are checked
    # by torch's device-side index check.
    pos = cache_seqlens.long()[:, None] + torch.arange(new, device=q.device)[None, :]
    if page_table is None:
        rows = torch.arange(k.shape[0], device=q.device)[:, None].expand_as(pos)
        k_cache[rows, pos] = k
        v_cache[rows, pos] = v
    else:
        page_size = k_cache.shape[1]
        pages = torch.gather(page_table.long(), 1, pos // page_size)
        k_cache[pages, pos % page_size] = k
        v_cache[pages, pos % page_size] = v
    return cache_seqlens + new


def flash_attn_with_kvcache(q, k_cache, v_cache, k=None, v=None, qv=None, rotary_cos=None,
                            rotary_sin=None, cache_seqlens=None, cache_batch_idx=None,
                            cache_leftpad=None, page_table=None, cu_seqlens_q=None,
                            cu_seqlens_k_new=None, max_seqlen_q=None, rotary_seqlens=None,
                            q_descale=None, k_descale=None, v_descale=None, softmax_scale=None,
                            causal=False, window_size=(-1, -1), attention_chunk=0, softcap=0.0,
                            rotary_interleaved=True, scheduler_metadata=None, num_splits=0,
                            pack_gqa=None, sm_margin=0, return_softmax_lse=False):
    """Attention of new queries against a KV cache, FA3's ``flash_attn_with_kvcache``.

    q: (batch, seqlen_q, heads, head_dim); k_cache, v_cache: (batch, seqlen_cache, heads_kv,
    head_dim), or with page_table (int32 (batch, max_pages) on q's device, pages in any order)
    page pools (num_pages, page_size, heads_kv, head_dim), page_size a multiple of 16, and
    seqlen_cache = max_pages * page_size; a page index outside [0, num_pages) reads zeros.
    cache_seqlens: int or int32 (batch,) tensor on q's device, the keys of each sequence
    (0 allowed; default: all of seqlen_cache; larger values are clamped to it). Causal is
    aligned to each sequence's cache end. num_splits: 0 = FlashCore chooses (split-KV with a combine kernel when the
    tiles alone do not fill the GPU), 1 = no split, n = n splits; pack_gqa: None = FlashCore
    chooses, True / False. Returns out, and with return_softmax_lse=True (out, softmax_lse)
    with softmax_lse (batch, heads, seqlen_q).
    k, v: (batch, seqlen_new, heads_kv, head_dim), given together: written into the caches
    (through the page table when paged) at rows cache_seqlens .. cache_seqlens + seqlen_new - 1 of
    each sequence before the attention, which then covers cache_seqlens + seqlen_new keys (FA3's
    semantics; the writes are torch index operations on the device, so the call stays free of host
    synchronisation and CUDA-graph capturable). cache_seqlens + seqlen_new must not exceed the
    cache: checked here for an int, by torch's device-side index check for a tensor.
    Not supported yet (NotImplementedError): rotary embeddings, cache_batch_idx, cache_leftpad,
    varlen queries (cu_seqlens_q, cu_seqlens_k_new), qv and descales.
    """
    if (qv is not None or rotary_cos is not None
            or rotary_sin is not None or cache_batch_idx is not None or cache_leftpad is not None
            or cu_seqlens_q is not None or cu_seqlens_k_new is not None
            or rotary_seqlens is not None or q_descale is not None or k_descale is not None
            or v_descale is not None or scheduler_metadata is not None):
        _unsupported(qv=qv, rotary_cos=rotary_cos, rotary_sin=rotary_sin,
                     cache_batch_idx=cache_batch_idx, cache_leftpad=cache_leftpad,
                     cu_seqlens_q=cu_seqlens_q,
                     cu_seqlens_k_new=cu_seqlens_k_new, rotary_seqlens=rotary_seqlens,
                     q_descale=q_descale, k_descale=k_descale, v_descale=v_descale,
                     scheduler_metadata=scheduler_metadata)
    paged = page_table is not None
    meta = _check_qkv(q, k_cache, v_cache, 4, paged)
    qs, ks = meta[0], meta[1]
    capacity = ks[1]
    if paged:
        _check_page_table(page_table, q, ks)
        capacity = page_table.shape[1] * ks[1]
    if cache_seqlens is None:
        cache_seqlens = capacity
    if isinstance(cache_seqlens, int):
        room = capacity - (k.shape[1] if isinstance(k, torch.Tensor) and k.dim() == 4 else 0)
        if cache_seqlens < 0 or cache_seqlens > room:
            raise ValueError("cache_seqlens must be in [0, keys of the cache %d%s], got: %d"
                             % (capacity, "" if room == capacity else " - seqlen_new %d"
                                % (capacity - room), cache_seqlens))
        cache_seqlens = torch.full((qs[0],), cache_seqlens, dtype=torch.int32, device=q.device)
    elif isinstance(cache_seqlens, torch.Tensor):
        if cache_seqlens.dtype != torch.int32:
            raise TypeError("cache_seqlens must be an int or a torch.int32 tensor, got: %s"
                            % cache_seqlens.dtype)
        if not cache_seqlens.is_cuda or cache_seqlens.get_device() != q.get_device():
            raise ValueError("cache_seqlens must be on q's device %s, got: %s"
                             % (q.device, cache_seqlens.device))
        if tuple(cache_seqlens.shape) != (qs[0],) or cache_seqlens.stride(0) != 1:
            raise ValueError("cache_seqlens must be a contiguous (batch,) = (%d,) tensor, got: "
                             "shape %s" % (qs[0], tuple(cache_seqlens.shape)))
    else:
        raise TypeError("cache_seqlens must be an int or a torch.int32 tensor, got: %s"
                        % type(cache_seqlens).__name__)
    if k is not None or v is not None:
        cache_seqlens = _append_kv(k_cache, v_cache, k, v, cache_seqlens, page_table, capacity,
                                   q)
    scale, left, right, cap = _common_args(qs[-1], softmax_scale, window_size, softcap,
                                           num_splits, attention_chunk)
    pack = _pack_flag(pack_gqa)
    if not _direct(q, k_cache, v_cache):
        out, lse = torch.ops.flashcore.flash_attn_kvcache_fwd(
            q, k_cache, v_cache, cache_seqlens, page_table, scale, bool(causal), left, right,
            cap, int(num_splits), pack)
        return (out, lse) if return_softmax_lse else out
    out = q.new_empty(qs)
    lse = q.new_empty((qs[0], qs[2], qs[1]), dtype=torch.float32) if return_softmax_lse else None
    _forward_into(q, k_cache, v_cache, out, lse, bool(causal), scale, left, right, cap, meta,
                  _contiguous_strides(qs), _Split(num_splits, pack, cache_seqlens, page_table))
    return (out, lse) if return_softmax_lse else out
