//===- Pipeline.h - Pipeline state and the CTA's shared storage -*- C++ -*-===//
//
// The K/V tiles flow through a ring of `stages` shared-memory slots, each
// with a "full" mbarrier (TMA bytes arrived) and an "empty" one (every
// consumer warp is done with it). A PipelineState {stage, phase, count} names
// the slot of the next use and the parity to wait for; it is advanced with
// advance() and carried across key blocks *and* work tiles (a persistent CTA
// continues its ring where the previous tile left it), never recomputed from
// a loop index. Q has its own full/empty pair so that a persistent CTA can
// reload it once the consumers are done with the previous tile's.
//
// Producers wait on "empty" with the opposite parity (phase ^ 1): a fresh
// barrier counts as having completed the phase before 0, so the first pass
// over the ring does not wait (the CUTLASS convention).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_PIPELINE_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_PIPELINE_H

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

namespace flashcore {

struct PipelineState {
  mlir::Value stage, phase, count; // i32 each

  static constexpr int kNumValues = 3;
  static PipelineState start(KernelEmitter &e);
  /// The next slot: stage + 1, wrapping to 0 with the phase flipped.
  PipelineState advance(KernelEmitter &e, int stages) const;
  void appendTo(llvm::SmallVectorImpl<mlir::Value> &out) const {
    out.append({stage, phase, count});
  }
  /// Reads the three values at `at` (as appendTo wrote them).
  static PipelineState from(mlir::ValueRange values, int at) {
    return PipelineState{values[at], values[at + 1], values[at + 2]};
  }
};

/// The CTA's tiles and barriers (offsets from KernelABI.h's SmemLayout).
class SharedStorage {
public:
  SharedStorage(KernelEmitter &e);

  mlir::Value qTile() const { return q; }
  mlir::Value qFull() const { return qFullBar; }
  mlir::Value qEmpty() const { return qEmptyBar; }
  mlir::Value kTile(mlir::Value stage) const;
  mlir::Value vTile(mlir::Value stage) const;
  mlir::Value kFull(mlir::Value stage) const;
  mlir::Value vFull(mlir::Value stage) const;
  mlir::Value kEmpty(mlir::Value stage) const;
  mlir::Value vEmpty(mlir::Value stage) const;
  /// The TMA epilogue's staging tile of consumer warpgroup `wg`.
  mlir::Value oStaging(mlir::Value wg) const;
  /// O staged in the V ring (SmemLayout::oAliasesV): completes a phase per
  /// tile once every consumer warpgroup's store has read its rows; the
  /// producer waits for it before the tile's first V load.
  mlir::Value oEmpty() const;

  /// Initialises every barrier (call from one thread, then barrierAll):
  /// full barriers expect one arrival (the producer's expect_tx), empty ones
  /// one per consumer warp, o_empty one per consumer warpgroup.
  void initBarriers() const;

private:
  mlir::Value at(int offset, mlir::Value index, int stride) const;

  KernelEmitter &e;
  const SmemLayout &layout;
  int stages;
  mlir::Value base, q, qFullBar, qEmptyBar;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_PIPELINE_H
