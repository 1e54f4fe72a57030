//===- ForwardKernel.cpp - The forward kernel as a composition ------------===//
//
// Kernel<forward> = TileScheduler x Mainloop (producer + consumers) x
// Epilogue, each chosen by the spec (TileScheduler.h, Mainloop.h,
// Epilogue.h):
//
//   warpgroup 0 (producer)   setmaxnreg.dec; for each work tile: TMA loads
//                            of Q, K, V through the barrier rings
//   warpgroups 1..C          setmaxnreg.inc; for each work tile: the
//   (consumers)              mainloop (GEMMs + online softmax), then the
//                            epilogue (O and LSE)
//
// The signature comes from the kind's ABI table (KernelABI.h).
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/Epilogue.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace flashcore {

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

LLVM::LLVMFuncOp createKernelFunction(OpBuilder &b, Location loc,
                                      StringRef name,
                                      const ValidatedSpec &spec) {
  MLIRContext *ctx = b.getContext();
  int count = 0;
  const ParamInfo *params = kernelParams(spec.problem().kind, count);
  SmallVector<Type> types;
  for (int i = 0; i < count; ++i) {
    switch (params[i].type) {
    case ParamType::TensorMap:
      types.push_back(LLVM::LLVMPointerType::get(ctx));
      break;
    case ParamType::GlobalPtr:
      types.push_back(LLVM::LLVMPointerType::get(ctx, 1));
      break;
    case ParamType::I32:
      types.push_back(b.getI32Type());
      break;
    case ParamType::F32:
      types.push_back(b.getF32Type());
      break;
    case ParamType::I64:
      types.push_back(b.getI64Type());
      break;
    }
  }
  auto fnType =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), types);
  auto func = LLVM::LLVMFuncOp::create(b, loc, name, fnType);

  // CUtensorMap parameters: 128 bytes, 64-byte aligned, passed by value and
  // addressed in place (grid_constant) by cp.async.bulk.tensor.
  auto tensorMapT = LLVM::LLVMArrayType::get(b.getI8Type(), 128);
  for (int i = 0; i < count; ++i) {
    if (params[i].type != ParamType::TensorMap)
      continue;
    func.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                    TypeAttr::get(tensorMapT));
    func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                    b.getI64IntegerAttr(64));
    func.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                    b.getUnitAttr());
  }
  func.setArgAttr(spec.problem().kind == KernelKind::Forward ? int(kParamOut)
                                                            : int(kCombineOut),
                  LLVM::LLVMDialect::getNoAliasAttrName(), b.getUnitAttr());

  KernelGeometry geo = computeGeometry(spec);
  func->setAttr(NVVM::NVVMDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                b.getDenseI32ArrayAttr({geo.threadsPerCta, 1, 1}));
  // ctas_per_sm CTAs per SM (one by default) give ptxas the register cap
  // setmaxnreg works against.
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(spec.schedule().ctasPerSm));
  // cluster_m 2: .reqnctapercluster 2, 1, 1 (an ordinary launch then forms
  // the clusters; grid.x is even, see planLaunch).
  if (spec.problem().kind == KernelKind::Forward && spec.schedule().clusterM > 1)
    func->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                  b.getDenseI32ArrayAttr({spec.schedule().clusterM, 1, 1}));
  func.addEntryBlock(b);
  return func;
}

//===----------------------------------------------------------------------===//
// Body
//===----------------------------------------------------------------------===//

/// Runs `body` on a valid tile; carries `state` through unchanged otherwise.
static SmallVector<Value>
ifValid(KernelEmitter &e, const TileContext &ctx, ValueRange state,
        const std::function<SmallVector<Value>()> &body) {
  if (!ctx.valid)
    return body();
  SmallVector<Type> types;
  for (Value v : state)
    types.push_back(v.getType());
  SmallVector<Value> unchanged(state.begin(), state.end());
  return e.ifThenElse(ctx.valid, types, body, [&] { return unchanged; });
}

