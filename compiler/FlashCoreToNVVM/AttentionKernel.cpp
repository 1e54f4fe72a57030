//===- AttentionKernel.cpp - The warp-specialized attention kernel --------===//
//
// One CTA computes block_m query rows of one (batch, head):
//
//   warpgroup 0 (producer)   setmaxnreg.dec; one elected thread TMA-loads the
//                            Q tile once and, per key block j, the K and V
//                            tiles into stage j % stages after waiting for
//                            that stage's "empty" barriers.
//   warpgroups 1..C          setmaxnreg.inc; each owns 64 query rows. Per key
//   (consumers)              block: wait K, S = Q Kᵀ (wgmma), release K, mask,
//                            online softmax, wait V, O += P V (wgmma, P from
//                            registers), release V. Then normalise O, store
//                            it and the log-sum-exp.
//
// Causal attention follows FlashAttention: query row i sees keys
// j <= i + seqlen_k - seqlen_q (bottom-right aligned). Key blocks past the
// last visible one are skipped; blocks that straddle the diagonal or the end
// of the keys are masked. CTAs take query blocks in reverse order when causal
// so the longest ones start first.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace flashcore {

namespace {
/// Kernel arguments by name (KernelABI.h order).
struct KernelArgs {
  Value tmaQ, tmaK, tmaV, out, lse, seqlenQ, seqlenK, headsPerKvHead,
      scaleLog2, outBatchStride, outRowStride, outHeadStride, lseBatchStride,
      lseHeadStride;
};

/// Where the CTA is and how much key range it covers.
struct BlockCoords {
  Value mBlock, head, kvHead, batch;
  Value nEnd;       // key blocks [0, nEnd) are visited
  Value nMaskStart; // key blocks >= nMaskStart need masking
};

/// Shared-memory pointers of the tiles and barriers.
struct SmemPointers {
  Value base, qTile, qFull;
  KernelEmitter *e;
  const SmemLayout *layout;
  int stages;

  Value at(int offset, Value stage, int stride) const {
    return e->smemAt(base, e->add(e->i32(offset), e->mul(stage, e->i32(stride))));
  }
  Value kTile(Value stage) const {
    return at(layout->kOffset, stage, layout->kvTileBytes);
  }
  Value vTile(Value stage) const {
    return at(layout->vOffset, stage, layout->kvTileBytes);
  }
  Value kFull(Value stage) const {
    return at(layout->kFullBarrier(0), stage, kMbarrierBytes);
  }
  Value vFull(Value stage) const {
    return at(layout->vFullBarrier(0, stages), stage, kMbarrierBytes);
  }
  Value kEmpty(Value stage) const {
    return at(layout->kEmptyBarrier(0, stages), stage, kMbarrierBytes);
  }
  Value vEmpty(Value stage) const {
    return at(layout->vEmptyBarrier(0, stages), stage, kMbarrierBytes);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

LLVM::LLVMFuncOp createKernelFunction(OpBuilder &b, Location loc,
                                      StringRef name,
                                      const AttentionSpec &spec) {
  MLIRContext *ctx = b.getContext();
  Type ptrT = LLVM::LLVMPointerType::get(ctx);
  Type globalT = LLVM::LLVMPointerType::get(ctx, 1);
  Type i32T = b.getI32Type(), i64T = b.getI64Type(), f32T = b.getF32Type();
  SmallVector<Type> params(kNumKernelParams);
  params[kParamTmaQ] = params[kParamTmaK] = params[kParamTmaV] = ptrT;
  params[kParamOut] = params[kParamLse] = globalT;
  params[kParamSeqlenQ] = params[kParamSeqlenK] =
      params[kParamHeadsPerKvHead] = i32T;
  params[kParamScaleLog2] = f32T;
  for (int p : {kParamOutBatchStride, kParamOutRowStride, kParamOutHeadStride,
                kParamLseBatchStride, kParamLseHeadStride})
    params[p] = i64T;
  auto fnType =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), params);
  auto func = LLVM::LLVMFuncOp::create(b, loc, name, fnType);

