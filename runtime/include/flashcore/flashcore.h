/*===- flashcore.h - FlashCore C API ------------------------------*- C -*-===*\
|*                                                                            *|
|* The stable C ABI of libflashcore: attention forward on Hopper (sm_90a)     *|
|* with kernels generated, assembled and cached on first use.                 *|
|*                                                                            *|
|* Conventions:                                                               *|
|*  - Every function returns a flashcore_status_t; on failure                 *|
|*    flashcore_last_error() (thread-local) names the argument and value.     *|
|*  - Argument structs start with `size_t struct_size`; initialize them       *|
|*    with the matching *_init function so that later library versions can    *|
|*    add fields without breaking callers.                                    *|
|*  - Nothing here aborts the process.                                        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHCORE_FLASHCORE_H
#define FLASHCORE_FLASHCORE_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define FLASHCORE_C_API __attribute__((visibility("default")))
#else
#define FLASHCORE_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Values are part of the ABI and never reused. */
typedef enum flashcore_status_t {
  FLASHCORE_STATUS_SUCCESS = 0,
  /* The handle is null or was destroyed. */
  FLASHCORE_STATUS_INVALID_HANDLE = 1,
  /* args is null, args->struct_size is not a size this library knows, or
     args->flags has a bit this library does not know. */
  FLASHCORE_STATUS_INVALID_STRUCT = 2,
  /* A required pointer (q, k, v, o) is null. */
  FLASHCORE_STATUS_NULL_POINTER = 3,
  /* A pointer is not aligned as TMA / the kernel needs (16 bytes; lse 4). */
  FLASHCORE_STATUS_MISALIGNED_POINTER = 4,
  /* A size (batch, seqlen, heads, head_dim) is zero or negative. */
  FLASHCORE_STATUS_INVALID_SIZE = 5,
  /* A size exceeds what the kernel can index (e.g. seqlen > 2^31 - 1). */
  FLASHCORE_STATUS_SIZE_TOO_LARGE = 6,
  /* A stride is negative, not a multiple of 8 elements (16 bytes), or
     makes the tensor too large to address. */
  FLASHCORE_STATUS_INVALID_STRIDE = 7,
  /* Strides make distinct elements share memory. */
  FLASHCORE_STATUS_OVERLAPPING_STRIDES = 8,
  /* dtype is not FLASHCORE_DTYPE_BF16 or FLASHCORE_DTYPE_FP16. */
  FLASHCORE_STATUS_UNSUPPORTED_DTYPE = 9,
  /* head_dim is not one the generator supports (multiples of 16, <= 256). */
  FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM = 10,
  /* heads_q is not a multiple of heads_kv. */
  FLASHCORE_STATUS_HEADS_MISMATCH = 11,
  /* softmax_scale is negative, NaN or infinite. */
  FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE = 12,
  /* A pointer is not device memory of the device the launch runs on. */
  FLASHCORE_STATUS_WRONG_DEVICE = 13,
  /* The device is not a Hopper GPU (compute capability 9.0). */
  FLASHCORE_STATUS_UNSUPPORTED_DEVICE = 14,
  /* libcuda.so.1 is missing, too old, or cuInit failed. */
  FLASHCORE_STATUS_NO_DRIVER = 15,
  /* A CUDA driver call failed (the message names it and its error). */
  FLASHCORE_STATUS_CUDA_ERROR = 16,
  /* Generating or assembling the kernel failed. */
  FLASHCORE_STATUS_COMPILE_ERROR = 17,
  /* A spec override (FLASHCORE_SPEC or flashcore_set_spec) is invalid. */
  FLASHCORE_STATUS_INVALID_SPEC = 18,
  /* The spec override is for another problem (dtype/head_dim/causal). */
  FLASHCORE_STATUS_SPEC_MISMATCH = 19,
  /* A bug or an unexpected failure (out of host memory, ...). */
  FLASHCORE_STATUS_INTERNAL_ERROR = 20,
  /* window_left or window_right is below -1. */
  FLASHCORE_STATUS_INVALID_WINDOW = 21,
  /* softcap is negative, NaN or infinite. */
  FLASHCORE_STATUS_INVALID_SOFTCAP = 22,
  /* Varlen arguments are inconsistent (one cu_seqlens pointer without the
     other, a misaligned one, total_q/total_k < 1 or below the maximum
     sequence length). */
  FLASHCORE_STATUS_INVALID_VARLEN = 23,
  /* KV-cache / split-KV arguments are inconsistent (cache_seqlens with
     varlen or misaligned, num_splits out of [0, 128], pack_gqa not -1/0/1, a
     workspace that is misaligned or smaller than
     flashcore_attention_workspace_size says, a paged cache's page_table,
     page_size, num_pages or page_table_batch_stride out of range). */
  FLASHCORE_STATUS_INVALID_KV_CACHE = 24,
  /* flashcore_attention_plan_launch: an argument does not fit the plan (an
     lse where the plan has none, a stream of another context). */
  FLASHCORE_STATUS_PLAN_MISMATCH = 25
} flashcore_status_t;

