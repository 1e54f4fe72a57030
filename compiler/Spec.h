//===- Spec.h - The attention spec: problem + schedule ----------*- C++ -*-===//
//
// An AttentionSpec is everything the generator needs to emit one kernel: the
// *problem* (what is computed) and the *schedule* (how it is mapped onto a
// Hopper SM). It is a plain struct with no MLIR or LLVM types, so the
// runtime, the CLI and the tests share it.
//
// Every field is listed once, in FLASHCORE_PROBLEM_FIELDS and
// FLASHCORE_SCHEDULE_FIELDS below, with its type and its doc line. That table
// drives the YAML reader and the canonical printer (SpecYaml.cpp, Spec.cpp),
// equality and hashing, the #flashcore.spec attribute's parser and printer
// (dialect/), the dispatch table's match and schedule entries and the cache
// key text (runtime/), and `flashcore-gen spec-fields`; a test checks that
// docs/SPEC.md documents every field. A new field is one row here, its
// default in resolveSchedule (or the struct), its rule in validateSpec, the
// code that uses it, and its line in docs/SPEC.md.
//
// Specs come from YAML files (see docs/SPEC.md) or are built in code by the
// runtime's dispatcher. Either way they pass through ValidatedSpec::check
// before any IR is built: every hardware rule (wgmma shapes, TMA boxes,
// swizzle widths, shared-memory and register budgets) is checked there, so
// later stages, which take a ValidatedSpec, never see a malformed spec and
// never hit an LLVM "Cannot select" abort.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_SPEC_H
#define FLASHCORE_COMPILER_SPEC_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#if defined(__GNUC__)
#define FLASHCORE_API __attribute__((visibility("default")))
#else
#define FLASHCORE_API
#endif

