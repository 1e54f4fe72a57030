//===- CombineKernel.cpp - Split-KV's merge of partial results ------------===//
//
// Kernel<combine>: one warp per (query row, head) of the workspace a split_kv
// forward wrote (KernelABI.h: O_accum[split][row][head][d] fp32 normalised per
// split, LSE_accum[split][row][head] natural log). With M = max_s LSE_s,
//
//   LSE = M + log(sum_s exp(LSE_s - M))        (-inf if every split is empty)
//   O   = sum_s exp(LSE_s - LSE) * O_s
//
// Pass 1 reduces over the splits across the lanes in one pass (lane l keeps
// a running max and sum over splits l, l + 32, ...; butterfly shuffles merge
// them). Pass 2 has every lane accumulate two adjacent columns per 64-column
// step of the head dimension, eight splits' loads in flight at a time. Row r
// of the workspace is (batch r / seqlen_q, query r % seqlen_q) of O; varlen
// calls pass seqlen_q = the packed row count and a batch stride of 0.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelArgs.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

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
    Value strided = e.ceilDiv(splits, 32);
    Value lastSplit = e.maxs(e.sub(splits, e.i32(1)), e.i32(0));
    auto expNatural = [&](Value x) { return e.exp2(e.fmul(x, e.f32(log2e))); };

    // Step 2. LSE = M + log(sum exp(LSE_s - M)) over the splits, in one
    // pass: each lane keeps a running (max, sum) over splits lane, lane + 32,
    // ...; the butterfly merges the lanes' pairs.
    auto lseOfLane = [&](Value j) {
      Value s = e.add(e.mul(j, e.i32(32)), lane);
      Value x = loadF32(e, a[kCombineLseAccum], slot(e.mins(s, lastSplit)));
      return e.select(e.lt(s, splits), x, negInf);
    };
    // (m, l) + (m2, l2) with l counted from m: both sides rescaled to the
    // larger maximum; an empty side (m = -inf) adds nothing.
    auto merge = [&](Value m1, Value l1, Value m2, Value l2) {
      Value m = e.fmax(m1, m2);
      Value ref = e.select(e.cmpf(arith::CmpFPredicate::OEQ, m, negInf),
                           e.f32(0.0), m);
      auto scaled = [&](Value mi, Value li) {
        return e.fmul(li, expNatural(e.fsub(mi, ref)));
      };
      return std::make_pair(m, e.fadd(scaled(m1, l1), scaled(m2, l2)));
    };
    SmallVector<Value> ml = e.forLoop(
        e.i32(0), strided, ValueRange{negInf, e.f32(0.0)},
        [&](Value j, ValueRange c) {
          Value x = lseOfLane(j);
          auto [m, l] = merge(c[0], c[1], x, e.f32(1.0));
          return SmallVector<Value>{m, l};
        });
    Value m = ml[0], sum = ml[1];
    for (int mask : {16, 8, 4, 2, 1})
      std::tie(m, sum) =
          merge(m, sum, e.shuffleXor(m, mask), e.shuffleXor(sum, mask));
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, m, negInf);
    Value hasKeys = e.xori(empty, e.i1(true));
    Value lse = e.select(empty, negInf,
                         e.fadd(m, e.fmul(e.log2(sum), e.f32(std::log(2.0)))));

    // Step 3. O = sum_s exp(LSE_s - LSE) O_s, two columns per lane per 64,
    // kSplitsInFlight splits per iteration: their loads (indices clamped to
    // the last split, weights 0 past it) are all issued before the first
    // multiply-add, so a warp waits for one round trip per group of splits,
    // not one per split.
    constexpr int kSplitsInFlight = 8;
    const int steps = (d + 63) / 64;
    const bool ragged = d % 64 != 0;
    Value col0 = e.mul(lane, e.i32(2));
    Type pairT = VectorType::get({2}, e.f32T);
    SmallVector<Value> inits(2 * steps, e.f32(0.0));
    SmallVector<Value> acc = e.forLoop(
        e.i32(0), e.ceilDiv(splits, kSplitsInFlight), inits,
        [&](Value g, ValueRange c) {
          Value weight[kSplitsInFlight];
          SmallVector<Value> pairs;
          for (int u = 0; u < kSplitsInFlight; ++u) {
            Value s = e.add(e.mul(g, e.i32(kSplitsInFlight)), e.i32(u));
            Value clamped = slot(e.mins(s, lastSplit));
            Value lseS = loadF32(e, a[kCombineLseAccum], clamped);
            weight[u] = e.select(e.andi(e.lt(s, splits), hasKeys),
                                 expNatural(e.fsub(lseS, lse)), e.f32(0.0));
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
          SmallVector<Value> next(c.begin(), c.end());
          for (int u = 0; u < kSplitsInFlight; ++u)
            for (int k = 0; k < steps; ++k) {
              Value pair = pairs[u * steps + k];
              for (int h = 0; h < 2; ++h) {
                Value x = LLVM::ExtractElementOp::create(e.b, e.loc, pair,
                                                         e.i32(h));
                next[2 * k + h] = e.fma(weight[u], x, next[2 * k + h]);
              }
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
