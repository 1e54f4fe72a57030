//===- KernelABI.h - Contract between generated kernels and the runtime ---===//
//
// The generator and the runtime must agree on the kernel's parameter list,
// its launch geometry, its shared-memory layout and the TMA boxes it expects.
// All of that is derived here from a validated AttentionSpec, with no MLIR, so
// that both sides compute it from the same code.
//
// Kernel signature (one `.entry` per module, named kKernelName):
//
//   param 0..2   CUtensorMap  Q, K, V   (byval, 64-byte aligned, grid_constant)
//   param 3      ptr<global>  O         (dtype, element strides below)
//   param 4      ptr<global>  LSE       (f32, may be null: then not written)
//   param 5, 6   ptr<global>  cu_seqlens_q, cu_seqlens_k (i32[batch + 1];
//                             read only by varlen kernels, else null)
//   param 7      i32          seqlen_q (varlen: the maximum over the batch)
//   param 8      i32          seqlen_k (varlen: the maximum over the batch)
//   param 9      i32          heads_per_kv_head (heads_q / heads_kv)
//   param 10, 11 i32          window_left, window_right (local kernels only;
//                             -1 = unbounded)
//   param 12     f32          log2(e) * (softmax scale, or the softcap c when
//                             softcap kernels: the exponent's scale)
//   param 13     f32          softmax scale / c (softcap kernels only)
//   param 14..16 i64          O strides in elements: batch, row, head
//   param 17, 18 i64          LSE strides in elements: batch, head (row = 1)
//
// Varlen kernels address the packed sequence: the tensor maps have batch
// extent 1 and seqlen extent total_q / total_k, rows are offset by
// cu_seqlens[b], and the O / LSE batch strides are 0.
//
// Grid: x = query blocks (ceil(seqlen_q / block_m)), y = heads_q, z = batch.
// Block: 128 * (1 + consumer_warpgroups) threads; dynamic shared memory
// `dynamicSmemBytes`.
//
// Tensor maps: Q, K and V are 4-D TMA tensors with dims (from innermost)
// (head_dim, seqlen, heads, batch) and boxes (swizzle / elem_bytes, rows, 1, 1)
// where rows is block_m for Q and block_n for K and V. A tile therefore lands
// in shared memory as head_dim / box_cols column blocks of `rows` rows of
// `swizzle` bytes each.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_KERNELABI_H
#define FLASHCORE_COMPILER_KERNELABI_H

#include "compiler/Spec.h"

#include <cstdint>

namespace flashcore {

inline constexpr const char *kKernelName = "flashcore_attention_fwd";

enum KernelParam : int {
  kParamTmaQ = 0,
  kParamTmaK,
  kParamTmaV,
  kParamOut,
  kParamLse,
  kParamCuSeqlensQ,
  kParamCuSeqlensK,
  kParamSeqlenQ,
  kParamSeqlenK,
  kParamHeadsPerKvHead,
  kParamWindowLeft,
  kParamWindowRight,
  kParamScaleLog2,
  kParamSoftcapScale,
  kParamOutBatchStride,
  kParamOutRowStride,
  kParamOutHeadStride,
  kParamLseBatchStride,
  kParamLseHeadStride,
  kNumKernelParams
};

/// Hardware limits of sm_90 that the schedule is checked against.
inline constexpr int kThreadsPerWarpgroup = 128;
inline constexpr int kRegistersPerSm = 65536;
inline constexpr int kMaxRegistersPerThread = 255;
/// Largest dynamic shared memory one CTA may opt into on H100/H200.
inline constexpr int kMaxSmemPerCta = 227 * 1024;
/// The dynamic shared memory base is aligned up to this at run time (128B
/// swizzle atoms are 8 rows x 128 bytes and must start 1024-byte aligned).
inline constexpr int kSmemAlignment = 1024;
inline constexpr int kMbarrierBytes = 8;
/// Largest TMA box extent along any dimension.
inline constexpr int kMaxTmaBoxDim = 256;
/// Rows of Q owned by one consumer warpgroup (the M of wgmma).
inline constexpr int kWgmmaM = 64;
/// K extent of one 16-bit wgmma instruction.
inline constexpr int kWgmmaK = 16;

/// Shared-memory plan. Offsets are relative to the 1024-aligned base.
struct SmemLayout {
  int qOffset = 0;
  int qBytes = 0;
  int kvTileBytes = 0; // one K (or V) stage
  int kOffset = 0;     // stage s at kOffset + s * kvTileBytes
  int vOffset = 0;     // stage s at vOffset + s * kvTileBytes
  int barrierOffset = 0;
  int numBarriers = 0; // q_full + 4 per stage (k_full, v_full, k_empty, v_empty)
  int usedBytes = 0;   // end of the last barrier
  /// usedBytes + alignment slack: what the kernel is launched with.
  int dynamicSmemBytes = 0;

  int qFullBarrier() const { return barrierOffset; }
  int kFullBarrier(int stage) const {
    return barrierOffset + (1 + stage) * kMbarrierBytes;
  }
  int vFullBarrier(int stage, int stages) const {
    return barrierOffset + (1 + stages + stage) * kMbarrierBytes;
  }
  int kEmptyBarrier(int stage, int stages) const {
    return barrierOffset + (1 + 2 * stages + stage) * kMbarrierBytes;
  }
  int vEmptyBarrier(int stage, int stages) const {
    return barrierOffset + (1 + 3 * stages + stage) * kMbarrierBytes;
  }
};

struct KernelGeometry {
  int threadsPerCta = 0;
  /// Register cap every thread starts with (.maxntid + .minnctapersm 1):
  /// min(255, 65536 / threads) rounded down to a multiple of 8.
  int entryRegisterCap = 0;
  int elemBytes = 0;
  /// TMA box: columns (elements) per column block and rows per tile.
  int boxCols = 0;
  int qBoxRows = 0;
  int kvBoxRows = 0;
  /// head_dim / boxCols.
  int columnBlocks = 0;
  /// Bytes one TMA copy of a Q / K / V tile delivers (expect_tx counts).
  int qTileBytes = 0;
  int kvTileBytes = 0;
  SmemLayout smem;
};

/// Geometry of the kernel generated for `spec` (assumed valid).
FLASHCORE_API KernelGeometry computeGeometry(const AttentionSpec &spec);

/// Query blocks for a sequence length.
inline int64_t numQueryBlocks(const AttentionSpec &spec, int64_t seqlenQ) {
  return (seqlenQ + spec.schedule.blockM - 1) / spec.schedule.blockM;
}

} // namespace flashcore

#endif // FLASHCORE_COMPILER_KERNELABI_H