typedef enum flashcore_dtype_t {
  /* 0 is deliberately invalid: a zero-filled struct is rejected. */
  FLASHCORE_DTYPE_BF16 = 1,
  FLASHCORE_DTYPE_FP16 = 2
} flashcore_dtype_t;

typedef struct flashcore_handle_st *flashcore_handle_t;

/* Attention forward arguments, version 1.
 *
 * Tensors are (batch, seqlen, heads, head_dim) with element strides for the
 * first three dimensions; the head_dim dimension is contiguous. The layout
 * order is free (BSHD, BHSD, packed QKV, ...) as long as distinct elements
 * do not share memory. The stride of a dimension of extent 1 is ignored. */
typedef struct flashcore_attention_args {
  size_t struct_size; /* sizeof(flashcore_attention_args) */

  const void *q; /* (batch, seqlen_q, heads_q,  head_dim), 16-byte aligned */
  const void *k; /* (batch, seqlen_k, heads_kv, head_dim), 16-byte aligned */
  const void *v; /* (batch, seqlen_k, heads_kv, head_dim), 16-byte aligned */
  void *o;       /* (batch, seqlen_q, heads_q,  head_dim), 16-byte aligned */
  /* Optional (may be null): fp32 log-sum-exp (natural log) of each query
     row, laid out (batch, heads_q, seqlen_q) with row stride 1. */
  float *lse;

  int64_t batch;
  int64_t seqlen_q;
  int64_t seqlen_k;
  int64_t heads_q;
  int64_t heads_kv; /* heads_q must be a multiple (GQA / MQA) */
  int64_t head_dim;

  /* Element strides (batch, seq, head). Multiples of 8 elements (16 bytes)
     for dimensions of extent > 1. */
  int64_t q_batch_stride, q_seq_stride, q_head_stride;
  int64_t k_batch_stride, k_seq_stride, k_head_stride;
  int64_t v_batch_stride, v_seq_stride, v_head_stride;
  int64_t o_batch_stride, o_seq_stride, o_head_stride;
  int64_t lse_batch_stride, lse_head_stride;

  flashcore_dtype_t dtype; /* of q, k, v and o */
  int causal;              /* non-zero: causal mask, FlashAttention's
                              convention: query i attends to keys
                              j <= i + seqlen_k - seqlen_q (bottom-right
                              aligned); rows that see no key get O = 0 and
                              LSE = -inf */
  /* Scale applied to Q K^T before softmax. 0 selects 1/sqrt(head_dim);
     negative, NaN or infinite values are rejected. */
  float softmax_scale;

  /* ---- Version 2 (a version-1 struct_size is still accepted: these
     fields then take the values flashcore_attention_args_init sets). ---- */

  /* Sliding window, FlashAttention's window_size: query i attends to keys
     j with i + d - window_left <= j <= i + d + window_right, d = seqlen_k -
     seqlen_q; -1 = unbounded on that side. (-1, -1), the default, is no
     window. With causal set, window_right is forced to 0 (FlashAttention's
     rule), so causal + window_left = w is a causal sliding window. */
  int32_t window_left;
  int32_t window_right;
  /* > 0: scores become softcap * tanh(scale * q.k / softcap) before the
     softmax (FlashAttention-3's softcap). 0 = off; negative, NaN or infinite
     values are rejected. */
  float softcap;
  /* FLASHCORE_ARGS_* bits (below the struct), 0 = none; earlier headers
     named this field `reserved` (must be 0). Unknown bits are rejected
     (FLASHCORE_STATUS_INVALID_STRUCT). */
  int32_t flags;
  /* Variable-length batch (FlashAttention's varlen API): when cu_seqlens_q is
     set, q and o are packed as (total_q, heads_q, head_dim) and k, v as
     (total_k, heads_kv, head_dim) with the seq and head strides above (the
     batch strides are ignored); sequence b occupies rows
     [cu_seqlens_q[b], cu_seqlens_q[b + 1]) of q and o and
     [cu_seqlens_k[b], cu_seqlens_k[b + 1]) of k and v. Both arrays hold
     batch + 1 non-decreasing int32 offsets starting at 0 in device memory
     (not read by the host). seqlen_q / seqlen_k are then the longest
     sequence lengths, and lse (if set) is laid out (heads_q, total_q) with
     head stride lse_head_stride. */
  const int32_t *cu_seqlens_q;
  const int32_t *cu_seqlens_k;
  int64_t total_q;
  int64_t total_k;

  /* ---- Version 3 (version-1 and -2 struct sizes are still accepted: these
     fields then take the values flashcore_attention_args_init sets). ---- */

  /* KV cache (FlashAttention's flash_attn_with_kvcache): when set, sequence
     b has cache_seqlens[b] keys (int32 device array of batch entries, 0
     allowed, each <= seqlen_k; the kernel clamps a value outside [0,
     seqlen_k] into it, so no row past seqlen_k is read) out of the seqlen_k
     rows of k and v. Causal and windows align to each sequence's own key
     count. Not with varlen. */
  const int32_t *cache_seqlens;
  /* Split-KV: 0 = let FlashCore choose from the SM count, the tiles and the
     key length (the default), 1 = no split, n in [2, 128] = n splits. A split
     call writes partial results to a workspace and merges them with a second
     kernel. */
  int32_t num_splits;
  /* Pack-GQA: -1 = let FlashCore choose (the default), 0 = off, 1 = on when
     seqlen_q * heads_q / heads_kv fits one tile (else off). */
  int32_t pack_gqa;
  /* Device workspace for split-KV (16-byte aligned, at least
     flashcore_attention_workspace_size bytes), or null: FlashCore then
     allocates it stream-ordered (cuMemAllocAsync / cuMemFreeAsync on the
     call's stream, capturable into CUDA graphs). */
  void *workspace;
  size_t workspace_bytes;

  /* ---- Version 4 (version-1 to -3 struct sizes are still accepted: no
     paging). ---- */

  /* Paged KV cache (vLLM's and FlashAttention's layout): when page_table is
     set, k and v are pools of num_pages pages of page_size rows,
     (num_pages, page_size, heads_kv, head_dim) by their strides
     (k_batch_stride / v_batch_stride = the page stride, k_seq_stride /
     v_seq_stride = the row stride), and key row r of sequence b is row
     r % page_size of page page_table[b * page_table_batch_stride +
     r / page_size] (int32 device array; pages in any order, shared or not).
     seqlen_k is the most keys a sequence has (the table's columns times
     page_size, or fewer); cache_seqlens, when set, gives each sequence's own.
     page_size must be a multiple of 16. A page index outside [0, num_pages)
     reads as zeros: nothing outside the pools is read. Not with varlen. */
  const int32_t *page_table;
  int64_t page_table_batch_stride;
  int64_t page_size;
  int64_t num_pages;
} flashcore_attention_args;

