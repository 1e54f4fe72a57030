//===- Softmax.h - Online softmax in registers ------------------*- C++ -*-===//
//
// A thread owns two rows of its warpgroup's 64 (fragmentRow 0 and 1) and, in
// each, the columns 8j + 2(lane % 4) + {0, 1}; the four lanes of a quad share
// rows, so row reductions are two butterfly shuffles.
//
// Online softmax, per key block, in the log2 domain (scale2 = scale*log2 e):
//   m'    = max(m, rowmax(S) * scale2)        (m' = -inf: use 0, row empty)
//   alpha = 2^(m - m')
//   P     = 2^(S * scale2 - m')
//   l     = l * alpha + rowsum(P)             (per thread; quad-reduced last)
//   O     = O * alpha + P V
// and at the end O / l and LSE = (m + log2 l) * ln 2 (natural log; O = 0 and
// LSE = -inf for rows that saw no key).
//
// With `lazy_rescale` (FlashAttention-4's trick) the running maximum moves
// only when a block's exceeds it by more than kLazyRescaleLog2 = 8:
//   m'    = max(m, rowmax(S) * scale2) > m + 8 ? max(...) : m
// so P <= 2^8 (exact in bf16 and fp16, and l, O stay far from fp32's range),
// alpha = 1 for rows that kept m, and the caller rescales O only when a lane
// of the warp has a row whose maximum moved (step's `moved`). The results
// are the same up to rounding: O / l and m + log2 l do not depend on the m
// the sums were taken against. A split-KV forward keeps (O, LSE)
// unnormalised per split and merges them by LSE; a backward recomputes P
// from LSE: both reuse the same state.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H

#include "compiler/FlashCoreToNVVM/Fragment.h"

namespace flashcore {

class KernelEmitter;

/// lazy_rescale's slack, in the log2 domain: P <= 2^kLazyRescaleLog2.
inline constexpr double kLazyRescaleLog2 = 8.0;

class OnlineSoftmax {
public:
  /// Running statistics of the thread's two rows, in the log2 domain.
  struct State {
    mlir::Value rowMax[2];
    mlir::Value rowSum[2];

    static constexpr int kNumValues = 4;
    static State initial(KernelEmitter &e);
    void appendTo(llvm::SmallVectorImpl<mlir::Value> &out) const {
      out.append({rowMax[0], rowMax[1], rowSum[0], rowSum[1]});
    }
    static State from(mlir::ValueRange values, int at) {
      return State{{values[at], values[at + 1]},
                   {values[at + 2], values[at + 3]}};
    }
  };

  /// The normalisation of a finished row pair.
  struct Final {
    mlir::Value inverseSum[2]; // 1 / l (0 for empty rows)
    mlir::Value lse[2];        // natural log; -inf for empty rows

    static constexpr int kNumValues = 4;
    /// A row pair that saw no key: O = 0, LSE = -inf.
    static Final empty(KernelEmitter &e);
    void appendTo(llvm::SmallVectorImpl<mlir::Value> &out) const {
      out.append({inverseSum[0], inverseSum[1], lse[0], lse[1]});
    }
    static Final from(mlir::ValueRange values, int at) {
      return Final{{values[at], values[at + 1]},
                   {values[at + 2], values[at + 3]}};
    }
  };

  OnlineSoftmax(KernelEmitter &e, mlir::Value scaleLog2);

  /// One step: returns P = 2^(S * scale2 - m') (unnormalised, fp32), updates
  /// `state` and sets `alpha` to the factors O must be scaled by. With
  /// lazy_rescale, `moved` (if given) is set to whether either row's maximum
  /// moved (i1, per thread); otherwise to null.
  Accumulator step(const Accumulator &s, State &state, mlir::Value alpha[2],
                   mlir::Value *moved = nullptr);
  /// Quad-reduces the row sums and gives 1 / l and the LSE. `fastReciprocal`:
  /// 1 / l with rcp.approx.ftz (early_finish), else correctly rounded.
  Final finish(const State &state, bool fastReciprocal = false);

private:
  mlir::Value quadMax(mlir::Value v);
  mlir::Value quadSum(mlir::Value v);

  KernelEmitter &e;
  mlir::Value scaleLog2;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H
