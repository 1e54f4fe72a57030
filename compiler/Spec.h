//===- Spec.h - The attention spec: problem + schedule ----------*- C++ -*-===//
//
// An AttentionSpec is everything the generator needs to emit one kernel: the
// *problem* (what is computed) and the *schedule* (how it is mapped onto a
// Hopper SM). It is a plain, immutable-by-convention struct with no MLIR or
// LLVM types, so the runtime, the CLI and the tests share it.
//
// Specs come from YAML files (see docs/SPEC.md) or are built in code by the
// runtime's dispatcher. Either way they pass through `validateSpec` before any
// IR is built: every hardware rule (wgmma shapes, TMA boxes, swizzle widths,
// shared-memory and register budgets) is checked here, so that later stages
// can assume a well-formed spec and never hit an LLVM "Cannot select" abort.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_SPEC_H
#define FLASHCORE_COMPILER_SPEC_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__GNUC__)
#define FLASHCORE_API __attribute__((visibility("default")))
#else
#define FLASHCORE_API
#endif

namespace flashcore {

enum class DType { BF16, FP16 };

/// "bf16" / "fp16".
FLASHCORE_API const char *dtypeName(DType dtype);
/// Size of one element in bytes (2 for both supported types).
FLASHCORE_API int dtypeBytes(DType dtype);

/// What is computed: softmax(scale * Q Kᵀ [+ causal mask]) V for one head.
struct ProblemSpec {
  DType dtype = DType::BF16;
  int headDim = 128;
  bool causal = false;
  /// Sliding-window (local) attention: the window sizes (left, right) are
  /// run-time arguments, FlashAttention's `window_size`. Exclusive with causal
  /// (causal is the window (-1, 0)).
  bool local = false;
  /// Tanh soft-capping of the scores, FA3's softcap: S' = c * tanh(S * scale
  /// / c); the cap c is a run-time argument.
  bool softcap = false;
  /// Variable-length batches: Q, K, V packed along the sequence dimension,
  /// sequence boundaries from cu_seqlens_q / cu_seqlens_k at run time.
  bool varlen = false;
  /// Default softmax scale baked into `flashcore-gen run`; the runtime always
  /// passes the caller's scale as a kernel argument. Unset: 1/sqrt(headDim).
  std::optional<double> softmaxScale;

  FLASHCORE_API double effectiveSoftmaxScale() const;
};

/// How it is mapped onto the machine. Every field has a default that depends
/// only on the problem (see `defaultSchedule`).
struct ScheduleSpec {
  /// Query rows per CTA; must be 64 * consumerWarpgroups.
  int blockM = 128;
  /// Key/value rows per pipeline stage (the N of S = Q Kᵀ, the K of P V).
  int blockN = 128;
  /// K/V pipeline depth in shared memory.
  int stages = 2;
  /// TMA / wgmma shared-memory swizzle in bytes: 32, 64 or 128.
  int swizzle = 128;
  /// Warpgroups computing (64 query rows each).
  int consumerWarpgroups = 2;
  /// Warps of the producer warpgroup that issue TMA loads: 1 (Q, K and V
  /// from one warp) or 2 (Q and K from warp 0, V from warp 1).
  int producerWarps = 1;
  /// setmaxnreg targets (registers per thread) after the role split.
  int producerRegisters = 24;
  int consumerRegisters = 240;
};

struct AttentionSpec {
  ProblemSpec problem;
  ScheduleSpec schedule;
};

/// Every (integer) schedule field: X(member of ScheduleSpec, name in specs).
/// The one list the YAML reader, the printer, the MLIR attribute and the
/// dispatch table are written against.
#define FLASHCORE_SCHEDULE_FIELDS(X)                                           \
  X(blockM, "block_m")                                                         \
  X(blockN, "block_n")                                                         \
  X(stages, "stages")                                                          \
  X(swizzle, "swizzle")                                                        \
  X(consumerWarpgroups, "consumer_warpgroups")                                 \
  X(producerWarps, "producer_warps")                                           \
  X(producerRegisters, "producer_registers")                                   \
  X(consumerRegisters, "consumer_registers")

/// Schedule fields a spec sets explicitly; the rest take defaults.
struct ScheduleOverrides {
#define FLASHCORE_OVERRIDE_MEMBER(member, name) std::optional<int> member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_OVERRIDE_MEMBER)
#undef FLASHCORE_OVERRIDE_MEMBER
};

/// Fills every field `given` leaves out with a default that depends on the
/// problem and on the fields that are given (block_m and consumer_warpgroups
/// imply each other; register targets follow the warpgroup count).
FLASHCORE_API ScheduleSpec resolveSchedule(const ProblemSpec &problem,
                                           const ScheduleOverrides &given);

/// The schedule of a spec that sets no schedule field.
inline ScheduleSpec defaultSchedule(const ProblemSpec &problem) {
  return resolveSchedule(problem, ScheduleOverrides{});
}

/// One diagnostic. `field` names the offending spec field (dotted path such as
/// "schedule.block_n"); `line`/`column` are 1-based and 0 when unknown.
struct SpecDiagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string field;
  std::string message;

  /// "file:line:col: error: message", dropping what is unknown.
  FLASHCORE_API std::string str() const;
};

/// Checks every rule of docs/SPEC.md. Returns the first violation.
FLASHCORE_API std::optional<SpecDiagnostic>
validateSpec(const AttentionSpec &spec);

/// Parses YAML text into a spec, applies defaults, and validates it. On failure
/// returns false and fills `diag` with a located error (`bufferName` is used as
/// the file name in the message).
FLASHCORE_API bool parseSpec(std::string_view text, std::string_view bufferName,
                             AttentionSpec &spec, SpecDiagnostic &diag);

/// Reads `path` and calls parseSpec.
FLASHCORE_API bool loadSpecFile(const std::string &path, AttentionSpec &spec,
                                SpecDiagnostic &diag);

/// Canonical YAML: every field explicit, fixed order, fixed number format.
/// parseSpec(printSpec(s)) == s. Used for cache keys and `emit-spec`.
FLASHCORE_API std::string printSpec(const AttentionSpec &spec);

FLASHCORE_API bool operator==(const AttentionSpec &a, const AttentionSpec &b);
inline bool operator!=(const AttentionSpec &a, const AttentionSpec &b) {
  return !(a == b);
}

} // namespace flashcore

#endif // FLASHCORE_COMPILER_SPEC_H
