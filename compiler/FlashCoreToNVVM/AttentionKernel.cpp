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
// Masks follow FlashAttention, bottom-right aligned (offset = seqlen_k -
// seqlen_q): causal row i sees keys j <= i + offset; a local (sliding window)
// row sees i + offset - left <= j <= i + offset + right (-1: unbounded). Key
// blocks outside the rows' union are skipped; blocks that straddle a window
// edge or the end of the keys are masked. CTAs take query blocks in reverse
// order when causal so the longest ones start first. Softcap kernels replace
// S by c * tanh(S * scale / c) before the softmax. Varlen kernels read each
// sequence's bounds from cu_seqlens and address the packed tensors.
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
  Value tmaQ, tmaK, tmaV, out, lse, cuSeqlensQ, cuSeqlensK, seqlenQ, seqlenK,
      headsPerKvHead, windowLeft, windowRight, scaleLog2, softcapScale,
      outBatchStride, outRowStride, outHeadStride, lseBatchStride,
      lseHeadStride;
};

/// Where the CTA is and how much key range it covers.
struct BlockCoords {
  Value mBlock, head, kvHead, batch;
  /// This sequence's lengths, where its rows start in the (packed) tensors,
  /// and the batch coordinate of the tensor maps (0 for varlen).
  Value seqlenQ, seqlenK, rowOffsetQ, rowOffsetK, tmaBatch;
  Value nStart, nEnd; // key blocks [nStart, nEnd) are visited
  Value nMaskStart;   // blocks >= nMaskStart cross the upper key limit
  Value nMaskLowEnd;  // blocks < nMaskLowEnd cross a window's lower limit
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
  params[kParamCuSeqlensQ] = params[kParamCuSeqlensK] = globalT;
  for (int p : {kParamSeqlenQ, kParamSeqlenK, kParamHeadsPerKvHead,
                kParamWindowLeft, kParamWindowRight})
    params[p] = i32T;
  params[kParamScaleLog2] = params[kParamSoftcapScale] = f32T;
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

/// Loads cu_seqlens[index] (varlen kernels).
static Value loadSeqlenBound(KernelEmitter &e, Value cuSeqlens, Value index) {
  Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.i32T, cuSeqlens,
                                  ValueRange{index});
  return LLVM::LoadOp::create(e.b, e.loc, e.i32T, ptr, /*alignment=*/4);
}

