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
// LSE = -inf for rows that saw no key). A split-KV forward keeps (O, LSE)
// unnormalised per split and merges them by LSE; a backward recomputes P
// from LSE: both reuse the same state.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H

#include "compiler/FlashCoreToNVVM/Fragment.h"

namespace flashcore {

class KernelEmitter;

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
  };

  OnlineSoftmax(KernelEmitter &e, mlir::Value scaleLog2)
      : e(e), scaleLog2(scaleLog2) {}

  /// One step: returns P = 2^(S * scale2 - m') (unnormalised, fp32), updates
  /// `state` and sets `alpha` to the factors O must be scaled by.
  Accumulator step(const Accumulator &s, State &state, mlir::Value alpha[2]);
  /// Quad-reduces the row sums and gives 1 / l and the LSE.
  Final finish(const State &state);

private:
  mlir::Value quadMax(mlir::Value v);
  mlir::Value quadSum(mlir::Value v);

  KernelEmitter &e;
  mlir::Value scaleLog2;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_SOFTMAX_H
