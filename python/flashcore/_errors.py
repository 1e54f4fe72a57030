"""C API status codes as Python exceptions (no torch needed).

Argument errors (the caller passed something FlashCore cannot take) become
``ValueError`` (``TypeError`` for an unsupported dtype) with the C API's
message, which names the argument and the value; everything else becomes
``FlashCoreError`` (a ``RuntimeError``) carrying the status code.
"""

from . import _C

STATUS = dict(_C.STATUS)
_BY_CODE = {code: name for name, code in STATUS.items()}

# Statuses that mean "this argument is wrong" (flashcore.h documents each).
_VALUE_ERRORS = {
    "INVALID_STRUCT", "NULL_POINTER", "MISALIGNED_POINTER", "INVALID_SIZE",
    "SIZE_TOO_LARGE", "INVALID_STRIDE", "OVERLAPPING_STRIDES",
    "UNSUPPORTED_HEAD_DIM", "HEADS_MISMATCH", "INVALID_SOFTMAX_SCALE",
    "WRONG_DEVICE", "INVALID_WINDOW", "INVALID_SOFTCAP", "INVALID_VARLEN", "INVALID_KV_CACHE",
    "PLAN_MISMATCH",
}
_TYPE_ERRORS = {"UNSUPPORTED_DTYPE"}


class FlashCoreError(RuntimeError):
    """A FlashCore call failed for a reason other than a bad argument (no
    driver, not a Hopper GPU, a CUDA or compile error, a bad spec override).
    ``status`` is the C API's code, ``status_name`` its name."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = _BY_CODE.get(status, "UNKNOWN")


class FlashCoreValueError(ValueError):
    """A bad argument, as rejected by the C API (``status`` as above)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = _BY_CODE.get(status, "UNKNOWN")


class FlashCoreTypeError(TypeError):
    """An unsupported dtype, as rejected by the C API."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = _BY_CODE.get(status, "UNKNOWN")


def error_for(status, context=""):
    """The exception for a failed status (call right after the failing call,
    on the same thread: the message is the thread's last error)."""
    name = _BY_CODE.get(status, "UNKNOWN")
    detail = _C.last_error()
    text = _C.status_string(status)
    message = "flashcore%s: %s%s" % (
        " " + context if context else "", text, (": " + detail) if detail else "")
    if name in _TYPE_ERRORS:
        return FlashCoreTypeError(status, message)
    if name in _VALUE_ERRORS:
        return FlashCoreValueError(status, message)
    return FlashCoreError(status, message)


def check(status, context=""):
    """Raises error_for(status) unless status is SUCCESS (0)."""
    if status:
        raise error_for(status, context)
