//===- CApi.cpp - The C ABI of libflashcore (flashcore.h) -----------------===//
//
// Thin: every entry point clears or sets the thread-local last error and
// forwards to the C++ runtime. No exception crosses the C boundary.
//
//===----------------------------------------------------------------------===//

#include "flashcore/flashcore.h"
#include "runtime/ArgValidation.h"
#include "runtime/Dispatch.h"
#include "runtime/KernelCache.h"
#include "runtime/Launcher.h"

#include <cstring>
#include <exception>
#include <memory>
#include <new>

#ifndef FLASHCORE_VERSION_STRING
#define FLASHCORE_VERSION_STRING "0.0.0"
#endif

struct flashcore_handle_st {
  /// Guards against use after destroy (best effort).
  unsigned magic = kMagic;
  flashcore::Dispatcher dispatcher;
  static constexpr unsigned kMagic = 0xF1A5C0DE;
};

struct flashcore_plan_st {
  unsigned magic = kMagic;
  flashcore::PreparedForward prepared;
  /// The bound kernels, copied out of the handle's choice.
  flashcore::BoundKernel kernels;
  static constexpr unsigned kMagic = 0xF1A5D1A9;
};

namespace {

thread_local std::string lastError;

flashcore_status_t finish(flashcore_status_t status, std::string message) {
  lastError = status == FLASHCORE_STATUS_SUCCESS ? std::string()
                                                 : std::move(message);
  return status;
}

bool validHandle(flashcore_handle_t h) {
  return h && h->magic == flashcore_handle_st::kMagic;
}

/// Runs `body`, turning an escaping exception into INTERNAL_ERROR.
template <typename Body> flashcore_status_t guarded(Body body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return finish(FLASHCORE_STATUS_INTERNAL_ERROR, "out of host memory");
  } catch (const std::exception &e) {
    return finish(FLASHCORE_STATUS_INTERNAL_ERROR,
                  std::string("internal error: ") + e.what());
  } catch (...) {
    return finish(FLASHCORE_STATUS_INTERNAL_ERROR, "internal error");
  }
}

} // namespace