  // CUtensorMap parameters: 128 bytes, 64-byte aligned, passed by value and
  // addressed in place (grid_constant) by cp.async.bulk.tensor.
  auto tensorMapT = LLVM::LLVMArrayType::get(b.getI8Type(), 128);
  for (int p : {kParamTmaQ, kParamTmaK, kParamTmaV}) {
    func.setArgAttr(p, LLVM::LLVMDialect::getByValAttrName(),
                    TypeAttr::get(tensorMapT));
    func.setArgAttr(p, LLVM::LLVMDialect::getAlignAttrName(),
                    b.getI64IntegerAttr(64));
    func.setArgAttr(p, NVVM::NVVMDialect::getGridConstantAttrName(),
                    b.getUnitAttr());
  }
  func.setArgAttr(kParamOut, LLVM::LLVMDialect::getNoAliasAttrName(),
                  b.getUnitAttr());

  KernelGeometry geo = computeGeometry(spec);
  func->setAttr(NVVM::NVVMDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                b.getDenseI32ArrayAttr({geo.threadsPerCta, 1, 1}));
  // One CTA per SM gives ptxas the register cap setmaxnreg works against.
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(1));
  func.addEntryBlock(b);
  return func;
}

//===----------------------------------------------------------------------===//
// Body
//===----------------------------------------------------------------------===//

/// Which key blocks this CTA visits and which of them need a mask.
static BlockCoords computeBlockCoords(KernelEmitter &e, const KernelArgs &a) {
  const ScheduleSpec &s = e.spec.schedule;
  BlockCoords c;
  Value bx = e.blockIdx(0);
  c.mBlock = e.spec.problem.causal ? e.sub(e.sub(e.gridDimX(), e.i32(1)), bx)
                                   : bx;
  c.head = e.blockIdx(1);
  c.batch = e.blockIdx(2);
  c.kvHead = e.divu(c.head, a.headsPerKvHead);

  Value nBlocks = e.ceilDiv(a.seqlenK, s.blockN);
  // Blocks with a key column >= seqlen_k need masking.
  Value fullBlocks = e.divs(a.seqlenK, e.i32(s.blockN));
  if (!e.spec.problem.causal) {
    c.nEnd = nBlocks;
    c.nMaskStart = fullBlocks;
    return c;
  }
  // Row i sees keys <= i + offset, offset = seqlen_k - seqlen_q.
  Value offset = e.sub(a.seqlenK, a.seqlenQ);
  Value firstRow = e.mul(c.mBlock, e.i32(s.blockM));
  Value lastRow = e.sub(e.mins(e.add(firstRow, e.i32(s.blockM)), a.seqlenQ),
                        e.i32(1));
  // Keys [0, lastRow + offset + 1) are visible to some row of the block.
  Value visible = e.maxs(e.add(e.add(lastRow, offset), e.i32(1)), e.i32(0));
  c.nEnd = e.mins(nBlocks, e.ceilDiv(visible, s.blockN));
  // Blocks entirely at or below the diagonal of the first row need no mask.
  Value unmasked = e.maxs(e.add(e.add(firstRow, offset), e.i32(1)), e.i32(0));
  c.nMaskStart = e.mins(fullBlocks, e.divs(unmasked, e.i32(s.blockN)));
  return c;
}

/// Stage slot and phase parity of the j-th use of a `stages`-deep ring.
static std::pair<Value, Value> stageAndPhase(KernelEmitter &e, Value j) {
  Value stages = e.i32(e.spec.schedule.stages);
  return {e.remu(j, stages), e.andi(e.divu(j, stages), e.i32(1))};
}

