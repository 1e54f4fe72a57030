//===- templates/fwd_params.h - The fallback kernel's one parameter -------===//
//
// The FlashAttention-2-style forward of templates/flash_fwd_sm80.cuh and the
// split-KV combine of templates/combine_sm80.cuh take these structs by value.
// The runtime (runtime/TemplateKernel.cpp) fills them and the kernel sources
// embed this file, so both see one layout: only fixed-size members (64-bit
// pointers and integers, 32-bit ints and floats), the 64-bit ones first.
// Strides are in elements.
//
// Split-KV workspace (the Hopper path's layout, runtime/ArgValidation.cpp):
// O_accum f32 [splits][accum_rows][heads_q][head_dim], then LSE_accum f32
// [splits][accum_rows][heads_q]; accum_rows = batch * seqlen_q (varlen:
// total_q), a row's index batch * seqlen_q + row (varlen: cu_seqlens_q + row).
// Each split writes its O normalised by its own sum and its LSE (-inf, O = 0
// for a split of no key); the combine weighs them by exp(LSE_s - LSE).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_TEMPLATES_FWD_PARAMS_H
#define FLASHCORE_TEMPLATES_FWD_PARAMS_H

struct FcFwdParams {
  const void *q, *k, *v; // (batch, seqlen, heads, head_dim) or packed varlen
  void *o;
  float *lse;                     // (batch, heads_q, seqlen_q) f32; may be null
  const int *cu_seqlens_q;        // varlen: batch + 1 offsets
  const int *cu_seqlens_k;
  const int *cache_seqlens;       // cache_seqlens kernels: keys per sequence
  float *o_accum, *lse_accum;     // split kernels: the workspace (above)
  long long q_batch_stride, q_row_stride, q_head_stride;
  long long k_batch_stride, k_row_stride, k_head_stride;
  long long v_batch_stride, v_row_stride, v_head_stride;
  long long o_batch_stride, o_row_stride, o_head_stride;
  long long lse_batch_stride, lse_head_stride;
  int seqlen_q, seqlen_k; // dense: per sequence; varlen: ignored
  int heads_q, heads_per_kv_head;
  int window_left, window_right; // < 0: unbounded; causal: right = 0
  float scale_log2;    // softmax scale * log2(e) (softcap: softcap * log2(e))
  float softcap_scale; // softcap: softmax scale / softcap; else 0
  int num_splits;      // split kernels: key-range splits (grid x = m-blocks * splits)
  int accum_rows;
};

struct FcCombineParams {
  const float *o_accum, *lse_accum;
  void *o;    // the call's output, in its dtype and strides
  float *lse; // may be null
  long long o_batch_stride, o_row_stride, o_head_stride;
  long long lse_batch_stride, lse_head_stride;
  int num_splits, accum_rows;
  int seqlen_q; // rows per batch entry of o (varlen: accum_rows, batch stride 0)
  int heads_q;
};

#endif // FLASHCORE_TEMPLATES_FWD_PARAMS_H