extern "C" {

void flashcore_attention_args_init_sized(flashcore_attention_args *args,
                                         size_t structSize) {
  if (!args || (structSize != sizeof(*args) &&
                structSize != FLASHCORE_ATTENTION_ARGS_V3_SIZE &&
                structSize != FLASHCORE_ATTENTION_ARGS_V2_SIZE &&
                structSize != FLASHCORE_ATTENTION_ARGS_V1_SIZE))
    return;
  flashcore_attention_args full;
  std::memset(&full, 0, sizeof full);
  full.struct_size = structSize;
  full.window_left = -1;
  full.window_right = -1;
  full.num_splits = 0;
  full.pack_gqa = -1;
  std::memcpy(args, &full, structSize); // never past the caller's struct
}

// The exported name, for binaries built against a version-2 header (source
// built against this one reaches _sized through the header's macro).
#undef flashcore_attention_args_init
void flashcore_attention_args_init(flashcore_attention_args *args) {
  flashcore_attention_args_init_sized(args, FLASHCORE_ATTENTION_ARGS_V2_SIZE);
}

void flashcore_attention_args_set_contiguous_strides(
    flashcore_attention_args *a) {
  if (!a)
    return;
  auto set = [&](int64_t seqlen, int64_t heads, int64_t &b, int64_t &s,
                 int64_t &h) {
    h = a->head_dim;
    s = heads * a->head_dim;
    b = seqlen * heads * a->head_dim;
  };
  set(a->seqlen_q, a->heads_q, a->q_batch_stride, a->q_seq_stride,
      a->q_head_stride);
  set(a->seqlen_k, a->heads_kv, a->k_batch_stride, a->k_seq_stride,
      a->k_head_stride);
  set(a->seqlen_k, a->heads_kv, a->v_batch_stride, a->v_seq_stride,
      a->v_head_stride);
  set(a->seqlen_q, a->heads_q, a->o_batch_stride, a->o_seq_stride,
      a->o_head_stride);
  a->lse_head_stride = a->seqlen_q;
  a->lse_batch_stride = a->heads_q * a->seqlen_q;
  if (a->struct_size >= FLASHCORE_ATTENTION_ARGS_V2_SIZE && a->cu_seqlens_q) {
    // Packed: the batch dimension is the packed sequence.
    set(a->total_q, a->heads_q, a->q_batch_stride, a->q_seq_stride,
        a->q_head_stride);
    set(a->total_k, a->heads_kv, a->k_batch_stride, a->k_seq_stride,
        a->k_head_stride);
    set(a->total_k, a->heads_kv, a->v_batch_stride, a->v_seq_stride,
        a->v_head_stride);
    set(a->total_q, a->heads_q, a->o_batch_stride, a->o_seq_stride,
        a->o_head_stride);
    a->q_batch_stride = a->k_batch_stride = a->v_batch_stride =
        a->o_batch_stride = 0;
    a->lse_head_stride = a->total_q;
    a->lse_batch_stride = 0;
  }
}

const char *flashcore_status_string(flashcore_status_t status) {
  switch (status) {
#define FC_STATUS(NAME, TEXT)                                                  \
  case NAME:                                                                   \
    return #NAME ": " TEXT;
    FC_STATUS(FLASHCORE_STATUS_SUCCESS, "success")
    FC_STATUS(FLASHCORE_STATUS_INVALID_HANDLE,
              "the handle is null or was destroyed")
    FC_STATUS(FLASHCORE_STATUS_INVALID_STRUCT,
              "the argument struct is null or has an unknown struct_size")
    FC_STATUS(FLASHCORE_STATUS_NULL_POINTER, "a required pointer is null")
    FC_STATUS(FLASHCORE_STATUS_MISALIGNED_POINTER,
              "a pointer is not aligned as the kernel needs")
    FC_STATUS(FLASHCORE_STATUS_INVALID_SIZE, "a size is zero or negative")
    FC_STATUS(FLASHCORE_STATUS_SIZE_TOO_LARGE,
              "a size exceeds what the kernel can index")
    FC_STATUS(FLASHCORE_STATUS_INVALID_STRIDE,
              "a stride is not positive, not a multiple of 16 bytes, or too "
              "large")
    FC_STATUS(FLASHCORE_STATUS_OVERLAPPING_STRIDES,
              "strides make distinct elements share memory")
    FC_STATUS(FLASHCORE_STATUS_UNSUPPORTED_DTYPE,
              "the data type is not supported")
    FC_STATUS(FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM,
              "the head dimension is not supported")
    FC_STATUS(FLASHCORE_STATUS_HEADS_MISMATCH,
              "heads_q is not a multiple of heads_kv")
    FC_STATUS(FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE,
              "the softmax scale is negative, NaN or infinite")
    FC_STATUS(FLASHCORE_STATUS_WRONG_DEVICE,
              "a pointer is not memory of the launch device")
    FC_STATUS(FLASHCORE_STATUS_UNSUPPORTED_DEVICE,
              "the GPU or the call is not supported (capability 9.0 runs the "
              "generated kernels, 8.x the nvrtc fallback)")
    FC_STATUS(FLASHCORE_STATUS_NO_DRIVER,
              "no usable CUDA driver (libcuda.so.1)")
    FC_STATUS(FLASHCORE_STATUS_CUDA_ERROR, "a CUDA driver call failed")
    FC_STATUS(FLASHCORE_STATUS_COMPILE_ERROR,
              "generating or assembling the kernel failed")
    FC_STATUS(FLASHCORE_STATUS_INVALID_SPEC, "the spec override is invalid")
    FC_STATUS(FLASHCORE_STATUS_SPEC_MISMATCH,
              "the spec override is for another problem")
    FC_STATUS(FLASHCORE_STATUS_INTERNAL_ERROR, "internal error")
    FC_STATUS(FLASHCORE_STATUS_INVALID_WINDOW,
              "a sliding-window size is below -1")
    FC_STATUS(FLASHCORE_STATUS_INVALID_SOFTCAP,
              "the softcap is negative, NaN or infinite")
    FC_STATUS(FLASHCORE_STATUS_INVALID_VARLEN,
              "the variable-length (cu_seqlens) arguments are inconsistent")
    FC_STATUS(FLASHCORE_STATUS_INVALID_KV_CACHE,
              "the KV-cache / split-KV arguments are inconsistent")
    FC_STATUS(FLASHCORE_STATUS_PLAN_MISMATCH,
              "an argument does not fit the prepared plan")
#undef FC_STATUS
  }
  return "unknown flashcore status";
}

const char *flashcore_last_error(void) { return lastError.c_str(); }

const char *flashcore_version(void) { return FLASHCORE_VERSION_STRING; }

flashcore_status_t flashcore_create(flashcore_handle_t *handle) {
  return guarded([&] {
    if (!handle)
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "handle must point to a flashcore_handle_t, got: null");
    *handle = nullptr;
    auto h = std::make_unique<flashcore_handle_st>();
    std::string error;
    if (!h->dispatcher.loadEnvironmentOverride(error))
      return finish(FLASHCORE_STATUS_INVALID_SPEC, error);
    *handle = h.release();
    return finish(FLASHCORE_STATUS_SUCCESS, "");
  });
}

