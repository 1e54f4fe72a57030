//===- Launcher.h - Validate, compile and launch attention ------*- C++ -*-===//
//
// The path of one flashcore_attention_forward call:
//
//   validateAttentionArgs (pure) -> the handle's Dispatcher resolves the
//   dispatch class to a KernelChoice (cached, lock-free) -> launch plan ->
//   context (stream's, current, or primary of q's device) -> the choice's
//   function in that context (cached, lock-free; on the first call: device
//   check, KernelCache (memory, disk, compile once), ModuleCache (load once
//   per context)) -> pointer residency -> three CUtensorMaps ->
//   cuLaunchKernel on the caller's stream with the parameters in KernelParam
//   order (KernelABI.h).
//
// A warm call therefore takes no lock: besides validation and the plan it
// costs the driver's context and pointer queries, three
// cuTensorMapEncodeTiled and cuLaunchKernel.
//
// planLaunch, the step from arguments to launch geometry, tensor-map
// descriptions and scalar parameters, needs no driver and is unit-tested.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_LAUNCHER_H
#define FLASHCORE_RUNTIME_LAUNCHER_H

#include "compiler/KernelABI.h"
#include "runtime/ArgValidation.h"
#include "runtime/Dispatch.h"
#include "runtime/TensorMap.h"

#include <string>

namespace flashcore {

/// Everything cuLaunchKernel receives, before tensor maps are encoded.
struct LaunchPlan {
  unsigned gridX = 0, gridY = 0, gridZ = 0;
  unsigned threadsPerCta = 0;
  unsigned dynamicSmemBytes = 0;
  TensorMapDesc q, k, v;
  void *o = nullptr;
  float *lse = nullptr;
  /// cu_seqlens_q / cu_seqlens_k of varlen kernels (else null).
  const int32_t *cuSeqlensQ = nullptr, *cuSeqlensK = nullptr;
  int32_t seqlenQ = 0, seqlenK = 0, headsPerKvHead = 1;
  /// Sliding window of local kernels (-1 = unbounded).
  int32_t windowLeft = -1, windowRight = -1;
  /// softmax_scale * log2(e) (softcap kernels: cap * log2(e)): the kernel
  /// uses exp2.
  float scaleLog2 = 0;
  /// softmax_scale / cap (softcap kernels only).
  float softcapScale = 0;
  int64_t oBatchStride = 0, oRowStride = 0, oHeadStride = 0;
  int64_t lseBatchStride = 0, lseHeadStride = 0;
};

/// Builds the plan for validated `args` (see validateAttentionArgs) and the
/// kernel of `spec`, then checks the tensor maps (planTensorMap).
flashcore_status_t planLaunch(const flashcore_attention_args &args,
                              const AttentionCall &call,
                              const AttentionSpec &spec,
                              const KernelGeometry &geometry, LaunchPlan &plan,
                              std::string &message);

/// Runs one forward call end to end. `dispatcher` picks the spec.
flashcore_status_t attentionForward(const Dispatcher &dispatcher,
                                    const flashcore_attention_args *args,
                                    CUstream stream, std::string &message);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_LAUNCHER_H