namespace flashcore {

//===----------------------------------------------------------------------===//
// Field types
//===----------------------------------------------------------------------===//

enum class DType { BF16, FP16 };

/// What a kernel computes; each kind has its own kernel name and ABI
/// (KernelABI.h).
enum class KernelKind {
  /// Attention forward: O and LSE (with split_kv: one split's partial O and
  /// LSE into a workspace).
  Forward,
  /// Split-KV's merge: O and LSE from the partial results of every split.
  Combine,
};

/// How CTAs get their work tiles (TileScheduler.h).
enum class SchedulerKind {
  /// One CTA per (query block, head, batch): the grid is the tile space.
  SingleTile,
  /// grid = #SMs x CTAs per SM; each CTA loops over tiles with a stride of the
  /// grid size, carrying its pipeline state across tiles.
  StaticPersistent,
  /// The same grid; CTA b starts with tile b and then takes the next tile of
  /// an atomic counter (zeroed before each launch), so a CTA whose tiles
  /// were short takes more of them (FA3's dynamic persistent scheduler).
  DynamicPersistent,
};

/// The order in which a work tile visits its key blocks.
enum class KeyOrder {
  /// Lowest block first: the blocks that need no mask, then those across the
  /// causal diagonal / window edge / sequence end.
  Ascending,
  /// Highest first (FlashAttention-3's n_block walk downwards): the masked
  /// blocks at the diagonal first, the prologue on the last block.
  Descending,
};

/// The order of the work tiles (compiler/TileSchedule.h).
enum class TileOrder {
  /// Query blocks fastest, then heads, then the batch (longest first within
  /// a head for causal/local kernels).
  MFastest,
  /// Every (head, batch) lane's longest query block first, lanes in groups
  /// that share L2; a persistent CTA deals the tiles in a snake.
  LongestFirst,
};

/// How O leaves the consumers (Epilogue.h).
enum class EpilogueKind {
  /// Each thread stores its accumulator fragment to global memory.
  Registers,
  /// O is staged in swizzled shared memory with stmatrix and written by one
  /// bulk tensor store (TMA) per consumer warpgroup.
  Tma,
};

/// The L2 eviction priority of the K/V (kv_cache_hint) or Q (q_cache_hint)
/// tile loads (the cache-policy operand of cp.async.bulk.tensor, PTX ISA
/// 9.7.9.25.5.1; createpolicy's encodings).
enum class CacheHint {
  /// No policy operand.
  Normal,
  /// Streamed once (decode reads each key block once).
  EvictFirst,
  /// Kept (prefill reads each key block once per query block).
  EvictLast,
};

/// When the overlapped loop releases K(j)'s ring slot (ConsumerMainloop).
enum class KRelease {
  /// Right after the Q·Kᵀ wait: ptxas then keeps the P·V wait ahead of
  /// every exponential.
  Early,
  /// After all of block j's exponentials (the arrive is predicated on both
  /// row halves' sums), so all of them precede the P·V wait.
  Late,
  /// After the first row half's exponentials only (predicated on its sum):
  /// about half of them run under P·V (FA3's middle ground).
  FirstHalf,
};

/// Spelling of enum values in specs, the MLIR attribute and docs. Index i of
/// `names` is the enumerator with value i.
template <typename E> struct EnumNames;
template <> struct EnumNames<DType> {
  static constexpr const char *names[] = {"bf16", "fp16"};
};
template <> struct EnumNames<KernelKind> {
  static constexpr const char *names[] = {"forward", "combine"};
};
template <> struct EnumNames<SchedulerKind> {
  static constexpr const char *names[] = {"single_tile", "static_persistent",
                                          "dynamic_persistent"};
};
template <> struct EnumNames<KeyOrder> {
  static constexpr const char *names[] = {"ascending", "descending"};
};
template <> struct EnumNames<TileOrder> {
  static constexpr const char *names[] = {"m_fastest", "longest_first"};
};
template <> struct EnumNames<EpilogueKind> {
  static constexpr const char *names[] = {"registers", "tma"};
};
template <> struct EnumNames<KRelease> {
  // false / true: the field was a bool before first_half came.
  static constexpr const char *names[] = {"false", "true", "first_half"};
};
template <> struct EnumNames<CacheHint> {
  static constexpr const char *names[] = {"normal", "evict_first",
                                          "evict_last"};
};

template <typename E> const char *enumName(E value) {
  return EnumNames<E>::names[static_cast<int>(value)];
}

/// "bf16" / "fp16".
FLASHCORE_API const char *dtypeName(DType dtype);
/// Size of one element in bytes (2 for both supported types).
FLASHCORE_API int dtypeBytes(DType dtype);

//===----------------------------------------------------------------------===//
// The field table
//===----------------------------------------------------------------------===//

/// Problem fields: X(member, "name", type, default text, doc line). A default
/// of "required" means the field must be written in every spec.
#define FLASHCORE_PROBLEM_FIELDS(X)                                            \
  X(kind, "kind", KernelKind, "forward",                                       \
    "kernel kind: `forward` (O and LSE) or `combine` (split-KV's merge)")      \
  X(dtype, "dtype", DType, "required",                                         \
    "element type of Q, K, V and O: `bf16` or `fp16`")                         \
  X(headDim, "head_dim", int, "required",                                      \
    "D, the length of each query/key/value vector")                            \
  X(causal, "causal", bool, "false",                                           \
    "causal mask, aligned bottom-right (FlashAttention's convention)")         \
  X(local, "local", bool, "false",                                             \
    "sliding window; the sizes are run-time arguments")                        \
  X(softcap, "softcap", bool, "false",                                         \
    "tanh soft-capping of the scores; the cap is a run-time argument")         \
  X(varlen, "varlen", bool, "false",                                           \
    "variable-length batches packed along the sequence (cu_seqlens)")          \
  X(cacheSeqlens, "cache_seqlens", bool, "false",                              \
    "per-sequence key lengths from an int32 device array (a KV cache)")        \
  X(splitKv, "split_kv", bool, "false",                                        \
    "the key range is split over CTAs; partial O and LSE go to a workspace")   \
  X(packGqa, "pack_gqa", bool, "false",                                        \
    "the query heads of one KV head share a tile (rows = head x query)")       \
  X(pagedKv, "paged_kv", bool, "false",                                        \
    "K and V are page pools addressed through an int32 page table")           \
  X(softmaxScale, "softmax_scale", std::optional<double>, "1/sqrt(head_dim)",  \
    "the scale `flashcore-gen run`/`bench` use (the runtime passes its own)")

/// Schedule fields: X(member, "name", type, default text, doc line). Every
/// schedule field has a default that depends on the problem (resolveSchedule).
#define FLASHCORE_SCHEDULE_FIELDS(X)                                           \
  X(blockM, "block_m", int, "64 * consumer_warpgroups",                        \
    "query rows per work tile (the Q TMA box height)")                         \
  X(blockN, "block_n", int, "128 / 96 / 80 by head_dim",                       \
    "key/value rows per pipeline stage")                                       \
  X(stages, "stages", int, "2", "depth of the K/V shared-memory ring")         \
  X(swizzle, "swizzle", int, "widest dividing head_dim * 2",                   \
    "shared-memory swizzle of every tile, in bytes")                           \
  X(consumerWarpgroups, "consumer_warpgroups", int, "block_m / 64 or 2",       \
    "warpgroups that compute, 64 query rows each")                             \
  X(producerWarps, "producer_warps", int, "1 (2 with paged_kv)",              \
    "warps of the producer warpgroup that issue TMA loads")                    \
  X(producerRegisters, "producer_registers", int, "24 (32 with >= 3)",         \
    "setmaxnreg.dec target of the producer warpgroup")                         \
  X(consumerRegisters, "consumer_registers", int, "min(240, share)",           \
    "setmaxnreg.inc target of each consumer warpgroup")                        \
  X(scheduler, "scheduler", SchedulerKind, "single_tile",                      \
    "tile scheduler: `single_tile`, `static_persistent` or "                  \
    "`dynamic_persistent` (an atomic tile counter)")                           \
  X(tileOrder, "tile_order", TileOrder, "m_fastest",                           \
    "work-tile order: `m_fastest` or `longest_first` (L2 lane groups)")        \
  X(epilogue, "epilogue", EpilogueKind, "registers",                           \
    "how O is stored: `registers` or `tma` (stmatrix + bulk tensor store)")    \
  X(overlap, "overlap", bool, "false",                                         \
    "issue the next Q·Kᵀ before waiting on the current P·V (FA3's "            \
    "intra-warpgroup overlap)")                                                \
  X(pingpong, "pingpong", bool, "false",                                       \
    "the consumer warpgroups (2 or 3) take turns issuing their GEMMs, round " \
    "robin (named barriers), one's softmax under another's GEMMs (FA3's "     \
    "scheduler barriers)")                                                     \
  X(lazyRescale, "lazy_rescale", bool, "false",                                \
    "keep a row's maximum until a block's exceeds it by more than 8 (log2); "  \
    "O is rescaled only when a warp has such a row")                           \
  X(deferRescale, "defer_rescale", bool, "true",                               \
    "with overlap: O is rescaled at the next block, under its Q·Kᵀ and just "  \
    "before its P·V (FA3's order above head_dim 128), not right after the "   \
    "P·V wait")                                                               \
  X(trimMaskedBlocks, "trim_masked_blocks", bool, "true",                      \
    "causal / local with several consumer warpgroups: a warpgroup stops "     \
    "computing after its own rows' last visible key block; the tile's later " \
    "blocks it only releases (and passes its ping-pong turns)")               \
  X(kAhead, "k_ahead", bool, "false",                                          \
    "the producer loads K of block j+1 before V of block j (FA3's order: "     \
    "V's loads one block behind K's), not K(j) then V(j)")                     \
  X(lateKRelease, "late_k_release", KRelease, "false",                         \
    "with overlap: K(j) is released after block j's exponentials (`true`) "    \
    "or its first row half's (`first_half`), just before the P·V wait, so "    \
    "that ptxas keeps them under P·V; `false`: after the Q·Kᵀ wait")           \
  X(edgeTurns, "edge_turns", bool, "true",                                     \
    "with pingpong and overlap: a tile's first Q·Kᵀ and last P·V each take "  \
    "a turn of the round robin; `false`: they are issued outside it (FA3), "  \
    "only the loop's Q·Kᵀ + P·V pairs take turns")                            \
  X(leaderWaits, "leader_waits", bool, "false",                                \
    "with pingpong and overlap: inside the round robin only warpgroup 0 "    \
    "waits for a K/V stage to fill; the others take their turn after it "    \
    "(FA3); no effect with trim_masked_blocks; `false`: every warpgroup "     \
    "waits")                                                                  \
  X(prefetchTensorMaps, "prefetch_tensormaps", bool, "false",                  \
    "one producer thread prefetches the CTA's TMA descriptors (Q, K, V and "  \
    "O with the TMA epilogue) at kernel entry, before the barrier set-up, "   \
    "as CUTLASS kernels do; `false`: the first load of each fetches it")      \
  X(prefetchQ, "prefetch_q", bool, "false",                                    \
    "persistent schedulers: the loading thread prefetches the tile's Q "      \
    "boxes into L2 (cp.async.bulk.prefetch.tensor) when it starts the tile, " \
    "so the Q load that waits for the previous tile's release hits L2 (FA3)") \
  X(lateTileClaim, "late_tile_claim", bool, "false",                           \
    "dynamic_persistent: the producer claims the CTA's next tile after "      \
    "issuing this tile's loads (FA3), not before, so that tiles go to CTAs "  \
    "in the order they are about to finish theirs")                           \
  X(producerDecodesTiles, "producer_decodes_tiles", bool, "false",            \
    "dynamic_persistent: the producer hands the consumers the claimed "       \
    "tile's query block, head and batch with its index, so that they "        \
    "start the tile without run-time divisions; `false`: every consumer "     \
    "thread divides the index itself")                                        \
  X(earlyFinish, "early_finish", bool, "false",                               \
    "overlap: the row sums' quad reduction, 1 / l (rcp.approx.ftz, FA3's "   \
    "fast-math reciprocal) and the LSE run before the tile's last P·V wait, " \
    "under that GEMM; `false`: after it, with a correctly rounded 1 / l")    \
  X(suspendWaits, "suspend_waits", bool, "false",                              \
    "mbarrier waits without a time hint: a waiting thread may sleep until "   \
    "the phase completes (CUTLASS's form); `false`: a 0 ns hint (it polls)")  \
  X(ctasPerSm, "ctas_per_sm", int, "1",                                        \
    "CTAs resident on one SM (.minnctapersm): each gets 1/n of the SM's "      \
    "registers and shared memory; one CTA's prologue hides under another's") \
  X(kvCacheHint, "kv_cache_hint", CacheHint, "normal",                        \
    "L2 eviction priority of the K/V loads: `normal`, `evict_first` or "      \
    "`evict_last`")                                                            \
  X(qCacheHint, "q_cache_hint", CacheHint, "normal",                          \
    "L2 eviction priority of the Q tile loads (FA3: `evict_first`, each "    \
    "query tile is read once): `normal`, `evict_first` or `evict_last`")     \
  X(kvBoxRows, "kv_box_rows", int, "0 (block_n)",                              \
    "rows per K/V TMA box; a block is block_n / kv_box_rows row chunks, "     \
    "each loaded across every column block before the next")                  \
  X(kvL2Promotion, "kv_l2_promotion", int, "128",                              \
    "L2 promotion of the K/V tensor maps in bytes: 0 (none), 64, 128 or 256") \
  X(clusterM, "cluster_m", int, "1",                                           \
    "CTAs per cluster along the query blocks: 2 pairs neighbouring query "    \
    "blocks of one head, each CTA loads half of every K/V block and TMA "     \
    "multicasts it to both")                                                   \
  X(keyOrder, "key_order", KeyOrder, "ascending",                              \
    "the order a tile visits its key blocks: `ascending` or `descending` "    \
    "(FA3's: the masked blocks at the diagonal first)")

//===----------------------------------------------------------------------===//
// The spec
//===----------------------------------------------------------------------===//

/// What is computed: softmax(scale * Q Kᵀ [+ mask]) V for one head.
struct ProblemSpec {
  KernelKind kind = KernelKind::Forward;
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
  /// KV cache: sequence b has cache_seqlens[b] keys (an int32 device array)
  /// out of the K/V tensors' seqlen_k rows.
  bool cacheSeqlens = false;
  /// Split-KV: a work tile's key blocks are cut into num_splits contiguous
  /// ranges (a run-time argument), one per CTA; each writes its normalised
  /// fp32 O and its LSE into a workspace that a `combine` kernel merges.
  bool splitKv = false;
  /// Pack-GQA: the heads_q / heads_kv query heads of a KV head (times
  /// seqlen_q rows each, at most block_m in all) are the rows of one tile, so
  /// K and V are read once per KV head.
  bool packGqa = false;
  /// Paged KV cache (vLLM / FA3 layout): K and V are pools of pages of
  /// page_size rows; key row r of sequence b is row r % page_size of page
  /// page_table[b][r / page_size]. Page size and table are run-time arguments.
  bool pagedKv = false;
  /// Default softmax scale baked into `flashcore-gen run`; the runtime always
  /// passes the caller's scale as a kernel argument. Unset: 1/sqrt(headDim).
  std::optional<double> softmaxScale;

