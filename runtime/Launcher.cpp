//===- Launcher.cpp - Attention forward: validate, compile, launch --------===//

#include "runtime/Launcher.h"
#include "runtime/KernelCache.h"

#include <cmath>
#include <map>
#include <mutex>

namespace flashcore {

static_assert(kNumKernelParams == 19,
              "the kernel ABI changed: update LaunchPlan and launchKernel");

flashcore_status_t planLaunch(const flashcore_attention_args &a,
                              const AttentionCall &call,
                              const AttentionSpec &spec,
                              const KernelGeometry &g, LaunchPlan &plan,
                              std::string &message) {
  plan = LaunchPlan();
  int64_t queryBlocks = numQueryBlocks(spec, a.seqlen_q);
  plan.gridX = unsigned(queryBlocks);
  plan.gridY = unsigned(a.heads_q);
  plan.gridZ = unsigned(a.batch);
  plan.threadsPerCta = unsigned(g.threadsPerCta);
  plan.dynamicSmemBytes = unsigned(g.smem.dynamicSmemBytes);

  auto operand = [&](const char *name, const void *ptr, int64_t seqlen,
                     int64_t heads, int64_t rowStride, int64_t headStride,
                     int64_t batchStride, int64_t boxRows) {
    TensorMapDesc d;
    d.name = name;
    d.base = ptr;
    d.dtype = spec.problem.dtype;
    d.headDim = a.head_dim;
    d.seqlen = seqlen;
    d.heads = heads;
    d.batch = a.batch;
    d.rowStride = rowStride;
    d.headStride = headStride;
    d.batchStride = batchStride;
    d.boxCols = g.boxCols;
    d.boxRows = boxRows;
    d.swizzleBytes = spec.schedule.swizzle;
    return d;
  };
  // Varlen tensors are packed: one "batch" of total rows; the kernel adds
  // cu_seqlens[b] to the row coordinate.
  const bool varlen = spec.problem.varlen;
  const int64_t rowsQ = varlen ? a.total_q : a.seqlen_q;
  const int64_t rowsK = varlen ? a.total_k : a.seqlen_k;
  auto batchStride = [&](int64_t stride, int64_t rows, int64_t rowStride) {
    return varlen ? rows * rowStride : stride;
  };
  plan.q = operand("q", a.q, rowsQ, a.heads_q, a.q_seq_stride, a.q_head_stride,
                   batchStride(a.q_batch_stride, rowsQ, a.q_seq_stride),
                   g.qBoxRows);
  plan.k = operand("k", a.k, rowsK, a.heads_kv, a.k_seq_stride, a.k_head_stride,
                   batchStride(a.k_batch_stride, rowsK, a.k_seq_stride),
                   g.kvBoxRows);
  plan.v = operand("v", a.v, rowsK, a.heads_kv, a.v_seq_stride, a.v_head_stride,
                   batchStride(a.v_batch_stride, rowsK, a.v_seq_stride),
                   g.kvBoxRows);
  if (varlen)
    plan.q.batch = plan.k.batch = plan.v.batch = 1;
  for (const TensorMapDesc *d : {&plan.q, &plan.k, &plan.v}) {
    TensorMapPlan unused;
    if (!planTensorMap(*d, unused, message))
      return FLASHCORE_STATUS_INVALID_STRIDE;
  }

  plan.o = a.o;
  plan.lse = a.lse;
  plan.seqlenQ = int32_t(a.seqlen_q);
  plan.seqlenK = int32_t(a.seqlen_k);
  plan.headsPerKvHead = call.headsPerKvHead;
  plan.windowLeft = call.windowLeft;
  plan.windowRight = call.windowRight;
  if (spec.problem.softcap) {
    // S' = c * tanh(S * scale / c): the kernel computes tanh(S * (scale / c))
    // and exponentiates with c * log2(e).
    plan.scaleLog2 = float(double(call.softcap) * M_LOG2E);
    plan.softcapScale = float(double(call.softmaxScale) / call.softcap);
  } else {
    plan.scaleLog2 = float(double(call.softmaxScale) * M_LOG2E);
  }
  if (varlen) {
    plan.cuSeqlensQ = a.cu_seqlens_q;
    plan.cuSeqlensK = a.cu_seqlens_k;
  }
  plan.oBatchStride = varlen ? 0 : a.o_batch_stride;
  plan.oRowStride = a.o_seq_stride;
  plan.oHeadStride = a.o_head_stride;
  if (a.lse) {
    plan.lseBatchStride = varlen ? 0 : a.lse_batch_stride;
    plan.lseHeadStride = a.lse_head_stride;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

namespace {

bool isSpecialStream(CUstream s) {
  return s == nullptr || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD;
}

/// The device ordinal of a pointer (null: not known to the driver).
bool pointerDevice(const cuda::DriverApi &d, const void *ptr, int &device,
                   std::string &error) {
  CUresult rc = d.cuPointerGetAttributeFn(
      &device, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
      static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(ptr)));
  if (rc != CUDA_SUCCESS) {
    error = "cuPointerGetAttribute: " + cuda::resultString(d, rc);
    return false;
  }
  return true;
}

/// The context to launch in: the stream's, else the current one, else the
/// primary context of q's device (device 0 if q's is unknown).
bool launchContext(const cuda::DriverApi &d, CUstream stream, const void *q,
                   CUcontext &ctx, std::string &error) {
  CUresult rc;
  if (!isSpecialStream(stream)) {
    rc = d.cuStreamGetCtxFn(stream, &ctx);
    if (rc != CUDA_SUCCESS) {
      error = cuda::callError(d, "cuStreamGetCtx", rc) + " for stream " +
              hexPointer(stream);
      return false;
    }
    return true;
  }
  rc = d.cuCtxGetCurrentFn(&ctx);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(d, "cuCtxGetCurrent", rc);
    return false;
  }
  if (ctx)
    return true;
  int ordinal = 0;
  std::string ignored;
  if (!pointerDevice(d, q, ordinal, ignored))
    ordinal = 0;
  CUdevice device = 0;
  rc = d.cuDeviceGetFn(&device, ordinal);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(d, "cuDeviceGet", rc) + " for device " +
            std::to_string(ordinal);
    return false;
  }
  return cuda::primaryContext(d, device, ctx, error);
}

/// Compute capability 9.0 (sm_90a kernels run on nothing else).
flashcore_status_t checkDevice(const cuda::DriverApi &d, CUdevice device,
                               std::string &message) {
  static std::mutex mutex;
  static std::map<CUdevice, std::pair<int, int>> known;
  std::pair<int, int> cc;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(device);
    if (it != known.end()) {
      cc = it->second;
    } else {
      CUresult rc = d.cuDeviceGetAttributeFn(
          &cc.first, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
      if (rc == CUDA_SUCCESS)
        rc = d.cuDeviceGetAttributeFn(
            &cc.second, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
      if (rc != CUDA_SUCCESS) {
        message = cuda::callError(d, "cuDeviceGetAttribute(compute "
                                     "capability)", rc);
        return FLASHCORE_STATUS_CUDA_ERROR;
      }
      known.emplace(device, cc);
    }
  }
  if (cc != std::make_pair(9, 0)) {
    message = "device " + std::to_string(device) +
              " must be a Hopper GPU (compute capability 9.0, sm_90a), got: "
              "compute capability " +
              std::to_string(cc.first) + "." + std::to_string(cc.second);
    return FLASHCORE_STATUS_UNSUPPORTED_DEVICE;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

flashcore_status_t launchKernel(const cuda::DriverApi &d, CUfunction function,
                                const LaunchPlan &plan, CUstream stream,
                                std::string &message) {
  // CUtensorMap is declared 64-byte (CUDA 13: 128-byte) aligned, as the
  // byval kernel parameters require.
  CUtensorMap maps[3];
  const TensorMapDesc *descs[3] = {&plan.q, &plan.k, &plan.v};
  for (int i = 0; i < 3; ++i) {
    TensorMapPlan tmPlan;
    if (!planTensorMap(*descs[i], tmPlan, message))
      return FLASHCORE_STATUS_INVALID_STRIDE;
    if (!encodeTensorMap(d, tmPlan, maps[i], message)) {
      message = descs[i]->name + ": " + message;
      return FLASHCORE_STATUS_CUDA_ERROR;
    }
  }
  void *o = plan.o;
  void *lse = plan.lse;
  int32_t seqlenQ = plan.seqlenQ, seqlenK = plan.seqlenK,
          headsPerKv = plan.headsPerKvHead;
  float scaleLog2 = plan.scaleLog2, softcapScale = plan.softcapScale;
  const void *cuSeqlensQ = plan.cuSeqlensQ, *cuSeqlensK = plan.cuSeqlensK;
  int32_t windowLeft = plan.windowLeft, windowRight = plan.windowRight;
  int64_t oBatch = plan.oBatchStride, oRow = plan.oRowStride,
          oHead = plan.oHeadStride;
  int64_t lseBatch = plan.lseBatchStride, lseHead = plan.lseHeadStride;

  void *params[kNumKernelParams];
  params[kParamTmaQ] = &maps[0];
  params[kParamTmaK] = &maps[1];
  params[kParamTmaV] = &maps[2];
  params[kParamOut] = &o;
  params[kParamLse] = &lse;
  params[kParamCuSeqlensQ] = &cuSeqlensQ;
  params[kParamCuSeqlensK] = &cuSeqlensK;
  params[kParamSeqlenQ] = &seqlenQ;
  params[kParamSeqlenK] = &seqlenK;
  params[kParamHeadsPerKvHead] = &headsPerKv;
  params[kParamWindowLeft] = &windowLeft;
  params[kParamWindowRight] = &windowRight;
  params[kParamScaleLog2] = &scaleLog2;
  params[kParamSoftcapScale] = &softcapScale;
  params[kParamOutBatchStride] = &oBatch;
  params[kParamOutRowStride] = &oRow;
  params[kParamOutHeadStride] = &oHead;
  params[kParamLseBatchStride] = &lseBatch;
  params[kParamLseHeadStride] = &lseHead;

  CUresult rc = d.cuLaunchKernelFn(function, plan.gridX, plan.gridY,
                                   plan.gridZ, plan.threadsPerCta, 1, 1,
                                   plan.dynamicSmemBytes, stream, params,
                                   nullptr);
  if (rc != CUDA_SUCCESS) {
    message = cuda::callError(d, "cuLaunchKernel", rc) + " (grid " +
              std::to_string(plan.gridX) + "x" + std::to_string(plan.gridY) +
              "x" + std::to_string(plan.gridZ) + ", " +
              std::to_string(plan.threadsPerCta) + " threads, " +
              std::to_string(plan.dynamicSmemBytes) + " bytes dynamic smem)";
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

} // namespace

flashcore_status_t attentionForward(const Dispatcher &dispatcher,
                                    const flashcore_attention_args *args,
                                    CUstream stream, std::string &message) {
  // Step 1. Arguments, before anything else.
  AttentionCall call;
  flashcore_status_t status = validateAttentionArgs(args, call, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  const flashcore_attention_args &a = call.args;

  // Step 2. The handle's choice for this dispatch class (lock-free once
  // cached) and the launch plan; no GPU needed yet.
  DispatchQuery query;
  query.problem = call.problem;
  query.seqlenQ = a.seqlen_q;
  query.seqlenK = a.seqlen_k;
  query.gqaRatio = call.headsPerKvHead;
  DispatchStatus chosen = DispatchStatus::Ok;
  KernelChoice *choice = dispatcher.resolve(query, chosen, message);
  switch (chosen) {
  case DispatchStatus::Ok:
    break;
  case DispatchStatus::SpecMismatch:
    return FLASHCORE_STATUS_SPEC_MISMATCH;
  case DispatchStatus::InvalidSpec:
    return FLASHCORE_STATUS_INVALID_SPEC;
  case DispatchStatus::Unsupported:
    return FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM;
  }
  LaunchPlan plan;
  status = planLaunch(a, call, choice->spec, choice->geometry, plan, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;

  // Step 3. Driver and context; the choice knows the function loaded in a
  // context it has seen (and that context's device, already checked).
  const cuda::DriverApi *d = cuda::getDriver(message);
  if (!d)
    return FLASHCORE_STATUS_NO_DRIVER;
  CUcontext ctx = nullptr;
  if (!launchContext(*d, stream, args->q, ctx, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  cuda::ScopedContext scoped;
  if (!scoped.activate(*d, ctx, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  const uint64_t contextKey = cuda::contextId(*d, ctx) + 1;
  BoundKernel *bound = choice->boundIn(contextKey);
  int device = 0;
  if (bound) {
    device = bound->device;
  } else {
    CUdevice dev = 0;
    CUresult rc = d->cuCtxGetDeviceFn(&dev);
    if (rc != CUDA_SUCCESS) {
      message = cuda::callError(*d, "cuCtxGetDevice", rc);
      return FLASHCORE_STATUS_CUDA_ERROR;
    }
    status = checkDevice(*d, dev, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
    device = int(dev);
  }

  // Step 4. Every pointer is memory of that device.
  status = checkPointerDevices(
      a, device,
      [d](const void *ptr, int &where, std::string &error) {
        return pointerDevice(*d, ptr, where, error);
      },
      message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;

  // Step 5. First call of this choice in this context: the kernel (memory,
  // disk or compiled, once per key) and its module (once per context).
  if (bound) {
    globalKernelCache().noteFastHit();
  } else {
    std::shared_ptr<const CompiledKernel> kernel = globalKernelCache().get(
        choice->spec, launchCompileOptions(), message);
    if (!kernel)
      return FLASHCORE_STATUS_COMPILE_ERROR;
    CUfunction function = nullptr;
    if (!globalModuleCache().getFunction(*d, ctx, *kernel, function, message))
      return FLASHCORE_STATUS_CUDA_ERROR;
    bound = choice->bind(contextKey, BoundKernel{function, device, kernel});
  }

  // Step 6. Launch.
  return launchKernel(*d, bound->function, plan, stream, message);
}

} // namespace flashcore