/* struct_size of a version-1 struct (everything before window_left). */
/* flags: the caller has checked that every pointer of the call is device
   memory of the launch context's device (a framework's CUDA tensors on the
   stream's device, as FlashCore's PyTorch functions pass them). FlashCore
   then skips its own residency checks (one cuPointerGetAttribute per
   pointer, ~0.5 us each); a wrong pointer then faults in the kernel instead
   of failing with FLASHCORE_STATUS_WRONG_DEVICE. */
#define FLASHCORE_ARGS_POINTERS_CHECKED 1

#define FLASHCORE_ATTENTION_ARGS_V1_SIZE                                       \
  offsetof(flashcore_attention_args, window_left)
/* struct_size of a version-2 struct (everything before cache_seqlens). */
#define FLASHCORE_ATTENTION_ARGS_V2_SIZE                                       \
  offsetof(flashcore_attention_args, cache_seqlens)
/* struct_size of a version-3 struct (everything before page_table). */
#define FLASHCORE_ATTENTION_ARGS_V3_SIZE                                       \
  offsetof(flashcore_attention_args, page_table)

/* Sets struct_size, zeroes everything else (softmax_scale 0 = the default)
   and sets window_left = window_right = -1 (no window), num_splits = 0 and
   pack_gqa = -1 (FlashCore chooses). dtype, sizes, pointers and strides must
   still be filled in. Source code compiled against this header calls
   flashcore_attention_args_init_sized(args, sizeof *args) through the macro at
   the end of this file; the exported function of this name serves binaries
   built against a version-2 header and writes FLASHCORE_ATTENTION_ARGS_V2_SIZE
   bytes only (struct_size = that size), never past their struct. */
