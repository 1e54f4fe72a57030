//===- Launcher.cpp - Attention forward: validate, compile, launch --------===//

#include "runtime/Launcher.h"
#include "runtime/KernelCache.h"
#include "runtime/TemplateKernel.h"
#include "compiler/TileSchedule.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <algorithm>
#include <mutex>

namespace flashcore {

void LaunchPlan::setWorkspace(void *workspace) {
  auto *bytes = static_cast<unsigned char *>(workspace);
  for (int i = 0; i < numLaunches; ++i) {
    KernelArgPack &args = launches[i].args;
    bool forward = args.kind() == KernelKind::Forward;
    args.setPointer(forward ? int(kParamOAccum) : int(kCombineOAccum), bytes);
    args.setPointer(forward ? int(kParamLseAccum) : int(kCombineLseAccum),
                    bytes ? bytes + lseAccumOffset : nullptr);
    if (forward && tileCounter)
      args.setPointer(kParamTileCounter, bytes);
  }
}

bool LaunchPlan::setTensors(const cuda::DriverApi &driver, const void *q,
                            const void *k, const void *v, void *o, float *lse,
                            std::string &message) {
  for (int i = 0; i < numLaunches; ++i) {
    KernelArgPack &args = launches[i].args;
    if (args.kind() == KernelKind::Combine) {
      args.setPointer(kCombineOut, o);
      args.setPointer(kCombineLse, lse);
      continue;
    }
    args.setPointer(kParamOut, o);
    args.setPointer(kParamLse, lse);
    const int maps[4] = {kParamTmaQ, kParamTmaK, kParamTmaV, kParamTmaO};
    const void *bases[4] = {q, k, v, o};
    for (int m = 0; m < 4; ++m)
      if (!args.rebaseTensorMap(maps[m], bases[m], driver, message))
        return false;
  }
  return true;
}

void LaunchPlan::setPersistentGrid(int smCount) {
  for (int i = 0; i < numLaunches; ++i)
    if (launches[i].persistentTiles > 0)
      launches[i].grid[0] = unsigned(persistentGridSize(
          launches[i].persistentTiles, smCount, launches[i].ctasPerSm));
}

flashcore_status_t planLaunch(const flashcore_attention_args &a,
                              const AttentionCall &call,
                              const AttentionSpec &spec,
                              const KernelGeometry &g, LaunchPlan &plan,
                              std::string &message) {
  plan.clear();
  KernelLaunch &launch = plan.add(spec.problem.kind);
  KernelArgPack &args = launch.args;
  const ProblemSpec &problem = spec.problem;
  const bool pack = problem.packGqa;
  const int64_t splits = problem.splitKv ? call.numSplits : 1;
  // Pack-GQA: one tile holds the seqlen_q x (heads_q / heads_kv) rows of a
  // KV head.
  const int64_t packedRows = a.seqlen_q * call.headsPerKvHead;
  if (pack && packedRows > spec.schedule.blockM) {
    message = "internal error: pack_gqa needs seqlen_q * heads_q / heads_kv = " +
              std::to_string(packedRows) + " <= block_m = " +
              std::to_string(spec.schedule.blockM);
    return FLASHCORE_STATUS_INTERNAL_ERROR;
  }
  int64_t queryBlocks = pack ? 1 : numQueryBlocks(spec, a.seqlen_q);
  int64_t tileHeads = pack ? a.heads_kv : a.heads_q;
  if (loopsOverTiles(spec.schedule)) {
    launch.persistentTiles = numTiles(queryBlocks, tileHeads, a.batch, splits);
    launch.ctasPerSm = spec.schedule.ctasPerSm;
    launch.grid[0] = 0; // setPersistentGrid
  } else {
    // cluster_m 2: grid.x is even, so that every cluster's two CTAs are
    // neighbouring query blocks of one head; an extra block past seqlen_q
    // loads its half of K/V for its peer and stores no row.
    const int64_t cluster = spec.schedule.clusterM;
    queryBlocks = (queryBlocks + cluster - 1) / cluster * cluster;
    launch.grid[0] = unsigned(queryBlocks * splits);
    launch.grid[1] = unsigned(tileHeads);
    launch.grid[2] = unsigned(a.batch);
  }
  launch.threadsPerCta = unsigned(g.threadsPerCta);
  launch.dynamicSmemBytes = unsigned(g.smem.dynamicSmemBytes);

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
  TensorMapDesc maps[4] = {
      operand("q", a.q, rowsQ, a.heads_q, a.q_seq_stride, a.q_head_stride,
              batchStride(a.q_batch_stride, rowsQ, a.q_seq_stride),
              g.qBoxRows),
      operand("k", a.k, rowsK, a.heads_kv, a.k_seq_stride, a.k_head_stride,
              batchStride(a.k_batch_stride, rowsK, a.k_seq_stride),
              g.kvBoxRows),
      operand("v", a.v, rowsK, a.heads_kv, a.v_seq_stride, a.v_head_stride,
              batchStride(a.v_batch_stride, rowsK, a.v_seq_stride),
              g.kvBoxRows),
      operand("o", a.o, rowsQ, a.heads_q, a.o_seq_stride, a.o_head_stride,
              batchStride(a.o_batch_stride, rowsQ, a.o_seq_stride),
              g.oBoxRows)};
  // K and V are streamed (decode reads each row once): their promotion is
  // the schedule's (kv_l2_promotion; 256-byte promotion cost decode 7-9 % of
  // its bandwidth on an H200, docs/PERFORMANCE.md session 6).
  maps[1].l2PromotionBytes = maps[2].l2PromotionBytes =
      spec.schedule.kvL2Promotion;
  const bool paged = problem.pagedKv;
  const int chunkRows =
      paged ? pageChunkRows(a.page_size, spec.schedule.blockN) : 0;
  if (paged) {
    // Pools of num_pages pages of page_size rows (the batch stride is the
    // page stride); boxes of one chunk.
    for (int i : {1, 2}) {
      maps[i].seqlen = a.page_size;
      maps[i].batch = a.num_pages;
      maps[i].boxRows = chunkRows;
    }
  }
  if (pack) {
    // A (cols, seqlen_q, heads per KV head) box: packed row = head * seqlen_q
    // + query row.
    maps[0].boxRows = a.seqlen_q;
    maps[0].boxHeads = call.headsPerKvHead;
  }
  const bool tmaStore = spec.schedule.epilogue == EpilogueKind::Tma;
  const int mapParams[4] = {kParamTmaQ, kParamTmaK, kParamTmaV, kParamTmaO};
  for (int i = 0; i < 4; ++i) {
    if (i == 3 && !tmaStore)
      continue; // the register epilogue reads no O map
    if (varlen)
      maps[i].batch = 1;
    TensorMapPlan unused;
    if (!planTensorMap(maps[i], unused, message))
      return FLASHCORE_STATUS_INVALID_STRIDE;
    args.setTensorMap(mapParams[i], maps[i]);
  }

  args.setPointer(kParamOut, a.o);
  args.setPointer(kParamLse, a.lse);
  args.setPointer(kParamCuSeqlensQ, varlen ? a.cu_seqlens_q : nullptr);
  args.setPointer(kParamCuSeqlensK, varlen ? a.cu_seqlens_k : nullptr);
  args.setI32(kParamSeqlenQ, int32_t(a.seqlen_q));
  args.setI32(kParamSeqlenK, int32_t(a.seqlen_k));
  args.setI32(kParamHeadsQ, int32_t(a.heads_q));
  args.setI32(kParamBatch, int32_t(a.batch));
  args.setI32(kParamHeadsPerKvHead, call.headsPerKvHead);
  args.setI32(kParamWindowLeft, call.windowLeft);
  args.setI32(kParamWindowRight, call.windowRight);
  if (spec.problem.softcap) {
    // S' = c * tanh(S * scale / c): the kernel computes tanh(S * (scale / c))
    // and exponentiates with c * log2(e).
    args.setF32(kParamScaleLog2, float(double(call.softcap) * M_LOG2E));
    args.setF32(kParamSoftcapScale,
                float(double(call.softmaxScale) / call.softcap));
  } else {
    args.setF32(kParamScaleLog2, float(double(call.softmaxScale) * M_LOG2E));
    args.setF32(kParamSoftcapScale, 0.0f);
  }
  args.setI64(kParamOutBatchStride, varlen ? 0 : a.o_batch_stride);
  args.setI64(kParamOutRowStride, a.o_seq_stride);
  args.setI64(kParamOutHeadStride, a.o_head_stride);
  args.setI64(kParamLseBatchStride,
              a.lse && !varlen ? a.lse_batch_stride : 0);
  args.setI64(kParamLseHeadStride, a.lse ? a.lse_head_stride : 0);
  args.setPointer(kParamCacheSeqlens, problem.cacheSeqlens ? a.cache_seqlens
                                                           : nullptr);
  args.setI32(kParamQRows, int32_t(pack ? packedRows : spec.schedule.blockM));
  args.setI32(kParamNumSplits, int32_t(splits));
  args.setI32(kParamAccumRows, int32_t(problem.splitKv ? accumRows(call) : 0));
  args.setPointer(kParamOAccum, nullptr);
  args.setPointer(kParamLseAccum, nullptr);
  args.setPointer(kParamPageTable, paged ? a.page_table : nullptr);
  args.setI64(kParamPageTableStride, paged ? a.page_table_batch_stride : 0);
  args.setI32(kParamPageSize, int32_t(paged ? a.page_size : 0));
  args.setI32(kParamPageChunkRows, chunkRows);
  args.setI32(kParamNumPages, int32_t(paged ? a.num_pages : 0));
  args.setPointer(kParamTileCounter, nullptr);
  if (!args.complete(message))
    return FLASHCORE_STATUS_INTERNAL_ERROR;
  if (spec.schedule.scheduler == SchedulerKind::DynamicPersistent) {
    // The tile counter (no split: the spec rules exclude it).
    plan.tileCounter = true;
    plan.workspaceBytes = LaunchPlan::kTileCounterBytes;
  }
  if (!problem.splitKv)
    return FLASHCORE_STATUS_SUCCESS;

  // Split-KV: the workspace and the combine launch (a warp per (row, head)).
  plan.workspaceBytes = workspaceBytes(call);
  plan.lseAccumOffset = lseAccumOffset(call);
  KernelLaunch &merge = plan.add(KernelKind::Combine);
  KernelArgPack &c = merge.args;
  const int64_t rows = accumRows(call);
  const int64_t items = rows * a.heads_q;
  merge.grid[0] = unsigned((items + kCombineWarps - 1) / kCombineWarps);
  merge.threadsPerCta = 32 * kCombineWarps;
  merge.dynamicSmemBytes = 0;
  merge.programmatic = true;
  c.setPointer(kCombineOAccum, nullptr);
  c.setPointer(kCombineLseAccum, nullptr);
  c.setPointer(kCombineOut, a.o);
  c.setPointer(kCombineLse, a.lse);
  c.setI32(kCombineNumSplits, int32_t(splits));
  c.setI32(kCombineAccumRows, int32_t(rows));
  c.setI32(kCombineSeqlenQ, int32_t(varlen ? rows : a.seqlen_q));
  c.setI32(kCombineHeadsQ, int32_t(a.heads_q));
  c.setI64(kCombineOutBatchStride, varlen ? 0 : a.o_batch_stride);
  c.setI64(kCombineOutRowStride, a.o_seq_stride);
  c.setI64(kCombineOutHeadStride, a.o_head_stride);
  c.setI64(kCombineLseBatchStride, a.lse && !varlen ? a.lse_batch_stride : 0);
  c.setI64(kCombineLseHeadStride, a.lse ? a.lse_head_stride : 0);
  if (!c.complete(message))
    return FLASHCORE_STATUS_INTERNAL_ERROR;
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

/// The device's compute capability x 10 and the SM count persistent grids
/// are sized by. Cached per device. Which kernels run there: 9.0 the
/// generated sm_90a ones, 8.x (or any >= 8.0 under FLASHCORE_BACKEND=
/// templates) the nvrtc fallback; anything else is an error.
flashcore_status_t checkDevice(const cuda::DriverApi &d, CUdevice device,
                               bool forcedTemplates, int &smCount, int &arch,
                               std::string &message) {
  struct Facts {
    int major = 0, minor = 0, sms = 0;
  };
  static std::mutex mutex;
  static std::map<CUdevice, Facts> known;
  Facts f;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(device);
    if (it != known.end()) {
      f = it->second;
    } else {
      CUresult rc = d.cuDeviceGetAttributeFn(
          &f.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
      if (rc == CUDA_SUCCESS)
        rc = d.cuDeviceGetAttributeFn(
            &f.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
      if (rc == CUDA_SUCCESS)
        rc = d.cuDeviceGetAttributeFn(
            &f.sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
      if (rc != CUDA_SUCCESS) {
        message = cuda::callError(d, "cuDeviceGetAttribute", rc);
        return FLASHCORE_STATUS_CUDA_ERROR;
      }
      known.emplace(device, f);
    }
  }
  arch = f.major * 10 + f.minor;
  if (arch != 90 && f.major != 8 && !(forcedTemplates && arch >= 80)) {
    message = "device " + std::to_string(device) +
              " must be a GPU of compute capability 9.0 (the generated "
              "sm_90a kernels) or 8.x (the nvrtc fallback), got: "
              "compute capability " +
              std::to_string(f.major) + "." + std::to_string(f.minor);
    return FLASHCORE_STATUS_UNSUPPORTED_DEVICE;
  }
  smCount = f.sms;
  return FLASHCORE_STATUS_SUCCESS;
}

/// The workspace of a split call: the caller's (checked against `bytes`),
/// else stream-ordered memory of the call's stream, returned in `owned` for
/// releaseWorkspace after the launches.
flashcore_status_t acquireWorkspace(const cuda::DriverApi &d,
                                    const flashcore_attention_args &a,
                                    size_t bytes, CUstream stream,
                                    void *&workspace, CUdeviceptr &owned,
                                    std::string &message) {
  if (a.workspace) {
    if (a.workspace_bytes < bytes) {
      message = "workspace_bytes must be >= " + std::to_string(bytes) +
                " (flashcore_attention_workspace_size), got: " +
                std::to_string(a.workspace_bytes);
      return FLASHCORE_STATUS_INVALID_KV_CACHE;
    }
    workspace = a.workspace;
    return FLASHCORE_STATUS_SUCCESS;
  }
  if (!d.cuMemAllocAsyncFn || !d.cuMemFreeAsyncFn) {
    message = "the CUDA driver has no cuMemAllocAsync (needs CUDA 11.2+): "
              "pass a workspace of flashcore_attention_workspace_size bytes";
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  CUresult rc = d.cuMemAllocAsyncFn(&owned, bytes, stream);
  if (rc != CUDA_SUCCESS) {
    message = cuda::callError(d, "cuMemAllocAsync", rc) + " of " +
              std::to_string(bytes) + " workspace bytes";
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  workspace = reinterpret_cast<void *>(owned);
  return FLASHCORE_STATUS_SUCCESS;
}

/// Frees what acquireWorkspace allocated, on the stream after the launches;
/// a failure there becomes the status if the launches succeeded.
flashcore_status_t releaseWorkspace(const cuda::DriverApi &d, CUdeviceptr owned,
                                    CUstream stream, flashcore_status_t status,
                                    std::string &message) {
  if (!owned)
    return status;
  CUresult rc = d.cuMemFreeAsyncFn(owned, stream);
  if (rc != CUDA_SUCCESS && status == FLASHCORE_STATUS_SUCCESS) {
    message = cuda::callError(d, "cuMemFreeAsync", rc);
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  return status;
}

/// One fallback kernel (forward or combine) of `spec`: its instantiation,
/// compiled or cached, and its function in `ctx`.
flashcore_status_t templateFunction(const cuda::DriverApi &d, CUcontext ctx,
                                    const AttentionSpec &spec, int arch,
                                    TemplateConfig &config, CUfunction &function,
                                    std::string &message) {
  const TemplateTiles *tiles = templateTilesOverride(message);
  if (!message.empty())
    return FLASHCORE_STATUS_INVALID_SPEC;
  if (!templateConfig(spec.problem, arch, config, message, tiles))
    return message.rfind("internal", 0) == 0 ? FLASHCORE_STATUS_INTERNAL_ERROR
           : message.rfind("FLASHCORE_TEMPLATE_TILES", 0) == 0
               ? FLASHCORE_STATUS_INVALID_SPEC
               : FLASHCORE_STATUS_UNSUPPORTED_DEVICE;
  std::shared_ptr<const CompiledKernel> kernel =
      templateKernel(spec, config, message);
  if (!kernel)
    return FLASHCORE_STATUS_COMPILE_ERROR;
  if (!globalModuleCache().getFunction(d, ctx, *kernel, function, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  return FLASHCORE_STATUS_SUCCESS;
}

flashcore_status_t launchTemplateKernel(const cuda::DriverApi &d,
                                        CUfunction function,
                                        const TemplateConfig &config,
                                        const unsigned grid[3], void *param,
                                        CUstream stream, std::string &message) {
  void *args[] = {param};
  CUresult rc = d.cuLaunchKernelFn(function, grid[0], grid[1], grid[2],
                                   unsigned(config.threads()), 1, 1,
                                   unsigned(config.smemBytes()), stream, args,
                                   nullptr);
  if (rc != CUDA_SUCCESS) {
    message = cuda::callError(d, "cuLaunchKernel", rc) + " (fallback " +
              config.str() + ")";
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

/// The nvrtc fallback's launches of a validated call (TemplateKernel.h): the
/// forward, and for a split call (`combineSpec`) the combine, with the
/// workspace between them.
flashcore_status_t launchTemplate(const cuda::DriverApi &d, CUcontext ctx,
                                  const AttentionCall &call,
                                  const AttentionSpec &spec,
                                  const AttentionSpec *combineSpec, int arch,
                                  CUstream stream, std::string &message) {
  TemplateConfig config, combine;
  CUfunction function = nullptr, combineFunction = nullptr;
  flashcore_status_t status =
      templateFunction(d, ctx, spec, arch, config, function, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  if (config.split) {
    if (!combineSpec) {
      message = "internal error: a split fallback call without its combine";
      return FLASHCORE_STATUS_INTERNAL_ERROR;
    }
    status = templateFunction(d, ctx, *combineSpec, arch, combine,
                              combineFunction, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
  }
  FcFwdParams params = templateParams(call);
  unsigned grid[3];
  templateGrid(config, call, grid);
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0)
    return FLASHCORE_STATUS_SUCCESS;
  void *workspace = nullptr;
  CUdeviceptr owned = 0;
  if (config.split) {
    status = acquireWorkspace(d, call.args, workspaceBytes(call), stream,
                              workspace, owned, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
    FcCombineParams merge = templateCombineParams(call, workspace);
    params.o_accum = const_cast<float *>(merge.o_accum);
    params.lse_accum = const_cast<float *>(merge.lse_accum);
    status = launchTemplateKernel(d, function, config, grid, &params, stream,
                                  message);
    unsigned combineGrid[3];
    templateGrid(combine, call, combineGrid);
    if (status == FLASHCORE_STATUS_SUCCESS)
      status = launchTemplateKernel(d, combineFunction, combine, combineGrid,
                                    &merge, stream, message);
    return releaseWorkspace(d, owned, stream, status, message);
  }
  return launchTemplateKernel(d, function, config, grid, &params, stream,
                              message);
}

/// FLASHCORE_PDL=0 turns programmatic dependent launches off (read once).
static bool programmaticLaunches() {
  static const bool enabled = [] {
    const char *v = std::getenv("FLASHCORE_PDL");
    return !(v && std::string(v) == "0");
  }();
  return enabled;
}

flashcore_status_t launchKernel(const cuda::DriverApi &d, CUfunction function,
                                KernelLaunch &launch, CUstream stream,
                                std::string &message) {
  void **params = launch.args.finalize(d, message);
  if (!params)
    return message.rfind("internal", 0) == 0 ? FLASHCORE_STATUS_INTERNAL_ERROR
                                             : FLASHCORE_STATUS_CUDA_ERROR;
  CUresult rc;
  const char *call = "cuLaunchKernel";
  if (launch.programmatic && d.cuLaunchKernelExFn && programmaticLaunches()) {
    CUlaunchAttribute attr{};
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{};
    config.gridDimX = launch.grid[0];
    config.gridDimY = launch.grid[1];
    config.gridDimZ = launch.grid[2];
    config.blockDimX = launch.threadsPerCta;
    config.blockDimY = config.blockDimZ = 1;
    config.sharedMemBytes = launch.dynamicSmemBytes;
    config.hStream = stream;
    config.attrs = &attr;
    config.numAttrs = 1;
    call = "cuLaunchKernelEx";
    rc = d.cuLaunchKernelExFn(&config, function, params, nullptr);
  } else {
    rc = d.cuLaunchKernelFn(function, launch.grid[0], launch.grid[1],
                            launch.grid[2], launch.threadsPerCta, 1, 1,
                            launch.dynamicSmemBytes, stream, params, nullptr);
  }
  if (rc != CUDA_SUCCESS) {
    message = cuda::callError(d, call, rc) + " (grid " +
              std::to_string(launch.grid[0]) + "x" +
              std::to_string(launch.grid[1]) + "x" +
              std::to_string(launch.grid[2]) + ", " +
              std::to_string(launch.threadsPerCta) + " threads, " +
              std::to_string(launch.dynamicSmemBytes) +
              " bytes dynamic smem)";
    return FLASHCORE_STATUS_CUDA_ERROR;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

/// validateAttentionArgs with `dispatcher`'s spec override deciding split-KV
/// and pack-GQA where the caller did not (a forward call and its workspace
/// query resolve the kernel shape alike).
flashcore_status_t validateForDispatcher(const Dispatcher &dispatcher,
                                         const flashcore_attention_args *args,
                                         AttentionCall &call,
                                         std::string &message) {
  const std::optional<ProblemSpec> overridden = dispatcher.overrideProblem();
  return validateAttentionArgs(args, call, message,
                               overridden ? &*overridden : nullptr);
}

} // namespace

bool streamTileCountersEnabled() {
  static const bool on = [] {
    const char *v = std::getenv("FLASHCORE_TILE_COUNTER");
    return v && std::string(v) == "stream";
  }();
  return on;
}

CUdeviceptr streamTileCounter(const cuda::DriverApi &d, CUcontext ctx,
                              CUstream stream) {
  if (!d.cuStreamGetIdFn || !d.cuStreamIsCapturingFn ||
      !d.cuMemAllocAsyncFn || !d.cuMemFreeAsyncFn)
    return 0;
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  if (d.cuStreamIsCapturingFn(stream, &capture) != CUDA_SUCCESS ||
      capture != CU_STREAM_CAPTURE_STATUS_NONE)
    return 0;
  unsigned long long streamId = 0;
  if (d.cuStreamGetIdFn(stream, &streamId) != CUDA_SUCCESS)
    return 0;
  static std::mutex mutex;
  static std::map<std::pair<unsigned long long, unsigned long long>,
                  CUdeviceptr>
      counters;
  const auto key = std::make_pair(cuda::contextId(d, ctx), streamId);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = counters.find(key);
  if (it != counters.end())
    return it->second;
  if (counters.size() >= kMaxStreamTileCounters)
    return 0;
  // Stream-ordered (cuMemAlloc is not capture-safe: it would invalidate a
  // global-mode capture running on another thread) and never freed; zeroed
  // in the stream's order, before any launch that reads it.
  CUdeviceptr counter = 0;
  if (d.cuMemAllocAsyncFn(&counter, LaunchPlan::kTileCounterBytes, stream) !=
      CUDA_SUCCESS)
    return 0;
  if (d.cuMemsetD8AsyncFn(counter, 0, LaunchPlan::kTileCounterBytes,
                          stream) != CUDA_SUCCESS) {
    d.cuMemFreeAsyncFn(counter, stream);
    return 0;
  }
  counters.emplace(key, counter);
  return counter;
}

flashcore_status_t prepareForward(const Dispatcher &dispatcher,
                                  const flashcore_attention_args *args,
                                  CUstream stream, PreparedForward &p,
                                  cuda::ScopedContext &scoped,
                                  std::string &message) {
  // Step 1. Arguments, before anything else (a spec override decides
  // split-KV and pack-GQA where the caller did not).
  AttentionCall &call = p.call;
  flashcore_status_t status =
      validateForDispatcher(dispatcher, args, call, message);
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
  status = planLaunch(a, call, choice->spec, choice->geometry, p.plan, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;

  // Step 3. Driver and context; the choice knows the function loaded in a
  // context it has seen (and that context's device, already checked).
  const cuda::DriverApi *d = cuda::getDriver(message);
  if (!d)
    return FLASHCORE_STATUS_NO_DRIVER;
  p.driver = d;
  CUcontext &ctx = p.ctx;
  if (!launchContext(*d, stream, args->q, ctx, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  if (!scoped.activate(*d, ctx, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  const uint64_t contextKey = cuda::contextId(*d, ctx) + 1;
  std::string backendError;
  const bool forced = forceTemplates(backendError);
  if (!backendError.empty()) {
    message = backendError;
    return FLASHCORE_STATUS_INVALID_SPEC;
  }
  // A bound choice runs the generated kernels on a 9.0 device.
  BoundKernel *bound = forced ? nullptr : choice->boundIn(contextKey);
  int smCount = 0;
  if (bound) {
    p.device = bound->device;
  } else {
    CUdevice dev = 0;
    CUresult rc = d->cuCtxGetDeviceFn(&dev);
    if (rc != CUDA_SUCCESS) {
      message = cuda::callError(*d, "cuCtxGetDevice", rc);
      return FLASHCORE_STATUS_CUDA_ERROR;
    }
    status = checkDevice(*d, dev, forced, smCount, p.arch, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
    p.device = int(dev);
  }
  p.templates = !bound && (forced || p.arch != 90);

  // Step 4. Every pointer is memory of that device (unless the caller has
  // checked that: FLASHCORE_ARGS_POINTERS_CHECKED, a framework's tensors).
  status = checkResidency(p, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  // Before Hopper (or forced): the nvrtc fallback, one launch, no plan.
  if (p.templates) {
    p.spec = choice->spec;
    p.combineSpec = choice->combineSpec;
    return FLASHCORE_STATUS_SUCCESS;
  }

  // Step 5. First call of this choice in this context: the kernel (memory,
  // disk or compiled, once per key) and its module (once per context).
  if (bound) {
    globalKernelCache().noteFastHit();
  } else {
    // The choice's kernels: the forward, and for split-KV its combine.
    BoundKernel b{nullptr, nullptr, p.device, smCount, nullptr, nullptr};
    auto load = [&](const AttentionSpec &spec, CUfunction &function,
                    std::shared_ptr<const CompiledKernel> &kernel) {
      kernel = globalKernelCache().get(spec, launchCompileOptions(), message);
      if (!kernel)
        return FLASHCORE_STATUS_COMPILE_ERROR;
      if (!globalModuleCache().getFunction(*d, ctx, *kernel, function, message))
        return FLASHCORE_STATUS_CUDA_ERROR;
      return FLASHCORE_STATUS_SUCCESS;
    };
    status = load(choice->spec, b.function, b.kernel);
    if (status == FLASHCORE_STATUS_SUCCESS && choice->combineSpec)
      status = load(*choice->combineSpec, b.combineFunction, b.combineKernel);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
    noteSmCount(smCount);
    bound = choice->bind(contextKey, b);
  }
  p.bound = bound;
  p.plan.setPersistentGrid(bound->smCount);
  return FLASHCORE_STATUS_SUCCESS;
}

flashcore_status_t checkResidency(const PreparedForward &p,
                                  std::string &message) {
  const flashcore_attention_args &a = p.call.args;
  if (a.flags & FLASHCORE_ARGS_POINTERS_CHECKED)
    return FLASHCORE_STATUS_SUCCESS;
  const cuda::DriverApi *d = p.driver;
  return checkPointerDevices(
      a, p.device,
      [d](const void *ptr, int &where, std::string &error) {
        return pointerDevice(*d, ptr, where, error);
      },
      message);
}

flashcore_status_t runPrepared(PreparedForward &p, CUstream stream,
                               std::string &message) {
  const cuda::DriverApi &d = *p.driver;
  const flashcore_attention_args &a = p.call.args;
  if (p.templates)
    return launchTemplate(d, p.ctx, p.call, p.spec,
                          p.combineSpec ? &*p.combineSpec : nullptr, p.arch,
                          stream, message);
  LaunchPlan &plan = p.plan;
  // Step 6. The workspace of a split call: the caller's, else stream-ordered
  // memory of the call's stream (freed on it after the launches).
  CUdeviceptr owned = 0;
  // FLASHCORE_TILE_COUNTER=stream: a dynamic-scheduler call's workspace is
  // only its tile counter; the stream's own one needs neither an
  // allocation nor a memset.
  CUdeviceptr streamCounter = 0;
  if (plan.tileCounter && !a.workspace && streamTileCountersEnabled())
    streamCounter = streamTileCounter(d, p.ctx, stream);
  if (streamCounter) {
    plan.setWorkspace(reinterpret_cast<void *>(streamCounter));
  } else if (plan.workspaceBytes > 0) {
    void *workspace = nullptr;
    flashcore_status_t status = acquireWorkspace(
        d, a, plan.workspaceBytes, stream, workspace, owned, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
    plan.setWorkspace(workspace);
    if (plan.tileCounter) {
      CUresult rc = d.cuMemsetD8AsyncFn(
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(workspace)), 0,
          2 * sizeof(int32_t), stream);
      if (rc != CUDA_SUCCESS) {
        message = cuda::callError(d, "cuMemsetD8Async", rc) +
                  " (the dynamic scheduler's tile counter)";
        return releaseWorkspace(d, owned, stream, FLASHCORE_STATUS_CUDA_ERROR,
                                message);
      }
    }
  }

  // Step 7. Launch: every kernel of the plan, in order, on the stream.
  flashcore_status_t status = FLASHCORE_STATUS_SUCCESS;
  for (int i = 0; i < plan.numLaunches; ++i) {
    CUfunction f = plan.launches[i].args.kind() == KernelKind::Combine
                       ? p.bound->combineFunction
                       : p.bound->function;
    status = launchKernel(d, f, plan.launches[i], stream, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      break;
  }
  return releaseWorkspace(d, owned, stream, status, message);
}

flashcore_status_t launchPrepared(PreparedForward &p, const void *q,
                                  const void *k, const void *v, void *o,
                                  float *lse, CUstream stream,
                                  std::string &message) {
  if (flashcore_status_t s = checkTensorPointers(q, k, v, o, lse, message))
    return s;
  flashcore_attention_args &a = p.call.args;
  if (lse && !a.lse) {
    message = "lse must be null: the plan was made without an LSE (its "
              "strides are not known), got: " +
              hexPointer(lse);
    return FLASHCORE_STATUS_PLAN_MISMATCH;
  }
  const cuda::DriverApi &d = *p.driver;
  // The stream's context must be the plan's (a special stream means the
  // plan context's own; it is made current for the launch).
  if (!isSpecialStream(stream)) {
    CUcontext ctx = nullptr;
    CUresult rc = d.cuStreamGetCtxFn(stream, &ctx);
    if (rc != CUDA_SUCCESS) {
      message = cuda::callError(d, "cuStreamGetCtx", rc) + " for stream " +
                hexPointer(stream);
      return FLASHCORE_STATUS_CUDA_ERROR;
    }
    if (ctx != p.ctx) {
      message = "stream must belong to the plan's context " +
                hexPointer(p.ctx) + " (device " + std::to_string(p.device) +
                "), got: a stream of context " + hexPointer(ctx);
      return FLASHCORE_STATUS_PLAN_MISMATCH;
    }
  }
  cuda::ScopedContext scoped;
  if (!scoped.activate(d, p.ctx, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  a.q = q;
  a.k = k;
  a.v = v;
  a.o = o;
  a.lse = lse;
  if (flashcore_status_t s = checkResidency(p, message))
    return s;
  if (!p.templates && !p.plan.setTensors(d, q, k, v, o, lse, message))
    return FLASHCORE_STATUS_CUDA_ERROR;
  return runPrepared(p, stream, message);
}

flashcore_status_t attentionForward(const Dispatcher &dispatcher,
                                    const flashcore_attention_args *args,
                                    CUstream stream, std::string &message) {
  PreparedForward p;
  cuda::ScopedContext scoped; // the context stays current until the launch
  flashcore_status_t status =
      prepareForward(dispatcher, args, stream, p, scoped, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  return runPrepared(p, stream, message);
}

flashcore_status_t attentionWorkspaceSize(const Dispatcher &dispatcher,
                                          const flashcore_attention_args *args,
                                          size_t &bytes,
                                          std::string &message) {
  AttentionCall call;
  flashcore_status_t status =
      validateForDispatcher(dispatcher, args, call, message);
  if (status != FLASHCORE_STATUS_SUCCESS)
    return status;
  bytes = workspaceBytes(call);
  // The dynamic scheduler's tile counter lives there too (the handle's choice
  // decides the scheduler; a choice that fails is reported by the launch).
  DispatchQuery query;
  query.problem = call.problem;
  query.seqlenQ = call.args.seqlen_q;
  query.seqlenK = call.args.seqlen_k;
  query.gqaRatio = call.headsPerKvHead;
  DispatchStatus chosen = DispatchStatus::Ok;
  std::string ignored;
  if (KernelChoice *choice = dispatcher.resolve(query, chosen, ignored))
    if (choice->spec.schedule.scheduler == SchedulerKind::DynamicPersistent)
      bytes = std::max(bytes, LaunchPlan::kTileCounterBytes);
  return FLASHCORE_STATUS_SUCCESS;
}

} // namespace flashcore
