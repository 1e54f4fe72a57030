//===- KernelABI.h - Contract between generated kernels and the runtime ---===//
//
// The generator and the runtime must agree on each kernel kind's name and
// parameter list, its launch geometry, its shared-memory layout and the TMA
// boxes it expects. All of that is derived here from a validated spec, with
// no MLIR, so that both sides compute it from the same code.
//
// Parameters: one table per kernel kind, FLASHCORE_FORWARD_ABI below, each
// parameter's name and type written once. The generator builds the kernel
// signature from it (createKernelFunction), the runtime packs arguments by it
// (runtime/KernelArgs.h) and encodes one tensor map per TensorMap row.
//
// Paged kernels (paged_kv) map K and V as (head_dim, page_size, heads_kv,
// num_pages) with boxes of page_chunk_rows rows: a K/V block is block_n /
// page_chunk_rows loads, each at (row % page_size, page_table[b][row /
// page_size]); rows past the sequence load page num_pages, out of bounds, as
// zeros (and so does any page index outside [0, num_pages)).
//
// Varlen kernels address the packed sequence: the tensor maps have batch
// extent 1 and seqlen extent total_q / total_k, rows are offset by
// cu_seqlens[b], and the O / LSE batch strides are 0.
//
// Grid: single_tile: x = query blocks (ceil(seqlen_q / block_m)), y = heads_q,
// z = batch. static_persistent: x = min(tiles, SMs), each CTA loops over the
// tiles t = blockIdx.x, + gridDim.x, ... (TileSchedule.h). Block:
// 128 * (1 + consumer_warpgroups) threads; dynamic shared memory
// `dynamicSmemBytes`.
//
// Tensor maps: Q, K, V and O are 4-D TMA tensors with dims (from innermost)
// (head_dim, seqlen, heads, batch) and boxes (swizzle / elem_bytes, rows, 1,
// 1) where rows is block_m for Q, block_n for K and V and 64 (one consumer
// warpgroup's rows) for O. A tile therefore lands in shared memory as
// head_dim / box_cols column blocks of `rows` rows of `swizzle` bytes each.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_KERNELABI_H
#define FLASHCORE_COMPILER_KERNELABI_H

#include "compiler/Spec.h"

#include <cstdint>

