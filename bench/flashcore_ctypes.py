"""A minimal ctypes binding of libflashcore's stable C ABI (flashcore.h), for
loading a library *by path*: bench/compare_libs.py times two builds of
libflashcore in one process with it. Everything else uses flashcore._C.
"""
import ctypes

BF16, FP16 = 1, 2


class AttentionArgs(ctypes.Structure):
    """flashcore_attention_args, version 2 (field order is the ABI)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("o", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("batch", ctypes.c_int64), ("seqlen_q", ctypes.c_int64), ("seqlen_k", ctypes.c_int64),
        ("heads_q", ctypes.c_int64), ("heads_kv", ctypes.c_int64), ("head_dim", ctypes.c_int64),
        ("q_batch_stride", ctypes.c_int64), ("q_seq_stride", ctypes.c_int64),
        ("q_head_stride", ctypes.c_int64),
        ("k_batch_stride", ctypes.c_int64), ("k_seq_stride", ctypes.c_int64),
        ("k_head_stride", ctypes.c_int64),
        ("v_batch_stride", ctypes.c_int64), ("v_seq_stride", ctypes.c_int64),
        ("v_head_stride", ctypes.c_int64),
        ("o_batch_stride", ctypes.c_int64), ("o_seq_stride", ctypes.c_int64),
        ("o_head_stride", ctypes.c_int64),
        ("lse_batch_stride", ctypes.c_int64), ("lse_head_stride", ctypes.c_int64),
        ("dtype", ctypes.c_int), ("causal", ctypes.c_int), ("softmax_scale", ctypes.c_float),
        ("window_left", ctypes.c_int32), ("window_right", ctypes.c_int32),
        ("softcap", ctypes.c_float), ("reserved", ctypes.c_int32),
        ("cu_seqlens_q", ctypes.c_void_p), ("cu_seqlens_k", ctypes.c_void_p),
        ("total_q", ctypes.c_int64), ("total_k", ctypes.c_int64),
    ]


class Library:
    """One libflashcore.so, loaded privately (RTLD_LOCAL), with one handle."""

    def __init__(self, path):
        self.path = path
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        self.lib = lib
        # The sized init writes exactly this struct's bytes; a library older
        # than it has only the unsized one, which wrote the version-2 struct.
        self._init_sized = hasattr(lib, "flashcore_attention_args_init_sized")
        if self._init_sized:
            lib.flashcore_attention_args_init_sized.argtypes = [
                ctypes.POINTER(AttentionArgs), ctypes.c_size_t]
            lib.flashcore_attention_args_init_sized.restype = None
        lib.flashcore_attention_args_init.argtypes = [ctypes.POINTER(AttentionArgs)]
        lib.flashcore_attention_args_init.restype = None
        lib.flashcore_last_error.restype = ctypes.c_char_p
        lib.flashcore_version.restype = ctypes.c_char_p
        lib.flashcore_create.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        lib.flashcore_attention_forward.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(AttentionArgs), ctypes.c_void_p]
        lib.flashcore_set_spec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        handle = ctypes.c_void_p()
        self._check(lib.flashcore_create(ctypes.byref(handle)))
        self.handle = handle

    def _check(self, status):
        if status != 0:
            raise RuntimeError("flashcore status %d: %s" % (
                status, self.lib.flashcore_last_error().decode()))

    def set_spec(self, yaml):
        """This handle's spec override (flashcore_set_spec); None clears it.
        Raises RuntimeError with the library's message when it is invalid."""
        self._check(self.lib.flashcore_set_spec(
            self.handle, None if yaml is None else yaml.encode()))

    def version(self):
        return self.lib.flashcore_version().decode()

    def forward_fn(self, q, k, v, out, causal):
        """A zero-argument function launching attention of (B, S, H, D) q, k, v
        into out on torch's current stream."""
        import torch
        a = AttentionArgs()
        if self._init_sized:
            self.lib.flashcore_attention_args_init_sized(ctypes.byref(a), ctypes.sizeof(a))
        else:
            self.lib.flashcore_attention_args_init(ctypes.byref(a))
        a.q, a.k, a.v, a.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr()
        a.batch, a.seqlen_q, a.heads_q, a.head_dim = q.shape
        a.seqlen_k, a.heads_kv = k.shape[1], k.shape[2]
        for name, t in (("q", q), ("k", k), ("v", v), ("o", out)):
            setattr(a, name + "_batch_stride", t.stride(0))
            setattr(a, name + "_seq_stride", t.stride(1))
            setattr(a, name + "_head_stride", t.stride(2))
        a.dtype = BF16 if q.dtype == torch.bfloat16 else FP16
        a.causal = 1 if causal else 0
        stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
        ref = ctypes.byref(a)
        forward, handle, check = self.lib.flashcore_attention_forward, self.handle, self._check

        def run():
            check(forward(handle, ref, stream))
        run.args = a  # keep the struct alive
        return run
