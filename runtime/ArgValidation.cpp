//===- ArgValidation.cpp - Checks of flashcore_attention_args -------------===//

#include "runtime/ArgValidation.h"
#include "runtime/TensorMap.h"
#include "compiler/KernelABI.h"
#include "compiler/TileSchedule.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <tuple>

namespace flashcore {

namespace {

std::string str(long long v) { return std::to_string(v); }

/// Elements per 16 bytes (TMA stride granularity, O's vector stores).
constexpr int64_t kStrideMultipleElems = 8;

/// One strided dimension of an operand.
struct Dim {
  const char *name;
  int64_t extent;
  int64_t stride;
};

/// One operand: name, base pointer, dimensions from the innermost.
struct Operand {
  const char *name;
  const void *ptr;
  /// Multiple strides must be of (1 for LSE, 8 for q/k/v/o).
  int64_t strideMultiple;
  Dim inner;    // contiguous: stride 1
  Dim outer[3]; // the strided dimensions, any order in memory
  int numOuter;
};

flashcore_status_t fail(flashcore_status_t status, std::string &message,
                        std::string text) {
  message = std::move(text);
  return status;
}

/// SUCCESS, or `status` with "<name> must be <bytes>-byte aligned, got: p".
flashcore_status_t checkAligned(flashcore_status_t status,
                                std::string &message, const char *name,
                                const void *ptr, int64_t bytes) {
  if (reinterpret_cast<uintptr_t>(ptr) % uintptr_t(bytes) == 0)
    return FLASHCORE_STATUS_SUCCESS;
  return fail(status, message,
              std::string(name) + " must be " + str(bytes) +
                  "-byte aligned, got: " + hexPointer(ptr));
}

flashcore_status_t checkStrides(const Operand &op, std::string &message) {
  // Sign and granularity of the strides that are used (extent > 1).
  for (int i = 0; i < op.numOuter; ++i) {
    const Dim &d = op.outer[i];
    if (d.extent == 1)
      continue;
    if (d.stride <= 0)
      return fail(FLASHCORE_STATUS_INVALID_STRIDE, message,
                  std::string(op.name) + " " + d.name +
                      " stride must be > 0 (elements), got: " + str(d.stride));
    if (d.stride % op.strideMultiple)
      return fail(FLASHCORE_STATUS_INVALID_STRIDE, message,
                  std::string(op.name) + " " + d.name +
                      " stride must be a multiple of " +
                      str(op.strideMultiple) + " elements (16 bytes), got: " +
                      str(d.stride));
    // TMA strides are < 2^40 bytes (2-byte elements). LSE is not loaded by
    // TMA but the same bound keeps every offset far from overflow.
    if (d.stride >= (int64_t(1) << 39))
      return fail(FLASHCORE_STATUS_INVALID_STRIDE, message,
                  std::string(op.name) + " " + d.name +
                      " stride must be < 2^39 elements, got: " +
                      str(d.stride));
  }
  // The span of the tensor must be addressable: sum((extent-1)*stride) +
  // inner extent < 2^62 elements. Every term is < 2^31 * 2^39, so this sum
  // of four terms cannot overflow a signed 128-bit value.
  __int128 span = op.inner.extent;
  for (int i = 0; i < op.numOuter; ++i)
    if (op.outer[i].extent > 1)
      span += __int128(op.outer[i].extent - 1) * op.outer[i].stride;
  if (span >= (__int128(1) << 62))
    return fail(FLASHCORE_STATUS_INVALID_STRIDE, message,
                std::string(op.name) +
                    " strides and sizes span more than 2^62 elements");

  // No two elements may share memory. Sorting the dimensions of extent > 1 by
  // stride, each must step over the whole extent of the ones inside it:
  // stride[i] >= stride[i-1] * extent[i-1]. (This also rejects equal strides
  // and e.g. a seq stride < head_dim when heads share a row.)
  Dim dims[4];
  int n = 0;
  dims[n++] = op.inner;
  for (int i = 0; i < op.numOuter; ++i)
    if (op.outer[i].extent > 1)
      dims[n++] = op.outer[i];
  std::stable_sort(dims + 1, dims + n, [](const Dim &a, const Dim &b) {
    return a.stride < b.stride;
  });
  for (int i = 1; i < n; ++i) {
    __int128 needed = __int128(dims[i - 1].stride) * dims[i - 1].extent;
    if (dims[i].stride < needed)
      return fail(FLASHCORE_STATUS_OVERLAPPING_STRIDES, message,
                  std::string(op.name) + " " + dims[i].name +
                      " stride must be >= " + dims[i - 1].name + " stride " +
                      str(dims[i - 1].stride) + " * " + dims[i - 1].name +
                      " " + str(dims[i - 1].extent) + " = " +
                      str((long long)needed) +
                      " so that elements do not overlap, got: " +
                      str(dims[i].stride));
  }
  return FLASHCORE_STATUS_SUCCESS;
}

} // namespace

flashcore_status_t checkTensorPointers(const void *q, const void *k,
                                       const void *v, const void *o,
                                       const void *lse, std::string &message) {
  const struct {
    const char *name;
    const void *ptr;
    int64_t alignment;
  } ptrs[5] = {{"q", q, kTensorAlignment},
               {"k", k, kTensorAlignment},
               {"v", v, kTensorAlignment},
               {"o", o, kTensorAlignment},
               {"lse", lse, kLseAlignment}};
  for (const auto &p : ptrs) {
    if (!p.ptr) {
      if (p.alignment == kLseAlignment) // lse is optional
        continue;
      return fail(FLASHCORE_STATUS_NULL_POINTER, message,
                  std::string(p.name) + " must be a device pointer, got: null");
    }
    if (flashcore_status_t s =
            checkAligned(FLASHCORE_STATUS_MISALIGNED_POINTER, message, p.name,
                         p.ptr, p.alignment))
      return s;
  }
  return FLASHCORE_STATUS_SUCCESS;
}

flashcore_status_t validateAttentionArgs(const flashcore_attention_args *args,
                                         AttentionCall &call,
                                         std::string &message,
                                         const ProblemSpec *preferred) {
  // Step 1. The struct itself.
  if (!args)
    return fail(FLASHCORE_STATUS_INVALID_STRUCT, message,
                "args must point to a flashcore_attention_args, got: null");
  if (args->struct_size != sizeof(flashcore_attention_args) &&
      args->struct_size != FLASHCORE_ATTENTION_ARGS_V3_SIZE &&
      args->struct_size != FLASHCORE_ATTENTION_ARGS_V2_SIZE &&
      args->struct_size != FLASHCORE_ATTENTION_ARGS_V1_SIZE)
    return fail(FLASHCORE_STATUS_INVALID_STRUCT, message,
                "args->struct_size must be sizeof(flashcore_attention_args) "
                "= " + str(sizeof(flashcore_attention_args)) +
                    " (call flashcore_attention_args_init) or the version-1 "
                    "/ -2 / -3 size " + str(FLASHCORE_ATTENTION_ARGS_V1_SIZE) +
                    " / " + str(FLASHCORE_ATTENTION_ARGS_V2_SIZE) + " / " +
                    str(FLASHCORE_ATTENTION_ARGS_V3_SIZE) +
                    ", got: " + str((long long)args->struct_size));
  // Work on a full (version-4) copy: an older caller gets the defaults.
  flashcore_attention_args full;
  std::memset(&full, 0, sizeof full);
  full.window_left = full.window_right = -1;
  full.num_splits = 0;
  full.pack_gqa = -1;
  std::memcpy(&full, args, args->struct_size);
  full.struct_size = sizeof full;
  call.args = full;
  const flashcore_attention_args &a = call.args;

  // Step 2. Data type.
  if (a.dtype != FLASHCORE_DTYPE_BF16 && a.dtype != FLASHCORE_DTYPE_FP16)
    return fail(FLASHCORE_STATUS_UNSUPPORTED_DTYPE, message,
                "dtype must be FLASHCORE_DTYPE_BF16 (1) or "
                "FLASHCORE_DTYPE_FP16 (2), got: " + str(a.dtype));

  // Step 3. Sizes.
  const std::pair<const char *, int64_t> sizes[] = {
      {"batch", a.batch},     {"seqlen_q", a.seqlen_q},
      {"seqlen_k", a.seqlen_k}, {"heads_q", a.heads_q},
      {"heads_kv", a.heads_kv}, {"head_dim", a.head_dim}};
  for (const auto &[name, value] : sizes)
    if (value < 1)
      return fail(FLASHCORE_STATUS_INVALID_SIZE, message,
                  std::string(name) + " must be >= 1, got: " + str(value));
  if (a.seqlen_q > kMaxSeqlen)
    return fail(FLASHCORE_STATUS_SIZE_TOO_LARGE, message,
                "seqlen_q must be <= 2^31 - 1, got: " + str(a.seqlen_q));
  if (a.seqlen_k > kMaxSeqlen)
    return fail(FLASHCORE_STATUS_SIZE_TOO_LARGE, message,
                "seqlen_k must be <= 2^31 - 1, got: " + str(a.seqlen_k));
  if (a.heads_q > kMaxGridYZ)
    return fail(FLASHCORE_STATUS_SIZE_TOO_LARGE, message,
                "heads_q must be <= 65535 (grid y), got: " + str(a.heads_q));
  if (a.batch > kMaxGridYZ)
    return fail(FLASHCORE_STATUS_SIZE_TOO_LARGE, message,
                "batch must be <= 65535 (grid z), got: " + str(a.batch));
  if (a.heads_q % a.heads_kv)
    return fail(FLASHCORE_STATUS_HEADS_MISMATCH, message,
                "heads_q must be a multiple of heads_kv = " + str(a.heads_kv) +
                    ", got: " + str(a.heads_q));

  // Step 4. Windows, softcap and varlen (version-2 fields).
  if (a.window_left < -1 || a.window_right < -1)
    return fail(FLASHCORE_STATUS_INVALID_WINDOW, message,
                std::string(a.window_left < -1 ? "window_left" : "window_right") +
                    " must be >= -1 (-1 = unbounded), got: " +
                    str(a.window_left < -1 ? a.window_left : a.window_right));
  if (std::isnan(a.softcap) || std::isinf(a.softcap) || a.softcap < 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(a.softcap));
    return fail(FLASHCORE_STATUS_INVALID_SOFTCAP, message,
                std::string("softcap must be a finite number >= 0 (0 = off), "
                            "got: ") + buf);
  }
  const bool varlen = a.cu_seqlens_q || a.cu_seqlens_k;
  if (a.flags & ~int32_t(FLASHCORE_ARGS_POINTERS_CHECKED))
    return fail(FLASHCORE_STATUS_INVALID_STRUCT, message,
                "flags must be 0 or FLASHCORE_ARGS_POINTERS_CHECKED (1), got: " +
                    str(a.flags));
  if (varlen) {
    if (!a.cu_seqlens_q || !a.cu_seqlens_k)
      return fail(FLASHCORE_STATUS_INVALID_VARLEN, message,
                  std::string(a.cu_seqlens_q ? "cu_seqlens_k" : "cu_seqlens_q") +
                      " must be set when the other cu_seqlens pointer is, "
                      "got: null");
    for (const auto &[name, ptr] :
         {std::pair<const char *, const void *>{"cu_seqlens_q", a.cu_seqlens_q},
          {"cu_seqlens_k", a.cu_seqlens_k}})
      if (flashcore_status_t s = checkAligned(FLASHCORE_STATUS_INVALID_VARLEN,
                                              message, name, ptr, 4))
        return s;
    for (const auto &[name, total, longest] :
         {std::tuple<const char *, int64_t, int64_t>{"total_q", a.total_q,
                                                     a.seqlen_q},
          {"total_k", a.total_k, a.seqlen_k}}) {
      if (total < longest || total > kMaxSeqlen)
        return fail(FLASHCORE_STATUS_INVALID_VARLEN, message,
                    std::string(name) + " must be in [" + str(longest) +
                        " (the longest sequence), 2^31 - 1], got: " +
                        str(total));
    }
  }