namespace flashcore {

/// Kernel parameter types: a CUtensorMap passed by value (128 bytes, 64-byte
/// aligned, grid_constant), a global pointer, or a scalar.
enum class ParamType { TensorMap, GlobalPtr, I32, F32, I64 };

/// The forward kernel's parameters, in order: X(enumerator, "name", type,
/// doc). Tensor maps first (the runtime encodes one per row).
#define FLASHCORE_FORWARD_ABI(X)                                               \
  X(TmaQ, "tma_q", TensorMap, "Q, boxes of block_m rows")                      \
  X(TmaK, "tma_k", TensorMap, "K, boxes of block_n rows")                      \
  X(TmaV, "tma_v", TensorMap, "V, boxes of block_n rows")                      \
  X(TmaO, "tma_o", TensorMap,                                                  \
    "O, boxes of 64 rows (TMA epilogue; zeros otherwise)")                     \
  X(Out, "out", GlobalPtr, "O (dtype, element strides below)")                 \
  X(Lse, "lse", GlobalPtr, "LSE (f32; null: not written)")                     \
  X(CuSeqlensQ, "cu_seqlens_q", GlobalPtr, "i32[batch + 1] (varlen only)")     \
  X(CuSeqlensK, "cu_seqlens_k", GlobalPtr, "i32[batch + 1] (varlen only)")     \
  X(SeqlenQ, "seqlen_q", I32, "query rows (varlen: the longest)")              \
  X(SeqlenK, "seqlen_k", I32, "key rows (varlen: the longest)")                \
  X(HeadsQ, "heads_q", I32, "query heads (the tile space)")                    \
  X(Batch, "batch", I32, "sequences (the tile space)")                         \
  X(HeadsPerKvHead, "heads_per_kv_head", I32, "heads_q / heads_kv")            \
  X(WindowLeft, "window_left", I32, "local kernels; -1 = unbounded")           \
  X(WindowRight, "window_right", I32, "local kernels; -1 = unbounded")         \
  X(ScaleLog2, "scale_log2", F32,                                              \
    "log2(e) * (softmax scale, or the softcap c for softcap kernels)")         \
  X(SoftcapScale, "softcap_scale", F32, "softmax scale / c (softcap only)")    \
  X(OutBatchStride, "out_batch_stride", I64, "O strides in elements")          \
  X(OutRowStride, "out_row_stride", I64, "")                                   \
  X(OutHeadStride, "out_head_stride", I64, "")                                 \
  X(LseBatchStride, "lse_batch_stride", I64, "LSE strides (row stride 1)")     \
  X(LseHeadStride, "lse_head_stride", I64, "")                                 \
  X(CacheSeqlens, "cache_seqlens", GlobalPtr,                                  \
    "i32[batch]: keys of each sequence (cache_seqlens kernels)")              \
  X(QRows, "q_rows", I32,                                                      \
    "rows of one Q load (block_m; pack_gqa: seqlen_q * heads_q / heads_kv)")   \
  X(NumSplits, "num_splits", I32, "key-range splits (split_kv kernels)")       \
  X(AccumRows, "accum_rows", I32,                                              \
    "query rows of the workspace: batch * seqlen_q (varlen: total_q)")         \
  X(OAccum, "o_accum", GlobalPtr,                                              \
    "f32[num_splits][accum_rows][heads_q][head_dim] (split_kv)")               \
  X(LseAccum, "lse_accum", GlobalPtr,                                          \
    "f32[num_splits][accum_rows][heads_q] (split_kv)")                        \
  X(PageTable, "page_table", GlobalPtr,                                        \
    "i32[batch][page_table_stride]: page of each page_size key rows (paged)") \
  X(PageTableStride, "page_table_stride", I64, "elements between rows")        \
  X(PageSize, "page_size", I32, "key rows per page (paged_kv)")                \
  X(PageChunkRows, "page_chunk_rows", I32,                                     \
    "rows of one K/V load: gcd(page_size, block_n) (paged_kv)")                \
  X(NumPages, "num_pages", I32,                                                \
    "pages of the pools; the page coordinate of rows past the sequence")       \
  X(TileCounter, "tile_counter", GlobalPtr,                                    \
    "i32[2], zero at launch: tiles handed out past the first grid, CTAs "   \
    "finished (dynamic); the last CTA to finish zeroes both")

enum KernelParam : int {
#define FLASHCORE_PARAM_ENUM(e, name, type, doc) kParam##e,
  FLASHCORE_FORWARD_ABI(FLASHCORE_PARAM_ENUM)
#undef FLASHCORE_PARAM_ENUM
      kNumKernelParams
};

/// The combine kernel's parameters: it merges the split_kv forward's partial
/// results, row by row, into O and the LSE.
#define FLASHCORE_COMBINE_ABI(X)                                               \
  X(OAccum, "o_accum", GlobalPtr, "as the forward wrote it")                   \
  X(LseAccum, "lse_accum", GlobalPtr, "as the forward wrote it")               \
  X(Out, "out", GlobalPtr, "O (dtype, element strides below)")                 \
  X(Lse, "lse", GlobalPtr, "LSE (f32; null: not written)")                     \
  X(NumSplits, "num_splits", I32, "")                                          \
  X(AccumRows, "accum_rows", I32, "query rows (batch * seqlen_q, or total_q)") \
  X(SeqlenQ, "seqlen_q", I32,                                                  \
    "rows per sequence: row r is (r / seqlen_q, r % seqlen_q)")                \
  X(HeadsQ, "heads_q", I32, "")                                                \
  X(OutBatchStride, "out_batch_stride", I64, "O strides in elements")          \
  X(OutRowStride, "out_row_stride", I64, "")                                   \
  X(OutHeadStride, "out_head_stride", I64, "")                                 \
  X(LseBatchStride, "lse_batch_stride", I64, "LSE strides (row stride 1)")     \
  X(LseHeadStride, "lse_head_stride", I64, "")

enum CombineParam : int {
#define FLASHCORE_PARAM_ENUM(e, name, type, doc) kCombine##e,
  FLASHCORE_COMBINE_ABI(FLASHCORE_PARAM_ENUM)
#undef FLASHCORE_PARAM_ENUM
      kNumCombineParams
};

/// Rows (warps) of one combine CTA: a warp merges one (row, head).
inline constexpr int kCombineWarps = 4;
/// Most splits a split_kv call may use (the runtime's heuristic stays below).
inline constexpr int kMaxSplits = 128;

struct ParamInfo {
  const char *name;
  ParamType type;
};

/// The parameter table of a kind's kernel (`count` entries).
FLASHCORE_API const ParamInfo *kernelParams(KernelKind kind, int &count);

/// The `.entry` name of a kind's kernel.
FLASHCORE_API const char *kernelName(KernelKind kind);
inline constexpr const char *kKernelName = "flashcore_attention_fwd";
inline constexpr const char *kCombineKernelName = "flashcore_attention_combine";

/// Hardware limits of sm_90 that the schedule is checked against.
inline constexpr int kThreadsPerWarpgroup = 128;
inline constexpr int kRegistersPerSm = 65536;
inline constexpr int kMaxRegistersPerThread = 255;

/// The registers per thread a CTA of `threads` threads starts with: ptxas
/// gives each thread at most 65536 / threads, allocated in units of 8 per
/// thread (256 per warp), and never more than 255. The CTA's register pool
/// is this times `threads`; setmaxnreg moves registers within it. For n
/// resident CTAs per SM pass n * threads.
inline constexpr int entryRegisterCap(int threads) {
  return (kRegistersPerSm / threads < kMaxRegistersPerThread
              ? kRegistersPerSm / threads
              : kMaxRegistersPerThread) /
         8 * 8;
}
/// Largest dynamic shared memory one CTA may opt into on H100/H200.
inline constexpr int kMaxSmemPerCta = 227 * 1024;
/// Shared memory of one SM (H100/H200), and what the hardware reserves per
/// resident CTA out of it: n CTAs fit when n * (dynamic + 1 KB) <= 228 KB.
inline constexpr int kSmemPerSm = 228 * 1024;
inline constexpr int kSmemReservedPerCta = 1024;
/// Dynamic shared memory each of `ctas` resident CTAs may use.
inline constexpr int smemBudgetPerCta(int ctas) {
  return ctas <= 1 ? kMaxSmemPerCta
                   : kSmemPerSm / ctas - kSmemReservedPerCta;
}
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
  /// O staging of the TMA epilogue (block_m rows, 0 bytes otherwise): each
  /// consumer warpgroup's 64 rows at oOffset + wg * 64 * head_dim * 2. When a
  /// separate tile does not fit, a persistent CTA stages O in the V ring
  /// (oAliasesV, FA3's layout: the next tile's Q and first K load while the
  /// store reads O; its V loads wait on the o_empty barrier), a single-tile
  /// CTA (or a V ring smaller than the tile) in the Q tile (oAliasesQ; Q is
  /// then released after the store has read it).
  int oOffset = 0;
  int oBytes = 0;
  bool oAliasesQ = false;
  bool oAliasesV = false;
  /// O is staged in another tile's memory (Q or the V ring), not its own.
  bool oAliased() const { return oAliasesQ || oAliasesV; }
  int barrierOffset = 0;
  /// q_full, q_empty, then 4 per stage (k_full, v_full, k_empty, v_empty),
  /// then o_empty when O is staged in the V ring.
  int numBarriers = 0;
  /// dynamic_persistent: the next tile's index, written by the producer and
  /// read by the consumers (4 bytes after the barriers; -1 otherwise).
  int tileSlotOffset = -1;
  int usedBytes = 0;   // end of the last barrier (or of the tile slot)
  /// usedBytes + alignment slack: what the kernel is launched with.
  int dynamicSmemBytes = 0;

