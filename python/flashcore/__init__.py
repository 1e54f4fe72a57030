"""FlashCore: generated FlashAttention-style kernels for NVIDIA Hopper.

``import flashcore`` needs neither torch nor a GPU: it loads the compiled
binding of the C API (``flashcore._C``) and libflashcore, after torch where
torch is installed (the other order crashed). The torch functions:

- ``flash_attn_func``, ``flash_attn_varlen_func``: FlashAttention-3's API
  (``import flashcore as flash_attn_interface``), see ``flashcore.interface``;
- ``attention``, ``attention_varlen``: the same kernels with caller-provided
  ``out``/``lse`` buffers, returning ``(out, lse)``;
- ``flashcore.integrations.transformers.register()``: the ``"flashcore"``
  attention implementation for Hugging Face Transformers.

Torch-free: ``version()``, ``status_string(code)``, ``STATUS``, ``set_spec()``,
``cache_stats()``, ``cache_directory()``, ``validate_args(...)`` and the
exceptions ``FlashCoreError`` (a RuntimeError), ``FlashCoreValueError`` and
``FlashCoreTypeError``.
"""
try:
    # torch before the binding when it is installed: on the H200 image,
    # `import flashcore` then `import torch` crashed the interpreter (SIGSEGV
    # at torch's import) while the other order works; torch's own pybind11
    # modules have to come first.
    import torch as _torch_first  # noqa: F401
except ImportError:
    pass
from . import _C  # noqa: E402
from ._errors import STATUS, FlashCoreError, FlashCoreTypeError, FlashCoreValueError, check

__version__ = _C.version()

_TORCH_NAMES = ("flash_attn_func", "flash_attn_varlen_func", "flash_attn_with_kvcache")


def version():
    """libflashcore's version ("0.1.0")."""
    return _C.version()


def status_string(status):
    """The C API's text for a status code."""
    return _C.status_string(int(status))


def set_spec(spec_yaml):
    """Uses the spec (YAML text, docs/SPEC.md) for every later call in this
    process; None goes back to the built-in choice. A bad spec raises
    FlashCoreError (INVALID_SPEC) with the located error."""
    check(_C.set_spec(spec_yaml), "set_spec")


def cache_stats():
    """The kernel cache's counters (memory_hits, disk_hits, compiles, ...)."""
    return _C.cache_stats()


def cache_directory():
    """The disk cache directory in use ("" when memory-only)."""
    return _C.cache_directory()


def validate_args(**kwargs):
    """Checks attention arguments as the C API does before touching a GPU and
    raises what a call would raise. Pointers are ints; keyword arguments are
    flashcore_attention_args' fields (strides as ``strides``: 14 ints)."""
    a = dict(q=0, k=0, v=0, o=0, lse=0, batch=0, seqlen_q=0, seqlen_k=0, heads_q=0,
             heads_kv=0, head_dim=0, strides=(0,) * 14, dtype=0, causal=False,
             softmax_scale=0.0, window_left=-1, window_right=-1, softcap=0.0,
             cu_seqlens_q=0, cu_seqlens_k=0, total_q=0, total_k=0, cache_seqlens=0,
             num_splits=0, pack_gqa=-1, workspace=0, workspace_bytes=0, page_table=0,
             page_table_batch_stride=0, page_size=0, num_pages=0, flags=0)
    unknown = set(kwargs) - set(a)
    if unknown:
        raise TypeError("validate_args got unknown arguments: %s" % ", ".join(sorted(unknown)))
    a.update(kwargs)
    names = ("q", "k", "v", "o", "lse", "batch", "seqlen_q", "seqlen_k", "heads_q", "heads_kv",
             "head_dim")
    strides = tuple(a["strides"])
    if len(strides) != 14:
        raise ValueError("strides must be 14 ints (q, k, v, o: batch, seq, head; lse: batch, "
                         "head), got: %d" % len(strides))
    check(_C.validate(*(a[n] for n in names), *strides, a["dtype"],
                      bool(a["causal"]), float(a["softmax_scale"]), a["window_left"],
                      a["window_right"], float(a["softcap"]), a["cu_seqlens_q"],
                      a["cu_seqlens_k"], a["total_q"], a["total_k"], a["cache_seqlens"],
                      a["num_splits"], a["pack_gqa"], a["workspace"],
                      a["workspace_bytes"], a["page_table"], a["page_table_batch_stride"],
                      a["page_size"], a["num_pages"], a["flags"]), "validate_args")


def attention(q, k, v, causal=False, softmax_scale=None, out=None, lse=None, return_lse=True,
              window_size=(-1, -1), softcap=0.0):
    """Forward on (batch, seqlen, heads, head_dim) tensors into `out`/`lse` when given
    (allocated otherwise); returns (out, lse), lse (batch, heads_q, seqlen_q) or None."""
    import torch
    from . import interface as fi

    meta = fi._check_qkv(q, k, v, 4)
    scale, left, right, cap = fi._common_args(meta[0][-1], softmax_scale, window_size, softcap,
                                              1, 0)
    if out is None:
        out = q.new_empty(q.shape)
    if lse is None and return_lse:
        lse = q.new_empty((q.shape[0], q.shape[2], q.shape[1]), dtype=torch.float32)
    fi._forward_into(q, k, v, out, lse, bool(causal), scale, left, right, cap, meta,
                     split=fi._NO_SPLIT)
    return out, lse


def attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                     causal=False, softmax_scale=None, out=None, lse=None, return_lse=True,
                     window_size=(-1, -1), softcap=0.0):
    """FlashAttention's varlen layout (packed (total, heads, head_dim)) into `out`/`lse`
    when given; returns (out, lse), lse (heads_q, total_q) or None."""
    import torch
    from . import interface as fi

    meta = fi._check_qkv(q, k, v, 3)
    fi._check_cu_seqlens("cu_seqlens_q", cu_seqlens_q, q)
    fi._check_cu_seqlens("cu_seqlens_k", cu_seqlens_k, q)
    scale, left, right, cap = fi._common_args(meta[0][-1], softmax_scale, window_size, softcap,
                                              1, 0)
    if out is None:
        out = q.new_empty(q.shape)
    if lse is None and return_lse:
        lse = q.new_empty((q.shape[1], q.shape[0]), dtype=torch.float32)
    fi._varlen_into(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, out, lse,
                    bool(causal), scale, left, right, cap, meta)
    return out, lse


def __getattr__(name):
    # The torch functions: imported (and their ops registered) on first use.
    if name in _TORCH_NAMES:
        from . import interface
        value = getattr(interface, name)
        globals()[name] = value
        return value
    if name == "integrations":
        import importlib
        return importlib.import_module(".integrations", __name__)
    raise AttributeError("module 'flashcore' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + list(_TORCH_NAMES))