  FLASHCORE_API double effectiveSoftmaxScale() const;
};

/// How it is mapped onto the machine. Every field has a default that depends
/// only on the problem (see `defaultSchedule`).
struct ScheduleSpec {
  /// Query rows per work tile; must be 64 * consumerWarpgroups.
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
  SchedulerKind scheduler = SchedulerKind::SingleTile;
  TileOrder tileOrder = TileOrder::MFastest;
  EpilogueKind epilogue = EpilogueKind::Registers;
  /// The consumer issues Q·Kᵀ of block j+1 before it waits on P·V of block j.
  bool overlap = false;
  /// Consumer warpgroups 0 and 1 issue their GEMMs in turn (Sync.h).
  bool pingpong = false;
  /// The running maximum moves only by more than kLazyRescaleLog2 (Softmax.h).
  bool lazyRescale = false;
  /// Overlapped loop: block j's O rescale runs after Q·Kᵀ(j+1) is issued,
  /// before P·V(j) (FA3's order above head_dim 128), leaving only P's
  /// conversion behind the P·V wait.
  bool deferRescale = true;
  /// Causal / local, several consumer warpgroups: each warpgroup's GEMMs
  /// end at its own 64 rows' last visible key block (Mask.h endForRows).
  bool trimMaskedBlocks = true;
  /// One loading warp issues K(j+1) before V(j): the next block's scores
  /// wait on no V slot (FA3's order with intra-warpgroup overlap).
  bool kAhead = false;
  /// Overlapped loop: K(j)'s release follows block j's exponentials, all or
  /// the first row half's (its predicate reads the row sums), instead of
  /// the Q·Kᵀ wait.
  KRelease lateKRelease = KRelease::Early;
  /// With pingpong and overlap: the tile's first Q·Kᵀ and last P·V take a
  /// ping-pong turn each (true) or are issued outside the round robin.
  bool edgeTurns = true;
  /// With pingpong and overlap: only warpgroup 0 waits on the K/V full
  /// barriers before its turns; the others follow it in the round robin.
  bool leaderWaits = false;
  /// prefetch.tensormap of the CTA's descriptors at kernel entry.
  bool prefetchTensorMaps = false;
  /// Persistent schedulers: the tile's Q is prefetched into L2 when the
  /// producer starts the tile, ahead of the Q load that waits for Q's release.
  bool prefetchQ = false;
  /// dynamic_persistent: the next tile is claimed after this tile's loads.
  bool lateTileClaim = false;
  /// dynamic_persistent: the tile slot carries the decoded coordinates too.
  bool producerDecodesTiles = false;
  /// overlap: the softmax's finish before the last P·V wait.
  bool earlyFinish = false;
  /// mbarrier try_wait without a suspend-time hint (the hardware may park
  /// the waiting thread until the phase completes) instead of a 0 ns hint.
  bool suspendWaits = false;
  /// CTAs per SM the kernel is built for (.minnctapersm, the register cap,
  /// the shared-memory budget and a persistent grid's size).
  int ctasPerSm = 1;
  /// L2 policy of the K/V tile loads.
  CacheHint kvCacheHint = CacheHint::Normal;
  /// L2 eviction priority of the Q tile loads.
  CacheHint qCacheHint = CacheHint::Normal;
  /// Rows per K/V TMA box (0: block_n, one box per column block).
  int kvBoxRows = 0;
  /// The K/V tensor maps' L2 promotion (CUtensorMapL2promotion) in bytes.
  int kvL2Promotion = 128;
  /// CTAs of a thread-block cluster (1 or 2): the cluster's CTAs compute
  /// neighbouring query blocks of one head and share each K/V block, every
  /// CTA loading 1 / cluster_m of its rows with TMA multicast.
  int clusterM = 1;
  /// The order a work tile visits its key blocks, on the producer and the
  /// consumers alike.
  KeyOrder keyOrder = KeyOrder::Ascending;
};

struct AttentionSpec {
  ProblemSpec problem;
  ScheduleSpec schedule;
};

/// Whether a CTA computes more than one work tile (and so reloads Q through
/// Q's empty barrier and carries its pipeline state across tiles).
inline bool loopsOverTiles(const ScheduleSpec &s) {
  return s.scheduler != SchedulerKind::SingleTile;
}

/// Whether trim_masked_blocks applies: causal or local, several consumer
/// warpgroups, no pack_gqa (whose rows are (head, query row) pairs: a
/// warpgroup's 64 rows are not query rows [64 wg, 64 wg + 64) of the block).
inline bool trimsMaskedBlocks(const AttentionSpec &spec) {
  const ScheduleSpec &s = spec.schedule;
  const ProblemSpec &p = spec.problem;
  return s.trimMaskedBlocks && s.consumerWarpgroups > 1 &&
         (p.causal || p.local) && !p.packGqa;
}

/// The value type an override slot holds for a field of type T
/// (std::optional<double> fields hold a double).
template <typename T> struct FieldValue {
  using type = T;
};
template <typename T> struct FieldValue<std::optional<T>> {
  using type = T;
};

/// Fields a spec (or a dispatch entry) sets explicitly; the rest take
/// defaults.
struct ProblemOverrides {
#define FLASHCORE_OVERRIDE_MEMBER(member, name, T, def, doc)                   \
  std::optional<FieldValue<T>::type> member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_OVERRIDE_MEMBER)
};
struct ScheduleOverrides {
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_OVERRIDE_MEMBER)
#undef FLASHCORE_OVERRIDE_MEMBER
};

