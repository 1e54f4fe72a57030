//===- templates/combine_sm80.cuh - Split-KV combine for sm_80..sm_89 -----===//
//
// The pre-Hopper fallback's second kernel of a split-KV call: merges the
// splits' partial outputs of templates/flash_fwd_sm80.cuh (FC_SPLIT) by their
// LSE (workspace layout in templates/fwd_params.h):
//
//   LSE = log sum_s exp(LSE_s),  O = sum_s exp(LSE_s - LSE) O_s
//
// in f32, then O in the call's dtype and strides, and LSE when asked. One
// warp per (row, head): lanes stride the splits for the maximum and the sum,
// then own element pairs of the head dimension. A row no split saw gives
// O = 0 and LSE = -inf. Like the forward it includes nothing; the runtime
// prepends the macros, fwd_params.h and fc_math.cuh:
//
//   FC_HEAD_DIM  head_dim (even)
//   FC_WARPS     warps per CTA (each one (row, head))
//   FC_BF16      1: bf16 output, 0: fp16
//
//===----------------------------------------------------------------------===//

namespace fc {

constexpr int kD = FC_HEAD_DIM;
constexpr int kWarps = FC_WARPS;
static_assert(kD % 2 == 0, "head_dim");

constexpr float kLog2e = 1.4426950408889634f;

} // namespace fc

extern "C" __global__ void __launch_bounds__(32 * fc::kWarps)
    flashcore_attention_combine(const FcCombineParams p) {
  using namespace fc;
  const int lane = threadIdx.x % 32;
  const long long item =
      (long long)blockIdx.x * kWarps + threadIdx.x / 32; // (row, head)
  if (item >= (long long)p.accum_rows * p.heads_q)
    return;
  const int row = int(item / p.heads_q), head = int(item % p.heads_q);
  const long long splitStride = (long long)p.accum_rows * p.heads_q;
  const float *lseS = p.lse_accum + item;

  float mx = negInf();
  for (int s = lane; s < p.num_splits; s += 32)
    mx = fmaxf(mx, lseS[s * splitStride]);
  for (int o = 16; o > 0; o /= 2)
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float lse = negInf();
  if (mx != negInf()) {
    float sum = 0.f;
    for (int s = lane; s < p.num_splits; s += 32)
      sum += exp2Approx((lseS[s * splitStride] - mx) * kLog2e);
    for (int o = 16; o > 0; o /= 2)
      sum += __shfl_xor_sync(0xffffffffu, sum, o);
    lse = mx + log2Approx(sum) * kLn2;
  }

  const int b = row / p.seqlen_q, r = row % p.seqlen_q;
  unsigned *dst = reinterpret_cast<unsigned *>(
      static_cast<unsigned short *>(p.o) + b * p.o_batch_stride +
      r * p.o_row_stride + head * p.o_head_stride);
  const float *oS = p.o_accum + item * kD;
  for (int d = 2 * lane; d < kD; d += 64) {
    float a0 = 0.f, a1 = 0.f;
    if (lse != negInf())
      for (int s = 0; s < p.num_splits; ++s) {
        const float ls = lseS[s * splitStride];
        if (ls == negInf())
          continue;
        const float w = exp2Approx((ls - lse) * kLog2e);
        const float *src = oS + s * splitStride * kD + d;
        a0 += w * src[0];
        a1 += w * src[1];
      }
    dst[d / 2] = pack2(a0, a1);
  }
  if (p.lse && lane == 0)
    p.lse[b * p.lse_batch_stride + head * p.lse_head_stride + r] = lse;
}
