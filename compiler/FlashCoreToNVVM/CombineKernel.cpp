//===- CombineKernel.cpp - Split-KV's merge of partial results ------------===//
//
// Kernel<combine>: one warp per (query row, head) of the workspace a split_kv
// forward wrote (KernelABI.h: O_accum[split][row][head][d] fp32 normalised per
// split, LSE_accum[split][row][head] natural log). With M = max_s LSE_s,
//
//   LSE = M + log(sum_s exp(LSE_s - M))        (-inf if every split is empty)
//   O   = sum_s exp(LSE_s - LSE) * O_s
//
// Pass 1 reduces over the splits across the lanes (lane l takes splits l,
// l + 32, ...; butterfly shuffles). Pass 2 has every lane accumulate two
// adjacent columns per 64-column step of the head dimension. Row r of the
// workspace is (batch r / seqlen_q, query r % seqlen_q) of O; varlen calls pass
// seqlen_q = the packed row count and a batch stride of 0.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelArgs.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace flashcore {

namespace {

class CombineParams {
public:
  explicit CombineParams(Block *entry) : entry(entry) {}
  Value operator[](CombineParam p) const {
    return entry->getArgument(static_cast<unsigned>(p));
  }

private:
  Block *entry;
};

Value warpReduce(KernelEmitter &e, Value v, bool isMax) {
  for (int mask : {16, 8, 4, 2, 1}) {
    Value other = e.shuffleXor(v, mask);
    v = isMax ? e.fmax(v, other) : e.fadd(v, other);
  }
  return v;
}

Value loadF32(KernelEmitter &e, Value base, Value index) {
  Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.f32T, base,
                                  ValueRange{index});
  return LLVM::LoadOp::create(e.b, e.loc, e.f32T, ptr, /*alignment=*/4);
}

} // namespace

