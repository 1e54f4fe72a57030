//===- TileSchedule.cpp - Work tiles and their order ----------------------===//

#include "compiler/TileSchedule.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace flashcore {

TileCoords tileCoords(int64_t t, int64_t mBlocks, int64_t heads,
                      int64_t batch, bool reverse) {
  TileCoords c;
  int64_t i = t % mBlocks;
  c.head = (t / mBlocks) % heads;
  c.batch = (t / (mBlocks * heads)) % batch;
  c.split = t / (mBlocks * heads * batch);
  c.mBlock = reverse ? mBlocks - 1 - i : i;
  return c;
}

TileCoords tileCoordsLongestFirst(int64_t t, int64_t mBlocks, int64_t heads,
                                  int64_t batch, int64_t laneGroup,
                                  bool reverse) {
  const int64_t lanes = heads * batch;
  const int64_t perGroup = mBlocks * laneGroup;
  const int64_t g = t / perGroup, r = t % perGroup;
  const int64_t inGroup = std::min(laneGroup, lanes - g * laneGroup);
  const int64_t i = r / inGroup;
  const int64_t lane = g * laneGroup + r % inGroup;
  TileCoords c;
  c.head = lane % heads;
  c.batch = lane / heads;
  c.mBlock = reverse ? mBlocks - 1 - i : i;
  return c;
}

int chooseNumSplits(int64_t tiles, int smCount, int64_t keyBlocks,
                    int maxSplits) {
  if (smCount <= 0 || tiles >= 0.8 * smCount || keyBlocks <= 4)
    return 1;
  int64_t limit = std::min<int64_t>({maxSplits, smCount, keyBlocks});
  double best = 0;
  std::vector<double> efficiency;
  for (int64_t s = 1; s <= limit; ++s) {
    double waves = double(tiles * s) / smCount;
    double eff = waves / std::ceil(waves);
    best = std::max(best, eff);
    efficiency.push_back(eff);
  }
  for (int64_t s = 1; s <= limit; ++s)
    if (efficiency[s - 1] >= kSplitWaveEfficiency * best)
      return int(s);
  return 1;
}

bool choosePackGqa(int64_t seqlenQ, int64_t headsPerKvHead, int blockM) {
  if (headsPerKvHead <= 1 || seqlenQ * headsPerKvHead > blockM)
    return false;
  auto roundUp = [](int64_t a, int64_t b) { return (a + b - 1) / b * b; };
  double plain = double(seqlenQ) / double(roundUp(seqlenQ, blockM));
  double packed = double(seqlenQ * headsPerKvHead) /
                  double(roundUp(seqlenQ * headsPerKvHead, blockM));
  return plain < 0.9 * packed;
}

int64_t persistentGridSize(int64_t tiles, int smCount, int ctasPerSm) {
  int64_t slots = int64_t(std::max(smCount, 1)) * std::max(ctasPerSm, 1);
  return std::max<int64_t>(1, std::min(tiles, slots));
}

} // namespace flashcore
