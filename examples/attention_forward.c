/*===- attention_forward.c - FlashCore from plain C ------------------------===*\
|*                                                                            *|
|* Uses only the installed flashcore.h and libflashcore.so (plus the CUDA     *|
|* driver for memory): causal GQA attention in bf16 on odd sequence lengths,  *|
|* checked against a double-precision reference on the CPU, then timed warm   *|
|* on the host side, with the cache counters the library reports.             *|
|*                                                                            *|
|* Exit code: 0 PASS, 1 FAIL or error, 77 no CUDA device.                     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <flashcore/flashcore.h>

#include <cuda.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 2, SEQ_Q = 300, SEQ_K = 257, HEADS_Q = 8, HEADS_KV = 2, DIM = 128 };

static uint16_t to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  bits += 0x7FFF + ((bits >> 16) & 1); /* round to nearest even */
  return (uint16_t)(bits >> 16);
}

static double from_bf16(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static int cuda_ok(CUresult rc, const char *what) {
  if (rc == CUDA_SUCCESS)
    return 1;
  const char *name = NULL;
  cuGetErrorName(rc, &name);
  fprintf(stderr, "error: %s failed: %s\n", what, name ? name : "?");
  return 0;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Uniform in [-2, 2): a small LCG keeps the example deterministic. */
static float next_value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xFFFF) / 16384.0f - 2.0f;
}

