//===- TileSchedule.h - Work tiles and their order (MLIR-free) ---*- C++ -*-===//
//
// A work tile is one (query block, head, batch) of a forward call. The tile
// schedulers of the generated kernel (FlashCoreToNVVM/TileScheduler.cpp)
// enumerate tiles with exactly these formulas; the runtime sizes the grid
// with them. Table-tested in tests/unit/TileScheduleTest.cpp.
//
// Linear order (static persistent): tile t of T = M * H * B * S, with M query
// blocks, H heads (KV heads with pack_gqa), B sequences and S key-range
// splits (1 unless split_kv),
//
//   i     = t mod M                (query block index, fastest: the M tiles of
//   head  = (t / M) mod H           one head run on neighbouring CTAs and
//   batch = (t / (M * H)) mod B     share K/V in L2)
//   split = t / (M * H * B)
//   m     = reverse ? M - 1 - i : i
//
// reverse (causal and local kernels) starts the longest query blocks first.
// A static persistent CTA c of a grid of G takes tiles c, c + G, c + 2G, ...
//
// Longest-first order (`tile_order: longest_first`; no split): the lanes
// l = head + H * batch (L = H * B of them) form groups of G_L lanes whose K/V
// fit in about 32 MiB of L2 together (l2LaneGroup), the last group short
// (L_g = min(G_L, L - g G_L) lanes). In group g = t / (M G_L), r = t mod
// (M G_L):
//
//   i    = r / L_g                 (slowest in the group: every lane's longest
//   lane = g G_L + r mod L_g        query block first, then the next longest)
//   m    = reverse ? M - 1 - i : i
//
// so tiles run in (nearly) decreasing cost, and a static persistent CTA c
// deals them in a snake: in round k it takes tile k G + c for even k and
// k G + G - 1 - c for odd k (snakeTile), so no CTA is always the one with the
// most expensive tile of a round. A single-tile grid maps its linear block
// index through the same order (the hardware hands blocks out in that order
// as SMs free up: longest first, dynamically), and the dynamic persistent
// scheduler hands tiles out in it (FA3's order for causal kernels).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_TILESCHEDULE_H
#define FLASHCORE_COMPILER_TILESCHEDULE_H

#include "compiler/Spec.h"

#include <cstdint>

