//===- Fragment.h - Register fragments of wgmma operands --------*- C++ -*-===//
//
// Typed views of the values one consumer thread holds (layouts in
// compiler/FragmentLayout.h):
//
//   Accumulator    a 64 x n fp32 accumulator of one warpgroup: n / 2 values,
//                  value i at row half fragmentRow(i) and column
//                  fragmentCol(i) (+ 2 (lane % 4));
//   PackedOperand  the A operand of an RS wgmma (or stmatrix source): the
//                  16-bit rounding of an accumulator, two values per i32, four
//                  registers per 16-column k-step.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_FRAGMENT_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_FRAGMENT_H

#include "compiler/FragmentLayout.h"
#include "compiler/KernelABI.h"

#include "mlir/IR/TypeRange.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "llvm/ADT/SmallVector.h"

namespace flashcore {

class KernelEmitter;

struct Accumulator {
  /// Columns of the 64-row tile (the N of the wgmma that produced it).
  int n = 0;
  llvm::SmallVector<mlir::Value> values; // n / 2 fp32

  static Accumulator zeros(KernelEmitter &e, int n);
  int size() const { return static_cast<int>(values.size()); }
  /// Multiplies row half r (fragmentRow) by factor[r].
  Accumulator scaleRows(KernelEmitter &e, mlir::Value factor0,
                        mlir::Value factor1) const;
};

struct PackedOperand {
  int kSteps = 0;
  llvm::SmallVector<mlir::Value> regs; // 4 * kSteps i32

  /// Rounds `acc` to the problem's dtype, pairs of adjacent columns per i32:
  /// k-step j = values 8j..8j+7 as (8j, 8j+1), (8j+2, 8j+3), ...
  static PackedOperand pack(KernelEmitter &e, const Accumulator &acc);
  /// The four registers of k-step j.
  llvm::ArrayRef<mlir::Value> kStep(int j) const {
    return llvm::ArrayRef<mlir::Value>(regs).slice(4 * j, 4);
  }
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_FRAGMENT_H
