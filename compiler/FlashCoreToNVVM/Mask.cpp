//===- Mask.cpp - Causal, window and sequence-end masks -------------------===//

#include "compiler/FlashCoreToNVVM/Mask.h"

#include <limits>

using namespace mlir;

namespace flashcore {

/// The last of query rows [firstRow, firstRow + rows), within the sequence.
static Value lastRowOf(KernelEmitter &e, Value firstRow, int rows,
                       Value seqlenQ) {
  return e.sub(e.mins(e.add(firstRow, e.i32(rows)), seqlenQ), e.i32(1));
}

/// The end of the key blocks up to `lastRow`'s upper key limit (row +
/// offset + window_right), at most `limit`; `limit` itself where a local
/// window_right is negative (no upper limit).
static Value upperBlockEnd(KernelEmitter &e, const KernelArgs &a,
                           Value lastRow, Value offset, Value limit) {
  const ProblemSpec &p = e.spec.problem;
  Value zero = e.i32(0);
  Value right = p.causal ? zero : a[kParamWindowRight];
  // Keys [0, lastRow + offset + right + 1) are visible to some row.
  Value visible =
      e.maxs(e.add(e.add(lastRow, offset), e.add(right, e.i32(1))), zero);
  Value end = e.mins(limit, e.ceilDiv(visible, e.spec.schedule.blockN));
  if (p.causal)
    return end;
  return e.select(e.cmpi(arith::CmpIPredicate::sge, right, zero), end, limit);
}

KeyBlockRange KeyBlockRange::forQueryBlock(KernelEmitter &e,
                                           const KernelArgs &a, Value mBlock,
                                           Value seqlenQ, Value seqlenK) {
  const ProblemSpec &p = e.spec.problem;
  const ScheduleSpec &s = e.spec.schedule;
  KeyBlockRange c;
  Value zero = e.i32(0);
  Value nBlocks = e.ceilDiv(seqlenK, s.blockN);
  // Blocks with a key column >= seqlen_k need masking.
  Value fullBlocks = e.divs(seqlenK, e.i32(s.blockN));
  c.nStart = zero;
  c.nEnd = nBlocks;
  c.nMaskStart = fullBlocks;
  c.nMaskLowEnd = zero;
  if (!p.causal && !p.local)
    return c;

  // Rows see keys up to row + offset (+ window_right), offset = seqlen_k -
  // seqlen_q; a negative window_right means no upper limit.
  Value offset = e.sub(seqlenK, seqlenQ);
  Value firstRow = e.mul(mBlock, e.i32(s.blockM));
  Value lastRow = lastRowOf(e, firstRow, s.blockM, seqlenQ);
  Value right = p.causal ? zero : a[kParamWindowRight];
  Value bounded = p.causal ? Value()
                           : e.cmpi(arith::CmpIPredicate::sge, right, zero);
  c.nEnd = upperBlockEnd(e, a, lastRow, offset, nBlocks);
  // Blocks entirely below the first row's upper limit need no upper mask.
  Value unmasked =
      e.maxs(e.add(e.add(firstRow, offset), e.add(right, e.i32(1))), zero);
  Value maskStart = e.mins(fullBlocks, e.divs(unmasked, e.i32(s.blockN)));
  c.nMaskStart = bounded ? e.select(bounded, maskStart, fullBlocks) : maskStart;
  if (!p.local)
    return c;

  // Local windows also have a lower limit row + offset - window_left.
  Value left = a[kParamWindowLeft];
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

Value KeyBlockRange::endForRows(KernelEmitter &e, const KernelArgs &a,
                                Value firstRow, int rows, Value seqlenQ,
                                Value seqlenK) const {
  const ProblemSpec &p = e.spec.problem;
  if (!p.causal && !p.local)
    return nEnd;
  Value end = upperBlockEnd(e, a, lastRowOf(e, firstRow, rows, seqlenQ),
                            e.sub(seqlenK, seqlenQ), nEnd);
  return e.maxs(end, e.mins(e.add(nStart, e.i32(1)), nEnd));
}

Value KeyBlockRange::needsMask(KernelEmitter &e, Value j) const {
  Value needs = e.cmpi(arith::CmpIPredicate::sge, j, nMaskStart);
  if (e.spec.problem.local)
    needs = e.ori(needs, e.lt(j, nMaskLowEnd));
  return needs;
}

RowMask RowMask::forRows(KernelEmitter &e, const KernelArgs &a,
                         const Value rows[2], Value seqlenQ, Value seqlenK) {
  const ProblemSpec &problem = e.spec.problem;
  RowMask m;
  Value offset = e.sub(seqlenK, seqlenQ);
  for (int r = 0; r < 2; ++r) {
    m.low[r] = Value();
    Value diagonal = e.add(rows[r], offset);
    m.high[r] = seqlenK;
    if (problem.causal)
      m.high[r] = e.mins(seqlenK, e.add(diagonal, e.i32(1)));
    if (problem.local) {
      Value right = a[kParamWindowRight], left = a[kParamWindowLeft];
      Value bounded = e.cmpi(arith::CmpIPredicate::sge, right, e.i32(0));
      Value windowHigh = e.add(e.add(diagonal, right), e.i32(1));
      m.high[r] = e.select(bounded, e.mins(seqlenK, windowHigh), seqlenK);
      // An unbounded left edge is the lowest possible key.
      Value hasLeft = e.cmpi(arith::CmpIPredicate::sge, left, e.i32(0));
      m.low[r] = e.select(hasLeft, e.sub(diagonal, left),
                          e.i32(std::numeric_limits<int32_t>::min() / 2));
    }
  }
  return m;
}

Accumulator RowMask::apply(KernelEmitter &e, const Accumulator &s,
                           Value blockStart) const {
  Value hi[2], lo[2];
  for (int r = 0; r < 2; ++r) {
    hi[r] = e.sub(high[r], blockStart);
    lo[r] = low[r] ? e.sub(low[r], blockStart) : Value();
  }
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  Accumulator out;
  out.n = s.n;
  out.values.reserve(s.values.size());
  for (int i = 0; i < s.size(); ++i) {
    int r = fragmentRow(i);
    Value col = e.i32(fragmentCol(i));
    Value keep = e.lt(col, hi[r]);
    if (lo[r])
      keep = e.andi(keep, e.cmpi(arith::CmpIPredicate::sge, col, lo[r]));
    out.values.push_back(e.select(keep, s.values[i], negInf));
  }
  return out;
}

} // namespace flashcore
