"""ctypes binding of libflashcore's C API (runtime/include/flashcore/flashcore.h).

Kept free of torch so that it can be imported anywhere; `flashcore.attention`
adds the torch glue on top.
"""
import ctypes
import os

BF16, FP16 = 1, 2


class AttentionArgs(ctypes.Structure):
    """flashcore_attention_args, version 1 (field order is the ABI)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("o", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("batch", ctypes.c_int64), ("seqlen_q", ctypes.c_int64), ("seqlen_k", ctypes.c_int64),
        ("heads_q", ctypes.c_int64), ("heads_kv", ctypes.c_int64), ("head_dim", ctypes.c_int64),
        ("q_batch_stride", ctypes.c_int64), ("q_seq_stride", ctypes.c_int64), ("q_head_stride", ctypes.c_int64),
        ("k_batch_stride", ctypes.c_int64), ("k_seq_stride", ctypes.c_int64), ("k_head_stride", ctypes.c_int64),
        ("v_batch_stride", ctypes.c_int64), ("v_seq_stride", ctypes.c_int64), ("v_head_stride", ctypes.c_int64),
        ("o_batch_stride", ctypes.c_int64), ("o_seq_stride", ctypes.c_int64), ("o_head_stride", ctypes.c_int64),
        ("lse_batch_stride", ctypes.c_int64), ("lse_head_stride", ctypes.c_int64),
        ("dtype", ctypes.c_int), ("causal", ctypes.c_int), ("softmax_scale", ctypes.c_float),
        # version 2
        ("window_left", ctypes.c_int32), ("window_right", ctypes.c_int32),
        ("softcap", ctypes.c_float), ("reserved", ctypes.c_int32),
        ("cu_seqlens_q", ctypes.c_void_p), ("cu_seqlens_k", ctypes.c_void_p),
        ("total_q", ctypes.c_int64), ("total_k", ctypes.c_int64),
    ]


def _default_library_path():
    env = os.environ.get("FLASHCORE_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "libflashcore.so"),
                      os.path.join(here, "..", "..", "build", "lib", "libflashcore.so")):
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return "libflashcore.so"


class Library:
    """The loaded shared library with typed entry points."""

    def __init__(self, path=None):
        self.path = path or _default_library_path()
        lib = ctypes.CDLL(self.path)
        self.lib = lib
        lib.flashcore_attention_args_init.argtypes = [ctypes.POINTER(AttentionArgs)]
        lib.flashcore_attention_args_init.restype = None
        lib.flashcore_status_string.argtypes = [ctypes.c_int]
        lib.flashcore_status_string.restype = ctypes.c_char_p
        lib.flashcore_last_error.argtypes = []
        lib.flashcore_last_error.restype = ctypes.c_char_p
        lib.flashcore_version.restype = ctypes.c_char_p
        lib.flashcore_create.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        lib.flashcore_create.restype = ctypes.c_int
        lib.flashcore_destroy.argtypes = [ctypes.c_void_p]
        lib.flashcore_destroy.restype = ctypes.c_int
        lib.flashcore_set_spec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.flashcore_set_spec.restype = ctypes.c_int
        lib.flashcore_attention_forward.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(AttentionArgs), ctypes.c_void_p]
        lib.flashcore_attention_forward.restype = ctypes.c_int
        handle = ctypes.c_void_p()
        self._check(lib.flashcore_create(ctypes.byref(handle)))
        self.handle = handle

    def _check(self, status):
        if status != 0:
            raise RuntimeError("%s: %s" % (
                self.lib.flashcore_status_string(status).decode(),
                self.lib.flashcore_last_error().decode()))

    def new_args(self):
        args = AttentionArgs()
        self.lib.flashcore_attention_args_init(ctypes.byref(args))
        return args

    def set_spec(self, yaml_text):
        self._check(self.lib.flashcore_set_spec(
            self.handle, None if yaml_text is None else yaml_text.encode()))

    def forward(self, args, stream):
        self._check(self.lib.flashcore_attention_forward(
            self.handle, ctypes.byref(args), ctypes.c_void_p(stream)))

    def version(self):
        return self.lib.flashcore_version().decode()