/// Calls f(name, field) for every problem field of `p` (a ProblemSpec or a
/// ProblemOverrides, const or not), in table order.
#define FLASHCORE_VISIT(member, name, T, def, doc) f(name, fields.member);
template <typename P, typename F> void forEachProblemField(P &fields, F &&f) {
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_VISIT)
}
/// Likewise for the schedule fields of a ScheduleSpec or ScheduleOverrides.
template <typename S, typename F> void forEachScheduleField(S &fields, F &&f) {
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_VISIT)
}
#undef FLASHCORE_VISIT

/// One row of the field table, for documentation and tools.
struct FieldInfo {
  const char *section; // "problem" or "schedule"
  const char *name;
  const char *type;    // "integer", "true | false", "bf16 | fp16", ...
  const char *defaultText;
  const char *doc;
};
/// Every field, problem first, in table order.
FLASHCORE_API const FieldInfo *specFields(size_t &count);

//===----------------------------------------------------------------------===//
// Field values as text (YAML scalars, attribute values)
//===----------------------------------------------------------------------===//

/// Parses the text of one field value; on failure returns false and sets
/// `rule` to what the value must be ("an integer", "true or false", "one of
/// single_tile, static_persistent").
FLASHCORE_API bool parseFieldValue(std::string_view text, int &out,
                                   std::string &rule);
