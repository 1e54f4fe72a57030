//===- WgmmaDescriptorTest.cpp - Table tests of wgmma descriptors ---------===//

#include "compiler/WgmmaDescriptor.h"

#include <gtest/gtest.h>

using namespace flashcore;

namespace {

TEST(WgmmaDescriptorTest, KMajor128BMatchesTheKnownEncoding) {
  // LBO 16 B (1), SBO 1024 B (64), layout 1 (128B swizzle).
  EXPECT_EQ(kMajorDescriptorBase(128), 0x4000004000010000ull);
}

TEST(WgmmaDescriptorTest, MnMajor128BHasColumnBlockStrideAsLbo) {
  // V tile of 128 rows: column blocks 128 * 128 B apart -> LBO 16384 B.
  EXPECT_EQ(mnMajorDescriptorBase(128, 128), 0x4000004004000000ull);
  WgmmaDescriptorFields f = decodeWgmmaDescriptor(mnMajorDescriptorBase(64, 80));
  EXPECT_EQ(f.leadingByteOffset, 80u * 64u);
  EXPECT_EQ(f.strideByteOffset, 8u * 64u);
  EXPECT_EQ(f.swizzleBytes, 64);
}

TEST(WgmmaDescriptorTest, LayoutCodesFollowThePtxIsa) {
  EXPECT_EQ(wgmmaLayoutType(0), 0);
  EXPECT_EQ(wgmmaLayoutType(128), 1);
  EXPECT_EQ(wgmmaLayoutType(64), 2);
  EXPECT_EQ(wgmmaLayoutType(32), 3);
}

struct RoundTripCase {
  uint32_t address, lbo, sbo, base;
  int swizzle;
};

class DescriptorRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(DescriptorRoundTripTest, DecodesWhatItEncodes) {
  const RoundTripCase &c = GetParam();
  WgmmaDescriptorFields in;
  in.startAddress = c.address;
  in.leadingByteOffset = c.lbo;
  in.strideByteOffset = c.sbo;
  in.baseOffset = c.base;
  in.swizzleBytes = c.swizzle;
  WgmmaDescriptorFields out = decodeWgmmaDescriptor(encodeWgmmaDescriptor(in));
  EXPECT_EQ(out.startAddress, c.address);
  EXPECT_EQ(out.leadingByteOffset, c.lbo);
  EXPECT_EQ(out.strideByteOffset, c.sbo);
  EXPECT_EQ(out.baseOffset, c.base);
  EXPECT_EQ(out.swizzleBytes, c.swizzle);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DescriptorRoundTripTest,
    ::testing::Values(RoundTripCase{0, 16, 1024, 0, 128},
                      RoundTripCase{0x3FFF0, 16384, 1024, 0, 128},
                      RoundTripCase{227 * 1024 - 16, 5120, 512, 3, 64},
                      RoundTripCase{4096, 2048, 256, 0, 32},
                      RoundTripCase{1024, 128, 256, 0, 0}));

TEST(WgmmaDescriptorTest, StartAddressFieldIs14Bits) {
  WgmmaDescriptorFields f;
  f.startAddress = 0x40000; // 2^18: one past what the field holds
  f.swizzleBytes = 128;
  EXPECT_EQ(decodeWgmmaDescriptor(encodeWgmmaDescriptor(f)).startAddress, 0u);
}

struct KStepCase {
  int kStep, rows, swizzle, elemBytes, expected;
};

class KMajorKStepTest : public ::testing::TestWithParam<KStepCase> {};

TEST_P(KMajorKStepTest, AdvancesInsideTheRowThenByColumnBlock) {
  const KStepCase &c = GetParam();
  EXPECT_EQ(kMajorKStepOffset(c.kStep, c.rows, c.swizzle, c.elemBytes),
            c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, KMajorKStepTest,
    ::testing::Values(KStepCase{0, 128, 128, 2, 0}, KStepCase{1, 128, 128, 2, 32},
                      KStepCase{3, 128, 128, 2, 96},
                      KStepCase{4, 128, 128, 2, 128 * 128},
                      KStepCase{5, 128, 128, 2, 128 * 128 + 32},
                      KStepCase{7, 176, 128, 2, 176 * 128 + 96},
                      KStepCase{1, 80, 64, 2, 32}, KStepCase{2, 80, 64, 2, 80 * 64},
                      KStepCase{1, 64, 32, 2, 64 * 32},
                      KStepCase{3, 64, 32, 2, 3 * 64 * 32}));

TEST(WgmmaDescriptorTest, MnMajorKStepIsSixteenRows) {
  EXPECT_EQ(mnMajorKStepOffset(0, 128), 0);
  EXPECT_EQ(mnMajorKStepOffset(1, 128), 2048);
  EXPECT_EQ(mnMajorKStepOffset(3, 64), 3 * 16 * 64);
  EXPECT_EQ(mnMajorKStepOffset(2, 32), 2 * 16 * 32);
}

} // namespace