  // Step 5. KV cache and split-KV (version-3 fields). cache_seqlens and the
  // page table are int32 arrays per sequence: no varlen call has one.
  auto perSequenceArray = [&](const char *name, const void *ptr,
                              const char *why) {
    if (varlen)
      return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                  std::string(name) + " must be null for a varlen call (" +
                      why + "), got: " + hexPointer(ptr));
    return checkAligned(FLASHCORE_STATUS_INVALID_KV_CACHE, message, name, ptr,
                        4);
  };
  if (a.cache_seqlens)
    if (flashcore_status_t s = perSequenceArray(
            "cache_seqlens", a.cache_seqlens,
            "cu_seqlens_k gives the key lengths"))
      return s;
  if (a.num_splits < 0 || a.num_splits > kMaxSplits)
    return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                "num_splits must be in [0, " + str(kMaxSplits) +
                    "] (0 = FlashCore chooses), got: " + str(a.num_splits));
  if (a.pack_gqa < -1 || a.pack_gqa > 1)
    return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                "pack_gqa must be -1 (FlashCore chooses), 0 or 1, got: " +
                    str(a.pack_gqa));
  if (flashcore_status_t s = checkAligned(FLASHCORE_STATUS_INVALID_KV_CACHE,
                                          message, "workspace", a.workspace, 16))
    return s;

  // Step 5b. Paged KV cache (version-4 fields).
  const bool paged = a.page_table != nullptr;
  if (paged) {
    if (flashcore_status_t s = perSequenceArray(
            "page_table", a.page_table,
            "a paged cache is addressed per sequence"))
      return s;
    if (a.page_size < 16 || a.page_size % 16 || a.page_size > kMaxSeqlen)
      return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                  "page_size must be a positive multiple of 16, got: " +
                      str(a.page_size));
    if (a.num_pages < 1 || a.num_pages > kMaxSeqlen)
      return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                  "num_pages must be in [1, 2^31 - 1], got: " +
                      str(a.num_pages));
    const int64_t columns = (a.seqlen_k + a.page_size - 1) / a.page_size;
    if (a.batch > 1 && a.page_table_batch_stride < columns)
      return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                  "page_table_batch_stride must be >= ceil(seqlen_k / "
                  "page_size) = " + str(columns) + " (the table's columns), "
                  "got: " + str(a.page_table_batch_stride));
    if (a.page_table_batch_stride < 0 ||
        a.page_table_batch_stride > kMaxSeqlen)
      return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                  "page_table_batch_stride must be in [0, 2^31 - 1], got: " +
                      str(a.page_table_batch_stride));
  } else if (a.page_size != 0 || a.num_pages != 0 ||
             a.page_table_batch_stride != 0) {
    return fail(FLASHCORE_STATUS_INVALID_KV_CACHE, message,
                std::string(a.page_size ? "page_size"
                            : a.num_pages ? "num_pages"
                                          : "page_table_batch_stride") +
                    " must be 0 when page_table is null, got: " +
                    str(a.page_size     ? a.page_size
                        : a.num_pages ? a.num_pages
                                      : a.page_table_batch_stride));
  }

  // Step 6. What the generator supports: ask the spec validator. Only
  // problem-level rules are judged here; a schedule the dispatcher picks is
  // checked when it is picked. Masks follow FlashAttention: causal forces
  // window_right = 0, and causal with a left window is a local window.
  // An edge past the sequence changes nothing -- window_left >= seqlen_k
  // reaches key 0 from every row, window_right >= seqlen_q the last key (both
  // are the longest lengths in varlen and cache calls) -- so such edges become
  // -1 and no kernel adds a huge window to a row index in 32 bits.
  int32_t left = a.window_left >= a.seqlen_k ? -1 : a.window_left;
  int32_t right = a.causal ? 0
                  : a.window_right >= a.seqlen_q ? -1
                                                 : a.window_right;
  bool causal = left < 0 && right == 0;
  bool local = (left >= 0 || right >= 0) && !causal;
  AttentionSpec spec;
  spec.problem.dtype = a.dtype == FLASHCORE_DTYPE_BF16 ? DType::BF16
                                                       : DType::FP16;
  spec.problem.headDim = a.head_dim > 4096 ? 4096 : int(a.head_dim);
  spec.problem.causal = causal;
  spec.problem.local = local;
  spec.problem.softcap = a.softcap > 0;
  spec.problem.varlen = varlen;
  spec.schedule = defaultSchedule(spec.problem);
  std::optional<SpecDiagnostic> diag = validateSpec(spec);
  if (diag && diag->field.rfind("problem.", 0) == 0) {
    std::string text = "head_dim " + str(a.head_dim) +
                       " is not supported for " + dtypeName(spec.problem.dtype);
    return fail(FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM, message,
                text + ": " + diag->message);
  }

  // Step 6. Softmax scale (0 = 1/sqrt(head_dim)).
  float scale = a.softmax_scale;
  if (std::isnan(scale) || std::isinf(scale) || scale < 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(scale));
    return fail(FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE, message,
                std::string("softmax_scale must be a finite number > 0 (or 0 "
                            "for 1/sqrt(head_dim)), got: ") + buf);
  }
  if (scale == 0)
    scale = float(1.0 / std::sqrt(double(a.head_dim)));

  // Step 7. Pointers and layouts. Varlen tensors are packed: the sequence
  // dimension spans total_q / total_k rows and there is no batch dimension.
  const int64_t rowsQ = varlen ? a.total_q : a.seqlen_q;
  // Paged K and V are pools: page_size rows per "batch" entry, num_pages
  // entries.
  const int64_t rowsK = varlen ? a.total_k : paged ? a.page_size : a.seqlen_k;
  const int64_t batches = varlen ? 1 : a.batch;
  const int64_t kvBatches = paged ? a.num_pages : batches;
  Operand ops[5] = {
      {"q", a.q, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", rowsQ, a.q_seq_stride},
        {"head", a.heads_q, a.q_head_stride},
        {"batch", batches, a.q_batch_stride}}, 3},
      {"k", a.k, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", rowsK, a.k_seq_stride},
        {"head", a.heads_kv, a.k_head_stride},
        {"batch", kvBatches, a.k_batch_stride}}, 3},
      {"v", a.v, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", rowsK, a.v_seq_stride},
        {"head", a.heads_kv, a.v_head_stride},
        {"batch", kvBatches, a.v_batch_stride}}, 3},
      {"o", a.o, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", rowsQ, a.o_seq_stride},
        {"head", a.heads_q, a.o_head_stride},
        {"batch", batches, a.o_batch_stride}}, 3},
      {"lse", a.lse, 1, {"seq", rowsQ, 1},
       {{"head", a.heads_q, a.lse_head_stride},
        {"batch", batches, a.lse_batch_stride}, {}}, 2}};
  if (flashcore_status_t s =
          checkTensorPointers(a.q, a.k, a.v, a.o, a.lse, message))
    return s;
  for (const Operand &op : ops) {
    if (!op.ptr)
      continue;
    flashcore_status_t status = checkStrides(op, message);
    if (status != FLASHCORE_STATUS_SUCCESS)
      return status;
  }

  call.problem = spec.problem;
  call.softmaxScale = scale;
  call.headsPerKvHead = int32_t(a.heads_q / a.heads_kv);
  resolveKernelShape(call, smCountHint(), preferred);
  call.windowLeft = left;
  call.windowRight = right;
  call.softcap = a.softcap;
  message.clear();
  return FLASHCORE_STATUS_SUCCESS;
}