int main(void) {
  /* Step 1. A device, or skip. */
  int count = 0;
  if (cuInit(0) != CUDA_SUCCESS || cuDeviceGetCount(&count) != CUDA_SUCCESS ||
      count == 0) {
    printf("skipped: no CUDA device\n");
    return 77;
  }
  CUdevice dev;
  CUcontext ctx;
  if (!cuda_ok(cuDeviceGet(&dev, 0), "cuDeviceGet") ||
      !cuda_ok(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain") ||
      !cuda_ok(cuCtxSetCurrent(ctx), "cuCtxSetCurrent"))
    return 1;
  printf("libflashcore %s, cache directory \"%s\"\n", flashcore_version(),
         flashcore_cache_directory());

  /* Step 2. Inputs (B, S, H, D) contiguous; outputs prefilled with NaN. */
  const size_t nq = (size_t)BATCH * SEQ_Q * HEADS_Q * DIM;
  const size_t nkv = (size_t)BATCH * SEQ_K * HEADS_KV * DIM;
  const size_t nlse = (size_t)BATCH * HEADS_Q * SEQ_Q;
  uint16_t *q = malloc(nq * 2), *k = malloc(nkv * 2), *v = malloc(nkv * 2);
  uint16_t *o = malloc(nq * 2);
  float *lse = malloc(nlse * 4);
  uint32_t seed = 12345;
  for (size_t i = 0; i < nq; ++i)
    q[i] = to_bf16(next_value(&seed));
  for (size_t i = 0; i < nkv; ++i) {
    k[i] = to_bf16(next_value(&seed));
    v[i] = to_bf16(next_value(&seed));
  }
  CUdeviceptr dq, dk, dv, dout, dlse;
  if (!cuda_ok(cuMemAlloc(&dq, nq * 2), "cuMemAlloc") ||
      !cuda_ok(cuMemAlloc(&dk, nkv * 2), "cuMemAlloc") ||
      !cuda_ok(cuMemAlloc(&dv, nkv * 2), "cuMemAlloc") ||
      !cuda_ok(cuMemAlloc(&dout, nq * 2), "cuMemAlloc") ||
      !cuda_ok(cuMemAlloc(&dlse, nlse * 4), "cuMemAlloc") ||
      !cuda_ok(cuMemcpyHtoD(dq, q, nq * 2), "cuMemcpyHtoD") ||
      !cuda_ok(cuMemcpyHtoD(dk, k, nkv * 2), "cuMemcpyHtoD") ||
      !cuda_ok(cuMemcpyHtoD(dv, v, nkv * 2), "cuMemcpyHtoD") ||
      !cuda_ok(cuMemsetD8(dout, 0xFF, nq * 2), "cuMemsetD8") ||
      !cuda_ok(cuMemsetD8(dlse, 0xFF, nlse * 4), "cuMemsetD8"))
    return 1;

  /* Step 3. The call. */
  flashcore_handle_t handle = NULL;
  flashcore_attention_args a;
  flashcore_attention_args_init(&a);
  a.q = (const void *)dq;
  a.k = (const void *)dk;
  a.v = (const void *)dv;
  a.o = (void *)dout;
  a.lse = (float *)dlse;
  a.batch = BATCH;
  a.seqlen_q = SEQ_Q;
  a.seqlen_k = SEQ_K;
  a.heads_q = HEADS_Q;
  a.heads_kv = HEADS_KV;
  a.head_dim = DIM;
  a.dtype = FLASHCORE_DTYPE_BF16;
  a.causal = 1;
  flashcore_attention_args_set_contiguous_strides(&a);
  double t0 = now_us();
  flashcore_status_t st = flashcore_create(&handle);
  if (st == FLASHCORE_STATUS_SUCCESS)
    st = flashcore_attention_forward(handle, &a, NULL);
  double first_ms = (now_us() - t0) / 1e3;
  if (st != FLASHCORE_STATUS_SUCCESS) {
    fprintf(stderr, "error: %s: %s\n", flashcore_status_string(st),
            flashcore_last_error());
    return 1;
  }
  if (!cuda_ok(cuCtxSynchronize(), "cuCtxSynchronize (kernel)") ||
      !cuda_ok(cuMemcpyDtoH(o, dout, nq * 2), "cuMemcpyDtoH") ||
      !cuda_ok(cuMemcpyDtoH(lse, dlse, nlse * 4), "cuMemcpyDtoH"))
    return 1;

  /* Step 4. Double-precision reference, causal bottom-right aligned. */
  const double scale = 1.0 / sqrt((double)DIM);
  double err2 = 0, ref2 = 0, lse_err = 0;
  size_t unwritten = 0;
  double *score = malloc(SEQ_K * sizeof(double));
  for (int b = 0; b < BATCH; ++b)
    for (int h = 0; h < HEADS_Q; ++h) {
      int hk = h / (HEADS_Q / HEADS_KV);
      for (int i = 0; i < SEQ_Q; ++i) {
        int visible = i + SEQ_K - SEQ_Q + 1;
        if (visible > SEQ_K)
          visible = SEQ_K;
        if (visible < 0)
          visible = 0;
        const uint16_t *qi = q + (((size_t)b * SEQ_Q + i) * HEADS_Q + h) * DIM;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < visible; ++j) {
          const uint16_t *kj = k + (((size_t)b * SEQ_K + j) * HEADS_KV + hk) * DIM;
          double dot = 0;
          for (int c = 0; c < DIM; ++c)
            dot += from_bf16(qi[c]) * from_bf16(kj[c]);
          score[j] = dot * scale;
          if (score[j] > mx)
            mx = score[j];
        }
        for (int j = 0; j < visible; ++j)
          sum += (score[j] = exp(score[j] - mx));
        float got_lse = lse[((size_t)b * HEADS_Q + h) * SEQ_Q + i];
        if (visible == 0)
          lse_err = fmax(lse_err, isinf(got_lse) && got_lse < 0 ? 0 : INFINITY);
        else
          lse_err = fmax(lse_err, fabs(got_lse - (mx + log(sum))));
        for (int c = 0; c < DIM; ++c) {
          double ref = 0;
          for (int j = 0; j < visible; ++j)
            ref += score[j] *
                   from_bf16(v[(((size_t)b * SEQ_K + j) * HEADS_KV + hk) * DIM + c]);
          ref = visible ? ref / sum : 0;
          double got = from_bf16(o[(((size_t)b * SEQ_Q + i) * HEADS_Q + h) * DIM + c]);
          if (isnan(got))
            ++unwritten;
          err2 += (got - ref) * (got - ref);
          ref2 += ref * ref;
        }
      }
    }
  double rel = sqrt(err2 / ref2);

  /* Step 5. Warm calls: host time per call (the kernel runs asynchronously). */
  enum { WARM = 200 };
  double best = 1e30;
  for (int r = 0; r < WARM; ++r) {
    double s = now_us();
    st = flashcore_attention_forward(handle, &a, NULL);
    double us = now_us() - s;
    if (st != FLASHCORE_STATUS_SUCCESS) {
      fprintf(stderr, "error: %s\n", flashcore_last_error());
      return 1;
    }
    if (us < best)
      best = us;
  }
  cuCtxSynchronize();
  flashcore_cache_stats stats;
  flashcore_cache_stats_init(&stats);
  flashcore_get_cache_stats(&stats);

  int pass = unwritten == 0 && rel <= 1e-2 && lse_err <= 5e-3;
  printf("bf16 causal GQA %d/%d heads, batch %d, seqlen_q %d, seqlen_k %d, "
         "head_dim %d\n", HEADS_Q, HEADS_KV, BATCH, SEQ_Q, SEQ_K, DIM);
  printf("first call %.1f ms, warm call host time %.2f us (best of %d)\n",
         first_ms, best, WARM);
  printf("cache: %llu memory hits, %llu disk hits, %llu compiles, "
         "%llu disk writes\n",
         (unsigned long long)stats.memory_hits,
         (unsigned long long)stats.disk_hits,
         (unsigned long long)stats.compiles,
         (unsigned long long)stats.disk_writes);
  printf("vs fp64: rel err %.3e (limit 1e-2), LSE max abs err %.3e, "
         "unwritten %zu\n%s\n", rel, lse_err, unwritten, pass ? "PASS" : "FAIL");

  flashcore_destroy(handle);
  cuMemFree(dq);
  cuMemFree(dk);
  cuMemFree(dv);
  cuMemFree(dout);
  cuMemFree(dlse);
  free(q);
  free(k);
  free(v);
  free(o);
  free(lse);
  free(score);
  return pass ? 0 : 1;
}
