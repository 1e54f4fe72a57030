"""FlashCore as a Hugging Face Transformers attention implementation.

    import flashcore.integrations.transformers as fct
    fct.register()
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="flashcore")

``register()`` makes ``"flashcore"`` behave like ``"flash_attention_2"`` with
FlashCore's kernels underneath: the same mask (a 2-D padding mask, or None when
nothing is padded), the same unpadding to the varlen path for padded batches
(left-padded generation), packed sequences from position_ids, decode against a
KV cache (seqlen_q = 1, causal aligned bottom-right) and sliding windows
(``sliding_window`` = w: keys [i - w + 1, i], FlashAttention's window_size
(w - 1, w - 1) with causal). It reuses Transformers' own flash-attention
wrapper (``integrations.flash_attention.flash_attention_forward`` and
``modeling_flash_attention_utils._flash_attention_forward``), pointing it at
the two functions below.

Transformers treats every implementation whose name contains "flash" as a
FlashAttention package to import (``_lazy_imports``); ``register()`` wraps
that loader so that the name "flashcore" resolves to FlashCore. The hook is
written against Transformers 5.x (checked on 5.17) and fails loudly, naming
what is missing, on a version that lacks it.

Training is not supported (FlashCore has no backward): dropout > 0 raises
NotImplementedError, and a backward through the attention raises.
"""
import inspect

NAME = "flashcore"

#: Calls into FlashCore by path since import (tests read it to see which path
#: Transformers took: "dense" or "varlen").
calls = {"dense": 0, "varlen": 0}


def _check_supported(dropout_p, s_aux, kwargs):
    if dropout_p:
        raise NotImplementedError(
            "flashcore: attention dropout is not supported (dropout_p=%r); FlashCore is "
            "forward-only, use model.eval()" % dropout_p)
    if s_aux is not None:
        raise NotImplementedError("flashcore: attention sinks (s_aux) are not supported yet")
    for name in ("alibi_slopes", "learnable_sink"):
        if kwargs.get(name) is not None:
            raise NotImplementedError("flashcore: %s is not supported yet" % name)


def _softcap(softcap):
    return 0.0 if softcap is None else float(softcap)


def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False,
                    window_size=(-1, -1), softcap=0.0, deterministic=False, s_aux=None,
                    **kwargs):
    """FlashAttention-2's ``flash_attn_func`` signature (what Transformers calls) on
    FlashCore: q (batch, seqlen_q, heads, d), k, v (batch, seqlen_k, heads_kv, d)."""
    from ..interface import flash_attn_func as fa3
    _check_supported(dropout_p, s_aux, kwargs)
    calls["dense"] += 1
    # num_splits 0: FlashCore picks split-KV (and pack-GQA) where the tiles
    # alone would leave SMs idle, i.e. for decode steps against the cache.
    return fa3(q, k, v, softmax_scale=softmax_scale, causal=causal,
               window_size=tuple(window_size), softcap=_softcap(softcap), num_splits=0)


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q=None,
                           max_seqlen_k=None, dropout_p=0.0, softmax_scale=None, causal=False,
                           window_size=(-1, -1), softcap=0.0, deterministic=False, s_aux=None,
                           **kwargs):
    """FlashAttention-2's ``flash_attn_varlen_func`` signature on FlashCore (packed
    (total, heads, d) tensors, int32 cu_seqlens on the device)."""
    from ..interface import flash_attn_varlen_func as fa3
    _check_supported(dropout_p, s_aux, kwargs)
    import torch
    # Transformers hands the longest lengths over as 0-dim tensors on some paths
    # (packed position_ids); FlashCore's launch takes them as host ints.
    if isinstance(max_seqlen_q, torch.Tensor):
        max_seqlen_q = int(max_seqlen_q.item())
    if isinstance(max_seqlen_k, torch.Tensor):
        max_seqlen_k = int(max_seqlen_k.item())
    if max_seqlen_q is None:
        max_seqlen_q = int((cu_seqlens_q[1:] - cu_seqlens_q[:-1]).max().item())
    if max_seqlen_k is None:
        max_seqlen_k = int((cu_seqlens_k[1:] - cu_seqlens_k[:-1]).max().item())
    calls["varlen"] += 1
    return fa3(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
               softmax_scale=softmax_scale, causal=causal, window_size=tuple(window_size),
               softcap=_softcap(softcap), num_splits=0)


_registered = False


def register():
    """Registers ``"flashcore"`` with Transformers' AttentionInterface and
    AttentionMaskInterface (idempotent). Call before building the model."""
    global _registered
    if _registered:
        return
    try:
        import transformers
        import transformers.modeling_flash_attention_utils as fau
        from transformers import AttentionInterface, AttentionMaskInterface
        from transformers.integrations.flash_attention import flash_attention_forward
        from transformers.masking_utils import flash_attention_mask
    except ImportError as e:
        raise ImportError("flashcore.integrations.transformers needs transformers >= 5 "
                          "(AttentionInterface, AttentionMaskInterface): %s" % e) from e
    loader = getattr(fau, "_lazy_imports", None)
    if loader is None or not hasattr(fau, "_pad_input") or not hasattr(fau, "_unpad_input"):
        raise RuntimeError(
            "flashcore: transformers %s has no modeling_flash_attention_utils._lazy_imports / "
            "_pad_input / _unpad_input, which the flashcore backend hooks into (written "
            "against transformers 5.17)" % transformers.__version__)

    def lazy_imports(implementation, *args, **kwargs):
        name = implementation.split("|")[-1] if isinstance(implementation, str) else None
        if name == NAME:
            return (flash_attn_func, flash_attn_varlen_func, None, fau._pad_input,
                    fau._unpad_input)
        return loader(implementation, *args, **kwargs)

    lazy_imports.__wrapped__ = loader
    fau._lazy_imports = lazy_imports
    AttentionInterface.register(NAME, flash_attention_forward)
    AttentionMaskInterface.register(NAME, flash_attention_mask)
    _registered = True


def supported_kwargs():
    """The FlashAttention keyword arguments Transformers will pass to the
    varlen function (it inspects the signature): for tests."""
    return sorted(inspect.signature(flash_attn_varlen_func).parameters)
