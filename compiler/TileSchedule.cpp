//===- TileSchedule.cpp - Work tiles and their order ----------------------===//

#include "compiler/TileSchedule.h"

#include <algorithm>

namespace flashcore {

TileCoords tileCoords(int64_t t, int64_t mBlocks, int64_t heads,
                      bool reverse) {
  TileCoords c;
  int64_t i = t % mBlocks;
  c.head = (t / mBlocks) % heads;
  c.batch = t / (mBlocks * heads);
  c.mBlock = reverse ? mBlocks - 1 - i : i;
  return c;
}

int64_t persistentGridSize(int64_t tiles, int smCount, int ctasPerSm) {
  int64_t slots = int64_t(std::max(smCount, 1)) * std::max(ctasPerSm, 1);
  return std::max<int64_t>(1, std::min(tiles, slots));
}

} // namespace flashcore