FLASHCORE_API bool parseFieldValue(std::string_view text, bool &out,
                                   std::string &rule);
FLASHCORE_API bool parseFieldValue(std::string_view text, double &out,
                                   std::string &rule);
template <typename E>
bool parseFieldValue(std::string_view text, E &out, std::string &rule) {
  constexpr size_t n = sizeof(EnumNames<E>::names) / sizeof(const char *);
  for (size_t i = 0; i < n; ++i)
    if (text == EnumNames<E>::names[i]) {
      out = static_cast<E>(i);
      return true;
    }
  // "a", "a or b", "a, b or c".
  rule.clear();
  for (size_t i = 0; i < n; ++i)
    rule += std::string(i == 0 ? "" : i + 1 == n ? " or " : ", ") +
            EnumNames<E>::names[i];
  return false;
}

/// Canonical text of a field value (integers in decimal, doubles with 17
/// significant digits, booleans and enums by name).
FLASHCORE_API std::string printFieldValue(int v);
FLASHCORE_API std::string printFieldValue(bool v);
FLASHCORE_API std::string printFieldValue(double v);
template <typename E> std::string printFieldValue(E v) {
  return enumName(v);
}

//===----------------------------------------------------------------------===//
// Defaults, validation, text
//===----------------------------------------------------------------------===//