static void emitProducer(KernelEmitter &e, const KernelArgs &a,
                         const BlockCoords &c, const SmemPointers &sm,
                         Value warpInGroup) {
  const ScheduleSpec &s = e.spec.schedule;
  const KernelGeometry &g = e.geo;
  // Loads the K or V tile of block j into its stage once the consumers have
  // released the stage's previous contents.
  auto loadKV = [&](bool isK, Value j) {
    auto [stage, phase] = stageAndPhase(e, j);
    Value empty = isK ? sm.kEmpty(stage) : sm.vEmpty(stage);
    Value full = isK ? sm.kFull(stage) : sm.vFull(stage);
    e.mbarrierWait(empty, e.xori(phase, e.i32(1)));
    e.mbarrierArriveExpectTx(full, g.kvTileBytes);
    e.tmaLoadTile(isK ? a.tmaK : a.tmaV, isK ? sm.kTile(stage) : sm.vTile(stage),
                  full, s.blockN, e.mul(j, e.i32(s.blockN)), c.kvHead, c.batch);
  };
  const bool splitV = s.producerWarps == 2;

  // Warp 0: Q, then K (and V unless a second warp loads it).
  e.ifThen(e.cmpi(arith::CmpIPredicate::eq, warpInGroup, e.i32(0)), [&] {
    e.ifThen(e.electOne(), [&] {
      e.mbarrierArriveExpectTx(sm.qFull, g.qTileBytes);
      e.tmaLoadTile(a.tmaQ, sm.qTile, sm.qFull, s.blockM,
                    e.mul(c.mBlock, e.i32(s.blockM)), c.head, c.batch);
      e.forLoop(e.i32(0), c.nEnd, {}, [&](Value j, ValueRange) {
        loadKV(/*isK=*/true, j);
        if (!splitV)
          loadKV(/*isK=*/false, j);
        return SmallVector<Value>{};
      });
    });
  });
  if (!splitV)
    return;
  e.ifThen(e.cmpi(arith::CmpIPredicate::eq, warpInGroup, e.i32(1)), [&] {
    e.ifThen(e.electOne(), [&] {
      e.forLoop(e.i32(0), c.nEnd, {}, [&](Value j, ValueRange) {
        loadKV(/*isK=*/false, j);
        return SmallVector<Value>{};
      });
    });
  });
}

/// Stores row `row` (0 or 1 of the thread's pair) of the normalised O
/// fragment: 32-bit stores of two adjacent columns each.
static void storeOutputRow(KernelEmitter &e, const KernelArgs &a,
                           const BlockCoords &c, const Fragment &o, int row,
                           Value rowIndex, Value colBase) {
  Value base = e.add(e.mul(e.ext64(c.batch), a.outBatchStride),
                     e.add(e.mul(e.ext64(rowIndex), a.outRowStride),
                           e.mul(e.ext64(c.head), a.outHeadStride)));
  base = e.add(base, e.ext64(colBase));
  for (int i = 0, n = static_cast<int>(o.size()); i < n; i += 2) {
    if (fragmentRow(i) != row)
      continue;
    Value packed = e.packHalf2(o[i], o[i + 1]);
    Value idx = e.add(base, e.i64(fragmentCol(i)));
    Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.i16T, a.out,
                                    ValueRange{idx});
    LLVM::StoreOp::create(e.b, e.loc, packed, ptr, /*alignment=*/4);
  }
}