namespace {
std::atomic<int> lastSmCount{132}; // H100 and H200
} // namespace

int smCountHint() { return lastSmCount.load(std::memory_order_relaxed); }
void noteSmCount(int smCount) {
  if (smCount > 0)
    lastSmCount.store(smCount, std::memory_order_relaxed);
}

void resolveKernelShape(AttentionCall &call, int smCount,
                        const ProblemSpec *preferred) {
  const flashcore_attention_args &a = call.args;
  ProblemSpec &p = call.problem;
  p.cacheSeqlens = a.cache_seqlens != nullptr;
  p.pagedKv = a.page_table != nullptr;
  // Pack-GQA: the query heads of a KV head in one tile, when they fit one
  // (default) tile and FA3's efficiency rule says it pays; forced on or off
  // by the caller.
  const int blockM = defaultSchedule(p).blockM;
  const int64_t ratio = call.headsPerKvHead;
  const bool fits = ratio > 1 && a.seqlen_q * ratio <= blockM;
  p.packGqa = a.pack_gqa == 1   ? fits
              : a.pack_gqa == 0 ? false
              : preferred       ? fits && preferred->packGqa
                                : fits && choosePackGqa(a.seqlen_q, ratio, blockM);
  // Split-KV: FA3's wave-efficiency rule over the tiles of the call.
  const int64_t tiles =
      (p.packGqa ? 1 : ceilBlocks(a.seqlen_q, blockM)) *
      (p.packGqa ? a.heads_kv : a.heads_q) * a.batch;
  const int64_t keyBlocks = ceilBlocks(a.seqlen_k, defaultSchedule(p).blockN);
  int64_t splits = a.num_splits > 0
                       ? a.num_splits
                       : chooseNumSplits(tiles, smCount, keyBlocks, kMaxSplits);
  if (a.num_splits <= 0 && preferred)
    splits = preferred->splitKv ? std::max<int64_t>(2, splits) : 1;
  splits = std::max<int64_t>(1, std::min<int64_t>(splits, keyBlocks));
  call.numSplits = int32_t(splits);
  p.splitKv = splits > 1;
}

