//===- Softmax.cpp - Online softmax in registers --------------------------===//

#include "compiler/FlashCoreToNVVM/Softmax.h"
#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace flashcore {

OnlineSoftmax::OnlineSoftmax(KernelEmitter &e, Value scaleLog2)
    : e(e), scaleLog2(scaleLog2) {}

OnlineSoftmax::State OnlineSoftmax::State::initial(KernelEmitter &e) {
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  Value zero = e.f32(0.0);
  return State{{negInf, negInf}, {zero, zero}};
}

Value OnlineSoftmax::quadMax(Value v) {
  v = e.fmax(v, e.shuffleXor(v, 1));
  return e.fmax(v, e.shuffleXor(v, 2));
}

Value OnlineSoftmax::quadSum(Value v) {
  v = e.fadd(v, e.shuffleXor(v, 1));
  return e.fadd(v, e.shuffleXor(v, 2));
}

/// Balanced reduction (more independent instructions in flight than a chain).
static Value reduceTree(SmallVector<Value> values,
                        const std::function<Value(Value, Value)> &op) {
  while (values.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < values.size(); i += 2)
      next.push_back(op(values[i], values[i + 1]));
    if (values.size() % 2)
      next.push_back(values.back());
    values = std::move(next);
  }
  return values.front();
}

static SmallVector<Value> rowValues(const Accumulator &a, int r) {
  SmallVector<Value> row;
  for (int i = 0; i < a.size(); ++i)
    if (fragmentRow(i) == r)
      row.push_back(a.values[i]);
  return row;
}

Accumulator OnlineSoftmax::step(const Accumulator &s, State &state,
                                Value alpha[2], Value *moved) {
  const bool lazy = e.spec.schedule.lazyRescale;
  auto maxOp = [&](Value x, Value y) { return e.fmax(x, y); };
  auto sumOp = [&](Value x, Value y) { return e.fadd(x, y); };
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  Value zero = e.f32(0.0);

  Value negMax[2];
  for (int r = 0; r < 2; ++r) {
    Value blockMax = quadMax(reduceTree(rowValues(s, r), maxOp));
    Value newMax = e.fmax(state.rowMax[r], e.fmul(blockMax, scaleLog2));
    if (lazy) {
      // Keep m unless the block's maximum exceeds it by more than the slack
      // (m = -inf: any finite maximum moves it; -inf + 8 = -inf).
      Value far = e.cmpf(arith::CmpFPredicate::OGT, newMax,
                         e.fadd(state.rowMax[r], e.f32(kLazyRescaleLog2)));
      newMax = e.select(far, newMax, state.rowMax[r]);
      if (moved)
        *moved = r == 0 ? far : e.ori(*moved, far);
    }
    // A row with every score masked so far has max -inf; use 0 so that
    // 2^(-inf - 0) = 0 instead of NaN.
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, newMax, negInf);
    Value usedMax = e.select(empty, zero, newMax);
    alpha[r] = e.exp2(e.fsub(state.rowMax[r], usedMax));
    negMax[r] = e.fsub(zero, usedMax);
    state.rowMax[r] = newMax;
  }
  if (!lazy && moved)
    *moved = Value();

  Accumulator p;
  p.n = s.n;
  p.values.reserve(s.values.size());
  for (int i = 0; i < s.size(); ++i)
    p.values.push_back(
        e.exp2(e.fma(s.values[i], scaleLog2, negMax[fragmentRow(i)])));

  for (int r = 0; r < 2; ++r)
    state.rowSum[r] = e.fma(state.rowSum[r], alpha[r],
                            reduceTree(rowValues(p, r), sumOp));
  return p;
}

OnlineSoftmax::Final OnlineSoftmax::Final::empty(KernelEmitter &e) {
  Value zero = e.f32(0.0);
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  return Final{{zero, zero}, {negInf, negInf}};
}

OnlineSoftmax::Final OnlineSoftmax::finish(const State &state,
                                           bool fastReciprocal) {
  Final f;
  const Final none = Final::empty(e);
  for (int r = 0; r < 2; ++r) {
    Value sum = quadSum(state.rowSum[r]);
    Value empty = e.cmpf(arith::CmpFPredicate::OEQ, sum, e.f32(0.0));
    // Fully masked rows: O = 0 and LSE = -inf, never NaN.
    Value inverse =
        fastReciprocal ? e.rcpApprox(sum) : e.fdiv(e.f32(1.0), sum);
    f.inverseSum[r] = e.select(empty, none.inverseSum[r], inverse);
    Value lse = e.fmul(e.fadd(state.rowMax[r], e.log2(sum)),
                       e.f32(std::log(2.0)));
    f.lse[r] = e.select(empty, none.lse[r], lse);
  }
  return f;
}

} // namespace flashcore
