//===- CombineKernel.cpp - Split-KV's merge of partial results ------------===//
//
// Kernel<combine>: one warp per (query row, head) of the workspace a split_kv
// forward wrote (KernelABI.h: O_accum[split][row][head][d] fp32 normalised per
// split, LSE_accum[split][row][head] natural log). With M = max_s LSE_s,
//
//   LSE = M + log(sum_s exp(LSE_s - M))        (-inf if every split is empty)
//   O   = sum_s exp(LSE_s - LSE) * O_s
//
// One pass over the splits, sixteen at a time (their LSEs and partial O are
// loaded before any arithmetic: one round trip per sixteen splits), merged
// as the online softmax merges key blocks; every lane handles two adjacent
// columns per 64-column step of the head dimension. Row r
// of the workspace is (batch r / seqlen_q, query r % seqlen_q) of O; varlen
// calls pass seqlen_q = the packed row count and a batch stride of 0.
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
    Value lastSplit = e.maxs(e.sub(splits, e.i32(1)), e.i32(0));
    auto expNatural = [&](Value x) { return e.exp2(e.fmul(x, e.f32(log2e))); };

    // Step 2. One pass over the splits, kSplitsInFlight at a time: each
    // group's LSEs and partial O (indices clamped to the last split, LSE
    // -inf past it) are all loaded before the first multiply-add, so a warp
    // waits for one round trip per group, LSEs included. The merge is the
    // online softmax's: a running maximum m, sum l and O sum, rescaled by
    // exp(m_old - m_new) when the group's largest LSE exceeds m. Every lane
    // merges every split (an LSE load is one broadcast per warp) and two
    // adjacent columns per 64-column step of the head dimension.
    constexpr int kSplitsInFlight = 16;
    const int steps = (d + 63) / 64;
    const bool ragged = d % 64 != 0;
    Value col0 = e.mul(lane, e.i32(2));
    Type pairT = VectorType::get({2}, e.f32T);
    SmallVector<Value> inits{negInf, e.f32(0.0)}; // m, l, then O pairs
    inits.append(2 * steps, e.f32(0.0));
    SmallVector<Value> merged = e.forLoop(
        e.i32(0), e.ceilDiv(splits, kSplitsInFlight), inits,
        [&](Value g, ValueRange c) {
          Value lseS[kSplitsInFlight];
          SmallVector<Value> pairs;
          for (int u = 0; u < kSplitsInFlight; ++u) {
            Value s = e.add(e.mul(g, e.i32(kSplitsInFlight)), e.i32(u));
            Value clamped = slot(e.mins(s, lastSplit));
            lseS[u] = e.select(e.lt(s, splits),
                               loadF32(e, a[kCombineLseAccum], clamped),
                               negInf);
            Value base = e.mul(clamped, e.i64(d));
            for (int k = 0; k < steps; ++k) {
              Value col = e.add(col0, e.i32(64 * k));
              if (ragged) // a column pair past d reads the last one
                col = e.mins(col, e.i32(d - 2));
              Value ptr = LLVM::GEPOp::create(
                  e.b, e.loc, e.globalPtrT, e.f32T, a[kCombineOAccum],
                  ValueRange{e.add(base, e.ext64(col))});
              pairs.push_back(
                  LLVM::LoadOp::create(e.b, e.loc, pairT, ptr, /*alignment=*/8));
            }
          }
          // The new maximum; exponents are taken from 0 while every split so
          // far is empty (-inf - -inf would be NaN), so empty splits weigh 0.
          Value m = c[0];
          for (Value x : lseS)
            m = e.fmax(m, x);
          Value ref = e.select(e.cmpf(arith::CmpFPredicate::OEQ, m, negInf),
                               e.f32(0.0), m);
          Value scale = expNatural(e.fsub(c[0], ref));
          SmallVector<Value> next{m, e.fmul(c[1], scale)};
          for (int i = 0; i < 2 * steps; ++i)
            next.push_back(e.fmul(c[2 + i], scale));
          for (int u = 0; u < kSplitsInFlight; ++u) {
            Value w = expNatural(e.fsub(lseS[u], ref));
            next[1] = e.fadd(next[1], w);
            for (int k = 0; k < steps; ++k) {
              Value pair = pairs[u * steps + k];
              for (int h = 0; h < 2; ++h) {
                Value x = LLVM::ExtractElementOp::create(e.b, e.loc, pair,
                                                         e.i32(h));
                next[2 + 2 * k + h] = e.fma(w, x, next[2 + 2 * k + h]);
              }
            }
          }
          return next;
        });
    // Every split empty (no keys): O = 0, LSE = -inf.
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, merged[0], negInf);
    Value inverse = e.select(empty, e.f32(0.0), e.fdiv(e.f32(1.0), merged[1]));
    Value lse = e.select(
        empty, negInf,
        e.fadd(merged[0], e.fmul(e.log2(merged[1]), e.f32(std::log(2.0)))));
    SmallVector<Value> acc;
    for (int i = 0; i < 2 * steps; ++i)
      acc.push_back(e.fmul(merged[2 + i], inverse));

    // Step 3. Store O (dtype) and the LSE.
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
