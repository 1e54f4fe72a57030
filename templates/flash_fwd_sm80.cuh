//===- templates/flash_fwd_sm80.cuh - Forward attention for sm_80..sm_89 --===//
//
// The pre-Hopper fallback: a FlashAttention-2-style forward kernel in CUDA
// C++, compiled at run time with nvrtc (runtime/TemplateKernel.cpp). It
// includes nothing: the runtime prepends the instantiation's macros,
// templates/fwd_params.h and templates/fc_math.cuh, so nvrtc needs no CUDA
// headers.
//
//   FC_HEAD_DIM     head_dim (multiple of 16, <= 256)
//   FC_BLOCK_M      query rows per CTA (16 * FC_WARPS * m-tiles per warp)
//   FC_BLOCK_N      keys per block (multiple of 16)
//   FC_WARPS        warps per CTA
//   FC_BF16         1: bf16, 0: fp16 (fp32 accumulation either way)
//   FC_WINDOW       causal or local masks (FcFwdParams.window_*)
//   FC_VARLEN       cu_seqlens_q / cu_seqlens_k
//   FC_SOFTCAP      S = softcap * tanh(S * scale / softcap)
//   FC_CACHE_SEQLENS per-sequence key counts (clamped to [0, seqlen_k])
//   FC_SPLIT        split-KV: CTA (m-block, split) takes the split-th share
//                   of the key blocks and writes O and LSE to the workspace
//                   (fwd_params.h); templates/combine_sm80.cuh merges them
//
// One CTA: FC_BLOCK_M query rows of one (batch, head); each warp owns
// 16 * kMTiles rows. Q stays in shared memory and is read per k-step with
// ldmatrix; K and V have one buffer each, loaded with cp.async as in FA2:
// V of block j while S = Q K_j^T is computed, K of block j + 1 while
// O += P V_j is. S and O accumulate in fp32 with mma.sync m16n8k16; P is
// converted in registers into the A operand of P V (the accumulator layout
// of two n8 tiles is the A layout of one k16 step). Online softmax in base 2
// with the scale folded in; rows of no key give O = 0 and LSE = -inf.
// Shared rows are padded by 16 bytes: 8 consecutive rows start in 8
// different 16-byte bank groups, so ldmatrix and cp.async are conflict-free.
//
//===----------------------------------------------------------------------===//

namespace fc {

constexpr int kD = FC_HEAD_DIM;
constexpr int kBM = FC_BLOCK_M;
constexpr int kBN = FC_BLOCK_N;
constexpr int kWarps = FC_WARPS;
constexpr int kThreads = 32 * kWarps;
constexpr int kMTiles = kBM / (16 * kWarps); // m16 tiles per warp
constexpr int kNTiles = kBN / 8;             // n8 tiles of S
constexpr int kDTiles = kD / 8;              // n8 tiles of O
constexpr int kRow = kD + 8;                 // shared row stride, elements
// Unrolled k-steps of Q K^T: all with one m16 tile per warp; two with two
// (ptxas has no registers to run more ahead: it spilled), one with varlen's
// sequence offsets live too (two spilled 8 bytes at head dim 128).
constexpr int kQkUnroll = kMTiles == 1 ? kD / 16 : FC_VARLEN ? 1 : 2;
static_assert(kD % 16 == 0 && kD <= 256, "head_dim");
static_assert(kBN % 16 == 0, "block_n");
static_assert(kMTiles >= 1 && kBM == 16 * kWarps * kMTiles, "block_m");

typedef unsigned short elem;

__device__ __forceinline__ unsigned smemAddr(const void *p) {
  unsigned r;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }"
      : "=r"(r)
      : "l"(p));
  return r;
}

