//===- Runtime.h - Header-only C++ wrapper over the C API -------*- C++ -*-===//
//
// RAII and std::string over flashcore.h, with no exceptions: every call
// returns a Status carrying the code and the thread's last error message.
// Being header-only, it depends on nothing but the stable C ABI.
//
//   flashcore::Handle handle;
//   if (flashcore::Status s = handle.init(); !s)
//     std::cerr << s.message << "\n";
//   flashcore_attention_args args = flashcore::contiguousArgs(...);
//   flashcore::Status s = handle.forward(args, stream);
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_H
#define FLASHCORE_RUNTIME_H

#include "flashcore/flashcore.h"

#include <string>
#include <utility>

namespace flashcore {

struct Status {
  flashcore_status_t code = FLASHCORE_STATUS_SUCCESS;
  /// flashcore_last_error() right after the call ("" on success).
  std::string message;

  bool ok() const { return code == FLASHCORE_STATUS_SUCCESS; }
  explicit operator bool() const { return ok(); }
  /// "FLASHCORE_STATUS_X: summary: message".
  std::string str() const {
    std::string s = flashcore_status_string(code);
    if (!message.empty())
      s += ": " + message;
    return s;
  }

  static Status last(flashcore_status_t code) {
    return Status{code, code == FLASHCORE_STATUS_SUCCESS
                            ? std::string()
                            : std::string(flashcore_last_error())};
  }
};

/// Owns a flashcore_handle_t. Move-only.
class Handle {
public:
  Handle() = default;
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  Handle(Handle &&other) noexcept : handle(std::exchange(other.handle, nullptr)) {}
  Handle &operator=(Handle &&other) noexcept {
    if (this != &other) {
      reset();
      handle = std::exchange(other.handle, nullptr);
    }
    return *this;
  }
  ~Handle() { reset(); }

  /// Creates the underlying handle (reads FLASHCORE_SPEC).
  Status init() {
    reset();
    return Status::last(flashcore_create(&handle));
  }
  void reset() {
    if (handle)
      flashcore_destroy(handle);
    handle = nullptr;
  }
  flashcore_handle_t get() const { return handle; }

  /// Spec YAML text for every later call; setSpec("") is an error, use
  /// clearSpec() to go back to the default choice.
  Status setSpec(const std::string &yaml) {
    return Status::last(flashcore_set_spec(handle, yaml.c_str()));
  }
  Status clearSpec() { return Status::last(flashcore_set_spec(handle, nullptr)); }

  Status forward(const flashcore_attention_args &args, CUstream stream) const {
    return Status::last(flashcore_attention_forward(handle, &args, stream));
  }

private:
  flashcore_handle_t handle = nullptr;
};

/// A prepared forward call (flashcore_attention_plan_*): created once from a
/// handle and the arguments, launched with new tensor pointers. Move-only;
/// valid after its handle is gone.
class Plan {
public:
  Plan() = default;
  Plan(const Plan &) = delete;
  Plan &operator=(const Plan &) = delete;
  Plan(Plan &&other) noexcept : plan(std::exchange(other.plan, nullptr)) {}
  Plan &operator=(Plan &&other) noexcept {
    if (this != &other) {
      reset();
      plan = std::exchange(other.plan, nullptr);
    }
    return *this;
  }
  ~Plan() { reset(); }

  /// flashcore_attention_plan_create on `handle` for `args` in the context a
  /// forward on `stream` would use.
  Status init(const Handle &handle, const flashcore_attention_args &args,
              CUstream stream) {
    reset();
    return Status::last(
        flashcore_attention_plan_create(handle.get(), &args, stream, &plan));
  }
  void reset() {
    flashcore_attention_plan_destroy(plan);
    plan = nullptr;
  }
  flashcore_plan_t get() const { return plan; }

  /// The plan's forward with these tensors (flashcore_attention_plan_launch).
  Status launch(const void *q, const void *k, const void *v, void *o,
                float *lse, CUstream stream) {
    return Status::last(
        flashcore_attention_plan_launch(plan, q, k, v, o, lse, stream));
  }

private:
  flashcore_plan_t plan = nullptr;
};

/// The process-wide kernel cache counters (flashcore_get_cache_stats).
inline Status cacheStats(flashcore_cache_stats &stats) {
  flashcore_cache_stats_init(&stats);
  return Status::last(flashcore_get_cache_stats(&stats));
}

/// The disk cache directory in use ("" when memory-only).
inline std::string cacheDirectory() { return flashcore_cache_directory(); }

/// Arguments for contiguous (batch, seqlen, heads, head_dim) tensors and a
/// contiguous (batch, heads_q, seqlen_q) LSE (optional).
inline flashcore_attention_args
contiguousArgs(const void *q, const void *k, const void *v, void *o,
               int64_t batch, int64_t seqlenQ, int64_t seqlenK, int64_t headsQ,
               int64_t headsKv, int64_t headDim, flashcore_dtype_t dtype,
               bool causal, float softmaxScale = 0, float *lse = nullptr) {
  flashcore_attention_args a;
  flashcore_attention_args_init(&a);
  a.q = q;
  a.k = k;
  a.v = v;
  a.o = o;
  a.lse = lse;
  a.batch = batch;
  a.seqlen_q = seqlenQ;
  a.seqlen_k = seqlenK;
  a.heads_q = headsQ;
  a.heads_kv = headsKv;
  a.head_dim = headDim;
  a.dtype = dtype;
  a.causal = causal ? 1 : 0;
  a.softmax_scale = softmaxScale;
  flashcore_attention_args_set_contiguous_strides(&a);
  return a;
}

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_H