  int qFullBarrier() const { return barrierOffset; }
  int qEmptyBarrier() const { return barrierOffset + kMbarrierBytes; }
  int kFullBarrier(int stage) const {
    return barrierOffset + (2 + stage) * kMbarrierBytes;
  }
  int vFullBarrier(int stage, int stages) const {
    return barrierOffset + (2 + stages + stage) * kMbarrierBytes;
  }
  int kEmptyBarrier(int stage, int stages) const {
    return barrierOffset + (2 + 2 * stages + stage) * kMbarrierBytes;
  }
  int vEmptyBarrier(int stage, int stages) const {
    return barrierOffset + (2 + 3 * stages + stage) * kMbarrierBytes;
  }
  /// oAliasesV: one arrival per consumer warpgroup once the TMA store has
  /// read its O rows out of the V ring.
  int oEmptyBarrier(int stages) const {
    return barrierOffset + (2 + 4 * stages) * kMbarrierBytes;
  }
};

struct KernelGeometry {
  int threadsPerCta = 0;
  /// Register cap every thread starts with (.maxntid + .minnctapersm n):
  /// min(255, 65536 / (n * threads)) rounded down to a multiple of 8.
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
  /// Rows of the O TMA box (one consumer warpgroup's).
  int oBoxRows = 0;
  SmemLayout smem;
};

/// Geometry of the kernel generated for `spec` (computed for any spec; only
/// meaningful for a valid one, which validateSpec checks it against).
FLASHCORE_API KernelGeometry computeGeometry(const AttentionSpec &spec);

/// Query blocks for a sequence length.
inline int64_t numQueryBlocks(const AttentionSpec &spec, int64_t seqlenQ) {
  return (seqlenQ + spec.schedule.blockM - 1) / spec.schedule.blockM;
}

} // namespace flashcore

#endif // FLASHCORE_COMPILER_KERNELABI_H
