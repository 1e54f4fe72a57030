//===- Launcher.h - Validate, compile and launch attention ------*- C++ -*-===//
//
// The path of one flashcore_attention_forward call:
//
//   validateAttentionArgs (pure) -> the handle's Dispatcher resolves the
//   dispatch class to a KernelChoice (cached, lock-free) -> launch plan ->
//   context (stream's, current, or primary of q's device) -> the choice's
//   function in that context (cached, lock-free; on the first call: device
//   check, KernelCache (memory, disk, compile once), ModuleCache (load once
//   per context)) -> pointer residency -> for each launch of the plan: its
//   CUtensorMaps and cuLaunchKernel on the caller's stream with the
//   parameters of its kind's ABI table (KernelABI.h, KernelArgs.h).
//
// A warm call therefore takes no lock: besides validation and the plan it
// costs the driver's context and pointer queries, one
// cuTensorMapEncodeTiled per tensor map and one cuLaunchKernel per launch.
//
// planLaunch, the step from arguments to a launch plan (geometry, tensor-map
// descriptions and scalar parameters), needs no driver and is unit-tested.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_LAUNCHER_H
#define FLASHCORE_RUNTIME_LAUNCHER_H

#include "compiler/KernelABI.h"
#include "runtime/ArgValidation.h"
#include "runtime/Dispatch.h"
#include "runtime/KernelArgs.h"
#include "runtime/TensorMap.h"

#include <optional>
#include <string>

namespace flashcore {

/// One kernel launch of a plan: geometry and the arguments, packed by the
/// kernel kind's ABI table (tensor maps described, encoded at launch).
struct KernelLaunch {
  unsigned grid[3] = {0, 1, 1};
  unsigned threadsPerCta = 0;
  unsigned dynamicSmemBytes = 0;
  /// static_persistent kernels: the number of work tiles; grid[0] becomes
  /// min(tiles, SMs) once the device is known (setPersistentGrid).
  int64_t persistentTiles = 0;
  /// CTAs per SM of a persistent grid (the spec's ctas_per_sm).
  int ctasPerSm = 1;
  /// Launched as a programmatic dependent of the previous launch of the plan
  /// (CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION): it may start
  /// while that one finishes and waits for it with griddepcontrol.wait (the
  /// split-KV combine). A plain launch where the driver lacks
  /// cuLaunchKernelEx or FLASHCORE_PDL=0.
  bool programmatic = false;
  KernelArgPack args;
};

/// What one call runs: one or more kernel launches on the caller's stream, in
/// order, sharing a device workspace (split-KV's partial results; a
/// backward's accumulators). A forward call is one launch and no workspace.
struct LaunchPlan {
  static constexpr int kMaxLaunches = 2;
  int numLaunches = 0;
  KernelLaunch launches[kMaxLaunches];
  size_t workspaceBytes = 0;

