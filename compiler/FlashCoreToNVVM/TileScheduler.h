//===- TileScheduler.h - Which work tiles a CTA computes --------*- C++ -*-===//
//
// A work tile is one (query block, head, batch). The scheduler owns the tile
// coordinates and their order and emits the loop over a CTA's tiles; the
// producer and the consumers each run that loop (they see the same tiles in
// the same order, so they need no communication beyond the pipelines):
//
//   single_tile        one tile per CTA, from blockIdx (x: split * query
//                      blocks + query block, reversed for causal/local
//                      kernels, y: head, z: batch)
//   static_persistent  grid = min(tiles, SMs); CTA c takes tiles c, c + G,
//                      ... of the linear order of compiler/TileSchedule.h
//   dynamic_persistent the same grid; CTA c starts with tile c, then the
//                      producer's loading warp takes G + atomicAdd(counter,
//                      1) (issued when it starts loading a tile, so the
//                      atomic's latency hides under the loads) and hands it
//                      to the consumers through a shared-memory slot
//                      guarded by named barriers 8 (written) and 9 (read);
//                      tile t is of the linear order, or of the
//                      longest-first order with `tile_order: longest_first`
//                      (FA3's dynamic scheduler for causal kernels)
//
// The head of a tile is a query head, or with pack_gqa a KV head (whose query
// heads share the tile); the split index is 0 unless split_kv. forEachTile
// threads loop-carried values (pipeline states) through the tiles.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_TILESCHEDULER_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_TILESCHEDULER_H

#include "compiler/FlashCoreToNVVM/KernelArgs.h"

#include <memory>

namespace flashcore {

struct WorkTile {
  mlir::Value mBlock, head, batch, split;
};

/// Who runs a tile loop: the dynamic scheduler's producer fetches the next
/// tile, its consumers receive it.
enum class TileRole { Producer, Consumer };

class TileScheduler {
public:
  using TileBody = std::function<llvm::SmallVector<mlir::Value>(
      const WorkTile &tile, mlir::ValueRange carried)>;

  virtual ~TileScheduler() = default;
  /// Emits `body` for each of this CTA's tiles; returns the carried values
  /// after the last one.
  virtual llvm::SmallVector<mlir::Value> forEachTile(TileRole role,
                                                     mlir::ValueRange carried,
                                                     const TileBody &body) = 0;

  /// The scheduler the spec's `scheduler` field names.
  static std::unique_ptr<TileScheduler> create(KernelEmitter &e,
                                               const KernelArgs &args);
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_TILESCHEDULER_H
