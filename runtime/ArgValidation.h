//===- ArgValidation.h - Checks of flashcore_attention_args -----*- C++ -*-===//
//
// Everything flashcore_attention_forward checks before it touches the GPU,
// as pure functions: the argument struct alone (validateAttentionArgs), and
// device residency with the driver query injected (checkPointerDevices), so
// both are unit-tested on machines without a driver. Each rejected argument
// has its own status and a message naming the argument and its value.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_ARGVALIDATION_H
#define FLASHCORE_RUNTIME_ARGVALIDATION_H

#include "compiler/Spec.h"
#include "flashcore/flashcore.h"

#include <functional>
#include <string>

namespace flashcore {

/// The largest sequence length the kernel's i32 row indices allow.
inline constexpr int64_t kMaxSeqlen = 2147483647;
/// CUDA grid y / z limits: heads_q and batch are launched along them.
inline constexpr int64_t kMaxGridYZ = 65535;

/// What a valid argument struct implies.
struct AttentionCall {
  /// dtype, head_dim, causal (softmaxScale unset: it is a kernel argument).
  ProblemSpec problem;
  /// The effective scale (the default applied when the caller passed 0).
  float softmaxScale = 0;
  int32_t headsPerKvHead = 1;
  /// Sliding window after FlashAttention's normalisation (causal forces
  /// window_right = 0); meaningful when problem.local.
  int32_t windowLeft = -1, windowRight = -1;
  /// The softcap (problem.softcap iff > 0).
  float softcap = 0;
  /// Key-range splits (problem.splitKv iff > 1) and, in problem.packGqa /
  /// cacheSeqlens, the kernel shape resolveKernelShape chose.
  int32_t numSplits = 1;
  /// The arguments with every version-2 field present (a version-1 struct
  /// is copied in with the defaults of flashcore_attention_args_init).
  flashcore_attention_args args{};
};

/// Sets the problem's cache_seqlens / pack_gqa / split_kv flags and the
/// number of splits for a call on a device of `smCount` SMs: the caller's
/// num_splits / pack_gqa when given, else FA3's heuristics
/// (compiler/TileSchedule.h). With `preferred` (a spec override's problem),
/// its split_kv and pack_gqa decide where the caller left them to the runtime
/// and the shape allows them, so that a spec for a problem runs on every
/// shape it can.
void resolveKernelShape(AttentionCall &call, int smCount,
                        const ProblemSpec *preferred = nullptr);
/// The SM count heuristics assume before the launch device is known: the
/// last device a kernel was bound on (132 until then, H100/H200).
int smCountHint();
void noteSmCount(int smCount);
/// Workspace bytes of a split call (0 otherwise) and its rows
/// (batch * seqlen_q, or total_q).
size_t workspaceBytes(const AttentionCall &call);
int64_t accumRows(const AttentionCall &call);
/// Where LSE_accum starts in the workspace (after O_accum), in bytes.
size_t lseAccumOffset(const AttentionCall &call);

/// Checks `args` (everything but device residency). Returns
/// FLASHCORE_STATUS_SUCCESS and fills `call`, or a status with `message`.
/// `preferred` (a spec override's problem) goes to resolveKernelShape.
flashcore_status_t validateAttentionArgs(const flashcore_attention_args *args,
                                         AttentionCall &call,
                                         std::string &message,
                                         const ProblemSpec *preferred = nullptr);

/// Byte alignment of q, k, v, o (TMA) and of lse.
constexpr int64_t kTensorAlignment = 16;
constexpr int64_t kLseAlignment = 4;

/// q, k, v, o non-null and kTensorAlignment-aligned, lse null or
/// kLseAlignment-aligned (what validateAttentionArgs checks of the pointers;
/// a prepared launch's new pointers are checked with it).
flashcore_status_t checkTensorPointers(const void *q, const void *k,
                                       const void *v, const void *o,
                                       const void *lse, std::string &message);

/// Where a pointer lives: true and the device ordinal, or false with a reason
/// (e.g. a host pointer the driver does not know).
using PointerDeviceQuery =
    std::function<bool(const void *ptr, int &device, std::string &error)>;

/// Checks that q, k, v, o and lse (when set) are memory of `device`.
flashcore_status_t checkPointerDevices(const flashcore_attention_args &args,
                                       int device,
                                       const PointerDeviceQuery &query,
                                       std::string &message);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_ARGVALIDATION_H