/// Which key blocks this CTA visits and which of them need a mask.
static BlockCoords computeBlockCoords(KernelEmitter &e, const KernelArgs &a) {
  const ProblemSpec &p = e.spec.problem;
  const ScheduleSpec &s = e.spec.schedule;
  BlockCoords c;
  Value bx = e.blockIdx(0);
  c.mBlock = p.causal ? e.sub(e.sub(e.gridDimX(), e.i32(1)), bx) : bx;
  c.head = e.blockIdx(1);
  c.batch = e.blockIdx(2);
  c.kvHead = e.divu(c.head, a.headsPerKvHead);
  if (p.varlen) {
    Value next = e.add(c.batch, e.i32(1));
    c.rowOffsetQ = loadSeqlenBound(e, a.cuSeqlensQ, c.batch);
    c.rowOffsetK = loadSeqlenBound(e, a.cuSeqlensK, c.batch);
    c.seqlenQ = e.sub(loadSeqlenBound(e, a.cuSeqlensQ, next), c.rowOffsetQ);
    c.seqlenK = e.sub(loadSeqlenBound(e, a.cuSeqlensK, next), c.rowOffsetK);
    c.tmaBatch = e.i32(0);
  } else {
    c.rowOffsetQ = c.rowOffsetK = e.i32(0);
    c.seqlenQ = a.seqlenQ;
    c.seqlenK = a.seqlenK;
    c.tmaBatch = c.batch;
  }

  Value zero = e.i32(0);
  Value nBlocks = e.ceilDiv(c.seqlenK, s.blockN);
  // Blocks with a key column >= seqlen_k need masking.
  Value fullBlocks = e.divs(c.seqlenK, e.i32(s.blockN));
  c.nStart = zero;
  c.nEnd = nBlocks;
  c.nMaskStart = fullBlocks;
  c.nMaskLowEnd = zero;
  if (!p.causal && !p.local)
    return c;

  // Rows see keys up to row + offset (+ window_right), offset = seqlen_k -
  // seqlen_q; a negative window_right means no upper limit.
  Value offset = e.sub(c.seqlenK, c.seqlenQ);
  Value firstRow = e.mul(c.mBlock, e.i32(s.blockM));
  Value lastRow = e.sub(e.mins(e.add(firstRow, e.i32(s.blockM)), c.seqlenQ),
                        e.i32(1));
  Value right = p.causal ? zero : a.windowRight;
  Value bounded = p.causal ? Value() : e.cmpi(arith::CmpIPredicate::sge, right,
                                              zero);
  // Keys [0, lastRow + offset + right + 1) are visible to some row.
  Value visible = e.maxs(e.add(e.add(lastRow, offset), e.add(right, e.i32(1))),
                         zero);
  Value nEnd = e.mins(nBlocks, e.ceilDiv(visible, s.blockN));
  // Blocks entirely below the first row's upper limit need no upper mask.
  Value unmasked = e.maxs(e.add(e.add(firstRow, offset), e.add(right, e.i32(1))),
                          zero);
  Value maskStart = e.mins(fullBlocks, e.divs(unmasked, e.i32(s.blockN)));
  c.nEnd = bounded ? e.select(bounded, nEnd, nBlocks) : nEnd;
  c.nMaskStart = bounded ? e.select(bounded, maskStart, fullBlocks) : maskStart;
  if (!p.local)
    return c;

  // Local windows also have a lower limit row + offset - window_left.
  Value left = a.windowLeft;
  Value hasLeft = e.cmpi(arith::CmpIPredicate::sge, left, zero);
  // The first row's lowest visible key starts the range...
  Value lowFirst = e.maxs(e.sub(e.add(firstRow, offset), left), zero);
  Value nStart = e.mins(e.divs(lowFirst, e.i32(s.blockN)), c.nEnd);
  // ...and blocks starting below the last row's lowest key need a mask.
  Value lowLast = e.maxs(e.sub(e.add(lastRow, offset), left), zero);
  Value maskLowEnd = e.ceilDiv(lowLast, s.blockN);
  c.nStart = e.select(hasLeft, nStart, zero);
  c.nMaskLowEnd = e.select(hasLeft, maskLowEnd, zero);
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
    auto [stage, phase] = stageAndPhase(e, e.sub(j, c.nStart));
    Value empty = isK ? sm.kEmpty(stage) : sm.vEmpty(stage);
    Value full = isK ? sm.kFull(stage) : sm.vFull(stage);
    e.mbarrierWait(empty, e.xori(phase, e.i32(1)));
    e.mbarrierArriveExpectTx(full, g.kvTileBytes);
    e.tmaLoadTile(isK ? a.tmaK : a.tmaV, isK ? sm.kTile(stage) : sm.vTile(stage),
                  full, s.blockN,
                  e.add(c.rowOffsetK, e.mul(j, e.i32(s.blockN))), c.kvHead,
                  c.tmaBatch);
  };
  const bool splitV = s.producerWarps == 2;

  // Warp 0: Q, then K (and V unless a second warp loads it).
  e.ifThen(e.cmpi(arith::CmpIPredicate::eq, warpInGroup, e.i32(0)), [&] {
    e.ifThen(e.electOne(), [&] {
      e.mbarrierArriveExpectTx(sm.qFull, g.qTileBytes);
      e.tmaLoadTile(a.tmaQ, sm.qTile, sm.qFull, s.blockM,
                    e.add(c.rowOffsetQ, e.mul(c.mBlock, e.i32(s.blockM))),
                    c.head, c.tmaBatch);
      e.forLoop(c.nStart, c.nEnd, {}, [&](Value j, ValueRange) {
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
      e.forLoop(c.nStart, c.nEnd, {}, [&](Value j, ValueRange) {
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
                     e.add(e.mul(e.ext64(e.add(c.rowOffsetQ, rowIndex)),
                                 a.outRowStride),
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
  // Absolute key range per row: keys outside [low, high) are masked.
  const ProblemSpec &problem = e.spec.problem;
  Value offset = e.sub(c.seqlenK, c.seqlenQ);
  Value high[2], low[2] = {Value(), Value()};
  for (int r = 0; r < 2; ++r) {
    Value diagonal = e.add(rows[r], offset);
    high[r] = c.seqlenK;
    if (problem.causal)
      high[r] = e.mins(c.seqlenK, e.add(diagonal, e.i32(1)));
    if (problem.local) {
      Value bounded = e.cmpi(arith::CmpIPredicate::sge, a.windowRight, e.i32(0));
      Value windowHigh = e.add(e.add(diagonal, a.windowRight), e.i32(1));
      high[r] = e.select(bounded, e.mins(c.seqlenK, windowHigh), c.seqlenK);
      // An unbounded left edge is the lowest possible key.
      Value hasLeft = e.cmpi(arith::CmpIPredicate::sge, a.windowLeft, e.i32(0));
      low[r] = e.select(hasLeft, e.sub(diagonal, a.windowLeft),
                        e.i32(std::numeric_limits<int32_t>::min() / 2));
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
      c.nStart, c.nEnd, inits, [&](Value j, ValueRange carried) {
        Fragment o(carried.begin(), carried.begin() + oCount);
        KernelEmitter::SoftmaxState state;
        state.rowMax[0] = carried[oCount];
        state.rowMax[1] = carried[oCount + 1];
        state.rowSum[0] = carried[oCount + 2];
        state.rowSum[1] = carried[oCount + 3];
        auto [stage, phase] = stageAndPhase(e, e.sub(j, c.nStart));

        e.mbarrierWait(sm.kFull(stage), phase);
        Fragment scores = e.wgmmaQK(sm.qTile, sm.kTile(stage), wg);
        e.ifThen(isLane0, [&] { e.mbarrierArrive(sm.kEmpty(stage)); });

        if (problem.softcap) {
          // S' = tanh(S * scale / c); the exponent's scale is c * log2(e).
          for (Value &x : scores)
            x = e.tanh(e.fmul(x, a.softcapScale));
        }
        Value needsMask = e.cmpi(arith::CmpIPredicate::sge, j, c.nMaskStart);
        if (problem.local)
          needsMask = e.ori(needsMask, e.cmpi(arith::CmpIPredicate::slt, j,
                                              c.nMaskLowEnd));
        Value blockStart = e.add(e.mul(j, e.i32(s.blockN)), colBase);
        scores = e.ifThenElse(
            needsMask, fragTypes,
            [&] {
              Value lo[2] = {Value(), Value()}, hi[2];
              for (int r = 0; r < 2; ++r) {
                hi[r] = e.sub(high[r], blockStart);
                if (low[r])
                  lo[r] = e.sub(low[r], blockStart);
              }
              return e.maskColumns(scores, lo, hi);
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
    Value inRange = e.cmpi(arith::CmpIPredicate::slt, rows[r], c.seqlenQ);
    e.ifThen(inRange, [&] { storeOutputRow(e, a, c, o, r, rows[r], colBase); });
  }

  Value lseInt = LLVM::PtrToIntOp::create(e.b, e.loc, e.i64T, a.lse);
  Value hasLse = e.cmpi(arith::CmpIPredicate::ne, lseInt, e.i64(0));
  Value quadLeader = e.cmpi(arith::CmpIPredicate::eq, colBase, e.i32(0));
  e.ifThen(e.andi(hasLse, quadLeader), [&] {
    for (int r = 0; r < 2; ++r) {
      Value inRange = e.cmpi(arith::CmpIPredicate::slt, rows[r], c.seqlenQ);
      e.ifThen(inRange, [&] {
        Value idx = e.add(e.add(e.mul(e.ext64(c.batch), a.lseBatchStride),
                                e.mul(e.ext64(c.head), a.lseHeadStride)),
                          e.ext64(e.add(c.rowOffsetQ, rows[r])));
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
  a.cuSeqlensQ = arg(kParamCuSeqlensQ);
  a.cuSeqlensK = arg(kParamCuSeqlensK);
  a.seqlenQ = arg(kParamSeqlenQ);
  a.seqlenK = arg(kParamSeqlenK);
  a.headsPerKvHead = arg(kParamHeadsPerKvHead);
  a.windowLeft = arg(kParamWindowLeft);
  a.windowRight = arg(kParamWindowRight);
  a.scaleLog2 = arg(kParamScaleLog2);
  a.softcapScale = arg(kParamSoftcapScale);
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

  // Steps 2 and 3, for CTAs whose query block holds rows (every CTA but the
  // tail ones of short sequences in a varlen batch).
  auto body = [&] {
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

    // Step 3. Split roles; registers move from the producer to the
    // consumers.
    Value isProducer = e.cmpi(arith::CmpIPredicate::eq, warpGroup, e.i32(0));
    auto roles =
        scf::IfOp::create(b, e.loc, isProducer, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard roleGuard(b);
    b.setInsertionPoint(roles.thenBlock()->getTerminator());
    e.setMaxRegisters(s.producerRegisters, /*increase=*/false);
    emitProducer(e, a, c, sm, warpInGroup);
    b.setInsertionPoint(roles.elseBlock()->getTerminator());
    e.setMaxRegisters(s.consumerRegisters, /*increase=*/true);
    emitConsumer(e, a, c, sm, tid, warpGroup);
  };
  if (spec.problem.varlen)
    e.ifThen(e.cmpi(arith::CmpIPredicate::slt,
                    e.mul(c.mBlock, e.i32(s.blockM)), c.seqlenQ),
             body);
  else
    body();
  LLVM::ReturnOp::create(b, e.loc, ValueRange{});
}

} // namespace flashcore