static void emitConsumer(KernelEmitter &e, const KernelArgs &a,
                         const BlockCoords &c, const SmemPointers &sm,
                         Value tid, Value warpGroup) {
  const ScheduleSpec &s = e.spec.schedule;
  const int d = e.spec.problem.headDim;
  Value wg = e.sub(warpGroup, e.i32(1));
  Value lane = e.remu(tid, e.i32(32));
  Value warpInGroup = e.remu(e.divu(tid, e.i32(32)), e.i32(4));
  Value isLane0 = e.cmpi(arith::CmpIPredicate::eq, lane, e.i32(0));
  // The thread's rows (fragmentRow 0 and 1) and first column.
  Value row0 = e.add(e.add(e.mul(c.mBlock, e.i32(s.blockM)),
                           e.mul(wg, e.i32(kWgmmaM))),
                     e.add(e.mul(warpInGroup, e.i32(16)),
                           e.divu(lane, e.i32(4))));
  Value rows[2] = {row0, e.add(row0, e.i32(8))};
  Value colBase = e.mul(e.remu(lane, e.i32(4)), e.i32(2));
  // Absolute key limit per row: keys >= limit are masked.
  Value limit[2];
  for (int r = 0; r < 2; ++r) {
    limit[r] = a.seqlenK;
    if (e.spec.problem.causal) {
      Value offset = e.sub(a.seqlenK, a.seqlenQ);
      limit[r] = e.mins(a.seqlenK,
                        e.add(e.add(rows[r], offset), e.i32(1)));
    }
  }

  // Step 1. Wait for Q.
  e.mbarrierWait(sm.qFull, e.i32(0));

  // Step 2. Loop over key blocks, carrying O, the row maxima and sums.
  const int oCount = d / 2;
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  SmallVector<Value> inits(oCount, e.f32(0.0));
  inits.append({negInf, negInf, e.f32(0.0), e.f32(0.0)});
  SmallVector<Type> fragTypes(s.blockN / 2, e.f32T);

  SmallVector<Value> result = e.forLoop(
      e.i32(0), c.nEnd, inits, [&](Value j, ValueRange carried) {
        Fragment o(carried.begin(), carried.begin() + oCount);
        KernelEmitter::SoftmaxState state;
        state.rowMax[0] = carried[oCount];
        state.rowMax[1] = carried[oCount + 1];
        state.rowSum[0] = carried[oCount + 2];
        state.rowSum[1] = carried[oCount + 3];
        auto [stage, phase] = stageAndPhase(e, j);

        e.mbarrierWait(sm.kFull(stage), phase);
        Fragment scores = e.wgmmaQK(sm.qTile, sm.kTile(stage), wg);
        e.ifThen(isLane0, [&] { e.mbarrierArrive(sm.kEmpty(stage)); });

        Value needsMask = e.cmpi(arith::CmpIPredicate::sge, j, c.nMaskStart);
        Value blockStart = e.add(e.mul(j, e.i32(s.blockN)), colBase);
        scores = e.ifThenElse(
            needsMask, fragTypes,
            [&] {
              return e.maskColumns(scores, e.sub(limit[0], blockStart),
                                   e.sub(limit[1], blockStart));
            },
            [&] { return scores; });

        Value alpha[2];
        Fragment p = e.softmaxStep(scores, a.scaleLog2, state, alpha);
        o = e.scaleRows(o, alpha[0], alpha[1]);
        SmallVector<Value> pRegs = e.packA(p);

        e.mbarrierWait(sm.vFull(stage), phase);
        o = e.wgmmaPV(o, pRegs, sm.vTile(stage));
        e.ifThen(isLane0, [&] { e.mbarrierArrive(sm.vEmpty(stage)); });

        SmallVector<Value> next(o.begin(), o.end());
        next.append({state.rowMax[0], state.rowMax[1], state.rowSum[0],
                     state.rowSum[1]});
        return next;
      });

  // Step 3. Epilogue: O / l, LSE = (m + log2 l) * ln 2.
  Fragment o(result.begin(), result.begin() + oCount);
  Value zero = e.f32(0.0);
  Value inv[2], lse[2];
  for (int r = 0; r < 2; ++r) {
    Value sum = e.quadSum(result[oCount + 2 + r]);
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, sum, zero);
    // Fully masked rows: O = 0 and LSE = -inf, never NaN.
    inv[r] = e.select(empty, zero, e.fdiv(e.f32(1.0), sum));
    Value lseValue = e.fmul(e.fadd(result[oCount + r], e.log2(sum)),
                            e.f32(std::log(2.0)));
    lse[r] = e.select(empty, negInf, lseValue);
  }
  o = e.scaleRows(o, inv[0], inv[1]);

  for (int r = 0; r < 2; ++r) {
    Value inRange = e.cmpi(arith::CmpIPredicate::slt, rows[r], a.seqlenQ);
    e.ifThen(inRange, [&] { storeOutputRow(e, a, c, o, r, rows[r], colBase); });
  }

  Value lseInt = LLVM::PtrToIntOp::create(e.b, e.loc, e.i64T, a.lse);
  Value hasLse = e.cmpi(arith::CmpIPredicate::ne, lseInt, e.i64(0));
  Value quadLeader = e.cmpi(arith::CmpIPredicate::eq, colBase, e.i32(0));
  e.ifThen(e.andi(hasLse, quadLeader), [&] {
    for (int r = 0; r < 2; ++r) {
      Value inRange = e.cmpi(arith::CmpIPredicate::slt, rows[r], a.seqlenQ);
      e.ifThen(inRange, [&] {
        Value idx = e.add(e.add(e.mul(e.ext64(c.batch), a.lseBatchStride),
                                e.mul(e.ext64(c.head), a.lseHeadStride)),
                          e.ext64(rows[r]));
        Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.f32T,
                                        a.lse, ValueRange{idx});
        LLVM::StoreOp::create(e.b, e.loc, lse[r], ptr, /*alignment=*/4);
      });
    }
  });
}