FLASHCORE_C_API void
flashcore_attention_args_init(flashcore_attention_args *args);

/* Fills the strides of contiguous (batch, seqlen, heads, head_dim) tensors
   and a contiguous (batch, heads_q, seqlen_q) LSE from the sizes in args;
   for varlen (cu_seqlens_q set) of packed (total, heads, head_dim) tensors
   and a (heads_q, total_q) LSE. */
FLASHCORE_C_API void
flashcore_attention_args_set_contiguous_strides(flashcore_attention_args *args);

/* "FLASHCORE_STATUS_MISALIGNED_POINTER: a pointer is not aligned ...".
   Never null; unknown codes give "unknown flashcore status". */
FLASHCORE_C_API const char *flashcore_status_string(flashcore_status_t status);

/* Details of the last failure on this thread ("q must be 16-byte aligned,
   got: 0x7f0000000003"); "" after a success. Valid until the next FlashCore
   call on the same thread. */
FLASHCORE_C_API const char *flashcore_last_error(void);

/* "0.1.0". */
FLASHCORE_C_API const char *flashcore_version(void);

/* A handle holds per-user settings (the spec override). Kernels and modules
   are cached process-wide, so handles are cheap. Reads FLASHCORE_SPEC (a
   spec YAML file applied to every call) when set: a file that does not load
   fails creation with FLASHCORE_STATUS_INVALID_SPEC. */
FLASHCORE_C_API flashcore_status_t flashcore_create(flashcore_handle_t *handle);
FLASHCORE_C_API flashcore_status_t flashcore_destroy(flashcore_handle_t handle);

/* Uses the spec in `spec_yaml` (spec file text, see docs/SPEC.md) for every
   later call on this handle; null clears it (back to FLASHCORE_SPEC or the
   built-in choice). Calls whose dtype/head_dim/causal differ from the spec's
   problem fail with FLASHCORE_STATUS_SPEC_MISMATCH. */
FLASHCORE_C_API flashcore_status_t
flashcore_set_spec(flashcore_handle_t handle, const char *spec_yaml);

/* Checks args as flashcore_attention_forward does before touching the GPU
   (everything but device residency). */
FLASHCORE_C_API flashcore_status_t
flashcore_validate_attention_args(const flashcore_attention_args *args);

/* O = softmax(scale * Q K^T [+ causal mask]) V, asynchronously on `stream`.
   Uses the stream's context, else the current context, else the primary
   context of q's device. The spec comes from flashcore_set_spec, else
   $FLASHCORE_SPEC, else the shipped dispatch table (by dtype, head_dim,
   causal/local/softcap/varlen, GQA ratio and sequence-length class), else
   the built-in heuristics. The first call for a spec reads the kernel from
   the disk cache or generates and assembles it (tens of milliseconds to a
   second); later calls on the handle reuse it without taking a lock. Safe to
   call from many threads, on several devices, with one handle. */
FLASHCORE_C_API flashcore_status_t
flashcore_attention_forward(flashcore_handle_t handle,
                            const flashcore_attention_args *args,
                            CUstream stream);

/* ---- Kernel cache (appended with the version-2 fields; the header only
   ever grows at the end) ----------------------------------------------------

   Kernels are cached in memory and on disk: one file per kernel key in
   $FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore, else
   ~/.cache/flashcore ($FLASHCORE_DISK_CACHE=0: memory only). Entries are
   checksummed; a damaged one is rebuilt. FLASHCORE_LOG=1 prints a line for
   every kernel compiled or read from disk. */

/* Process-wide counters since the library was loaded. */
typedef struct flashcore_cache_stats {
  size_t struct_size; /* sizeof(flashcore_cache_stats) */
  /* Kernels found already compiled in this process (every warm
     flashcore_attention_forward counts one). */
  uint64_t memory_hits;
  /* Kernels read from the disk cache. */
  uint64_t disk_hits;
  /* Kernels generated and assembled. */
  uint64_t compiles;
  uint64_t compile_failures;
  /* Entries written to the disk cache, and writes that failed (after the
     first failure the cache is memory-only). */
  uint64_t disk_writes;
  uint64_t disk_write_failures;
  /* Truncated, garbage or mismatched entries found (each is rebuilt). */
  uint64_t disk_rejected;
  /* 1 while compiled kernels are written to disk, else 0. */
  int32_t disk_enabled;
  int32_t reserved;
} flashcore_cache_stats;