/// Fills every field `given` leaves out with a default that depends on the
/// problem and on the fields that are given (block_m and consumer_warpgroups
/// imply each other; register targets follow the warpgroup count).
FLASHCORE_API ScheduleSpec resolveSchedule(const ProblemSpec &problem,
                                           const ScheduleOverrides &given);

/// The schedule of a spec that sets no schedule field.
inline ScheduleSpec defaultSchedule(const ProblemSpec &problem) {
  return resolveSchedule(problem, ScheduleOverrides{});
}

/// Applies the fields `given` sets to `schedule` (nothing else changes).
FLASHCORE_API void applyOverrides(ScheduleSpec &schedule,
                                  const ScheduleOverrides &given);

/// `base` with the fields `forced` sets on top, like resolveSchedule of the
/// two together: the fields whose defaults follow from others are derived
/// again when `forced` changes what they follow from without setting them
/// (block_m and consumer_warpgroups from each other; the setmaxnreg split
/// from the warpgroup count and ctas_per_sm). FLASHCORE_SCHEDULE=
/// consumer_warpgroups=1 on a 128-row schedule gives 64-row tiles. Fields
/// that apply only under another (late_tile_claim under dynamic_persistent,
/// early_finish under overlap, pingpong under two or three warpgroups, ...)
/// return to their defaults when `forced` turns that one off and does not
/// name them (only then: one whose condition fails in `base` already is
/// kept, for validation to report).
FLASHCORE_API ScheduleSpec forceSchedule(const ProblemSpec &problem,
                                         const ScheduleSpec &base,
                                         const ScheduleOverrides &forced);

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