// PTX ISA 9.7.9.25 (cp.async): 16 bytes, zero-filled past src_bytes.
__device__ __forceinline__ void cpAsync16(unsigned dst, const void *src,
                                          int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
__device__ __forceinline__ void cpAsyncWaitAll() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

// PTX ISA 9.7.9.26 (ldmatrix).
__device__ __forceinline__ void ldmatrixX4(unsigned addr, unsigned (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrixX4Trans(unsigned addr,
                                                unsigned (&r)[4]) {
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(addr));
}

// PTX ISA 9.7.14.5.8 (mma.m16n8k16): d += a * b, fp32 accumulators.
__device__ __forceinline__ void mma16816(float (&d)[4], const unsigned (&a)[4],
                                         unsigned b0, unsigned b1) {
#if FC_BF16
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

__device__ __forceinline__ float tanhApprox(float x) {
  float r;
  asm("tanh.approx.f32 %0, %1;\n" : "=f"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ float quadMax(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/// Copies `Rows` rows of kD elements (global row stride `stride`) into the
/// shared tile at `tile` (kRow-element rows); rows >= valid are zero-filled.
/// Where the threads cover whole rows, each thread keeps one chunk column and
/// one source pointer, stepped by a fixed number of rows per pass.
template <int Rows>
__device__ __forceinline__ void loadTile(unsigned tile, const elem *g,
                                         long long stride, int valid) {
  constexpr int kChunks = kD / 8; // 16-byte chunks per row
  if constexpr (kThreads % kChunks == 0 && Rows % (kThreads / kChunks) == 0) {
    constexpr int kRowsPerPass = kThreads / kChunks;
    const int r0 = threadIdx.x / kChunks, c = threadIdx.x % kChunks;
    const elem *src = g + r0 * stride + c * 8;
    const unsigned dst = tile + (r0 * kRow + c * 8) * 2;
#pragma unroll
    for (int it = 0; it < Rows / kRowsPerPass; ++it) {
      const bool in = r0 + it * kRowsPerPass < valid;
      cpAsync16(dst + it * kRowsPerPass * kRow * 2, in ? src : g, in ? 16 : 0);
      src += kRowsPerPass * stride;
    }
  } else {
    for (int i = threadIdx.x; i < Rows * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const bool in = r < valid;
      const elem *src = g + (in ? (long long)r * stride : 0) + c * 8;
      cpAsync16(tile + (r * kRow + c * 8) * 2, src, in ? 16 : 0);
    }
  }
}

} // namespace fc

extern "C" __global__ void __launch_bounds__(fc::kThreads, 1)
    flashcore_attention_fwd(const FcFwdParams p) {
  using namespace fc;
  extern __shared__ __align__(128) unsigned char smem[];
  elem *sQ = reinterpret_cast<elem *>(smem);
  elem *sK = sQ + kBM * kRow;
  elem *sV = sK + kBN * kRow;

#if FC_SPLIT
  const int mBlock = blockIdx.x / p.num_splits, split = blockIdx.x % p.num_splits;
#else
  const int mBlock = blockIdx.x;
#endif
  const int head = blockIdx.y, batch = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;

  // The sequence's rows.
  long long qBase, kBase, vBase, oBase;
  int seqlenQ, seqlenK;
  const int kvHead = head / p.heads_per_kv_head;
#if FC_VARLEN
  const int q0 = p.cu_seqlens_q[batch], k0 = p.cu_seqlens_k[batch];
  seqlenQ = p.cu_seqlens_q[batch + 1] - q0;
  seqlenK = p.cu_seqlens_k[batch + 1] - k0;
  qBase = (long long)q0 * p.q_row_stride;
  kBase = (long long)k0 * p.k_row_stride;
  vBase = (long long)k0 * p.v_row_stride;
  oBase = (long long)q0 * p.o_row_stride;
#else
  seqlenQ = p.seqlen_q;
  seqlenK = p.seqlen_k;
#if FC_CACHE_SEQLENS
  seqlenK = min(max(p.cache_seqlens[batch], 0), p.seqlen_k);
#endif
  qBase = batch * p.q_batch_stride;
  kBase = batch * p.k_batch_stride;
  vBase = batch * p.v_batch_stride;
  oBase = batch * p.o_batch_stride;
#endif
  const int row0 = mBlock * kBM;
  if (row0 >= seqlenQ)
    return;
  const elem *gQ = static_cast<const elem *>(p.q) + qBase +
                   head * p.q_head_stride + (long long)row0 * p.q_row_stride;
  const elem *gK = static_cast<const elem *>(p.k) + kBase +
                   kvHead * p.k_head_stride;
  const elem *gV = static_cast<const elem *>(p.v) + vBase +
                   kvHead * p.v_head_stride;

  // Key blocks some row of this tile sees: row r sees keys
  // [r + off - left, r + off + right] with off = seqlen_k - seqlen_q.
  int nStart = 0, nEnd = seqlenK / kBN + (seqlenK % kBN != 0); // no overflow
#if FC_WINDOW
  const int off = seqlenK - seqlenQ;
  const int lastRow = min(row0 + kBM, seqlenQ) - 1;
  if (p.window_right >= 0)
    nEnd = min(nEnd, (max(lastRow + off + p.window_right + 1, 0) + kBN - 1) /
                         kBN);
  if (p.window_left >= 0)
    nStart = min(max(row0 + off - p.window_left, 0) / kBN, nEnd);
#endif
#if FC_SPLIT
  {
    const int per = (nEnd - nStart + p.num_splits - 1) / p.num_splits;
    nStart = min(nStart + split * per, nEnd);
    nEnd = min(nStart + per, nEnd);
  }
#endif

  // Rows of this thread: m-tile i, half h (rows g and g + 8).
  float o[kMTiles][kDTiles][4];
  float rowMax[kMTiles][2], rowSum[kMTiles][2];
#pragma unroll
  for (int i = 0; i < kMTiles; ++i) {
#pragma unroll
    for (int d = 0; d < kDTiles; ++d)
      o[i][d][0] = o[i][d][1] = o[i][d][2] = o[i][d][3] = 0.f;
    rowMax[i][0] = rowMax[i][1] = negInf();
    rowSum[i][0] = rowSum[i][1] = 0.f;
  }

  loadTile<kBM>(smemAddr(sQ), gQ, p.q_row_stride, seqlenQ - row0);
  if (nStart < nEnd)
    loadTile<kBN>(smemAddr(sK), gK + (long long)nStart * kBN * p.k_row_stride,
                  p.k_row_stride, seqlenK - nStart * kBN);
  cpAsyncCommit();

  const int warpRow = warp * 16 * kMTiles; // first tile row of this warp
#if FC_WINDOW
  // This warp's query rows (past seqlen_q too: wider is only more masking).
  const int warpFirstRow = row0 + warpRow;
  const int warpLastRow = warpFirstRow + 16 * kMTiles - 1;
#endif
  // ldmatrix addresses of this lane (bytes, shared window): the k-step,
  // tile and block offsets added to them are constants of the unrolled
  // loops, which ptxas folds into the instructions' immediates.
  //   A of Q K^T: rows warpRow + lane % 16, column half lane / 16.
  //   B of Q K^T: K rows lane % 8 + 8 (lane / 16), column half (lane / 8) % 2.
  //   B of P V (transposed): V rows lane % 8 + 8 ((lane / 8) % 2), half lane / 16.
  const unsigned qLane =
      smemAddr(sQ) + ((warpRow + lane % 16) * kRow + (lane / 16) * 8) * 2;
  const unsigned kLane =
      smemAddr(sK) + ((lane % 8 + (lane / 16) * 8) * kRow + ((lane / 8) % 2) * 8) * 2;
  const unsigned vLane =
      smemAddr(sV) + ((lane % 8 + ((lane / 8) % 2) * 8) * kRow + (lane / 16) * 8) * 2;
  for (int j = nStart; j < nEnd; ++j) {
    const int key0 = j * kBN;
    cpAsyncWaitAll(); // K_j (and Q) landed
    __syncthreads();  // ... for every thread; everyone is done with V_{j-1}
    loadTile<kBN>(smemAddr(sV), gV + (long long)key0 * p.v_row_stride, p.v_row_stride,
                  seqlenK - key0);
    cpAsyncCommit();

    // S = Q K_j^T.
    float s[kMTiles][kNTiles][4];
#pragma unroll
    for (int i = 0; i < kMTiles; ++i)
#pragma unroll
      for (int n = 0; n < kNTiles; ++n)
        s[i][n][0] = s[i][n][1] = s[i][n][2] = s[i][n][3] = 0.f;
    // (A partly unrolled k-loop: its fragments keep static indices, only the
    // n and m loops inside index registers.)
#pragma unroll kQkUnroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      unsigned a[kMTiles][4];
#pragma unroll
      for (int i = 0; i < kMTiles; ++i)
        ldmatrixX4(qLane + (i * 16 * kRow + kk * 16) * 2, a[i]);
#pragma unroll
      for (int np = 0; np < kNTiles / 2; ++np) {
        unsigned b[4];
        ldmatrixX4(kLane + (np * 16 * kRow + kk * 16) * 2, b);
#pragma unroll
        for (int i = 0; i < kMTiles; ++i) {
          mma16816(s[i][2 * np], a[i], b[0], b[1]);
          mma16816(s[i][2 * np + 1], a[i], b[2], b[3]);
        }
      }
    }

    // Softcap, then masks where this warp's rows see only part of the block
    // (the sequence's tail, window edges; warp-uniform), online softmax.
#if FC_SOFTCAP
#pragma unroll
    for (int i = 0; i < kMTiles; ++i)
#pragma unroll
      for (int n = 0; n < kNTiles; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          s[i][n][e] = tanhApprox(s[i][n][e] * p.softcap_scale);
#endif
    bool partial = key0 + kBN > seqlenK;
#if FC_WINDOW
    if (p.window_right >= 0)
      partial |= warpFirstRow + off + p.window_right + 1 < key0 + kBN;
    if (p.window_left >= 0)
      partial |= warpLastRow + off - p.window_left > key0;
#endif
    if (partial) {
#pragma unroll
      for (int i = 0; i < kMTiles; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          // Keys [lo, hi) of this row, clamped to the block, relative to
          // this thread's first column: no sum below can overflow.
          int hi = seqlenK, lo = key0;
#if FC_WINDOW
          const int row = warpFirstRow + i * 16 + g + 8 * h;
          if (p.window_right >= 0)
            hi = min(hi, row + off + p.window_right + 1);
          if (p.window_left >= 0)
            lo = max(lo, row + off - p.window_left);
#endif
          hi = max(min(hi, key0 + kBN), key0) - key0 - 2 * t;
          lo = min(lo, key0 + kBN) - key0 - 2 * t;
#pragma unroll
          for (int n = 0; n < kNTiles; ++n)
#pragma unroll
            for (int c = 0; c < 2; ++c)
              if (n * 8 + c >= hi || n * 8 + c < lo)
                s[i][n][2 * h + c] = negInf();
        }
    }
#pragma unroll
    for (int i = 0; i < kMTiles; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = rowMax[i][h];
#pragma unroll
        for (int n = 0; n < kNTiles; ++n)
          mx = fmaxf(mx, fmaxf(s[i][n][2 * h], s[i][n][2 * h + 1]));
        mx = quadMax(mx);
        // A row that has seen no key yet keeps -inf: exponents from 0.
        const float base = mx == negInf() ? 0.f : mx * p.scale_log2;
        const float alpha = exp2Approx(rowMax[i][h] * p.scale_log2 - base);
        rowMax[i][h] = mx;
        float sum = 0.f;
#pragma unroll
        for (int n = 0; n < kNTiles; ++n)
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            float &x = s[i][n][2 * h + c];
            x = exp2Approx(x * p.scale_log2 - base);
            sum += x;
          }
        rowSum[i][h] = rowSum[i][h] * alpha + sum;
#pragma unroll
        for (int d = 0; d < kDTiles; ++d) {
          o[i][d][2 * h] *= alpha;
          o[i][d][2 * h + 1] *= alpha;
        }
      }
    }

    cpAsyncWaitAll(); // V_j landed
    __syncthreads();  // ... for every thread; everyone is done with K_j
    if (j + 1 < nEnd)
      loadTile<kBN>(smemAddr(sK), gK + (long long)(key0 + kBN) * p.k_row_stride,
                    p.k_row_stride, seqlenK - key0 - kBN);
    cpAsyncCommit();

    // O += P V_j: P's accumulators of n-tiles 2kk, 2kk+1 are the A operand of
    // k-step kk.
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      unsigned a[kMTiles][4];
#pragma unroll
      for (int i = 0; i < kMTiles; ++i) {
        a[i][0] = pack2(s[i][2 * kk][0], s[i][2 * kk][1]);
        a[i][1] = pack2(s[i][2 * kk][2], s[i][2 * kk][3]);
        a[i][2] = pack2(s[i][2 * kk + 1][0], s[i][2 * kk + 1][1]);
        a[i][3] = pack2(s[i][2 * kk + 1][2], s[i][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kDTiles / 2; ++dp) {
        unsigned b[4];
        ldmatrixX4Trans(vLane + (kk * 16 * kRow + dp * 16) * 2, b);
#pragma unroll
        for (int i = 0; i < kMTiles; ++i) {
          mma16816(o[i][2 * dp], a[i], b[0], b[1]);
          mma16816(o[i][2 * dp + 1], a[i], b[2], b[3]);
        }
      }
    }
  }
  cpAsyncWaitAll();

  // Epilogue: O / l in the input dtype (split: f32 into the workspace), and
  // the LSE (rowLse).
  elem *gO = static_cast<elem *>(p.o) + oBase + head * p.o_head_stride;
#if FC_SPLIT
#if FC_VARLEN
  const long long accRow0 = q0;
#else
  const long long accRow0 = (long long)batch * p.seqlen_q;
#endif
#endif
#pragma unroll
  for (int i = 0; i < kMTiles; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = row0 + warpRow + i * 16 + g + 8 * h;
      const float l = quadSum(rowSum[i][h]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      if (row >= seqlenQ)
        continue;
#if FC_SPLIT
      const long long slot =
          ((long long)split * p.accum_rows + accRow0 + row) * p.heads_q + head;
      float *acc = p.o_accum + slot * kD + 2 * t;
#pragma unroll
      for (int d = 0; d < kDTiles; ++d) {
        acc[d * 8] = o[i][d][2 * h] * inv;
        acc[d * 8 + 1] = o[i][d][2 * h + 1] * inv;
      }
      if (t == 0)
        p.lse_accum[slot] = rowLse(rowMax[i][h], p.scale_log2, l);
      continue;
#endif
      elem *dst = gO + (long long)row * p.o_row_stride + 2 * t;
#pragma unroll
      for (int d = 0; d < kDTiles; ++d)
        *reinterpret_cast<unsigned *>(dst + d * 8) =
            pack2(o[i][d][2 * h] * inv, o[i][d][2 * h + 1] * inv);
      if (p.lse && t == 0) {
        const float lse = rowLse(rowMax[i][h], p.scale_log2, l);
#if FC_VARLEN
        p.lse[head * p.lse_head_stride + q0 + row] = lse;
#else
        p.lse[batch * p.lse_batch_stride + head * p.lse_head_stride + row] =
            lse;
#endif
      }
    }
  }
}