void emitCombineKernel(OpBuilder &b, LLVM::LLVMFuncOp func,
                       const ValidatedSpec &spec) {
  OpBuilder::InsertionGuard guard(b);
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  KernelEmitter e(b, func.getLoc(), spec);
  CombineParams a(entry);
  const int d = spec.problem().headDim;
  const double log2e = 1.4426950408889634;
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());

  // Step 0. Launched as a programmatic dependent of the forward: wait for
  // its completion and its workspace writes before reading any.
  e.gridDependencyWait();

  // Step 1. This warp's (row, head).
  Value tid = e.threadIdx();
  Value warp = e.warpIndexUniform(tid);
  Value lane = e.remu(tid, e.i32(32));
  Value item = e.add(e.mul(e.blockIdx(0), e.i32(kCombineWarps)), warp);
  Value heads = a[kCombineHeadsQ];
  Value row = e.divu(item, heads);
  Value head = e.remu(item, heads);
  e.ifThen(e.lt(row, a[kCombineAccumRows]), [&] {
    Value splits = a[kCombineNumSplits];
    Value rowsTimesHeads =
        e.mul(e.ext64(a[kCombineAccumRows]), e.ext64(heads));
    Value rowHead = e.add(e.mul(e.ext64(row), e.ext64(heads)), e.ext64(head));
    auto slot = [&](Value s) { // [s][row][head]
      return e.add(e.mul(e.ext64(s), rowsTimesHeads), rowHead);
    };
    Value strided = e.ceilDiv(splits, 32);

    // Step 2. LSE = M + log(sum exp(LSE_s - M)) over the splits.
    auto lseOfLane = [&](Value j) {
      Value s = e.add(e.mul(j, e.i32(32)), lane);
      return e.ifThenElse(
          e.lt(s, splits), TypeRange{e.f32T},
          [&] { return SmallVector<Value>{loadF32(e, a[kCombineLseAccum], slot(s))}; },
          [&] { return SmallVector<Value>{negInf}; })[0];
    };
    Value m = e.forLoop(e.i32(0), strided, ValueRange{negInf},
                        [&](Value j, ValueRange c) {
                          return SmallVector<Value>{e.fmax(c[0], lseOfLane(j))};
                        })[0];
    m = warpReduce(e, m, /*isMax=*/true);
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, m, negInf);
    Value mUsed = e.select(empty, e.f32(0.0), m);
    Value sum = e.forLoop(e.i32(0), strided, ValueRange{e.f32(0.0)},
                          [&](Value j, ValueRange c) {
                            Value x = e.fmul(e.fsub(lseOfLane(j), mUsed),
                                             e.f32(log2e));
                            return SmallVector<Value>{e.fadd(c[0], e.exp2(x))};
                          })[0];
    sum = warpReduce(e, sum, /*isMax=*/false);
    Value lse = e.select(empty, negInf,
                         e.fadd(mUsed, e.fmul(e.log2(sum), e.f32(std::log(2.0)))));

    // Step 3. O = sum_s exp(LSE_s - LSE) O_s, two columns per lane per 64.
    const int steps = (d + 63) / 64;
    Value col0 = e.mul(lane, e.i32(2));
    Type pairT = VectorType::get({2}, e.f32T);
    SmallVector<Value> inits(2 * steps, e.f32(0.0));
    SmallVector<Value> acc = e.forLoop(
        e.i32(0), splits, inits, [&](Value s, ValueRange c) {
          Value lseS = loadF32(e, a[kCombineLseAccum], slot(s));
          Value w = e.select(empty, e.f32(0.0),
                             e.exp2(e.fmul(e.fsub(lseS, lse), e.f32(log2e))));
          Value base = e.mul(slot(s), e.i64(d));
          SmallVector<Value> next(c.begin(), c.end());
          for (int k = 0; k < steps; ++k) {
            Value col = e.add(col0, e.i32(64 * k));
            SmallVector<Value> updated = e.ifThenElse(
                e.lt(col, e.i32(d)), TypeRange{e.f32T, e.f32T},
                [&] {
                  Value ptr = LLVM::GEPOp::create(
                      e.b, e.loc, e.globalPtrT, e.f32T, a[kCombineOAccum],
                      ValueRange{e.add(base, e.ext64(col))});
                  Value pair =
                      LLVM::LoadOp::create(e.b, e.loc, pairT, ptr, /*alignment=*/8);
                  Value x = LLVM::ExtractElementOp::create(e.b, e.loc, pair, e.i32(0));
                  Value y = LLVM::ExtractElementOp::create(e.b, e.loc, pair, e.i32(1));
                  return SmallVector<Value>{e.fma(w, x, c[2 * k]),
                                            e.fma(w, y, c[2 * k + 1])};
                },
                [&] { return SmallVector<Value>{c[2 * k], c[2 * k + 1]}; });
            next[2 * k] = updated[0];
            next[2 * k + 1] = updated[1];
          }
          return next;
        });

    // Step 4. Store O (dtype) and the LSE.
    Value batch = e.divu(row, a[kCombineSeqlenQ]);
    Value query = e.remu(row, a[kCombineSeqlenQ]);
    Value oBase = e.add(
        e.add(e.mul(e.ext64(batch), a[kCombineOutBatchStride]),
              e.mul(e.ext64(query), a[kCombineOutRowStride])),
        e.mul(e.ext64(head), a[kCombineOutHeadStride]));
    for (int k = 0; k < steps; ++k) {
      Value col = e.add(col0, e.i32(64 * k));
      e.ifThen(e.lt(col, e.i32(d)), [&] {
        Value packed = e.packHalf2(acc[2 * k], acc[2 * k + 1]);
        Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.i16T,
                                        a[kCombineOut],
                                        ValueRange{e.add(oBase, e.ext64(col))});
        LLVM::StoreOp::create(e.b, e.loc, packed, ptr, /*alignment=*/4);
      });
    }
    Value lsePtr = a[kCombineLse];
    Value hasLse = e.cmpi(arith::CmpIPredicate::ne,
                          LLVM::PtrToIntOp::create(e.b, e.loc, e.i64T, lsePtr),
                          e.i64(0));
    e.ifThen(e.andi(hasLse, e.eq(lane, e.i32(0))), [&] {
      Value idx = e.add(
          e.add(e.mul(e.ext64(batch), a[kCombineLseBatchStride]),
                e.mul(e.ext64(head), a[kCombineLseHeadStride])),
          e.ext64(query));
      Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.f32T, lsePtr,
                                      ValueRange{idx});
      LLVM::StoreOp::create(e.b, e.loc, lse, ptr, /*alignment=*/4);
    });
  });
}

} // namespace flashcore
