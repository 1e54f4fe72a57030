//===- TileScheduleTest.cpp - Work-tile order and persistent grids --------===//

#include "compiler/TileSchedule.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

using namespace flashcore;

namespace {

struct TileCase {
  int64_t t, mBlocks, heads;
  bool reverse;
  TileCoords want;
};

class TileCoordsTest : public ::testing::TestWithParam<TileCase> {};

TEST_P(TileCoordsTest, FollowsTheLinearOrder) {
  const TileCase &c = GetParam();
  EXPECT_EQ(tileCoords(c.t, c.mBlocks, c.heads, c.reverse), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TileCoordsTest,
    ::testing::Values(
        // Query blocks run fastest, then heads, then the batch.
        TileCase{0, 4, 3, false, {0, 0, 0}}, TileCase{3, 4, 3, false, {3, 0, 0}},
        TileCase{4, 4, 3, false, {0, 1, 0}}, TileCase{11, 4, 3, false, {3, 2, 0}},
        TileCase{12, 4, 3, false, {0, 0, 1}},
        TileCase{23, 4, 3, false, {3, 2, 1}},
        // Causal / local: the longest query blocks (the last) first.
        TileCase{0, 4, 3, true, {3, 0, 0}}, TileCase{3, 4, 3, true, {0, 0, 0}},
        TileCase{13, 4, 3, true, {2, 0, 1}},
        // One query block, one head.
        TileCase{5, 1, 1, false, {0, 0, 5}}));

TEST(TileSchedule, EveryTileOnceAcrossAPersistentGrid) {
  // CTA c of G takes c, c + G, ...: together they cover each tile once.
  for (int64_t mBlocks : {1, 3, 17})
    for (int64_t heads : {1, 5})
      for (int64_t batch : {1, 4})
        for (int grid : {1, 7, 132, 1000}) {
          int64_t tiles = numTiles(mBlocks, heads, batch);
          std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
          for (int64_t cta = 0; cta < persistentGridSize(tiles, grid, 1); ++cta)
            for (int64_t t = cta; t < tiles;
                 t += persistentGridSize(tiles, grid, 1)) {
              TileCoords c = tileCoords(t, mBlocks, heads, /*reverse=*/true);
              ASSERT_TRUE(c.mBlock >= 0 && c.mBlock < mBlocks);
              ASSERT_TRUE(c.head >= 0 && c.head < heads);
              ASSERT_TRUE(c.batch >= 0 && c.batch < batch);
              EXPECT_TRUE(seen.insert({c.mBlock, c.head, c.batch}).second);
            }
          EXPECT_EQ(int64_t(seen.size()), tiles);
        }
}

TEST(TileSchedule, PersistentGridIsTilesCappedBySlots) {
  EXPECT_EQ(persistentGridSize(1000, 132, 1), 132);
  EXPECT_EQ(persistentGridSize(50, 132, 1), 50);
  EXPECT_EQ(persistentGridSize(1000, 132, 2), 264);
  EXPECT_EQ(persistentGridSize(0, 132, 1), 1); // never an empty grid
  EXPECT_EQ(persistentGridSize(10, 0, 1), 1);  // unknown SM count
}

TEST(TileSchedule, CeilBlocks) {
  EXPECT_EQ(ceilBlocks(1, 128), 1);
  EXPECT_EQ(ceilBlocks(128, 128), 1);
  EXPECT_EQ(ceilBlocks(129, 128), 2);
}

TEST(TileSchedule, CausalAndLocalKernelsStartWithTheLongestBlocks) {
  ProblemSpec p;
  EXPECT_FALSE(reverseQueryBlocks(p));
  p.causal = true;
  EXPECT_TRUE(reverseQueryBlocks(p));
  p.causal = false;
  p.local = true;
  EXPECT_TRUE(reverseQueryBlocks(p));
}

} // namespace
