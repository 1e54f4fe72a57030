//===- RuntimeTensorMapTest.cpp - Tensor-map planning without a driver ----===//

#include "runtime/TensorMap.h"

#include <gtest/gtest.h>

#include <utility>

using namespace flashcore;

namespace {

/// K of a BSHD bf16 tensor: B=2, S=384, H=2, D=128, 128B swizzle, 128 rows.
TensorMapDesc validDesc() {
  TensorMapDesc d;
  d.name = "k";
  d.base = reinterpret_cast<const void *>(uintptr_t(0x7f0000000000));
  d.dtype = DType::BF16;
  d.headDim = 128;
  d.seqlen = 384;
  d.heads = 2;
  d.batch = 2;
  d.rowStride = 2 * 128;
  d.headStride = 128;
  d.batchStride = 384 * 2 * 128;
  d.boxCols = 64;
  d.boxRows = 128;
  d.swizzleBytes = 128;
  return d;
}

std::string planError(const TensorMapDesc &d) {
  TensorMapPlan plan;
  std::string error;
  EXPECT_FALSE(planTensorMap(d, plan, error));
  return error;
}

TEST(TensorMap, PlansDimsInnermostFirstWithByteStrides) {
  TensorMapPlan plan;
  std::string error;
  ASSERT_TRUE(planTensorMap(validDesc(), plan, error)) << error;
  EXPECT_EQ(plan.dataType, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
  EXPECT_EQ(plan.dims[0], 128u); // head_dim
  EXPECT_EQ(plan.dims[1], 384u); // seqlen
  EXPECT_EQ(plan.dims[2], 2u);   // heads
  EXPECT_EQ(plan.dims[3], 2u);   // batch
  EXPECT_EQ(plan.strides[0], 2u * 128 * 2); // row, bytes
  EXPECT_EQ(plan.strides[1], 128u * 2);     // head, bytes
  EXPECT_EQ(plan.strides[2], 384u * 2 * 128 * 2);
  EXPECT_EQ(plan.box[0], 64u);
  EXPECT_EQ(plan.box[1], 128u);
  EXPECT_EQ(plan.box[2], 1u);
  EXPECT_EQ(plan.box[3], 1u);
  for (cuuint32_t s : plan.elementStrides)
    EXPECT_EQ(s, 1u);
  EXPECT_EQ(plan.swizzle, CU_TENSOR_MAP_SWIZZLE_128B);
  EXPECT_EQ(plan.oobFill, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  EXPECT_EQ(plan.l2Promotion, CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
  EXPECT_EQ(plan.interleave, CU_TENSOR_MAP_INTERLEAVE_NONE);
}

TEST(TensorMap, MapsL2PromotionBytes) {
  const std::pair<int, CUtensorMapL2promotion> table[] = {
      {0, CU_TENSOR_MAP_L2_PROMOTION_NONE},
      {64, CU_TENSOR_MAP_L2_PROMOTION_L2_64B},
      {128, CU_TENSOR_MAP_L2_PROMOTION_L2_128B},
      {256, CU_TENSOR_MAP_L2_PROMOTION_L2_256B}};
  for (auto [bytes, promotion] : table) {
    TensorMapDesc d = validDesc();
    d.l2PromotionBytes = bytes;
    TensorMapPlan plan;
    std::string error;
    ASSERT_TRUE(planTensorMap(d, plan, error)) << error;
    EXPECT_EQ(plan.l2Promotion, promotion) << bytes;
  }
  TensorMapDesc bad = validDesc();
  bad.l2PromotionBytes = 100;
  EXPECT_NE(planError(bad).find("L2 promotion must be 0, 64, 128 or 256 "
                                "bytes, got: 100"),
            std::string::npos);
}

TEST(TensorMap, MapsSwizzleWidthsAndFp16) {
  TensorMapDesc d = validDesc();
  d.dtype = DType::FP16;
  d.swizzleBytes = 64;
  d.boxCols = 32;
  TensorMapPlan plan;
  std::string error;
  ASSERT_TRUE(planTensorMap(d, plan, error)) << error;
  EXPECT_EQ(plan.swizzle, CU_TENSOR_MAP_SWIZZLE_64B);
  EXPECT_EQ(plan.dataType, CU_TENSOR_MAP_DATA_TYPE_FLOAT16);
  d.swizzleBytes = 32;
  d.boxCols = 16;
  ASSERT_TRUE(planTensorMap(d, plan, error)) << error;
  EXPECT_EQ(plan.swizzle, CU_TENSOR_MAP_SWIZZLE_32B);
}

TEST(TensorMap, ReplacesStrideOfSizeOneDimension) {
  TensorMapDesc d = validDesc();
  d.batch = 1;
  d.batchStride = 0; // frameworks report anything for size-1 dims
  d.heads = 1;
  d.headStride = 7;
  TensorMapPlan plan;
  std::string error;
  ASSERT_TRUE(planTensorMap(d, plan, error)) << error;
  EXPECT_EQ(plan.strides[1] % 16, 0u);
  EXPECT_GT(plan.strides[1], 0u);
  EXPECT_EQ(plan.strides[2] % 16, 0u);
  EXPECT_GT(plan.strides[2], 0u);
}

TEST(TensorMap, RejectsNullBase) {
  TensorMapDesc d = validDesc();
  d.base = nullptr;
  EXPECT_EQ(planError(d), "k must be a device pointer, got: null");
}

TEST(TensorMap, RejectsBaseNotSixteenByteAligned) {
  TensorMapDesc d = validDesc();
  d.base = reinterpret_cast<const void *>(uintptr_t(0x7f0000000008));
  EXPECT_EQ(planError(d),
            "k must be 16-byte aligned for TMA, got: 0x7f0000000008");
}

TEST(TensorMap, RejectsStrideNotMultipleOfSixteenBytes) {
  TensorMapDesc d = validDesc();
  d.rowStride = 2 * 128 + 4;
  std::string error = planError(d);
  EXPECT_NE(error.find("k row (seq) stride must be a multiple of 16 bytes"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("got: 260 elements"), std::string::npos) << error;
}

TEST(TensorMap, RejectsStrideOf2Pow40Bytes) {
  TensorMapDesc d = validDesc();
  d.batchStride = int64_t(1) << 39; // * 2 bytes
  std::string error = planError(d);
  EXPECT_NE(error.find("k batch stride must be < 2^40 bytes"),
            std::string::npos)
      << error;
}

TEST(TensorMap, RejectsNonPositiveStrideOfUsedDimension) {
  TensorMapDesc d = validDesc();
  d.headStride = 0;
  EXPECT_NE(planError(d).find("k head stride must be > 0"), std::string::npos);
}

TEST(TensorMap, RejectsDimensionAbove2Pow32) {
  TensorMapDesc d = validDesc();
  d.seqlen = (int64_t(1) << 32) + 1;
  EXPECT_NE(planError(d).find("k seqlen must be in [1, 2^32]"),
            std::string::npos);
}

TEST(TensorMap, RejectsZeroDimension) {
  TensorMapDesc d = validDesc();
  d.batch = 0;
  EXPECT_NE(planError(d).find("k batch must be in [1, 2^32] for TMA, got: 0"),
            std::string::npos);
}

TEST(TensorMap, RejectsBoxColumnsOtherThanOneSwizzleSpan) {
  TensorMapDesc d = validDesc();
  d.boxCols = 128; // 256 bytes > 128B swizzle
  EXPECT_EQ(planError(d), "k box columns must be swizzle / element bytes = "
                          "64, got: 128");
}

TEST(TensorMap, RejectsBoxRowsAbove256) {
  TensorMapDesc d = validDesc();
  d.boxRows = 320;
  EXPECT_EQ(planError(d), "k box rows must be in [1, 256], got: 320");
}

TEST(TensorMap, RejectsUnknownSwizzle) {
  TensorMapDesc d = validDesc();
  d.swizzleBytes = 96;
  EXPECT_EQ(planError(d), "k swizzle must be 32, 64 or 128 bytes, got: 96");
}

TEST(TensorMap, RejectsHeadDimNotMultipleOfBoxColumns) {
  TensorMapDesc d = validDesc();
  d.headDim = 96; // 1.5 column blocks of 64
  EXPECT_NE(planError(d).find("k head_dim must be a multiple of the box "
                              "columns 64, got: 96"),
            std::string::npos);
}

} // namespace
