//===- Softmax.cpp - Masking and online softmax in registers --------------===//
//
// The consumer keeps S, P and O in registers. A thread owns two rows of the
// warpgroup's 64 (lane/4 and lane/4 + 8, fragmentRow) and, in each, the
// columns 8j + 2(lane % 4) + {0, 1}; the four lanes of a quad share rows, so
// row reductions are two butterfly shuffles.
//
// Online softmax, per key block, in the log2 domain (scale2 = scale*log2 e):
//   m'    = max(m, rowmax(S) * scale2)        (m' = -inf: use 0, row empty)
//   alpha = 2^(m - m')
//   P     = 2^(S * scale2 - m')
//   l     = l * alpha + rowsum(P)             (per thread; quad-reduced last)
//   O     = O * alpha + P V
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

#include <limits>

using namespace mlir;

namespace flashcore {

Value KernelEmitter::packHalf2(Value lo, Value hi) {
  // cvt.rn.{bf16x2,f16x2}.f32 d, hi, lo (PTX ISA 9.7.9.21): `hi` lands in the
  // upper 16 bits, so the lower-indexed column stays in the low half.
  MLIRContext *ctx = b.getContext();
  Value packed;
  if (spec.problem.dtype == DType::FP16)
    packed = NVVM::ConvertF32x2ToF16x2Op::create(
        b, loc, VectorType::get({2}, Float16Type::get(ctx)), hi, lo,
        /*random_bits=*/Value(), NVVM::FPRoundingMode::RN,
        NVVM::SaturationMode::NONE, /*relu=*/false);
  else
    packed = NVVM::ConvertF32x2ToBF16x2Op::create(
        b, loc, VectorType::get({2}, BFloat16Type::get(ctx)), hi, lo,
        /*random_bits=*/Value(), NVVM::FPRoundingMode::RN,
        NVVM::SaturationMode::NONE, /*relu=*/false);
  return LLVM::BitcastOp::create(b, loc, i32T, packed);
}

Value KernelEmitter::quadMax(Value v) {
  v = fmax(v, shuffleXor(v, 1));
  return fmax(v, shuffleXor(v, 2));
}

Value KernelEmitter::quadSum(Value v) {
  v = fadd(v, shuffleXor(v, 1));
  return fadd(v, shuffleXor(v, 2));
}

Fragment KernelEmitter::maskColumns(const Fragment &s, const Value low[2],
                                    const Value high[2]) {
  Value negInf = f32(-std::numeric_limits<double>::infinity());
  Fragment out;
  out.reserve(s.size());
  for (int i = 0, e = static_cast<int>(s.size()); i < e; ++i) {
    int r = fragmentRow(i);
    Value col = i32(fragmentCol(i));
    Value keep = cmpi(arith::CmpIPredicate::slt, col, high[r]);
    if (low[r])
      keep = andi(keep, cmpi(arith::CmpIPredicate::sge, col, low[r]));
    out.push_back(select(keep, s[i], negInf));
  }
  return out;
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

Fragment KernelEmitter::softmaxStep(const Fragment &s, Value scaleLog2,
                                    SoftmaxState &state, Value alpha[2]) {
  auto maxOp = [&](Value x, Value y) { return fmax(x, y); };
  auto sumOp = [&](Value x, Value y) { return fadd(x, y); };
  Value negInf = f32(-std::numeric_limits<double>::infinity());
  Value zero = f32(0.0);

  Value negMax[2];
  for (int r = 0; r < 2; ++r) {
    SmallVector<Value> row;
    for (int i = 0, e = static_cast<int>(s.size()); i < e; ++i)
      if (fragmentRow(i) == r)
        row.push_back(s[i]);
    Value blockMax = quadMax(reduceTree(row, maxOp));
    Value newMax = fmax(state.rowMax[r], fmul(blockMax, scaleLog2));
    // A row with every score masked so far has max -inf; use 0 so that
    // 2^(-inf - 0) = 0 instead of NaN.
    Value empty = cmpf(arith::CmpFPredicate::OEQ, newMax, negInf);
    Value usedMax = select(empty, zero, newMax);
    alpha[r] = exp2(fsub(state.rowMax[r], usedMax));
    negMax[r] = fsub(zero, usedMax);
    state.rowMax[r] = newMax;
  }

  Fragment p;
  p.reserve(s.size());
  for (int i = 0, e = static_cast<int>(s.size()); i < e; ++i)
    p.push_back(exp2(fma(s[i], scaleLog2, negMax[fragmentRow(i)])));

  for (int r = 0; r < 2; ++r) {
    SmallVector<Value> row;
    for (int i = 0, e = static_cast<int>(p.size()); i < e; ++i)
      if (fragmentRow(i) == r)
        row.push_back(p[i]);
    state.rowSum[r] = fma(state.rowSum[r], alpha[r], reduceTree(row, sumOp));
  }
  return p;
}

Fragment KernelEmitter::scaleRows(const Fragment &acc, Value factor0,
                                  Value factor1) {
  Fragment out;
  out.reserve(acc.size());
  for (int i = 0, e = static_cast<int>(acc.size()); i < e; ++i)
    out.push_back(fmul(acc[i], fragmentRow(i) == 0 ? factor0 : factor1));
  return out;
}

SmallVector<Value> KernelEmitter::packA(const Fragment &p) {
  // k-step j covers accumulator columns 16j..16j+15, i.e. elements 8j..8j+7:
  //   a0 = (row 0, cols 16j + 2q..+1)     = p[8j],   p[8j+1]
  //   a1 = (row 8, cols 16j + 2q..+1)     = p[8j+2], p[8j+3]
  //   a2 = (row 0, cols 16j + 8 + 2q..+1) = p[8j+4], p[8j+5]
  //   a3 = (row 8, cols 16j + 8 + 2q..+1) = p[8j+6], p[8j+7]
  SmallVector<Value> regs;
  regs.reserve(p.size() / 2);
  for (size_t i = 0; i + 1 < p.size(); i += 2)
    regs.push_back(packHalf2(p[i], p[i + 1]));
  return regs;
}

} // namespace flashcore
