//===- TileSchedule.h - Work tiles and their order (MLIR-free) ---*- C++ -*-===//
//
// A work tile is one (query block, head, batch) of a forward call. The tile
// schedulers of the generated kernel (FlashCoreToNVVM/TileScheduler.cpp)
// enumerate tiles with exactly these formulas; the runtime sizes the grid
// with them. Table-tested in tests/unit/TileScheduleTest.cpp.
//
// Linear order (static persistent): tile t of T = M * H * B, with M query
// blocks, H heads and B sequences,
//
//   i     = t mod M            (query block index, fastest: the M tiles of one
//   head  = (t / M) mod H       head run on neighbouring CTAs and share K/V
//   batch = t / (M * H)         in L2)
//   m     = reverse ? M - 1 - i : i
//
// reverse (causal and local kernels) starts the longest query blocks first.
// A static persistent CTA c of a grid of G takes tiles c, c + G, c + 2G, ...
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_TILESCHEDULE_H
#define FLASHCORE_COMPILER_TILESCHEDULE_H

#include "compiler/Spec.h"

#include <cstdint>

namespace flashcore {

struct TileCoords {
  int64_t mBlock = 0, head = 0, batch = 0;
  bool operator==(const TileCoords &o) const {
    return mBlock == o.mBlock && head == o.head && batch == o.batch;
  }
};

/// Query blocks of `rows` rows in `seqlen` rows: ceil(seqlen / rows).
inline int64_t ceilBlocks(int64_t seqlen, int64_t rows) {
  return (seqlen + rows - 1) / rows;
}

/// Tiles of a call: M * H * B.
inline int64_t numTiles(int64_t mBlocks, int64_t heads, int64_t batch) {
  return mBlocks * heads * batch;
}

/// Tile t of the linear order (see the file comment).
FLASHCORE_API TileCoords tileCoords(int64_t t, int64_t mBlocks, int64_t heads,
                                    bool reverse);

/// Whether a kernel of `problem` takes its query blocks longest first.
inline bool reverseQueryBlocks(const ProblemSpec &problem) {
  return problem.causal || problem.local;
}

/// CTAs of a static persistent grid: min(tiles, SMs * CTAs per SM), >= 1.
FLASHCORE_API int64_t persistentGridSize(int64_t tiles, int smCount,
                                         int ctasPerSm);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_TILESCHEDULE_H
