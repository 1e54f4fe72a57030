//===- TensorMap.h - CUtensorMap encoding for Q, K and V --------*- C++ -*-===//
//
// The generated kernel loads Q, K and V with TMA through 4-D tensor maps whose
// dimensions are, from the innermost, (head_dim, seqlen, heads, batch) and
// whose boxes are (swizzle / elem_bytes, rows, 1, 1) (see KernelABI.h).
//
// Encoding is split in two: planTensorMap checks every rule of
// cuTensorMapEncodeTiled and builds its arguments without a driver (so the
// checks are unit-tested on CPU machines); encodeTensorMap hands the plan to
// the driver.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_TENSORMAP_H
#define FLASHCORE_RUNTIME_TENSORMAP_H

#include "compiler/Spec.h"
#include "runtime/CudaDriver.h"

#include <cstdint>
#include <string>

namespace flashcore {

/// TMA limits (CUDA driver API, cuTensorMapEncodeTiled).
inline constexpr uint64_t kTmaGlobalAlignment = 16;
inline constexpr uint64_t kTmaStrideMultiple = 16;
inline constexpr uint64_t kTmaMaxStride = uint64_t(1) << 40; // exclusive
inline constexpr uint64_t kTmaMaxDim = uint64_t(1) << 32;    // inclusive
inline constexpr uint32_t kTmaMaxBox = 256;

/// One attention operand as the tensor map sees it. Strides are in elements;
/// the head_dim dimension is contiguous.
struct TensorMapDesc {
  /// "q", "k" or "v": used in messages.
  std::string name;
  const void *base = nullptr;
  DType dtype = DType::BF16;
  int64_t headDim = 0, seqlen = 0, heads = 0, batch = 0;
  int64_t rowStride = 0, headStride = 0, batchStride = 0;
  /// Box: columns (elements, = swizzle / elem_bytes), rows (block_m for Q,
  /// block_n for K and V) and heads (1; pack_gqa's Q: heads_q / heads_kv).
  int64_t boxCols = 0, boxRows = 0, boxHeads = 1;
  /// 32, 64 or 128.
  int swizzleBytes = 128;
  /// L2 promotion in bytes: 0 (none), 64, 128 or 256.
  int l2PromotionBytes = 256;
};

/// The checked arguments of cuTensorMapEncodeTiled.
struct TensorMapPlan {
  CUtensorMapDataType dataType = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  void *base = nullptr;
  cuuint64_t dims[4] = {};
  /// Byte strides of dims 1..3.
  cuuint64_t strides[3] = {};
  cuuint32_t box[4] = {};
  cuuint32_t elementStrides[4] = {1, 1, 1, 1};
  CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
  CUtensorMapL2promotion l2Promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_256B;
  CUtensorMapFloatOOBfill oobFill = CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE;
  CUtensorMapInterleave interleave = CU_TENSOR_MAP_INTERLEAVE_NONE;
};

/// Checks `desc` against the TMA rules (16-byte aligned base; dims in
/// [1, 2^32]; byte strides multiples of 16 and < 2^40; box extents in
/// [1, 256] with the inner box exactly one swizzle span) and fills `plan`.
/// The stride of a dimension of extent 1 is never used, so any value is
/// accepted there and replaced by a valid one.
bool planTensorMap(const TensorMapDesc &desc, TensorMapPlan &plan,
                   std::string &error);

/// cuTensorMapEncodeTiled on a checked plan. `map` must be 64-byte aligned
/// (CUtensorMap is declared so).
bool encodeTensorMap(const cuda::DriverApi &driver, const TensorMapPlan &plan,
                     CUtensorMap &map, std::string &error);

/// "0x7f12345603".
std::string hexPointer(const void *p);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_TENSORMAP_H
