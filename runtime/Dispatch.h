//===- Dispatch.h - The spec used for a call --------------------*- C++ -*-===//
//
// Chooses the AttentionSpec for a call, in order: an override set through
// the API (flashcore_set_spec), the spec file named by $FLASHCORE_SPEC, the
// first matching entry of the dispatch table (DispatchTable.h), then the
// heuristics (resolveSchedule's defaults).
//
// An override fixes the schedule only for the problem it was written for: a
// call whose dtype, head_dim, causal, local, softcap or varlen differ is an
// error, not a silent fallback. softmax_scale in an override is ignored (the
// runtime passes the caller's scale as a kernel argument).
//
// Every handle owns a Dispatcher. Its choices are cached per dispatch class
// (the packed problem, sequence-length class and GQA ratio: classKey) in an
// insert-only map that readers search without a lock; each KernelChoice then
// caches its loaded function per CUDA context the same way. Choices live as
// long as the Dispatcher, so raw pointers to them stay valid for a call.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_DISPATCH_H
#define FLASHCORE_RUNTIME_DISPATCH_H

#include "compiler/KernelABI.h"
#include "compiler/Spec.h"
#include "flashcore/Compile.h"
#include "runtime/DispatchTable.h"
#include "runtime/FastTable.h"

#include <cuda.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace flashcore {

enum class DispatchStatus { Ok, InvalidSpec, SpecMismatch, Unsupported };

/// A call whose query tile has at most 64 rows: seqlen_q x heads per KV head
/// with pack-GQA (the rows of GQA decode), seqlen_q without (the rows of MHA
/// decode, or of short prompts); seqlen_q is the longest for varlen calls.
bool tileRowsFitOneWarpgroup(const DispatchQuery &query);

/// Small tiles (decode): such a call runs one consumer warpgroup of 64 rows
/// instead of the chosen schedule's (the rows of a second one would all be
/// padding), unless the table entry names block_m or consumer_warpgroups
/// (`named`; null for the heuristics) or the result does not validate.
/// H200, bench/decode_sweep.py: +0.3 % to +4 % of K/V bandwidth on the
/// GQA decode rows, +2 % to +10 % on the MHA ones (docs/PERFORMANCE.md,
/// sessions 5 and 6).
/// At head_dim 128 such a call, once on one warpgroup, also takes 64-key
/// blocks unless the entry names block_n: H100, session 14, +0.4 % to
/// +2.6 % on all ten decode rows of bench/decode_bench.py and +1.6 % with
/// seqlen_q 2-16, in two interleaved sweeps; head_dim 64 lost 1.2 %, 256
/// moved 0.2 %.
/// KV-cache calls on such a tile, unless the entry names the field:
/// - paged: 3 K/V stages (a paged block waits on its page-table reads before
///   its TMA loads). H200, session 17, decode_sweep.py at head_dim 128, two
///   pairs: +2 % to +4.5 % over 2 stages at pages of 16, 64 and 256 on
///   four shapes; contiguous caches lose 1.5-2 % with 3, so they keep 2.
/// - contiguous, not split, at most kTwoCtaDecodeMaxKeys keys (a bit of
///   the dispatch class key, whatever the table's sequence classes): two
///   CTAs per SM, one CTA's prologue and epilogue under the other's
///   loads. H200, session 17: +1.5 % to +3.7 % on the 1k and 4k rows (32
///   or 8 KV heads, B 8-128), -1 % to -3 % on 8k rows and longer.
constexpr int kSmallTileBlockNHeadDim = 128;
constexpr int kSmallTileBlockN = 64;
constexpr int kPagedDecodeStages = 3;
constexpr int64_t kTwoCtaDecodeMaxKeys = 4096;
void fitSmallTile(const DispatchQuery &query, const ScheduleOverrides *named,
                  AttentionSpec &spec);

/// cluster_m 2 pairs neighbouring query blocks; a call whose block count is
/// not a multiple of the cluster runs the same schedule with cluster_m 1, as
/// FA3 does (hopper/flash_fwd_launch_template.h), instead of a CTA of
/// padding rows. seqlen_q 0 (unknown) keeps the cluster. True when it
/// changed the spec.
bool fitClusterToQueryBlocks(const DispatchQuery &query, AttentionSpec &spec);

/// A kernel loaded into one CUDA context.
struct BoundKernel {
  CUfunction function = nullptr;
  /// split_kv choices: the combine kernel loaded in the same context.
  CUfunction combineFunction = nullptr;
  /// The device of the context (pointer residency is checked against it)
  /// and its SM count (persistent grids).
  int device = 0;
  int smCount = 0;
  std::shared_ptr<const CompiledKernel> kernel;
  std::shared_ptr<const CompiledKernel> combineKernel;
};