void emitAttentionKernelBody(OpBuilder &b, LLVM::LLVMFuncOp func,
                             const AttentionSpec &spec) {
  OpBuilder::InsertionGuard guard(b);
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  KernelEmitter e(b, func.getLoc(), spec);
  const ScheduleSpec &s = spec.schedule;
  const SmemLayout &layout = e.geo.smem;

  KernelArgs a;
  auto arg = [&](int i) { return entry->getArgument(i); };
  a.tmaQ = arg(kParamTmaQ);
  a.tmaK = arg(kParamTmaK);
  a.tmaV = arg(kParamTmaV);
  a.out = arg(kParamOut);
  a.lse = arg(kParamLse);
  a.seqlenQ = arg(kParamSeqlenQ);
  a.seqlenK = arg(kParamSeqlenK);
  a.headsPerKvHead = arg(kParamHeadsPerKvHead);
  a.scaleLog2 = arg(kParamScaleLog2);
  a.outBatchStride = arg(kParamOutBatchStride);
  a.outRowStride = arg(kParamOutRowStride);
  a.outHeadStride = arg(kParamOutHeadStride);
  a.lseBatchStride = arg(kParamLseBatchStride);
  a.lseHeadStride = arg(kParamLseHeadStride);

  // Step 1. Who am I, and which key blocks does this CTA visit.
  Value tid = e.threadIdx();
  Value warp = e.warpIndexUniform(tid);
  Value warpGroup = e.divu(warp, e.i32(4));
  Value warpInGroup = e.remu(warp, e.i32(4));
  BlockCoords c = computeBlockCoords(e, a);

  // Step 2. Shared memory: tiles and barriers; thread 0 initialises the
  // barriers, everyone waits for that.
  SmemPointers sm;
  sm.e = &e;
  sm.layout = &layout;
  sm.stages = s.stages;
  sm.base = e.alignedSmemBase();
  sm.qTile = e.smemAt(sm.base, layout.qOffset);
  sm.qFull = e.smemAt(sm.base, layout.qFullBarrier());
  e.ifThen(e.cmpi(arith::CmpIPredicate::eq, tid, e.i32(0)), [&] {
    const int consumerWarps = 4 * s.consumerWarpgroups;
    e.mbarrierInit(sm.qFull, 1);
    for (int st = 0; st < s.stages; ++st) {
      Value stage = e.i32(st);
      e.mbarrierInit(sm.kFull(stage), 1);
      e.mbarrierInit(sm.vFull(stage), 1);
      e.mbarrierInit(sm.kEmpty(stage), consumerWarps);
      e.mbarrierInit(sm.vEmpty(stage), consumerWarps);
    }
    e.mbarrierInitFence();
  });
  e.barrierAll();

  // Step 3. Split roles; registers move from the producer to the consumers.
  Value isProducer = e.cmpi(arith::CmpIPredicate::eq, warpGroup, e.i32(0));
  auto roles = scf::IfOp::create(b, e.loc, isProducer, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard roleGuard(b);
    b.setInsertionPoint(roles.thenBlock()->getTerminator());
    e.setMaxRegisters(s.producerRegisters, /*increase=*/false);
    emitProducer(e, a, c, sm, warpInGroup);
    b.setInsertionPoint(roles.elseBlock()->getTerminator());
    e.setMaxRegisters(s.consumerRegisters, /*increase=*/true);
    emitConsumer(e, a, c, sm, tid, warpGroup);
  }
  LLVM::ReturnOp::create(b, e.loc, ValueRange{});
}

} // namespace flashcore
