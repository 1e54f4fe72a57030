//===- TileScheduleTest.cpp - Work-tile order and persistent grids --------===//

#include "compiler/TileSchedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <tuple>

using namespace flashcore;

namespace {

struct TileCase {
  int64_t t, mBlocks, heads, batch;
  bool reverse;
  TileCoords want;
};

class TileCoordsTest : public ::testing::TestWithParam<TileCase> {};

TEST_P(TileCoordsTest, FollowsTheLinearOrder) {
  const TileCase &c = GetParam();
  EXPECT_EQ(tileCoords(c.t, c.mBlocks, c.heads, c.batch, c.reverse), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TileCoordsTest,
    ::testing::Values(
        // Query blocks run fastest, then heads, then the batch.
        TileCase{0, 4, 3, 2, false, {0, 0, 0, 0}}, TileCase{3, 4, 3, 2, false, {3, 0, 0, 0}},
        TileCase{4, 4, 3, 2, false, {0, 1, 0, 0}}, TileCase{11, 4, 3, 2, false, {3, 2, 0, 0}},
        TileCase{12, 4, 3, 2, false, {0, 0, 1, 0}},
        TileCase{23, 4, 3, 2, false, {3, 2, 1, 0}},
        // Causal / local: the longest query blocks (the last) first.
        TileCase{0, 4, 3, 2, true, {3, 0, 0, 0}}, TileCase{3, 4, 3, 2, true, {0, 0, 0, 0}},
        TileCase{13, 4, 3, 2, true, {2, 0, 1, 0}},
        // One query block, one head, six sequences.
        TileCase{5, 1, 1, 6, false, {0, 0, 5, 0}},
        // Splits are the slowest coordinate.
        TileCase{24, 4, 3, 2, false, {0, 0, 0, 1}},
        TileCase{47, 4, 3, 2, false, {3, 2, 1, 1}}));

/// Walks every CTA c of a persistent grid of `grid` slots through its tiles
/// (next(c, k, g) is its k-th, >= the tile count when it is done) and checks
/// that `coords` maps them onto every (m block, head, batch) exactly once.
template <typename Next, typename Coords>
void expectEveryTileOnce(int64_t mBlocks, int64_t heads, int64_t batch, int grid,
                         Next next, Coords coords) {
  const int64_t tiles = numTiles(mBlocks, heads, batch);
  const int64_t g = persistentGridSize(tiles, grid, 1);
  std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
  for (int64_t cta = 0; cta < g; ++cta)
    for (int64_t k = 0, t = next(cta, 0, g); t < tiles; t = next(cta, ++k, g)) {
      TileCoords c = coords(t);
      ASSERT_TRUE(c.mBlock >= 0 && c.mBlock < mBlocks);
      ASSERT_TRUE(c.head >= 0 && c.head < heads);
      ASSERT_TRUE(c.batch >= 0 && c.batch < batch);
      EXPECT_TRUE(seen.insert({c.mBlock, c.head, c.batch}).second);
    }
  EXPECT_EQ(int64_t(seen.size()), tiles);
}

TEST(TileSchedule, EveryTileOnceAcrossAPersistentGrid) {
  // CTA c of G takes c, c + G, ...: together they cover each tile once.
  for (int64_t mBlocks : {1, 3, 17})
    for (int64_t heads : {1, 5})
      for (int64_t batch : {1, 4})
        for (int grid : {1, 7, 132, 1000})
          expectEveryTileOnce(
              mBlocks, heads, batch, grid,
              [](int64_t cta, int64_t k, int64_t g) { return cta + k * g; },
              [&](int64_t t) {
                return tileCoords(t, mBlocks, heads, batch, /*reverse=*/true);
              });
}

TEST(TileSchedule, PersistentGridIsTilesCappedBySlots) {
  EXPECT_EQ(persistentGridSize(1000, 132, 1), 132);
  EXPECT_EQ(persistentGridSize(50, 132, 1), 50);
  EXPECT_EQ(persistentGridSize(1000, 132, 2), 264);
  EXPECT_EQ(persistentGridSize(0, 132, 1), 1); // never an empty grid
  EXPECT_EQ(persistentGridSize(10, 0, 1), 1);  // unknown SM count
}

TEST(TileSchedule, SplitsCoverTheKeyBlocksOnce) {
  for (int64_t n : {1, 5, 64, 1000})
    for (int64_t splits : {1, 2, 3, 7, 16}) {
      int64_t covered = 0, previousEnd = 10;
      for (int64_t s = 0; s < splits; ++s) {
        int64_t b, e;
        splitKeyBlocks(10, 10 + n, s, splits, b, e);
        EXPECT_EQ(b, previousEnd);
        EXPECT_LE(b, e);
        covered += e - b;
        previousEnd = e;
      }
      EXPECT_EQ(covered, n);
    }
}

TEST(TileSchedule, SplitHeuristic) {
  // Enough tiles to fill the SMs, or few key blocks: no split.
  EXPECT_EQ(chooseNumSplits(132, 132, 1000, 128), 1);
  EXPECT_EQ(chooseNumSplits(8, 132, 4, 128), 1);
  // 8 tiles (batch 1, 8 KV heads packed) of 1024 key blocks: 16 splits fill
  // 128 of 132 SMs (0.97 of the best, 33 splits = two full waves); 15 (120
  // SMs, 0.91) is below 95 %.
  EXPECT_EQ(chooseNumSplits(8, 132, 1024, 128), 16);
  // 48 tiles: the best is 11 splits (4 full waves); 8 (2.91 waves, 0.97) is
  // the smallest within 95 % of it (5: 1.82 waves, 0.91; 7: 2.55, 0.85).
  int s = chooseNumSplits(48, 132, 100, 128);
  EXPECT_EQ(s, 8);
  double waves = 48.0 * s / 132;
  EXPECT_GE(waves / std::ceil(waves), kSplitWaveEfficiency * 1.0 - 1e-9);
  // Never more splits than key blocks.
  EXPECT_LE(chooseNumSplits(1, 132, 6, 128), 6);
}

TEST(TileSchedule, PackGqaHeuristic) {
  EXPECT_TRUE(choosePackGqa(1, 4, 128));    // decode: 4 rows instead of 1
  EXPECT_TRUE(choosePackGqa(16, 4, 128));   // 64 packed rows
  EXPECT_FALSE(choosePackGqa(1, 1, 128));   // no GQA
  EXPECT_FALSE(choosePackGqa(64, 4, 128));  // 256 rows do not fit a tile
  EXPECT_FALSE(choosePackGqa(128, 1, 128)); // full tiles already
}

TEST(TileSchedule, PagedLoadsStayInsideOnePage) {
  // (page size, block_n) -> rows per load, as the paged producer issues them.
  struct Row {
    int64_t page;
    int blockN, rows;
  } table[] = {{16, 128, 16},  {32, 128, 32},  {64, 128, 64}, {128, 128, 128},
               {256, 128, 128}, {16, 80, 16},  {64, 80, 16},  {256, 80, 16},
               {64, 96, 32},   {128, 96, 32},  {48, 128, 16}, {0, 128, 0}};
  for (const Row &r : table)
    EXPECT_EQ(pageChunkRows(r.page, r.blockN), r.rows)
        << "page " << r.page << " block_n " << r.blockN;
  // Every load of every block of a 4-block range lies in one page, and the
  // loads of a block tile it exactly.
  for (int64_t page : {16, 32, 48, 64, 128, 256})
    for (int blockN : {80, 96, 128, 176}) {
      int chunk = pageChunkRows(page, blockN);
      ASSERT_GT(chunk, 0);
      ASSERT_EQ(blockN % chunk, 0);
      for (int64_t j = 0; j < 4; ++j)
        for (int c = 0; c < blockN / chunk; ++c) {
          int64_t first = j * blockN + c * chunk, last = first + chunk - 1;
          int64_t col0, in0, col1, in1;
          pagedRow(first, page, col0, in0);
          pagedRow(last, page, col1, in1);
          EXPECT_EQ(col0, col1) << page << " " << blockN << " " << first;
          EXPECT_EQ(in1 - in0, chunk - 1);
        }
    }
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

namespace {

struct LongestFirstCase {
  int64_t t, mBlocks, heads, batch, laneGroup;
  TileCoords want;
};

class LongestFirstTest : public ::testing::TestWithParam<LongestFirstCase> {};

TEST_P(LongestFirstTest, FollowsTheGroupedOrder) {
  const LongestFirstCase &c = GetParam();
  EXPECT_EQ(tileCoordsLongestFirst(c.t, c.mBlocks, c.heads, c.batch,
                                   c.laneGroup, /*reverse=*/true),
            c.want);
}

// M 4 query blocks, H 3 heads, B 2 sequences: 6 lanes (head fastest) in
// groups of 4, the last group of 2.
INSTANTIATE_TEST_SUITE_P(
    Table, LongestFirstTest,
    ::testing::Values(
        // Group 0, lanes 0..3: every lane's longest block (m 3) first.
        LongestFirstCase{0, 4, 3, 2, 4, {3, 0, 0, 0}},
        LongestFirstCase{1, 4, 3, 2, 4, {3, 1, 0, 0}},
        LongestFirstCase{3, 4, 3, 2, 4, {3, 0, 1, 0}}, // lane 3 = head 0, batch 1
        LongestFirstCase{4, 4, 3, 2, 4, {2, 0, 0, 0}},
        LongestFirstCase{15, 4, 3, 2, 4, {0, 0, 1, 0}},
        // Group 1 (short): lanes 4, 5 = heads 1, 2 of batch 1.
        LongestFirstCase{16, 4, 3, 2, 4, {3, 1, 1, 0}},
        LongestFirstCase{17, 4, 3, 2, 4, {3, 2, 1, 0}},
        LongestFirstCase{18, 4, 3, 2, 4, {2, 1, 1, 0}},
        LongestFirstCase{23, 4, 3, 2, 4, {0, 2, 1, 0}},
        // One lane per group: m fastest per lane, longest first.
        LongestFirstCase{5, 4, 3, 2, 1, {2, 1, 0, 0}}));

TEST(TileSchedule, LongestFirstAndSnakeCoverEveryTileOnce) {
  for (int64_t mBlocks : {1, 3, 17})
    for (int64_t heads : {1, 5})
      for (int64_t batch : {1, 4})
        for (int64_t group : {1, 3, 32})
          for (int grid : {1, 7, 132, 1000})
            expectEveryTileOnce(
                mBlocks, heads, batch, grid,
                [](int64_t cta, int64_t k, int64_t g) {
                  return snakeTile(cta, k, g);
                },
                [&](int64_t t) {
                  return tileCoordsLongestFirst(t, mBlocks, heads, batch, group,
                                                true);
                });
}

TEST(TileSchedule, SnakeDealsAlternateRoundsBackwards) {
  EXPECT_EQ(snakeTile(0, 0, 4), 0);
  EXPECT_EQ(snakeTile(3, 0, 4), 3);
  EXPECT_EQ(snakeTile(0, 1, 4), 7);
  EXPECT_EQ(snakeTile(3, 1, 4), 4);
  EXPECT_EQ(snakeTile(1, 2, 4), 9);
}

TEST(TileSchedule, LaneGroupsKeepKAndVInL2) {
  // bf16 d128: 512 bytes of K and V per key; 32 MiB / 512 = 65536 keys.
  EXPECT_EQ(l2LaneGroup(2048, 128, 2), 32);  // 1 MiB per lane: capped at 32
  EXPECT_EQ(l2LaneGroup(16384, 128, 2), 4);  // 8 MiB per lane
  EXPECT_EQ(l2LaneGroup(65536, 128, 2), 1);
  EXPECT_EQ(l2LaneGroup(1 << 20, 128, 2), 1); // never below 1
  EXPECT_EQ(l2LaneGroup(0, 64, 2), 32);
  EXPECT_EQ(l2LaneGroup(10000, 256, 2), 3);   // 65536 / 2 / 10000 keys
}

} // namespace