flashcore_status_t flashcore_destroy(flashcore_handle_t handle) {
  if (!handle)
    return finish(FLASHCORE_STATUS_SUCCESS, ""); // like free(NULL)
  if (!validHandle(handle))
    return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                  "handle was not created by flashcore_create or was "
                  "destroyed already");
  handle->magic = 0;
  delete handle;
  return finish(FLASHCORE_STATUS_SUCCESS, "");
}

flashcore_status_t flashcore_set_spec(flashcore_handle_t handle,
                                      const char *spec_yaml) {
  return guarded([&] {
    if (!validHandle(handle))
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "handle must come from flashcore_create, got: " +
                        flashcore::hexPointer(handle));
    if (!spec_yaml) {
      handle->dispatcher.clearOverride();
      return finish(FLASHCORE_STATUS_SUCCESS, "");
    }
    std::string error;
    if (!handle->dispatcher.setOverrideText(spec_yaml, "<flashcore_set_spec>",
                                            error))
      return finish(FLASHCORE_STATUS_INVALID_SPEC, error);
    return finish(FLASHCORE_STATUS_SUCCESS, "");
  });
}

flashcore_status_t
flashcore_validate_attention_args(const flashcore_attention_args *args) {
  return guarded([&] {
    flashcore::AttentionCall call;
    std::string message;
    flashcore_status_t status =
        flashcore::validateAttentionArgs(args, call, message);
    return finish(status, message);
  });
}

flashcore_status_t
flashcore_attention_forward(flashcore_handle_t handle,
                            const flashcore_attention_args *args,
                            CUstream stream) {
  return guarded([&] {
    if (!validHandle(handle))
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "handle must come from flashcore_create, got: " +
                        flashcore::hexPointer(handle));
    std::string message;
    flashcore_status_t status =
        flashcore::attentionForward(handle->dispatcher, args, stream, message);
    return finish(status, message);
  });
}

flashcore_status_t
flashcore_attention_plan_create(flashcore_handle_t handle,
                                const flashcore_attention_args *args,
                                CUstream stream, flashcore_plan_t *plan) {
  return guarded([&] {
    if (!plan)
      return finish(FLASHCORE_STATUS_NULL_POINTER,
                    "plan must point to a flashcore_plan_t, got: null");
    *plan = nullptr;
    if (!validHandle(handle))
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "handle must come from flashcore_create, got: " +
                        flashcore::hexPointer(handle));
    auto p = std::make_unique<flashcore_plan_st>();
    std::string message;
    flashcore::cuda::ScopedContext scoped;
    flashcore_status_t status = flashcore::prepareForward(
        handle->dispatcher, args, stream, p->prepared, scoped, message);
    if (status == FLASHCORE_STATUS_SUCCESS) {
      if (p->prepared.bound) {
        p->kernels = *p->prepared.bound;
        p->prepared.bound = &p->kernels;
      }
      *plan = p.release();
    }
    return finish(status, message);
  });
}