static void emitForwardKernel(OpBuilder &b, LLVM::LLVMFuncOp func,
                              const ValidatedSpec &spec) {
  OpBuilder::InsertionGuard guard(b);
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  KernelEmitter e(b, func.getLoc(), spec);
  const ScheduleSpec &s = spec.schedule();
  KernelArgs args(entry);

  // Step 1. Who am I.
  Value tid = e.threadIdx();
  Value warp = e.warpIndexUniform(tid);
  Value warpGroup = e.divu(warp, e.i32(4));
  Value warpInGroup = e.remu(warp, e.i32(4));

  // Step 2. prefetch_tensormaps: the second producer warp's first lane
  // brings the descriptors in while thread 0 sets up the barriers, so the
  // first TMA loads (and the first store) do not wait for them.
  if (s.prefetchTensorMaps)
    e.ifThen(e.eq(tid, e.i32(32)), [&] {
      e.prefetchTensorMap(args[kParamTmaQ]);
      e.prefetchTensorMap(args[kParamTmaK]);
      e.prefetchTensorMap(args[kParamTmaV]);
      if (s.epilogue == EpilogueKind::Tma)
        e.prefetchTensorMap(args[kParamTmaO]);
    });

  // Step 3. Shared memory: tiles and barriers; thread 0 initialises the
  // barriers, everyone waits for that.
  SharedStorage smem(e);
  e.ifThen(e.eq(tid, e.i32(0)), [&] { smem.initBarriers(); });
  // With a cluster, the peer's barriers must be initialised before this
  // CTA's multicast loads complete on them or its consumers arrive there.
  const bool cluster = s.clusterM > 1;
  if (cluster)
    e.clusterSync();
  else
    e.barrierAll();
  // Split-KV: the combine (a programmatic dependent launch) may be scheduled
  // once every CTA of this grid has started, so that it is resident when
  // the last ones finish; it waits for this grid's completion itself.
  if (spec.problem().splitKv)
    e.launchDependents();
  std::unique_ptr<TileScheduler> scheduler = TileScheduler::create(e, args);

  // Step 4. Split roles; registers move from the producer to the consumers.
  // Each role loops over the CTA's tiles carrying its ring state and the Q
  // phase.
  auto roles = scf::IfOp::create(b, e.loc, e.eq(warpGroup, e.i32(0)),
                                 /*withElseRegion=*/true);
  OpBuilder::InsertionGuard roleGuard(b);
  SmallVector<Value> start;
  auto carriedStart = [&] {
    start.clear();
    PipelineState::start(e).appendTo(start);
    start.push_back(e.i32(0)); // Q phase
  };

  b.setInsertionPoint(roles.thenBlock()->getTerminator());
  e.setMaxRegisters(s.producerRegisters, /*increase=*/false);
  {
    ProducerMainloop producer(e, args, smem, warpInGroup);
    auto produce = [&] {
      carriedStart();
      scheduler->forEachTile(
          TileRole::Producer, start, [&](const WorkTile &tile, ValueRange c) {
            TileContext ctx = TileContext::make(e, args, tile);
            return ifValid(e, ctx, c, [&] {
              Value qPhase = c[PipelineState::kNumValues];
              SmallVector<Value> next;
              producer.loadTile(ctx, PipelineState::from(c, 0), qPhase)
                  .appendTo(next);
              next.push_back(e.xori(qPhase, e.i32(1)));
              return next;
            });
          });
    };
    // The dynamic scheduler's tile slot is handed over by the loading warp
    // alone (named barriers 8 and 9 count 32 producer threads); the
    // producer's other warps have nothing to load.
    if (s.scheduler == SchedulerKind::DynamicPersistent)
      e.ifThen(e.eq(warpInGroup, e.i32(0)), produce);
    else
      produce();
  }

  b.setInsertionPoint(roles.elseBlock()->getTerminator());
  e.setMaxRegisters(s.consumerRegisters, /*increase=*/true);
  {
    ConsumerThread thread = ConsumerThread::make(e, tid, warpGroup);
    ConsumerMainloop consumer(e, args, smem, thread);
    std::unique_ptr<Epilogue> epilogue =
        Epilogue::create(e, args, smem, thread);
    consumer.startTurns();
    carriedStart();
    scheduler->forEachTile(TileRole::Consumer, start, [&](const WorkTile &tile, ValueRange c) {
      TileContext ctx = TileContext::make(e, args, tile);
      return ifValid(e, ctx, c, [&] {
        Value qPhase = c[PipelineState::kNumValues];
        ConsumerResult r =
            consumer.computeTile(ctx, PipelineState::from(c, 0), qPhase);
        epilogue->store(ctx, r);
        SmallVector<Value> next;
        r.kv.appendTo(next);
        next.push_back(e.xori(qPhase, e.i32(1)));
        return next;
      });
    });
    epilogue->finish();
  }
  // No CTA of a cluster exits while its peer's consumers may still arrive
  // on its K/V empty barriers.
  if (cluster) {
    b.setInsertionPointAfter(roles);
    e.clusterSync();
  }
}

void emitCombineKernel(OpBuilder &b, LLVM::LLVMFuncOp func,
                       const ValidatedSpec &spec); // CombineKernel.cpp

void emitKernelBody(OpBuilder &b, LLVM::LLVMFuncOp func,
                    const ValidatedSpec &spec) {
  switch (spec.problem().kind) {
  case KernelKind::Forward:
    emitForwardKernel(b, func, spec);
    break;
  case KernelKind::Combine:
    emitCombineKernel(b, func, spec);
    break;
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(&func.getBody().front());
  LLVM::ReturnOp::create(b, func.getLoc(), ValueRange{});
}

} // namespace flashcore