namespace flashcore {

struct TileCoords {
  int64_t mBlock = 0, head = 0, batch = 0, split = 0;
  bool operator==(const TileCoords &o) const {
    return mBlock == o.mBlock && head == o.head && batch == o.batch &&
           split == o.split;
  }
};

/// Query blocks of `rows` rows in `seqlen` rows: ceil(seqlen / rows).
inline int64_t ceilBlocks(int64_t seqlen, int64_t rows) {
  return (seqlen + rows - 1) / rows;
}

/// Tiles of a call: M * H * B * S.
inline int64_t numTiles(int64_t mBlocks, int64_t heads, int64_t batch,
                        int64_t splits = 1) {
  return mBlocks * heads * batch * splits;
}

/// Tile t of the linear order (see the file comment).
FLASHCORE_API TileCoords tileCoords(int64_t t, int64_t mBlocks, int64_t heads,
                                    int64_t batch, bool reverse);

/// Lanes per L2 group of the longest-first order: as many (head, batch)
/// lanes as keep their K and V (seqlenK rows of headDim elements each) in
/// kL2GroupBytes, clamped to [1, kMaxLaneGroup]; the kernel computes the same
/// from its seqlen_k argument as floor(floor(kL2GroupBytes / perKey) /
/// seqlenK).
inline constexpr int64_t kL2GroupBytes = int64_t(32) << 20;
inline constexpr int64_t kMaxLaneGroup = 32;
inline int64_t l2LaneGroup(int64_t seqlenK, int headDim, int elementBytes) {
  int64_t perKey = int64_t(2) * headDim * elementBytes; // one K and one V row
  int64_t g = (kL2GroupBytes / perKey) / (seqlenK > 0 ? seqlenK : 1);
  return g < 1 ? 1 : g > kMaxLaneGroup ? kMaxLaneGroup : g;
}

/// Tile t of the longest-first order (see the file comment); split is 0.
FLASHCORE_API TileCoords tileCoordsLongestFirst(int64_t t, int64_t mBlocks,
                                                int64_t heads, int64_t batch,
                                                int64_t laneGroup,
                                                bool reverse);

/// The tile a static persistent CTA c of a grid of G takes in round k when
/// dealing in a snake: k G + c for even k, k G + G - 1 - c for odd k.
inline int64_t snakeTile(int64_t c, int64_t k, int64_t grid) {
  return k * grid + (k % 2 ? grid - 1 - c : c);
}

/// The key blocks [begin, end) of split `split` of `splits` over the key
/// blocks [nStart, nEnd) of a tile: contiguous ranges of
/// ceil((nEnd - nStart) / splits) blocks (the last ones may be short or empty).
inline void splitKeyBlocks(int64_t nStart, int64_t nEnd, int64_t split,
                           int64_t splits, int64_t &begin, int64_t &end) {
  int64_t per = (nEnd - nStart + splits - 1) / splits;
  begin = nStart + split * per < nEnd ? nStart + split * per : nEnd;
  end = begin + per < nEnd ? begin + per : nEnd;
}

/// Paged KV: the rows of one TMA load of a K/V block of `blockN` rows when the
/// cache is cut into pages of `pageSize` rows: gcd(pageSize, blockN), so a
/// load never crosses a page (loads start at multiples of it, and it divides
/// the page size) and a block is a whole number of loads. 0 for sizes < 1.
inline int pageChunkRows(int64_t pageSize, int blockN) {
  if (pageSize < 1 || blockN < 1)
    return 0;
  int64_t a = pageSize, b = blockN;
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return int(a);
}

/// Where key row `row` of a sequence lives in a paged cache: page-table
/// column row / pageSize, row row % pageSize of that page.
inline void pagedRow(int64_t row, int64_t pageSize, int64_t &column,
                     int64_t &rowInPage) {
  column = row / pageSize;
  rowInPage = row % pageSize;
}

/// FlashAttention-3's split heuristic, restated: no split when the tiles
/// (nearly) fill the SMs or a tile has few key blocks; else the smallest
/// number of splits whose wave efficiency (tiles * splits / SMs over its
/// ceiling) is within kSplitWaveEfficiency of the best up to min(maxSplits,
/// SMs, key blocks). FA3 takes 85 %; 95 % measured better on an H200
/// (decode_sweep --graphs, session 6 call 7: 8 tiles of 1024 key blocks, 15
/// -> 16 splits, 3.73 -> 3.84 TB/s; 48 tiles, 5 -> 8, 3.99 -> 4.12; 16 tiles,
/// 7 -> 8, -0.6 %).
inline constexpr double kSplitWaveEfficiency = 0.95;
FLASHCORE_API int chooseNumSplits(int64_t tiles, int smCount,
                                  int64_t keyBlocks, int maxSplits);

/// Whether packing the query heads of a KV head into one tile pays (FA3's
/// rule: the packed tile's row efficiency beats the unpacked one's by 1/0.9),
/// given that the packed rows fit one tile.
FLASHCORE_API bool choosePackGqa(int64_t seqlenQ, int64_t headsPerKvHead,
                                 int blockM);

/// Whether a kernel of `problem` takes its query blocks longest first.
inline bool reverseQueryBlocks(const ProblemSpec &problem) {
  return problem.causal || problem.local;
}

/// CTAs of a static persistent grid: min(tiles, SMs * CTAs per SM), >= 1.
FLASHCORE_API int64_t persistentGridSize(int64_t tiles, int smCount,
                                         int ctasPerSm);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_TILESCHEDULE_H
