//===- FragmentLayoutTest.cpp - wgmma fragments and the stmatrix layout ---===//

#include "compiler/FragmentLayout.h"
#include "compiler/Swizzle.h"

#include <gtest/gtest.h>

#include <set>

using namespace flashcore;

namespace {

TEST(FragmentLayout, AccumulatorValuesCoverAnEightColumnPattern) {
  // Values 0..3 of every group of four: (row 0, col 0/1), (row 8, col 0/1).
  EXPECT_EQ(fragmentRow(0), 0);
  EXPECT_EQ(fragmentRow(1), 0);
  EXPECT_EQ(fragmentRow(2), 1);
  EXPECT_EQ(fragmentRow(3), 1);
  EXPECT_EQ(fragmentCol(0), 0);
  EXPECT_EQ(fragmentCol(1), 1);
  EXPECT_EQ(fragmentCol(4), 8);
  EXPECT_EQ(fragmentCol(7), 9);
}

TEST(FragmentLayout, AccumulatorCoversTheTileOnce) {
  // 128 threads x n/2 values = the 64 x n tile, each element once.
  const int n = 128;
  std::set<std::pair<int, int>> seen;
  for (int t = 0; t < 128; ++t)
    for (int i = 0; i < n / 2; ++i) {
      int row = 16 * (t / 32) + (t % 32) / 4 + 8 * fragmentRow(i);
      int col = 2 * (t % 4) + fragmentCol(i);
      EXPECT_TRUE(seen.insert({row, col}).second);
    }
  EXPECT_EQ(int(seen.size()), 64 * n);
}

TEST(FragmentLayout, StmatrixLanesAddressTheRowsOfFourMatrices) {
  EXPECT_EQ(stmatrixRow(0), 0);
  EXPECT_EQ(stmatrixRow(7), 7);
  EXPECT_EQ(stmatrixRow(8), 8);   // matrix 1: rows 8-15, cols 0-7
  EXPECT_EQ(stmatrixCol(8), 0);
  EXPECT_EQ(stmatrixRow(16), 0);  // matrix 2: rows 0-7, cols 8-15
  EXPECT_EQ(stmatrixCol(16), 8);
  EXPECT_EQ(stmatrixRow(31), 15); // matrix 3: rows 8-15, cols 8-15
  EXPECT_EQ(stmatrixCol(31), 8);
}

struct StagingCase {
  int swizzle, headDim;
};

class StagingTest : public ::testing::TestWithParam<StagingCase> {};

TEST_P(StagingTest, SplitFormEqualsTheTileLayout) {
  const StagingCase c = GetParam();
  for (int warp = 0; warp < 4; ++warp)
    for (int lane = 0; lane < 32; ++lane)
      for (int k = 0; k < c.headDim / 16; ++k)
        ASSERT_EQ(stmatrixByteOffsetSplit(warp, lane, k, 64, c.swizzle, 2),
                  stmatrixByteOffset(warp, lane, k, 64, c.swizzle, 2))
            << "warp " << warp << " lane " << lane << " k " << k;
}

TEST_P(StagingTest, EveryRowSegmentIsStoredOnceInsideTheTile) {
  // Each (warp, lane, k-step) stores 8 contiguous 16-bit values (16 bytes);
  // together they fill the 64 x head_dim staging tile exactly.
  const StagingCase c = GetParam();
  const int64_t tileBytes = int64_t(64) * c.headDim * 2;
  std::set<int64_t> seen;
  for (int warp = 0; warp < 4; ++warp)
    for (int lane = 0; lane < 32; ++lane)
      for (int k = 0; k < c.headDim / 16; ++k) {
        int64_t off = stmatrixByteOffset(warp, lane, k, 64, c.swizzle, 2);
        EXPECT_EQ(off % 16, 0);
        EXPECT_LT(off, tileBytes);
        EXPECT_TRUE(seen.insert(off).second);
      }
  EXPECT_EQ(int64_t(seen.size()) * 16, tileBytes);
}

INSTANTIATE_TEST_SUITE_P(Table, StagingTest,
                         ::testing::Values(StagingCase{128, 64},
                                           StagingCase{128, 128},
                                           StagingCase{128, 256},
                                           StagingCase{64, 96},
                                           StagingCase{64, 192},
                                           StagingCase{32, 32}));

} // namespace
