"""flashcore without torch or a GPU: the binding, status strings, the argument
checks that live below torch (the C API's), and the no-driver error.

Run by ctest (python_module) with PYTHONPATH=build/python:
  python3 -m pytest tests/python -q
"""
import ctypes
import importlib.util
import os

import pytest

import flashcore
from flashcore import _C

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def has_driver():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def dense(**overrides):
    """Valid arguments of a (2, 128, 8, 64) bf16 problem with fake, aligned
    pointers; `overrides` replaces fields."""
    b, s, h, d = 2, 128, 8, 64
    strides = (s * h * d, h * d, d) * 4 + (h * s, s)
    a = dict(q=0x10000, k=0x20000, v=0x30000, o=0x40000, lse=0x50000, batch=b, seqlen_q=s,
             seqlen_k=s, heads_q=h, heads_kv=h, head_dim=d, strides=strides,
             dtype=_C.DTYPE_BF16)
    a.update(overrides)
    return a


def test_version_matches_the_cmake_project():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        text = f.read()
    assert "project(FlashCore VERSION %s " % flashcore.version() in text
    assert flashcore.__version__ == flashcore.version()


def test_the_extension_is_the_compiled_binding():
    assert _C.__file__.endswith(".so")
    # The torch part loads on first use only.
    assert "flashcore.interface" not in importlib.sys.modules


def test_status_strings_name_every_status():
    assert flashcore.STATUS["SUCCESS"] == 0
    assert len(flashcore.STATUS) >= 24
    for name, code in flashcore.STATUS.items():
        assert flashcore.status_string(code).startswith("FLASHCORE_STATUS_" + name + ": ")
    assert flashcore.status_string(9999) == "unknown flashcore status"


def test_valid_arguments_pass():
    flashcore.validate_args(**dense())


@pytest.mark.parametrize("overrides, error, needle", [
    (dict(q=0), flashcore.FlashCoreValueError, "q must"),
    (dict(k=0x20001), flashcore.FlashCoreValueError, "k must be 16-byte aligned"),
    (dict(dtype=0), flashcore.FlashCoreTypeError, "dtype must be"),
    (dict(batch=0), flashcore.FlashCoreValueError, "batch must be"),
    (dict(heads_kv=3), flashcore.FlashCoreValueError, "heads_q must be a multiple of heads_kv"),
    (dict(head_dim=72), flashcore.FlashCoreValueError, "head_dim"),
    (dict(softmax_scale=float("nan")), flashcore.FlashCoreValueError, "softmax_scale"),
    (dict(window_left=-2), flashcore.FlashCoreValueError, "window_left"),
    (dict(softcap=-1.0), flashcore.FlashCoreValueError, "softcap"),
    (dict(cu_seqlens_q=0x60000), flashcore.FlashCoreValueError, "cu_seqlens"),
    (dict(strides=(1, 1, 1) * 4 + (1, 1)), flashcore.FlashCoreValueError, "stride"),
    (dict(num_splits=500), flashcore.FlashCoreValueError, "num_splits must be in [0, 128]"),
    (dict(pack_gqa=3), flashcore.FlashCoreValueError, "pack_gqa must be -1"),
    (dict(cache_seqlens=0x70002), flashcore.FlashCoreValueError, "cache_seqlens must be 4-byte"),
    (dict(workspace=0x70008), flashcore.FlashCoreValueError, "workspace must be 16-byte"),
    (dict(page_table=0x70002, page_size=16, num_pages=4, page_table_batch_stride=8),
     flashcore.FlashCoreValueError, "page_table must be 4-byte"),
    (dict(page_table=0x70000, page_size=24, num_pages=4, page_table_batch_stride=8),
     flashcore.FlashCoreValueError, "page_size must be a positive multiple of 16"),
    (dict(page_table=0x70000, page_size=16, num_pages=0, page_table_batch_stride=8),
     flashcore.FlashCoreValueError, "num_pages must be in [1"),
    (dict(page_table=0x70000, page_size=16, num_pages=4, page_table_batch_stride=7),
     flashcore.FlashCoreValueError, "page_table_batch_stride must be >= ceil(seqlen_k / page_size) = 8"),
    (dict(page_size=16), flashcore.FlashCoreValueError, "page_size must be 0 when page_table is null"),
    (dict(page_table=0x70000, page_size=16, num_pages=4, page_table_batch_stride=8,
          cu_seqlens_q=0x60000, cu_seqlens_k=0x60100, total_q=256, total_k=256),
     flashcore.FlashCoreValueError, "page_table must be null for a varlen call"),
    (dict(flags=2), flashcore.FlashCoreValueError,
     "flags must be 0 or FLASHCORE_ARGS_POINTERS_CHECKED (1), got: 2"),
])
def test_bad_arguments_raise_naming_the_argument(overrides, error, needle):
    with pytest.raises(error) as info:
        flashcore.validate_args(**dense(**overrides))
    assert needle in str(info.value), str(info.value)
    assert info.value.status == flashcore.STATUS[info.value.status_name]