/* Sets struct_size and zeroes the rest. */
FLASHCORE_C_API void flashcore_cache_stats_init(flashcore_cache_stats *stats);

/* Fills `stats` (initialize it with flashcore_cache_stats_init). */
FLASHCORE_C_API flashcore_status_t
flashcore_get_cache_stats(flashcore_cache_stats *stats);

/* The disk cache directory in use ("" when the cache is memory-only). Valid
   for the life of the process. */
FLASHCORE_C_API const char *flashcore_cache_directory(void);

/* ---- Split-KV workspace (appended with the version-3 fields) ---------- */

/* The workspace bytes flashcore_attention_forward needs for `args` (0 when
   the call does not split), as chosen for the given args (num_splits 0 and
   pack_gqa -1 are resolved as forward would resolve them). */
FLASHCORE_C_API flashcore_status_t
flashcore_attention_workspace_size(flashcore_handle_t handle,
                                   const flashcore_attention_args *args,
                                   size_t *bytes);

/* ---- Sized initialisation (appended with the version-3 fields) -------- */

/* flashcore_attention_args_init for a struct of `struct_size` bytes: writes
   exactly that many bytes (the fields of that version, with their defaults)
   and sets struct_size to it. struct_size must be sizeof(
   flashcore_attention_args) or FLASHCORE_ATTENTION_ARGS_V3_SIZE, _V2_SIZE or
   _V1_SIZE; any other size writes nothing (the call
   that follows then fails with FLASHCORE_STATUS_INVALID_STRUCT). For bindings
   that declare the struct themselves (ctypes, cffi): pass their own size. */
FLASHCORE_C_API void
flashcore_attention_args_init_sized(flashcore_attention_args *args,
                                    size_t struct_size);

/* ---- Prepared launches (appended after the version-4 fields) ---------

   A plan is one forward call checked, dispatched and bound to its CUDA
   context once, then launched any number of times with new tensor pointers
   of the same shapes and strides: a framework's eager call of a repeated
   shape (flashcore.flash_attn_func keeps one per call signature). A launch
   costs the pointer checks, the tensor maps' new addresses and
   cuLaunchKernel. */
typedef struct flashcore_plan_st *flashcore_plan_t;

/* Checks `args` as flashcore_attention_forward does (residency too, unless
   args->flags has FLASHCORE_ARGS_POINTERS_CHECKED), chooses the kernel as it
   would on `handle` and loads it in the context a forward on `stream` would
   use (generating or reading it from the cache on first use); launches
   nothing. The plan keeps every argument but q, k, v, o and lse, which each
   launch supplies: sizes, strides, options, cu_seqlens / cache_seqlens /
   page_table pointers (their contents may change between launches) and the
   workspace (null: allocated stream-ordered per launch). It does not refer
   to `args` or `handle` afterwards (a later flashcore_set_spec does not
   change it; flashcore_destroy(handle) does not invalidate it). */
FLASHCORE_C_API flashcore_status_t
flashcore_attention_plan_create(flashcore_handle_t handle,
                                const flashcore_attention_args *args,
                                CUstream stream, flashcore_plan_t *plan);

/* The plan's forward with these tensors, asynchronously on `stream`. q, k,
   v, o must be 16-byte aligned, lse 4-byte aligned or null (non-null only
   when the plan was made with an lse: its strides come from the plan);
   residency is checked as at creation. `stream` must belong to the plan's
   context; 0, CU_STREAM_LEGACY and CU_STREAM_PER_THREAD mean that context's
   own (it is made current for the launch). One thread at a time per plan. */
FLASHCORE_C_API flashcore_status_t
flashcore_attention_plan_launch(flashcore_plan_t plan, const void *q,
                                const void *k, const void *v, void *o,
                                float *lse, CUstream stream);

/* Frees a plan (null: nothing). Kernels stay cached for other calls. */
FLASHCORE_C_API void flashcore_attention_plan_destroy(flashcore_plan_t plan);

#ifndef FLASHCORE_NO_INIT_MACRO
/* Callers' init writes their own struct's size, whatever the library's. */
#define flashcore_attention_args_init(args)                                    \
  flashcore_attention_args_init_sized((args), sizeof(*(args)))
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FLASHCORE_FLASHCORE_H */