// The workspace: O_accum (f32 [splits][rows][heads][d]) then LSE_accum (f32
// [splits][rows][heads]), 16-byte aligned.
static size_t accumSlots(const AttentionCall &call) {
  return size_t(accumRows(call)) * size_t(call.args.heads_q) * call.numSplits;
}

size_t lseAccumOffset(const AttentionCall &call) {
  return accumSlots(call) * size_t(call.args.head_dim) * 4;
}

size_t workspaceBytes(const AttentionCall &call) {
  if (!call.problem.splitKv)
    return 0;
  return lseAccumOffset(call) + (accumSlots(call) * 4 + 15) / 16 * 16;
}

int64_t accumRows(const AttentionCall &call) {
  const flashcore_attention_args &a = call.args;
  return call.problem.varlen ? a.total_q : a.batch * a.seqlen_q;
}

flashcore_status_t checkPointerDevices(const flashcore_attention_args &a,
                                       int device,
                                       const PointerDeviceQuery &query,
                                       std::string &message) {
  // Version-2 fields only exist in a version-2 struct.
  const bool v2 = a.struct_size >= sizeof(flashcore_attention_args);
  const std::pair<const char *, const void *> ptrs[] = {
      {"q", a.q},
      {"k", a.k},
      {"v", a.v},
      {"o", a.o},
      {"lse", a.lse},
      {"cu_seqlens_q", v2 ? a.cu_seqlens_q : nullptr},
      {"cu_seqlens_k", v2 ? a.cu_seqlens_k : nullptr},
      {"cache_seqlens", v2 ? a.cache_seqlens : nullptr},
      {"page_table", v2 ? a.page_table : nullptr},
      {"workspace", v2 ? a.workspace : nullptr}};
  for (const auto &[name, ptr] : ptrs) {
    if (!ptr)
      continue;
    int where = -1;
    std::string why;
    if (!query(ptr, where, why))
      return fail(FLASHCORE_STATUS_WRONG_DEVICE, message,
                  std::string(name) +
                      " must be CUDA device memory, got: " + hexPointer(ptr) +
                      (why.empty() ? "" : " (" + why + ")"));
    if (where != device)
      return fail(FLASHCORE_STATUS_WRONG_DEVICE, message,
                  std::string(name) + " must be memory of device " +
                      str(device) + " (the device of the launch context), "
                      "got: memory of device " + str(where) + " at " +
                      hexPointer(ptr));
  }
  return FLASHCORE_STATUS_SUCCESS;
}

} // namespace flashcore