  /// Starts the next launch, of `kind` (no copies: the slot is reset).
  KernelLaunch &add(KernelKind kind) {
    KernelLaunch &l = launches[numLaunches++];
    l.grid[0] = 0;
    l.grid[1] = l.grid[2] = 1;
    l.threadsPerCta = l.dynamicSmemBytes = 0;
    l.persistentTiles = 0;
    l.ctasPerSm = 1;
    l.programmatic = false;
    l.args.reset(kind);
    return l;
  }
  /// Empties the plan.
  void clear() {
    numLaunches = 0;
    workspaceBytes = 0;
    lseAccumOffset = 0;
    tileCounter = false;
  }
  /// Points every launch at new q, k, v, o and lse (the same shapes and
  /// strides): the pointer parameters and the tensor maps' addresses (a
  /// prepared launch). False with a message when a map cannot be rebased.
  bool setTensors(const cuda::DriverApi &driver, const void *q, const void *k,
                  const void *v, void *o, float *lse, std::string &message);
  /// Sets the grid of every persistent launch for a device of `smCount` SMs.
  void setPersistentGrid(int smCount);
  /// Points every launch's workspace parameters (split-KV's O_accum and
  /// LSE_accum) into `workspace` (workspaceBytes of device memory).
  void setWorkspace(void *workspace);
  /// dynamic_persistent: the workspace's first 8 bytes are the forward's
  /// tile counter (i32[2]: tiles handed out, CTAs finished), zeroed on the
  /// stream before the launch (or a stream's own counter: streamTileCounter).
  bool tileCounter = false;
  static constexpr size_t kTileCounterBytes = 16;
  /// Byte offset of LSE_accum in the workspace.
  size_t lseAccumOffset = 0;
};

/// Builds the plan for validated `args` (see validateAttentionArgs) and the
/// kernel of `spec`, then checks the tensor maps (planTensorMap).
flashcore_status_t planLaunch(const flashcore_attention_args &args,
                              const AttentionCall &call,
                              const AttentionSpec &spec,
                              const KernelGeometry &geometry, LaunchPlan &plan,
                              std::string &message);

/// The workspace a forward call of `args` needs (0 when it does not split),
/// with `dispatcher`'s spec override deciding split-KV as the call would.
flashcore_status_t attentionWorkspaceSize(const Dispatcher &dispatcher,
                                          const flashcore_attention_args *args,
                                          size_t &bytes, std::string &message);

/// FLASHCORE_TILE_COUNTER=stream (read once; default off): a launch of the
/// dynamic scheduler without a caller's workspace, on a stream that is not
/// being captured, takes its tile counter from streamTileCounter instead of
/// a per-call workspace zeroed by cuMemsetD8Async (no allocation and no
/// memset per call). The kernel leaves the counter zeroed: its last
/// CTA resets it (TileScheduler.cpp).
bool streamTileCountersEnabled();

/// The tile counter (LaunchPlan::kTileCounterBytes, zeroed on `stream` when
/// first made) of (context, stream), one per stream for the context's
/// lifetime: launches on one stream run in order, so no two of them use it
/// at once; other streams have their own (cuStreamGetId is unique within
/// the context). 0 when the stream is capturing (a graph may replay on any
/// stream: the caller takes the per-call path), when the driver lacks
/// cuStreamGetId, cuStreamIsCapturing or stream-ordered allocation, when kMaxStreamTileCounters are
/// in use (by every context together: a cliff back to the per-call path,
/// not an error), or when the stream-ordered allocation fails.
CUdeviceptr streamTileCounter(const cuda::DriverApi &d, CUcontext ctx,
                              CUstream stream);
inline constexpr size_t kMaxStreamTileCounters = 1024;

/// One forward call validated, dispatched, planned and bound to its context:
/// what a launch needs but the launch itself. A flashcore_plan_t holds one.
struct PreparedForward {
  AttentionCall call;
  LaunchPlan plan;
  const cuda::DriverApi *driver = nullptr;
  CUcontext ctx = nullptr;
  int device = 0;
  int arch = 90;
  /// The generated kernels loaded in ctx (null for templates): the handle's
  /// choice's; a plan points it at a copy of its own (flashcore_plan_st), so
  /// it does not depend on the handle's lifetime.
  const BoundKernel *bound = nullptr;
  /// The nvrtc fallback (before Hopper or FLASHCORE_BACKEND=templates): the
  /// choice's specs, instantiated at each launch (cached).
  bool templates = false;
  AttentionSpec spec;
  std::optional<AttentionSpec> combineSpec;
};

/// Steps 1-5 of a forward call: validation, the dispatcher's choice, the
/// plan, the context (made current in `scoped`), the kernels loaded in it,
/// pointer residency. Launches nothing.
flashcore_status_t prepareForward(const Dispatcher &dispatcher,
                                  const flashcore_attention_args *args,
                                  CUstream stream, PreparedForward &prepared,
                                  cuda::ScopedContext &scoped,
                                  std::string &message);

/// Pointer residency of the prepared arguments on its device (skipped with
/// FLASHCORE_ARGS_POINTERS_CHECKED).
flashcore_status_t checkResidency(const PreparedForward &prepared,
                                  std::string &message);

/// Steps 6-7: the workspace (split-KV, dynamic scheduler) and the launches
/// on `stream`, whose context must be current or the stream's.
flashcore_status_t runPrepared(PreparedForward &prepared, CUstream stream,
                               std::string &message);

/// A prepared call again with new tensors: the pointers checked like
/// flashcore_attention_forward's (alignment; residency unless
/// FLASHCORE_ARGS_POINTERS_CHECKED), `stream` of the prepared context, then
/// the launches. lse may be null; non-null only if the prepared call had one.
flashcore_status_t launchPrepared(PreparedForward &prepared, const void *q,
                                  const void *k, const void *v, void *o,
                                  float *lse, CUstream stream,
                                  std::string &message);

/// Runs one forward call end to end. `dispatcher` picks the spec.
flashcore_status_t attentionForward(const Dispatcher &dispatcher,
                                    const flashcore_attention_args *args,
                                    CUstream stream, std::string &message);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_LAUNCHER_H
