//===- Mask.h - Causal, window and sequence-end masks -----------*- C++ -*-===//
//
// Masks follow FlashAttention, bottom-right aligned (offset = seqlen_k -
// seqlen_q): causal row i sees keys j <= i + offset; a local (sliding window)
// row sees i + offset - left <= j <= i + offset + right (-1: unbounded); no
// row sees keys >= seqlen_k.
//
//   KeyBlockRange  which key blocks a query block visits ([nStart, nEnd))
//                  and which of them straddle a limit (need the mask)
//   RowMask        the key limits [low, high) of the two rows a consumer
//                  thread owns; apply() sets scores outside them to -inf
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_MASK_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_MASK_H

#include "compiler/FlashCoreToNVVM/Fragment.h"
#include "compiler/FlashCoreToNVVM/KernelArgs.h"

namespace flashcore {

struct KeyBlockRange {
  mlir::Value nStart, nEnd; // key blocks [nStart, nEnd) are visited
  mlir::Value nMaskStart;   // blocks >= nMaskStart cross the upper key limit
  mlir::Value nMaskLowEnd;  // blocks < nMaskLowEnd cross a window's lower one

  /// The key blocks of query block `mBlock` of a sequence of `seqlenQ` query
  /// and `seqlenK` key rows.
  static KeyBlockRange forQueryBlock(KernelEmitter &e, const KernelArgs &args,
                                     mlir::Value mBlock, mlir::Value seqlenQ,
                                     mlir::Value seqlenK);
  /// The end of the blocks that rows [firstRow, firstRow + rows) of the
  /// query block see (a consumer warpgroup's part of it), within
  /// [nStart + 1, nEnd] when the range has blocks (nEnd when it has none):
  /// blocks past it are masked for every one of those rows.
  mlir::Value endForRows(KernelEmitter &e, const KernelArgs &args,
                         mlir::Value firstRow, int rows, mlir::Value seqlenQ,
                         mlir::Value seqlenK) const;
  /// Whether key block j needs the mask.
  mlir::Value needsMask(KernelEmitter &e, mlir::Value j) const;
};

struct RowMask {
  mlir::Value high[2];
  mlir::Value low[2]; // null: no lower limit

  /// Limits of absolute query rows rows[0], rows[1].
  static RowMask forRows(KernelEmitter &e, const KernelArgs &args,
                         const mlir::Value rows[2], mlir::Value seqlenQ,
                         mlir::Value seqlenK);
  /// S with every score of a column outside its row's limits set to -inf;
  /// `blockStart` is the absolute column of the thread's first value.
  Accumulator apply(KernelEmitter &e, const Accumulator &s,
                    mlir::Value blockStart) const;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_MASK_H