flashcore_status_t flashcore_attention_plan_launch(flashcore_plan_t plan,
                                                   const void *q,
                                                   const void *k,
                                                   const void *v, void *o,
                                                   float *lse,
                                                   CUstream stream) {
  return guarded([&] {
    if (!plan || plan->magic != flashcore_plan_st::kMagic)
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "plan must come from flashcore_attention_plan_create, "
                    "got: " +
                        flashcore::hexPointer(plan));
    std::string message;
    flashcore_status_t status = flashcore::launchPrepared(
        plan->prepared, q, k, v, o, lse, stream, message);
    return finish(status, message);
  });
}

void flashcore_attention_plan_destroy(flashcore_plan_t plan) {
  if (!plan || plan->magic != flashcore_plan_st::kMagic)
    return;
  plan->magic = 0;
  delete plan;
}

flashcore_status_t
flashcore_attention_workspace_size(flashcore_handle_t handle,
                                   const flashcore_attention_args *args,
                                   size_t *bytes) {
  return guarded([&] {
    if (!validHandle(handle))
      return finish(FLASHCORE_STATUS_INVALID_HANDLE,
                    "handle must come from flashcore_create, got: " +
                        flashcore::hexPointer(handle));
    if (!bytes)
      return finish(FLASHCORE_STATUS_NULL_POINTER,
                    "bytes must point to a size_t, got: null");
    std::string message;
    size_t size = 0;
    flashcore_status_t status =
        flashcore::attentionWorkspaceSize(handle->dispatcher, args, size,
                                          message);
    if (status == FLASHCORE_STATUS_SUCCESS)
      *bytes = size;
    return finish(status, message);
  });
}

void flashcore_cache_stats_init(flashcore_cache_stats *stats) {
  if (!stats)
    return;
  std::memset(stats, 0, sizeof(*stats));
  stats->struct_size = sizeof(*stats);
}

flashcore_status_t flashcore_get_cache_stats(flashcore_cache_stats *stats) {
  return guarded([&] {
    if (!stats || stats->struct_size != sizeof(flashcore_cache_stats))
      return finish(FLASHCORE_STATUS_INVALID_STRUCT,
                    "stats must be initialized with "
                    "flashcore_cache_stats_init, got: " +
                        (stats ? "struct_size " +
                                     std::to_string(stats->struct_size)
                               : std::string("null")));
    flashcore::KernelCacheStats s = flashcore::globalKernelCache().stats();
    stats->memory_hits = s.memoryHits;
    stats->disk_hits = s.diskHits;
    stats->compiles = s.compiles;
    stats->compile_failures = s.compileFailures;
    stats->disk_writes = s.disk.writes;
    stats->disk_write_failures = s.disk.writeFailures;
    stats->disk_rejected = s.disk.rejected;
    stats->disk_enabled = s.diskEnabled ? 1 : 0;
    stats->reserved = 0;
    return finish(FLASHCORE_STATUS_SUCCESS, "");
  });
}

const char *flashcore_cache_directory(void) {
  try {
    static const std::string dir = [] {
      std::shared_ptr<flashcore::DiskCache> disk =
          flashcore::globalKernelCache().diskCache();
      return disk ? disk->directory() : std::string();
    }();
    std::shared_ptr<flashcore::DiskCache> disk =
        flashcore::globalKernelCache().diskCache();
    return disk && disk->writable() ? dir.c_str() : "";
  } catch (...) {
    return "";
  }
}

} // extern "C"
