//===- TensorMap.cpp - CUtensorMap encoding for Q, K and V ----------------===//

#include "runtime/TensorMap.h"

#include <cstdio>

namespace flashcore {

std::string hexPointer(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)));
  return buf;
}

static std::string str(long long v) { return std::to_string(v); }

bool planTensorMap(const TensorMapDesc &d, TensorMapPlan &plan,
                   std::string &error) {
  const std::string &n = d.name;
  plan = TensorMapPlan();
  if (!d.base) {
    error = n + " must be a device pointer, got: null";
    return false;
  }
  if (reinterpret_cast<uintptr_t>(d.base) % kTmaGlobalAlignment) {
    error = n + " must be 16-byte aligned for TMA, got: " + hexPointer(d.base);
    return false;
  }
  const uint64_t elem = dtypeBytes(d.dtype);

  // Dimensions, innermost first.
  const char *dimNames[4] = {"head_dim", "seqlen", "heads", "batch"};
  const int64_t dims[4] = {d.headDim, d.seqlen, d.heads, d.batch};
  for (int i = 0; i < 4; ++i) {
    if (dims[i] < 1 || uint64_t(dims[i]) > kTmaMaxDim) {
      error = n + " " + dimNames[i] + " must be in [1, 2^32] for TMA, got: " +
              str(dims[i]);
      return false;
    }
    plan.dims[i] = cuuint64_t(dims[i]);
  }

  // Strides of dims 1..3 in bytes. An unused stride (extent 1) is replaced by
  // the dense value so callers may pass anything there, as frameworks do for
  // size-1 dimensions.
  const char *strideNames[3] = {"row (seq) stride", "head stride",
                                "batch stride"};
  const int64_t strides[3] = {d.rowStride, d.headStride, d.batchStride};
  uint64_t dense = uint64_t(d.headDim) * elem;
  for (int i = 0; i < 3; ++i) {
    uint64_t bytes;
    if (dims[i + 1] == 1) {
      bytes = (dense + kTmaStrideMultiple - 1) / kTmaStrideMultiple *
              kTmaStrideMultiple;
      if (bytes >= kTmaMaxStride)
        bytes = kTmaStrideMultiple;
    } else {
      if (strides[i] <= 0) {
        error = n + " " + strideNames[i] +
                " must be > 0 (elements) for TMA, got: " + str(strides[i]);
        return false;
      }
      bytes = uint64_t(strides[i]) * elem;
      if (bytes % kTmaStrideMultiple) {
        error = n + " " + strideNames[i] +
                " must be a multiple of 16 bytes (" +
                str(kTmaStrideMultiple / elem) + " elements) for TMA, got: " +
                str(strides[i]) + " elements";
        return false;
      }
      if (bytes >= kTmaMaxStride) {
        error = n + " " + strideNames[i] +
                " must be < 2^40 bytes for TMA, got: " + str(strides[i]) +
                " elements";
        return false;
      }
    }
    plan.strides[i] = bytes;
    dense = bytes * uint64_t(dims[i + 1]);
  }

  // Box: one swizzle span of columns, `boxRows` rows, `boxHeads` heads, one
  // batch.
  if (d.swizzleBytes != 32 && d.swizzleBytes != 64 && d.swizzleBytes != 128) {
    error = n + " swizzle must be 32, 64 or 128 bytes, got: " +
            str(d.swizzleBytes);
    return false;
  }
  if (d.boxCols < 1 || uint64_t(d.boxCols) * elem != uint64_t(d.swizzleBytes)) {
    error = n + " box columns must be swizzle / element bytes = " +
            str(d.swizzleBytes / int64_t(elem)) + ", got: " + str(d.boxCols);
    return false;
  }
  if (d.headDim % d.boxCols) {
    error = n + " head_dim must be a multiple of the box columns " +
            str(d.boxCols) + ", got: " + str(d.headDim);
    return false;
  }
  if (d.boxRows < 1 || d.boxRows > kTmaMaxBox) {
    error = n + " box rows must be in [1, 256], got: " + str(d.boxRows);
    return false;
  }
  if (d.boxHeads < 1 || d.boxHeads > kTmaMaxBox || d.boxHeads > d.heads) {
    error = n + " box heads must be in [1, min(256, heads = " + str(d.heads) +
            ")], got: " + str(d.boxHeads);
    return false;
  }
  plan.box[0] = cuuint32_t(d.boxCols);
  plan.box[1] = cuuint32_t(d.boxRows);
  plan.box[2] = cuuint32_t(d.boxHeads);
  plan.box[3] = 1;

  plan.dataType = d.dtype == DType::BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                         : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  plan.swizzle = d.swizzleBytes == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
                 : d.swizzleBytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
                                        : CU_TENSOR_MAP_SWIZZLE_32B;
  switch (d.l2PromotionBytes) {
  case 0:
    plan.l2Promotion = CU_TENSOR_MAP_L2_PROMOTION_NONE;
    break;
  case 64:
    plan.l2Promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_64B;
    break;
  case 128:
    plan.l2Promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_128B;
    break;
  case 256:
    plan.l2Promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_256B;
    break;
  default:
    error = n + " L2 promotion must be 0, 64, 128 or 256 bytes, got: " +
            str(d.l2PromotionBytes);
    return false;
  }
  plan.base = const_cast<void *>(d.base);
  return true;
}

bool encodeTensorMap(const cuda::DriverApi &driver, const TensorMapPlan &plan,
                     CUtensorMap &map, std::string &error) {
  CUresult rc = driver.cuTensorMapEncodeTiledFn(
      &map, plan.dataType, /*tensorRank=*/4, plan.base, plan.dims,
      plan.strides, plan.box, plan.elementStrides, plan.interleave,
      plan.swizzle, plan.l2Promotion, plan.oobFill);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(driver, "cuTensorMapEncodeTiled", rc) +
            " (dims " + std::to_string(plan.dims[0]) + "x" +
            std::to_string(plan.dims[1]) + "x" + std::to_string(plan.dims[2]) +
            "x" + std::to_string(plan.dims[3]) + ", byte strides " +
            std::to_string(plan.strides[0]) + "/" +
            std::to_string(plan.strides[1]) + "/" +
            std::to_string(plan.strides[2]) + ", box " +
            std::to_string(plan.box[0]) + "x" + std::to_string(plan.box[1]) +
            ")";
    return false;
  }
  return true;
}

} // namespace flashcore