def test_pointers_checked_flag_is_accepted():
    flashcore.validate_args(**dense(flags=_C.ARGS_POINTERS_CHECKED))


def test_prepare_checks_its_arguments_like_forward():
    # prepare() makes a C API plan (flashcore_attention_plan_create): the same
    # checks as forward before any driver call, and no plan when one fails.
    a = dense()
    args = [a["q"], a["k"], a["v"], a["o"], a["lse"], 2, 128, 128, 8, 8, 64, *a["strides"], 1,
            False, 0.0, -1, -1, 0.0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0]
    bad = list(args)
    bad[9] = 3  # heads_kv
    assert _C.prepare(*bad, 0) == (flashcore.STATUS["HEADS_MISMATCH"], None)
    assert "heads_q must be a multiple of heads_kv = 3" in _C.last_error()
    bad = list(args)
    bad[0] = 0  # q
    assert _C.prepare(*bad, 0) == (flashcore.STATUS["NULL_POINTER"], None)
    with pytest.raises(ValueError, match="expected 46 positional arguments"):
        _C.prepare(*args)  # no stream
    status, prepared = _C.prepare(*args, 0)
    if prepared is None:  # no GPU: the plan stops at the driver (fake pointers on a GPU)
        assert status in (flashcore.STATUS["NO_DRIVER"], flashcore.STATUS["CUDA_ERROR"],
                          flashcore.STATUS["WRONG_DEVICE"])
    else:  # a GPU: the launch checks its new pointers first
        assert prepared(0, a["k"], a["v"], a["o"], a["lse"], 0) == flashcore.STATUS["NULL_POINTER"]
        with pytest.raises(TypeError, match="expected 6 positional arguments"):
            prepared(a["q"], a["k"])


def test_value_and_type_errors_are_builtin_subclasses():
    assert issubclass(flashcore.FlashCoreValueError, ValueError)
    assert issubclass(flashcore.FlashCoreTypeError, TypeError)
    assert issubclass(flashcore.FlashCoreError, RuntimeError)


def test_validate_args_rejects_unknown_fields():
    with pytest.raises(TypeError, match="unknown arguments: bogus"):
        flashcore.validate_args(bogus=1)


def test_strides_must_be_fourteen_ints():
    with pytest.raises(ValueError, match="14 ints"):
        flashcore.validate_args(**dense(strides=(1, 2, 3)))
    a = dense()
    with pytest.raises(ValueError, match="expected 45 positional arguments"):
        _C.validate(a["q"], a["k"], a["v"], a["o"], 0, 2, 128, 128, 8, 8, 64, 1, 2, 3, 1,
                    False, 0.0, -1, -1, 0.0, 0, 0, 0, 0, 0, 0, -1, 0, 0)  # 29 of 45


def test_binding_rejects_a_non_integer_argument():
    a = dense()
    with pytest.raises(TypeError):
        _C.validate("q", a["k"], a["v"], a["o"], 0, 2, 128, 128, 8, 8, 64, *a["strides"], 1,
                    False, 0.0, -1, -1, 0.0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0)


@pytest.mark.skipif(has_driver(), reason="a CUDA driver is installed here")
def test_forward_without_a_driver_says_so():
    a = dense()
    status = _C.forward(a["q"], a["k"], a["v"], a["o"], a["lse"], 2, 128, 128, 8, 8, 64,
                        *a["strides"], 1, False, 0.0, -1, -1, 0.0, 0, 0, 0, 0,
                        0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0)
    assert status == flashcore.STATUS["NO_DRIVER"]
    with pytest.raises(flashcore.FlashCoreError, match="libcuda.so.1"):
        flashcore.check(status)