/// A spec that passed validateSpec. Only check() (and the verified MLIR
/// attribute, see dialect/) make one, so a function taking a ValidatedSpec
/// need not validate again.
class ValidatedSpec {
public:
  /// The validated spec, or nullopt with the first violation in `diag`.
  FLASHCORE_API static std::optional<ValidatedSpec>
  check(const AttentionSpec &spec, SpecDiagnostic *diag = nullptr);
  /// For a spec whose validity is established elsewhere (an MLIR attribute
  /// that passed its verifier, which runs validateSpec).
  static ValidatedSpec assumeValid(const AttentionSpec &spec) {
    return ValidatedSpec(spec);
  }

  const AttentionSpec &spec() const { return value; }
  const ProblemSpec &problem() const { return value.problem; }
  const ScheduleSpec &schedule() const { return value.schedule; }
  operator const AttentionSpec &() const { return value; }

private:
  explicit ValidatedSpec(const AttentionSpec &spec) : value(spec) {}
  AttentionSpec value;
};

/// Parses YAML text into a spec, applies defaults, and validates it. On failure
/// returns false and fills `diag` with a located error (`bufferName` is used as
/// the file name in the message). `extra` (optional) holds schedule fields
/// that win over the file's (`flashcore-gen --schedule`): they go on top of
/// the file's resolved schedule through forceSchedule, as FLASHCORE_SCHEDULE
/// goes on top of a dispatch-table entry, so a field that follows another
/// (block_m and the register targets follow consumer_warpgroups,
/// late_tile_claim applies only under dynamic_persistent) follows the
/// overridden value even where the file sets it.
FLASHCORE_API bool parseSpec(std::string_view text, std::string_view bufferName,
                             AttentionSpec &spec, SpecDiagnostic &diag,
                             const ScheduleOverrides *extra = nullptr);

/// Reads `path` and calls parseSpec.
FLASHCORE_API bool loadSpecFile(const std::string &path, AttentionSpec &spec,
                                SpecDiagnostic &diag,
                                const ScheduleOverrides *extra = nullptr);

/// Parses the text of a schedule override list, "field=value,field=value"
/// (as FLASHCORE_SCHEDULE and `flashcore-gen --schedule` take it); false with
/// a message naming the field on a bad name or value.
FLASHCORE_API bool parseScheduleOverrides(std::string_view text,
                                          ScheduleOverrides &out,
                                          std::string &error);

/// Canonical YAML: every field explicit, table order, fixed number format.
/// parseSpec(printSpec(s)) == s. Used for cache keys and `emit-spec`.
FLASHCORE_API std::string printSpec(const AttentionSpec &spec);

FLASHCORE_API bool operator==(const AttentionSpec &a, const AttentionSpec &b);
/// Every problem field but softmax_scale is equal (what kernel a call needs).
FLASHCORE_API bool sameProblem(const ProblemSpec &a, const ProblemSpec &b);
inline bool operator!=(const AttentionSpec &a, const AttentionSpec &b) {
  return !(a == b);
}
/// A hash of every field (for the MLIR attribute's storage uniquing).
FLASHCORE_API size_t hashSpec(const AttentionSpec &spec);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_SPEC_H
