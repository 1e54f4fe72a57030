//===- ArgValidation.cpp - Checks of flashcore_attention_args -------------===//

#include "runtime/ArgValidation.h"
#include "runtime/TensorMap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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
  int64_t alignment;
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

flashcore_status_t validateAttentionArgs(const flashcore_attention_args *args,
                                         AttentionCall &call,
                                         std::string &message) {
  // Step 1. The struct itself.
  if (!args)
    return fail(FLASHCORE_STATUS_INVALID_STRUCT, message,
                "args must point to a flashcore_attention_args, got: null");
  if (args->struct_size != sizeof(flashcore_attention_args))
    return fail(FLASHCORE_STATUS_INVALID_STRUCT, message,
                "args->struct_size must be sizeof(flashcore_attention_args) "
                "= " + str(sizeof(flashcore_attention_args)) +
                    " (call flashcore_attention_args_init), got: " +
                    str((long long)args->struct_size));
  const flashcore_attention_args &a = *args;

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

  // Step 4. What the generator supports: ask the spec validator. Only
  // problem-level rules are judged here; a schedule the dispatcher picks is
  // checked when it is picked.
  AttentionSpec spec;
  spec.problem.dtype = a.dtype == FLASHCORE_DTYPE_BF16 ? DType::BF16
                                                       : DType::FP16;
  spec.problem.headDim = a.head_dim > 4096 ? 4096 : int(a.head_dim);
  spec.problem.causal = a.causal != 0;
  spec.schedule = defaultSchedule(spec.problem);
  std::optional<SpecDiagnostic> diag = validateSpec(spec);
  if (diag && diag->field.rfind("problem.", 0) == 0) {
    std::string text = "head_dim " + str(a.head_dim) +
                       " is not supported for " + dtypeName(spec.problem.dtype);
    return fail(FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM, message,
                text + ": " + diag->message);
  }

  // Step 5. Softmax scale (0 = 1/sqrt(head_dim)).
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

  // Step 6. Pointers and layouts.
  Operand ops[5] = {
      {"q", a.q, 16, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", a.seqlen_q, a.q_seq_stride},
        {"head", a.heads_q, a.q_head_stride},
        {"batch", a.batch, a.q_batch_stride}}, 3},
      {"k", a.k, 16, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", a.seqlen_k, a.k_seq_stride},
        {"head", a.heads_kv, a.k_head_stride},
        {"batch", a.batch, a.k_batch_stride}}, 3},
      {"v", a.v, 16, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", a.seqlen_k, a.v_seq_stride},
        {"head", a.heads_kv, a.v_head_stride},
        {"batch", a.batch, a.v_batch_stride}}, 3},
      {"o", a.o, 16, kStrideMultipleElems, {"head_dim", a.head_dim, 1},
       {{"seq", a.seqlen_q, a.o_seq_stride},
        {"head", a.heads_q, a.o_head_stride},
        {"batch", a.batch, a.o_batch_stride}}, 3},
      {"lse", a.lse, 4, 1, {"seq", a.seqlen_q, 1},
       {{"head", a.heads_q, a.lse_head_stride},
        {"batch", a.batch, a.lse_batch_stride}, {}}, 2}};
  for (const Operand &op : ops) {
    bool optional = std::string(op.name) == "lse";
    if (!op.ptr) {
      if (optional)
        continue;
      return fail(FLASHCORE_STATUS_NULL_POINTER, message,
                  std::string(op.name) + " must be a device pointer, got: null");
    }
    if (reinterpret_cast<uintptr_t>(op.ptr) % op.alignment)
      return fail(FLASHCORE_STATUS_MISALIGNED_POINTER, message,
                  std::string(op.name) + " must be " + str(op.alignment) +
                      "-byte aligned, got: " + hexPointer(op.ptr));
  }
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
  message.clear();
  return FLASHCORE_STATUS_SUCCESS;
}

flashcore_status_t checkPointerDevices(const flashcore_attention_args &a,
                                       int device,
                                       const PointerDeviceQuery &query,
                                       std::string &message) {
  const std::pair<const char *, const void *> ptrs[] = {
      {"q", a.q}, {"k", a.k}, {"v", a.v}, {"o", a.o}, {"lse", a.lse}};
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