def test_forward_checks_arguments_before_the_driver():
    # A bad argument is reported as such whether or not there is a GPU.
    a = dense()
    status = _C.forward(0, a["k"], a["v"], a["o"], 0, 2, 128, 128, 8, 8, 64, *a["strides"], 1,
                        False, 0.0, -1, -1, 0.0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0,
                        0, 0)
    assert status == flashcore.STATUS["NULL_POINTER"]


def test_bad_spec_override_is_reported_with_its_location():
    with pytest.raises(flashcore.FlashCoreError, match="block_n") as info:
        flashcore.set_spec("problem:\n  dtype: bf16\n  head_dim: 128\nschedule:\n  block_n: 300\n")
    assert info.value.status_name == "INVALID_SPEC"
    flashcore.set_spec(None)


def test_workspace_size_of_a_split_call():
    # Decode-shaped: 128 query rows against 4096 keys (32 key blocks), 8 heads.
    b, sq, sk, h, d = 2, 128, 4096, 8, 64
    strides = (sq * h * d, h * d, d) + (sk * h * d, h * d, d) * 2 + (sq * h * d, h * d, d) + (0, 0)
    args = [0x10000, 0x20000, 0x30000, 0x40000, 0, b, sq, sk, h, h, d, *strides, _C.DTYPE_BF16,
            False, 0.0, -1, -1, 0.0, 0, 0, 0, 0, 0]
    nopage = (0, 0, 0, 0, 0)  # no paging; flags
    status, size = _C.workspace_size(*args, 4, 0, 0, 0, *nopage)
    assert status == 0
    # 4 splits x (batch 2 x 128 rows) x 8 heads x (64 fp32 of O + 1 of LSE).
    assert size == 4 * b * sq * h * d * 4 + 4 * b * sq * h * 4
    assert _C.workspace_size(*args, 1, 0, 0, 0, *nopage) == (0, 0)
    # More splits than key blocks are capped at the key blocks (32).
    status, capped = _C.workspace_size(*args, 100, 0, 0, 0, *nopage)
    assert capped == 32 * b * sq * h * d * 4 + 32 * b * sq * h * 4


def test_cache_introspection_works_without_a_gpu():
    stats = flashcore.cache_stats()
    assert set(stats) >= {"memory_hits", "disk_hits", "compiles", "disk_enabled"}
    assert isinstance(flashcore.cache_directory(), str)


def torch_reason():
    """Why the torch functions cannot be checked here (None: they can)."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch
    if not hasattr(torch.library, "custom_op"):
        return "torch %s has no torch.library.custom_op (needs >= 2.4)" % torch.__version__
    return None


@pytest.mark.skipif(torch_reason() is not None, reason=str(torch_reason()))
def test_torch_functions_reject_cpu_tensors():
    import torch
    q = torch.zeros(1, 8, 2, 64, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="q must be a CUDA tensor"):
        flashcore.flash_attn_func(q, q, q)


def test_ring_step_plans_cover_every_chunk_pair_once():
    """flashcore.distributed imports without torch; its ring step plans
    (zig-zag and contiguous, causal or not, 1..8 ranks) compute every
    (query chunk, key chunk) pair once and nothing above the diagonal."""
    from flashcore import distributed as fd
    assert fd.check_step_plans(8) == []


def test_ring_step_plan_check_catches_a_wrong_plan(monkeypatch):
    """The check can fail: zig-zag's 'earlier source' step reading the whole
    block (it must read the first half only) is reported."""
    from flashcore import distributed as fd

    def wrong(rank, src, world):
        plan = fd.StepPlan(fd._ALL, fd._ALL, src == rank)
        return plan if src <= rank else fd.StepPlan(fd._SECOND, fd._ALL, False)
    monkeypatch.setattr(fd, "_zigzag_step_plan", wrong)
    problems = fd.check_step_plans(4)
    assert problems and any("zigzag=True" in p and "computed as" in p for p in problems)
    assert not any("zigzag=False" in p for p in problems)
