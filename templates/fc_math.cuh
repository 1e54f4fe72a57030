//===- templates/fc_math.cuh - PTX helpers of the fallback kernels --------===//
//
// What the forward (flash_fwd_sm80.cuh) and the split-KV combine
// (combine_sm80.cuh) both use: -inf, the approximate base-2 exponent and
// logarithm, two f32 values rounded into one bf16x2 / f16x2 register, and a
// row's LSE from its softmax statistics.
// The runtime puts it after fwd_params.h and before the kernel (FC_BF16 is
// defined by then).
//
//===----------------------------------------------------------------------===//

namespace fc {

__device__ __forceinline__ float negInf() { return __int_as_float(0xff800000); }

// PTX ISA 9.7.8.21 (cvt): lo in bits 0-15, hi in bits 16-31.
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
  unsigned r;
#if FC_BF16
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}

// PTX ISA 9.7.4 (ex2, lg2): base-2 exponent and logarithm, approximate.
__device__ __forceinline__ float exp2Approx(float x) {
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
  return r;
}
__device__ __forceinline__ float log2Approx(float x) {
  float r;
  asm("lg2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
  return r;
}

constexpr float kLn2 = 0.6931471805599453f;

/// A row's natural-log LSE from its running maximum (in score units), the
/// scale in base-2 units and its sum l: (max * scale_log2 + log2 l) ln 2;
/// -inf for a row that saw no key (l = 0).
__device__ __forceinline__ float rowLse(float rowMax, float scaleLog2, float l) {
  return l > 0.f ? (rowMax * scaleLog2 + log2Approx(l)) * kLn2 : negInf();
}

} // namespace fc
