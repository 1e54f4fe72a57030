//===- module.cpp - flashcore._C: the pybind11 binding of the C API -------===//
//
// A thin layer over flashcore.h with no libtorch link: tensors arrive as data
// pointers, sizes and element strides (Python ints), the stream as an int.
// Calls return the C API's status code; the Python side (flashcore/_errors.py)
// turns a failure into an exception with flashcore_last_error()'s text, read
// on the same thread right after the call.
//
// forward() and validate() take their arguments positionally, in the order
// of kForwardArgs below, to keep a warm eager call at ~1 µs of binding cost.
// The GIL is released while the C API runs (a first call may generate and
// assemble a kernel for hundreds of milliseconds).
//
//===----------------------------------------------------------------------===//

#include "flashcore/flashcore.h"

#include <pybind11/pybind11.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace py = pybind11;

namespace {

/// The process-wide handle every call uses (created on first use; reads
/// FLASHCORE_SPEC). Creation failures are reported by each call.
struct GlobalHandle {
  std::once_flag once;
  flashcore_handle_t handle = nullptr;
  flashcore_status_t status = FLASHCORE_STATUS_SUCCESS;
  std::string error;
};

GlobalHandle &globalHandle() {
  static GlobalHandle *g = new GlobalHandle(); // never destroyed: no exit order
  std::call_once(g->once, [] {
    g->status = flashcore_create(&g->handle);
    if (g->status != FLASHCORE_STATUS_SUCCESS)
      g->error = flashcore_last_error();
  });
  return *g;
}

/// Status of the handle; on failure, flashcore_last_error() on this thread
/// would be stale, so the creation message is kept and returned by
/// lastError() below.
thread_local std::string handleError;

flashcore_handle_t handleOrStatus(flashcore_status_t &status) {
  GlobalHandle &g = globalHandle();
  status = g.status;
  handleError = status == FLASHCORE_STATUS_SUCCESS ? std::string() : g.error;
  return g.handle;
}

/// Fills the C struct from the positional arguments (see the module doc).
void fillArgs(flashcore_attention_args &a, uintptr_t q, uintptr_t k,
              uintptr_t v, uintptr_t o, uintptr_t lse, int64_t batch,
              int64_t seqlenQ, int64_t seqlenK, int64_t headsQ,
              int64_t headsKv, int64_t headDim, const py::tuple &strides,
              int dtype, bool causal, float scale, int32_t windowLeft,
              int32_t windowRight, float softcap, uintptr_t cuSeqlensQ,
              uintptr_t cuSeqlensK, int64_t totalQ, int64_t totalK) {
  flashcore_attention_args_init(&a);
  a.q = reinterpret_cast<const void *>(q);
  a.k = reinterpret_cast<const void *>(k);
  a.v = reinterpret_cast<const void *>(v);
  a.o = reinterpret_cast<void *>(o);
  a.lse = reinterpret_cast<float *>(lse);
  a.batch = batch;
  a.seqlen_q = seqlenQ;
  a.seqlen_k = seqlenK;
  a.heads_q = headsQ;
  a.heads_kv = headsKv;
  a.head_dim = headDim;
  if (strides.size() != 14)
    throw py::value_error("strides must be a tuple of 14 ints (q, k, v, o: "
                          "batch, seq, head; lse: batch, head), got: " +
                          std::to_string(strides.size()) + " items");
  int64_t *dst[14] = {&a.q_batch_stride,   &a.q_seq_stride,
                      &a.q_head_stride,    &a.k_batch_stride,
                      &a.k_seq_stride,     &a.k_head_stride,
                      &a.v_batch_stride,   &a.v_seq_stride,
                      &a.v_head_stride,    &a.o_batch_stride,
                      &a.o_seq_stride,     &a.o_head_stride,
                      &a.lse_batch_stride, &a.lse_head_stride};
  for (int i = 0; i < 14; ++i)
    *dst[i] = strides[i].cast<int64_t>();
  a.dtype = static_cast<flashcore_dtype_t>(dtype);
  a.causal = causal ? 1 : 0;
  a.softmax_scale = scale;
  a.window_left = windowLeft;
  a.window_right = windowRight;
  a.softcap = softcap;
  a.cu_seqlens_q = reinterpret_cast<const int32_t *>(cuSeqlensQ);
  a.cu_seqlens_k = reinterpret_cast<const int32_t *>(cuSeqlensK);
  a.total_q = totalQ;
  a.total_k = totalK;
}

int forward(uintptr_t q, uintptr_t k, uintptr_t v, uintptr_t o, uintptr_t lse,
            int64_t batch, int64_t seqlenQ, int64_t seqlenK, int64_t headsQ,
            int64_t headsKv, int64_t headDim, const py::tuple &strides,
            int dtype, bool causal, float scale, int32_t windowLeft,
            int32_t windowRight, float softcap, uintptr_t cuSeqlensQ,
            uintptr_t cuSeqlensK, int64_t totalQ, int64_t totalK,
            uintptr_t stream) {
  flashcore_attention_args a;
  fillArgs(a, q, k, v, o, lse, batch, seqlenQ, seqlenK, headsQ, headsKv,
           headDim, strides, dtype, causal, scale, windowLeft, windowRight,
           softcap, cuSeqlensQ, cuSeqlensK, totalQ, totalK);
  py::gil_scoped_release release;
  flashcore_status_t status;
  flashcore_handle_t h = handleOrStatus(status);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  return flashcore_attention_forward(h, &a, reinterpret_cast<CUstream>(stream));
}

int validate(uintptr_t q, uintptr_t k, uintptr_t v, uintptr_t o, uintptr_t lse,
             int64_t batch, int64_t seqlenQ, int64_t seqlenK, int64_t headsQ,
             int64_t headsKv, int64_t headDim, const py::tuple &strides,
             int dtype, bool causal, float scale, int32_t windowLeft,
             int32_t windowRight, float softcap, uintptr_t cuSeqlensQ,
             uintptr_t cuSeqlensK, int64_t totalQ, int64_t totalK) {
  flashcore_attention_args a;
  fillArgs(a, q, k, v, o, lse, batch, seqlenQ, seqlenK, headsQ, headsKv,
           headDim, strides, dtype, causal, scale, windowLeft, windowRight,
           softcap, cuSeqlensQ, cuSeqlensK, totalQ, totalK);
  handleError.clear();
  return flashcore_validate_attention_args(&a);
}

std::string lastError() {
  if (!handleError.empty())
    return handleError;
  return flashcore_last_error();
}

int setSpec(const py::object &yaml) {
  flashcore_status_t status;
  flashcore_handle_t h = handleOrStatus(status);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  if (yaml.is_none())
    return flashcore_set_spec(h, nullptr);
  std::string text = yaml.cast<std::string>();
  return flashcore_set_spec(h, text.c_str());
}

py::dict cacheStats() {
  flashcore_cache_stats s;
  flashcore_cache_stats_init(&s);
  flashcore_status_t status = flashcore_get_cache_stats(&s);
  if (status != FLASHCORE_STATUS_SUCCESS)
    throw std::runtime_error(flashcore_last_error());
  py::dict d;
  d["memory_hits"] = s.memory_hits;
  d["disk_hits"] = s.disk_hits;
  d["compiles"] = s.compiles;
  d["compile_failures"] = s.compile_failures;
  d["disk_writes"] = s.disk_writes;
  d["disk_write_failures"] = s.disk_write_failures;
  d["disk_rejected"] = s.disk_rejected;
  d["disk_enabled"] = bool(s.disk_enabled);
  return d;
}

} // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "FlashCore's C API (flashcore.h) for Python: pointers, sizes, "
            "strides and streams as ints; calls return status codes.";
  m.def("version", [] { return std::string(flashcore_version()); },
        "libflashcore's version string.");
  m.def(
      "status_string",
      [](int status) {
        return std::string(
            flashcore_status_string(static_cast<flashcore_status_t>(status)));
      },
      py::arg("status"), "The C API's text for a status code.");
  m.def("last_error", &lastError,
        "Details of the last failed call on this thread (\"\" after a "
        "success).");
  m.def("forward", &forward,
        "forward(q, k, v, o, lse, batch, seqlen_q, seqlen_k, heads_q, "
        "heads_kv, head_dim, strides, dtype, causal, softmax_scale, "
        "window_left, window_right, softcap, cu_seqlens_q, cu_seqlens_k, "
        "total_q, total_k, stream) -> status: flashcore_attention_forward.");
  m.def("validate", &validate,
        "validate(...forward's arguments without stream) -> status: "
        "flashcore_validate_attention_args (no GPU needed).");
  m.def("set_spec", &setSpec, py::arg("spec_yaml"),
        "Spec YAML text for every later call of this process (None: back to "
        "the built-in choice) -> status.");
  m.def("cache_stats", &cacheStats, "The kernel cache's counters.");
  m.def("cache_directory",
        [] { return std::string(flashcore_cache_directory()); },
        "The disk cache directory (\"\" when memory-only).");
  m.attr("DTYPE_BF16") = int(FLASHCORE_DTYPE_BF16);
  m.attr("DTYPE_FP16") = int(FLASHCORE_DTYPE_FP16);
  // Status codes by name (flashcore_status_t).
  py::dict statuses;
  for (int s = 0; s < 64; ++s) {
    std::string text =
        flashcore_status_string(static_cast<flashcore_status_t>(s));
    if (text.rfind("FLASHCORE_STATUS_", 0) != 0)
      continue;
    statuses[py::str(text.substr(17, text.find(':') - 17))] = s;
  }
  m.attr("STATUS") = statuses;
}
