//===- templates/fwd_params.h - The fallback kernel's one parameter -------===//
//
// The FlashAttention-2-style forward of templates/flash_fwd_sm80.cuh takes
// this struct by value. The runtime (runtime/TemplateKernel.cpp) fills it and
// the kernel source embeds this file, so both see one layout: only fixed-size
// members (64-bit pointers and integers, 32-bit ints and floats), the 64-bit
// ones first. Strides are in elements.
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
};

#endif // FLASHCORE_TEMPLATES_FWD_PARAMS_H
