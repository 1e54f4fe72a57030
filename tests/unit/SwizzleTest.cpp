//===- SwizzleTest.cpp - Table tests of the shared-memory swizzle ---------===//

#include "compiler/Swizzle.h"

#include <gtest/gtest.h>

#include <set>

using namespace flashcore;

namespace {

struct SwizzleCase {
  int64_t offset;
  int swizzle;
  int64_t expected;
};

class SwizzleByteOffsetTest : public ::testing::TestWithParam<SwizzleCase> {};

TEST_P(SwizzleByteOffsetTest, MatchesTheXorFormula) {
  const SwizzleCase &c = GetParam();
  EXPECT_EQ(swizzleByteOffset(c.offset, c.swizzle), c.expected)
      << "offset " << c.offset << " swizzle " << c.swizzle;
}

INSTANTIATE_TEST_SUITE_P(
    Table, SwizzleByteOffsetTest,
    ::testing::Values(
        // 128B: chunk ^= line % 8.
        SwizzleCase{0, 128, 0}, SwizzleCase{16, 128, 16},
        SwizzleCase{128, 128, 144}, SwizzleCase{144, 128, 128},
        SwizzleCase{7 * 128, 128, 7 * 128 + 7 * 16},
        SwizzleCase{1023, 128, 1023 ^ 112}, SwizzleCase{1024, 128, 1024},
        SwizzleCase{1024 + 128 + 32, 128, 1024 + 128 + (32 ^ 16)},
        // 64B: chunk ^= line % 4.
        SwizzleCase{128, 64, 144}, SwizzleCase{5 * 128, 64, 5 * 128 + 16},
        SwizzleCase{3 * 128 + 48, 64, 3 * 128 + (48 ^ 48)},
        // 32B: chunk ^= line % 2.
        SwizzleCase{128, 32, 144}, SwizzleCase{256, 32, 256},
        SwizzleCase{3 * 128 + 16, 32, 3 * 128}));

TEST(SwizzleTest, IsABijectionOnEveryAtom) {
  for (int swizzle : {32, 64, 128}) {
    std::set<int64_t> seen;
    for (int64_t chunk = 0; chunk < 2048 / 16; ++chunk) {
      int64_t out = swizzleByteOffset(chunk * 16, swizzle);
      EXPECT_EQ(out / 1024, chunk * 16 / 1024) << "leaves its 1024B block";
      EXPECT_TRUE(seen.insert(out).second) << "collision at " << out;
    }
  }
}

TEST(SwizzleTest, KeepsBytesInsideTheirChunk) {
  for (int64_t offset = 0; offset < 1024; ++offset)
    EXPECT_EQ(swizzleByteOffset(offset, 128) % 16, offset % 16);
}

TEST(SwizzleTest, AcceptsOnlyHardwareWidths) {
  EXPECT_TRUE(isValidSwizzle(32));
  EXPECT_TRUE(isValidSwizzle(64));
  EXPECT_TRUE(isValidSwizzle(128));
  EXPECT_FALSE(isValidSwizzle(0));
  EXPECT_FALSE(isValidSwizzle(16));
  EXPECT_FALSE(isValidSwizzle(256));
}

struct TileCase {
  int row, col, rows, swizzle, elemBytes;
  int64_t expected;
};

class TileElementOffsetTest : public ::testing::TestWithParam<TileCase> {};

TEST_P(TileElementOffsetTest, PlacesColumnBlocksThenRows) {
  const TileCase &c = GetParam();
  EXPECT_EQ(tileElementByteOffset(c.row, c.col, c.rows, c.swizzle, c.elemBytes),
            c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TileElementOffsetTest,
    ::testing::Values(
        // bf16, 128B: 64 columns per block; block 1 starts after 128 rows.
        TileCase{0, 0, 128, 128, 2, 0}, TileCase{0, 64, 128, 128, 2, 16384},
        TileCase{1, 8, 128, 128, 2, 128}, // line 1: chunk 1 -> chunk 0
        TileCase{1, 0, 128, 128, 2, 144}, // line 1: chunk 0 -> chunk 1
        TileCase{9, 70, 64, 128, 2, 8192 + 9 * 128 + ((12 / 16) ^ 1) * 16 + 12},
        // bf16, 64B: 32 columns per block.
        TileCase{0, 32, 80, 64, 2, 80 * 64},
        TileCase{2, 0, 80, 64, 2, 128 + 16}));

} // namespace