/// The resolved choice for one dispatch class.
struct KernelChoice {
  AttentionSpec spec;
  KernelGeometry geometry;
  /// split_kv choices: the combine kernel that merges the splits (kind
  /// combine, the same dtype and head_dim).
  std::optional<AttentionSpec> combineSpec;
  KernelGeometry combineGeometry;
  /// "flashcore_set_spec", "FLASHCORE_SPEC=<file>", "dispatch table entry
  /// 'dense-d128-noncausal' (specs/dispatch/table.yaml)" or "heuristics".
  std::string source;

  /// The function loaded in a context (key: contextKey). Lock-free.
  BoundKernel *boundIn(uint64_t contextKey) const {
    return bound.find(contextKey);
  }
  /// Records the function of a context (first one wins).
  BoundKernel *bind(uint64_t contextKey, const BoundKernel &kernel);

private:
  InsertOnlyMap<BoundKernel> bound{8};
  std::mutex ownedMutex;
  std::vector<std::unique_ptr<BoundKernel>> owned;
};

class Dispatcher {
public:
  /// Uses DispatchTable::active().
  Dispatcher();
  explicit Dispatcher(std::shared_ptr<const DispatchTable> table);

  /// Loads $FLASHCORE_SPEC when it is set. Returns false with `error` (the
  /// parser's located message) when the file does not load.
  bool loadEnvironmentOverride(std::string &error);

  /// Parses spec YAML text (`source` names it in messages) and makes it the
  /// API override.
  bool setOverrideText(const std::string &yaml, const std::string &source,
                       std::string &error);
  void setOverride(const AttentionSpec &spec, const std::string &source);
  /// Drops the API override (the environment override stays).
  void clearOverride();
  /// The problem of the override in effect (API, else environment), if any;
  /// one relaxed atomic load when there is none.
  std::optional<ProblemSpec> overrideProblem() const;

  /// The spec for `query` (computed, not cached). `source` (optional) says
  /// what chose it.
  DispatchStatus choose(const DispatchQuery &query, AttentionSpec &spec,
                        std::string &error,
                        std::string *source = nullptr) const;
  /// choose() for a problem alone (seqlen_q unknown, GQA ratio 1).
  DispatchStatus choose(const ProblemSpec &problem, AttentionSpec &spec,
                        std::string &error) const;

  /// The cached choice for the dispatch class of `query`, computed with
  /// choose() on first use. Lock-free when cached. Null with `status` and
  /// `error` on failure (failures are not cached).
  KernelChoice *resolve(const DispatchQuery &query, DispatchStatus &status,
                        std::string &error) const;

  /// What a choice depends on, packed: dtype, head_dim, causal, local,
  /// softcap, varlen, the sequence-length class, the GQA ratio, the KV-cache
  /// shape flags, tileRowsFitOneWarpgroup and, where a table entry or
  /// FLASHCORE_SCHEDULE names cluster_m 2 and the problem may cluster
  /// (dense, non-causal), the parity of the query-block count for each
  /// block_m (fitClusterToQueryBlocks). Never 0.
  uint64_t classKey(const DispatchQuery &query) const;

  const DispatchTable &table() const { return *dispatchTable; }

private:
  struct Override {
    AttentionSpec spec;
    std::string source;
  };
  /// Empties the choice cache (the override changed).
  void forgetChoices();

  std::shared_ptr<const DispatchTable> dispatchTable;
  mutable std::shared_mutex mutex;
  std::optional<Override> apiOverride, envOverride;
  /// apiOverride || envOverride, readable without the lock.
  std::atomic<bool> hasOverride{false};
  /// FLASHCORE_SCHEDULE: schedule fields forced onto every table or
  /// heuristic choice (testing the schedulers and epilogues on every shape).
  std::optional<ScheduleOverrides> scheduleOverride;
  std::string scheduleOverrideText;
  /// A table entry or scheduleOverride names cluster_m > 1: the class key
  /// then separates odd and even query-block counts.
  bool tableClusters = false;
  std::atomic<bool> mayCluster{false};
  mutable InsertOnlyMap<KernelChoice> choices{32};
  /// Bumped when the override changes: a choice computed across a change is
  /// used once but not cached.
  std::atomic<uint64_t> generation{0};
  mutable std::mutex ownedMutex;
  mutable std::vector<std::unique_ptr<KernelChoice>> owned;
};

/// "{dtype: bf16, head_dim: 128, causal: false, ...}".
std::string describeProblem(const ProblemSpec &problem);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_DISPATCH_H
