//===- Spec.cpp - Spec defaults, validation and canonical printing --------===//
//
// The rules enforced here are listed, with their reasons, in docs/SPEC.md.
// Every message has the form "<field> must be <rule>, got: <value>".
//
//===----------------------------------------------------------------------===//

#include "compiler/Spec.h"
#include "compiler/KernelABI.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <type_traits>
#include <vector>

namespace flashcore {

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return "bf16";
  case DType::FP16:
    return "fp16";
  }
  return "?";
}

int dtypeBytes(DType) { return 2; }

//===----------------------------------------------------------------------===//
// The field table and field values
//===----------------------------------------------------------------------===//

namespace {
template <typename T> struct TypeText;
template <> struct TypeText<int> {
  static std::string get() { return "integer"; }
};
template <> struct TypeText<bool> {
  static std::string get() { return "`true` \\| `false`"; }
};
template <> struct TypeText<std::optional<double>> {
  static std::string get() { return "number"; }
};
template <typename E> struct TypeText {
  static std::string get() {
    std::string s;
    for (const char *n : EnumNames<E>::names)
      s += (s.empty() ? "`" : " \\| `") + std::string(n) + "`";
    return s;
  }
};

std::vector<FieldInfo> buildFieldTable() {
  static std::vector<std::string> typeTexts; // owns the type strings
  std::vector<FieldInfo> rows;
  typeTexts.reserve(64);
#define FLASHCORE_FIELD_INFO(section, member, name, T, def, doc)            \
  typeTexts.push_back(TypeText<T>::get());                                  \
  rows.push_back({section, name, typeTexts.back().c_str(), def, doc});
#define FLASHCORE_PROBLEM_INFO(member, name, T, def, doc)                   \
  FLASHCORE_FIELD_INFO("problem", member, name, T, def, doc)
#define FLASHCORE_SCHEDULE_INFO(member, name, T, def, doc)                  \
  FLASHCORE_FIELD_INFO("schedule", member, name, T, def, doc)
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_PROBLEM_INFO)
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_SCHEDULE_INFO)
#undef FLASHCORE_SCHEDULE_INFO
#undef FLASHCORE_PROBLEM_INFO
#undef FLASHCORE_FIELD_INFO
  return rows;
}
} // namespace

const FieldInfo *specFields(size_t &count) {
  static const std::vector<FieldInfo> table = buildFieldTable();
  count = table.size();
  return table.data();
}

bool parseFieldValue(std::string_view text, int &out, std::string &rule) {
  rule = "an integer";
  if (text.empty())
    return false;
  size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (i == text.size())
    return false;
  long long v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9')
      return false;
    v = v * 10 + (text[i] - '0');
    if (v > (1LL << 30)) {
      rule = "an integer in [-2^30, 2^30]";
      return false;
    }
  }
  out = static_cast<int>(text[0] == '-' ? -v : v);
  return true;
}

bool parseFieldValue(std::string_view text, bool &out, std::string &rule) {
  rule = "true or false";
  if (text == "true" || text == "false") {
    out = text == "true";
    return true;
  }
  return false;
}

bool parseFieldValue(std::string_view text, double &out, std::string &rule) {
  rule = "a number";
  std::string copy(text);
  if (copy.empty())
    return false;
  char *end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size())
    return false;
  out = v;
  return true;
}

std::string printFieldValue(int v) { return std::to_string(v); }
std::string printFieldValue(bool v) { return v ? "true" : "false"; }
std::string printFieldValue(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double ProblemSpec::effectiveSoftmaxScale() const {
  if (softmaxScale)
    return *softmaxScale;
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

std::string SpecDiagnostic::str() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) {
      out += ":" + std::to_string(line);
      if (column > 0)
        out += ":" + std::to_string(column);
    }
    out += ": ";
  }
  out += "error: " + message;
  return out;
}

//===----------------------------------------------------------------------===//
// Fields that apply only under others
//===----------------------------------------------------------------------===//

namespace {
/// A schedule field that may leave its default only where `allowed` holds,
/// one row per condition. validateSpec reports "<field> must be <rule>, got:
/// <value>" where it does not hold; forceSchedule returns the field to its
/// default there unless the override names it. Rows run in order, each on
/// the schedule the rows above left (pingpong first: edge_turns and
/// leader_waits follow it).
struct ConditionalField {
  const char *field;
  bool (*named)(const ScheduleOverrides &);
  bool (*atDefault)(const ScheduleSpec &);
  void (*reset)(ScheduleSpec &);
  std::string (*got)(const ScheduleSpec &);
  bool (*allowed)(const ProblemSpec &, const ScheduleSpec &);
  std::string (*rule)(const ScheduleSpec &);
};

#define FC_CONDITIONAL(member, name, ALLOWED, RULE)                            \
  ConditionalField {                                                           \
    "schedule." name,                                                          \
        [](const ScheduleOverrides &o) { return o.member.has_value(); },      \
        [](const ScheduleSpec &s) { return s.member == ScheduleSpec().member; }, \
        [](ScheduleSpec &s) { s.member = ScheduleSpec().member; },            \
        [](const ScheduleSpec &s) { return printFieldValue(s.member); },      \
        [](const ProblemSpec &p, const ScheduleSpec &s) {                      \
          (void)p;                                                             \
          return bool(ALLOWED);                                                \
        },                                                                     \
        [](const ScheduleSpec &s) -> std::string {                             \
          (void)s;                                                             \
          return RULE;                                                         \
        }                                                                      \
  }

const ConditionalField kConditionalFields[] = {
    // Ping-pong takes turns round robin over two or three consumer
    // warpgroups (FA3's scheduler barriers); every warpgroup of a tile runs
    // the same key blocks, so their turns stay paired.
    FC_CONDITIONAL(pingpong, "pingpong",
                   s.consumerWarpgroups == 2 || s.consumerWarpgroups == 3,
                   "false unless consumer_warpgroups is 2 or 3 (warpgroups "
                   "take turns; this spec has " +
                       std::to_string(s.consumerWarpgroups) + ")"),
    // Paged first: a paged spec's producer_warps is 2 by default, which the
    // caller did not write.
    FC_CONDITIONAL(kAhead, "k_ahead", !p.pagedKv,
                   "false with paged_kv (the paged loader pairs K and V of a "
                   "block: they share its page-table reads)"),
    FC_CONDITIONAL(kAhead, "k_ahead", s.producerWarps == 1,
                   "false with producer_warps 2 (warp 1 loads V on its own)"),
    FC_CONDITIONAL(lateKRelease, "late_k_release", s.overlap,
                   "false without overlap (only the overlapped loop has a P·V "
                   "in flight during the softmax)"),
    FC_CONDITIONAL(leaderWaits, "leader_waits", s.pingpong && s.overlap,
                   "false unless pingpong and overlap are (the other "
                   "warpgroups rely on the round robin's order)"),
    FC_CONDITIONAL(prefetchQ, "prefetch_q", loopsOverTiles(s),
                   "false unless scheduler is static_persistent or "
                   "dynamic_persistent (a single-tile CTA loads Q at once)"),
    FC_CONDITIONAL(lateTileClaim, "late_tile_claim",
                   s.scheduler == SchedulerKind::DynamicPersistent,
                   "false unless scheduler is dynamic_persistent (only it "
                   "claims tiles)"),
    FC_CONDITIONAL(producerDecodesTiles, "producer_decodes_tiles",
                   s.scheduler == SchedulerKind::DynamicPersistent,
                   "false unless scheduler is dynamic_persistent (only its "
                   "producer hands tiles over)"),
    FC_CONDITIONAL(earlyFinish, "early_finish", s.overlap,
                   "false unless overlap is true (only the overlapped loop "
                   "ends with a P·V in flight)"),
    FC_CONDITIONAL(edgeTurns, "edge_turns", s.pingpong && s.overlap,
                   "true unless pingpong and overlap are (only the overlapped "
                   "ping-pong loop has edge GEMMs outside its turns)"),
};
#undef FC_CONDITIONAL
} // namespace

//===----------------------------------------------------------------------===//
// Defaults
//===----------------------------------------------------------------------===//

/// Key/value rows per stage by head dimension: the accumulators of one
/// consumer thread (head_dim/2 for O, block_n/2 for S) must stay well inside
/// 240 registers, and Q + 2 stages of K and V inside 227 KB.
static int defaultBlockN(int headDim) {
  if (headDim <= 128)
    return 128;
  if (headDim <= 192)
    return 96;
  return 80;
}

/// The widest swizzle that divides a row of head_dim elements.
static int defaultSwizzle(const ProblemSpec &p) {
  int rowBytes = p.headDim * dtypeBytes(p.dtype);
  for (int swizzle : {128, 64, 32})
    if (rowBytes % swizzle == 0)
      return swizzle;
  return 128;
}

ScheduleSpec resolveSchedule(const ProblemSpec &problem,
                             const ScheduleOverrides &given) {
  ScheduleSpec s;
  // block_m and consumer_warpgroups imply each other (64 rows per warpgroup).
  if (given.consumerWarpgroups)
    s.consumerWarpgroups = *given.consumerWarpgroups;
  else if (given.blockM && *given.blockM % kWgmmaM == 0 &&
           *given.blockM >= kWgmmaM && *given.blockM <= 4 * kWgmmaM)
    s.consumerWarpgroups = *given.blockM / kWgmmaM;
  else
    s.consumerWarpgroups = 2;
  s.blockM = given.blockM.value_or(kWgmmaM * s.consumerWarpgroups);
  s.blockN = given.blockN.value_or(defaultBlockN(problem.headDim));
  s.stages = given.stages.value_or(2);
  s.swizzle = given.swizzle.value_or(defaultSwizzle(problem));
  // A paged block's loads are one TMA per page chunk, each lane its own
  // page: ptxas issues them one lane at a time, so K from warp 0 and V from
  // warp 1 halve that issue time (session 11, H100, page 16: paged /
  // contiguous 0.960 / 0.989 / 0.985 -> 0.974 / 0.999 / 0.992).
  s.producerWarps = given.producerWarps.value_or(problem.pagedKv ? 2 : 1);

  // FlashAttention-3's split: 24/240 with two consumer warpgroups, 32/160
  // with three. In general the producer keeps the minimum and the consumers
  // share the rest of the CTA's register pool (what it starts with), capped
  // at 240.
  int c = s.consumerWarpgroups > 0 ? s.consumerWarpgroups : 1;
  // The paged producer's warp-wide loop needs 32 (24 spilled 28 bytes with
  // the persistent scheduler); the consumers then get 232.
  s.producerRegisters = given.producerRegisters.value_or(
      c >= 3 || problem.pagedKv ? 32 : 24);
  // Two resident CTAs halve the register pool each starts with.
  int ctas = std::max(1, given.ctasPerSm.value_or(1));
  int entryCap = entryRegisterCap(kThreadsPerWarpgroup * (1 + c) * ctas);
  int share = ((1 + c) * entryCap - s.producerRegisters) / c;
  int consumer = std::min(240, share / 8 * 8);
  // setmaxnreg.inc may not lower the count below the entry cap.
  if (consumer < entryCap)
    consumer = entryCap;
  s.consumerRegisters = given.consumerRegisters.value_or(consumer);
  // Fields whose default does not depend on the problem keep the struct's
  // initializer unless given (a new such field needs no line here).
  applyOverrides(s, given);
  return s;
}

ScheduleSpec forceSchedule(const ProblemSpec &problem, const ScheduleSpec &base,
                           const ScheduleOverrides &forced) {
  ScheduleOverrides all;
#define FLASHCORE_TAKE(member, name, T, def, doc) all.member = base.member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_TAKE)
#undef FLASHCORE_TAKE
  const bool rows = forced.blockM || forced.consumerWarpgroups;
  if (rows) {
    all.blockM.reset();
    all.consumerWarpgroups.reset();
  }
  if (rows || forced.ctasPerSm) {
    all.producerRegisters.reset();
    all.consumerRegisters.reset();
  }
#define FLASHCORE_FORCE(member, name, T, def, doc)                             \
  if (forced.member)                                                           \
    all.member = forced.member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_FORCE)
#undef FLASHCORE_FORCE
  ScheduleSpec s = resolveSchedule(problem, all);
  // A field that applies only under another one goes back to its default
  // when `forced` turns that one off without naming the field itself
  // (FLASHCORE_SCHEDULE=scheduler=static_persistent on a table entry with
  // late_tile_claim gives a valid static schedule). A field `forced` names
  // is kept, and validation reports it; so is one whose condition already
  // failed in `base` (an invalid spec file stays invalid under an unrelated
  // --schedule).
  for (const ConditionalField &row : kConditionalFields)
    if (!row.named(forced) && row.allowed(problem, base) &&
        !row.allowed(problem, s))
      row.reset(s);
  return s;
}

void applyOverrides(ScheduleSpec &schedule, const ScheduleOverrides &given) {
#define FLASHCORE_APPLY(member, name, T, def, doc)                          \
  if (given.member)                                                            \
    schedule.member = *given.member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_APPLY)
#undef FLASHCORE_APPLY
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {
class Violation {
public:
  Violation(std::optional<SpecDiagnostic> &out, const char *field)
      : out(out), field(field) {}
  /// Records "<field short name> must be <rule>, got: <got>".
  void operator()(const std::string &rule, const std::string &got) {
    SpecDiagnostic d;
    d.field = field;
    std::string shortName = field.substr(field.find('.') + 1);
    d.message = shortName + " must be " + rule + ", got: " + got;
    out = d;
  }

private:
  std::optional<SpecDiagnostic> &out;
  std::string field;
};

std::string str(long long v) { return std::to_string(v); }
} // namespace

std::optional<SpecDiagnostic> validateSpec(const AttentionSpec &spec) {
  const ProblemSpec &p = spec.problem;
  const ScheduleSpec &s = spec.schedule;
  std::optional<SpecDiagnostic> result;
#define FC_FAIL(FIELD, RULE, GOT)                                              \
  do {                                                                         \
    Violation(result, FIELD)(RULE, GOT);                                       \
    return result;                                                             \
  } while (false)

  // Problem. head_dim is the K of S = Q Kᵀ (steps of 16) and the N of
  // O = P V (a multiple of 8, at most 256).
  if (p.headDim < 16 || p.headDim > 256 || p.headDim % 16 != 0)
    FC_FAIL("problem.head_dim", "a multiple of 16 in [16, 256]",
            str(p.headDim));
  if (p.local && p.causal)
    FC_FAIL("problem.local",
            "false when causal is true (causal is the window (-1, 0))",
            "true");
  if (p.kind == KernelKind::Combine) {
    // A combine kernel merges rows of partial results: only dtype and
    // head_dim shape it.
    const std::pair<const char *, bool> flags[] = {
        {"problem.causal", p.causal},         {"problem.local", p.local},
        {"problem.softcap", p.softcap},       {"problem.varlen", p.varlen},
        {"problem.cache_seqlens", p.cacheSeqlens},
        {"problem.split_kv", p.splitKv},      {"problem.pack_gqa", p.packGqa},
        {"problem.paged_kv", p.pagedKv}};
    for (const auto &[field, on] : flags)
      if (on)
        FC_FAIL(field, "false for a combine kernel (it merges the partial "
                       "results of any forward)",
                "true");
    // Its schedule is fixed (a warp per row, no shared memory): the schedule
    // fields are not used, so their rules do not apply.
    return std::nullopt;
  }
  if (p.cacheSeqlens && p.varlen)
    FC_FAIL("problem.cache_seqlens",
            "false when varlen is true (varlen sequences carry their own "
            "key lengths in cu_seqlens_k)",
            "true");
  if (p.pagedKv && p.varlen)
    FC_FAIL("problem.paged_kv",
            "false when varlen is true (a paged cache is addressed per "
            "sequence through its page table)",
            "true");
  if (p.softmaxScale &&
      (!std::isfinite(*p.softmaxScale) || *p.softmaxScale <= 0)) {
    std::ostringstream got;
    got << *p.softmaxScale;
    FC_FAIL("problem.softmax_scale", "a finite number > 0", got.str());
  }

  // Schedule: tile shapes (wgmma M = 64 per warpgroup; TMA boxes <= 256 rows).
  if (s.consumerWarpgroups < 1 || s.consumerWarpgroups > 4)
    FC_FAIL("schedule.consumer_warpgroups", "in [1, 4]",
            str(s.consumerWarpgroups));
  if (s.ctasPerSm < 1 || s.ctasPerSm > 2)
    FC_FAIL("schedule.ctas_per_sm", "1 or 2", str(s.ctasPerSm));
  if (s.blockM < kWgmmaM || s.blockM > kMaxTmaBoxDim || s.blockM % kWgmmaM)
    FC_FAIL("schedule.block_m",
            "a multiple of 64 in [64, 256] (64 rows per consumer warpgroup, "
            "TMA box rows <= 256)",
            str(s.blockM));
  if (s.blockM != kWgmmaM * s.consumerWarpgroups)
    FC_FAIL("schedule.block_m",
            "64 * consumer_warpgroups = " +
                str(kWgmmaM * s.consumerWarpgroups),
            str(s.blockM));
  // block_n is the N of S = Q Kᵀ (multiple of 8, <= 256), the K of O = P V
  // (steps of 16) and the row count of the K/V TMA boxes (<= 256).
  if (s.blockN < 16 || s.blockN > kMaxTmaBoxDim || s.blockN % 16 != 0)
    FC_FAIL("schedule.block_n", "a multiple of 16 in [16, 256]",
            str(s.blockN));
  // K/V row chunks start on a swizzle atom (8 rows) inside the block; paged
  // kernels chunk by page (pageChunkRows).
  if (s.kvBoxRows != 0 &&
      (s.kvBoxRows < 8 || s.kvBoxRows % 8 || s.blockN % s.kvBoxRows))
    FC_FAIL("schedule.kv_box_rows",
            "0 (block_n) or a multiple of 8 dividing block_n = " +
                str(s.blockN),
            str(s.kvBoxRows));
  if (s.kvBoxRows != 0 && p.pagedKv)
    FC_FAIL("schedule.kv_box_rows",
            "0 with paged_kv (a paged block loads in page chunks)",
            str(s.kvBoxRows));
  if (s.clusterM != 1 && s.clusterM != 2)
    FC_FAIL("schedule.cluster_m", "1 or 2", str(s.clusterM));
  if (s.clusterM == 2) {
    // A cluster's two CTAs share every K/V block: they must visit the same
    // key blocks of the same (head, batch), from neighbouring blockIdx.x.
    const char *clash = p.causal          ? "causal"
                        : p.local         ? "local"
                        : p.varlen        ? "varlen"
                        : p.cacheSeqlens  ? "cache_seqlens"
                        : p.splitKv       ? "split_kv"
                        : p.packGqa       ? "pack_gqa"
                        : p.pagedKv       ? "paged_kv"
                                          : nullptr;
    if (clash)
      FC_FAIL("schedule.cluster_m",
              std::string("1 with ") + clash +
                  " (the two CTAs of a cluster share every K/V block, so "
                  "they must visit the same key blocks)",
              "2");
    if (s.scheduler != SchedulerKind::SingleTile)
      FC_FAIL("schedule.cluster_m",
              "1 unless scheduler is single_tile (a cluster's CTAs take "
              "neighbouring query blocks from blockIdx.x)",
              "2");
    if (s.tileOrder != TileOrder::MFastest)
      FC_FAIL("schedule.cluster_m",
              "1 unless tile_order is m_fastest (a cluster's CTAs take "
              "neighbouring query blocks of one head)",
              "2");
    if (s.kvBoxRows != 0 && (s.blockN / 2) % s.kvBoxRows != 0)
      FC_FAIL("schedule.kv_box_rows",
              "0 or a divisor of block_n / 2 = " + str(s.blockN / 2) +
                  " with cluster_m 2 (each CTA loads half of a K/V block)",
              str(s.kvBoxRows));
  }
  if (s.kvL2Promotion != 0 && s.kvL2Promotion != 64 &&
      s.kvL2Promotion != 128 && s.kvL2Promotion != 256)
    FC_FAIL("schedule.kv_l2_promotion", "0, 64, 128 or 256 (bytes)",
            str(s.kvL2Promotion));
  if (s.stages < 1 || s.stages > 8)
    FC_FAIL("schedule.stages", "in [1, 8]", str(s.stages));
  if (s.swizzle != 32 && s.swizzle != 64 && s.swizzle != 128)
    FC_FAIL("schedule.swizzle", "32, 64 or 128 (bytes)", str(s.swizzle));
  int rowBytes = p.headDim * dtypeBytes(p.dtype);
  if (rowBytes % s.swizzle != 0)
    FC_FAIL("schedule.swizzle",
            "a divisor of the row width head_dim * " +
                str(dtypeBytes(p.dtype)) + " = " + str(rowBytes) + " bytes",
            str(s.swizzle));
  if (s.producerWarps < 1 || s.producerWarps > 2)
    FC_FAIL("schedule.producer_warps", "1 or 2", str(s.producerWarps));
  // The fields that apply only under others (kConditionalFields).
  for (const ConditionalField &row : kConditionalFields)
    if (!row.atDefault(s) && !row.allowed(p, s))
      FC_FAIL(row.field, row.rule(s), row.got(s));

  if (s.epilogue == EpilogueKind::Tma && (p.splitKv || p.packGqa))
    FC_FAIL("schedule.epilogue",
            std::string("registers when ") +
                (p.splitKv ? "split_kv" : "pack_gqa") +
                " is true (" +
                (p.splitKv ? "partial results are fp32 rows of a workspace"
                           : "a packed tile's rows belong to several heads") +
                ")",
            "tma");

  // Registers: setmaxnreg takes multiples of 8 in [24, 256].
  if (s.producerRegisters < 24 || s.producerRegisters > 256 ||
      s.producerRegisters % 8)
    FC_FAIL("schedule.producer_registers", "a multiple of 8 in [24, 256]",
            str(s.producerRegisters));
  if (s.consumerRegisters < 24 || s.consumerRegisters > 256 ||
      s.consumerRegisters % 8)
    FC_FAIL("schedule.consumer_registers", "a multiple of 8 in [24, 256]",
            str(s.consumerRegisters));
  KernelGeometry g = computeGeometry(spec);
  if (s.producerRegisters > g.entryRegisterCap)
    FC_FAIL("schedule.producer_registers",
            "<= the entry register cap " + str(g.entryRegisterCap) +
                " (setmaxnreg.dec cannot raise it; " +
                str(g.threadsPerCta) + " threads per CTA)",
            str(s.producerRegisters));
  if (s.consumerRegisters < g.entryRegisterCap)
    FC_FAIL("schedule.consumer_registers",
            ">= the entry register cap " + str(g.entryRegisterCap) +
                " (setmaxnreg.inc cannot lower it; " +
                str(g.threadsPerCta) + " threads per CTA)",
            str(s.consumerRegisters));
  // setmaxnreg.inc waits until the registers it asks for are free in the
  // CTA's pool: more than the pool holds and the consumers never start.
  long long pool = (long long)(1 + s.consumerWarpgroups) * g.entryRegisterCap;
  long long asked =
      s.producerRegisters + (long long)s.consumerWarpgroups * s.consumerRegisters;
  if (asked > pool)
    FC_FAIL("schedule.consumer_registers",
            "small enough that producer_registers + consumer_warpgroups * "
            "consumer_registers <= (1 + consumer_warpgroups) * " +
                str(g.entryRegisterCap) + " = " + str(pool) +
                " registers, the CTA's pool (setmaxnreg.inc would wait "
                "forever; this spec asks for " + str(asked) + ")",
            str(s.consumerRegisters));
  // A consumer thread holds the O accumulator (head_dim / 2 fp32), the S
  // accumulator (block_n / 2 fp32) and ~32 registers of addresses, row
  // statistics and loop state. More than consumer_registers would spill.
  int needed = p.headDim / 2 + s.blockN / 2 + 32;
  if (needed > s.consumerRegisters)
    FC_FAIL("schedule.block_n",
            "small enough that head_dim/2 + block_n/2 + 32 <= "
            "consumer_registers = " + str(s.consumerRegisters) +
                " (this spec needs " + str(needed) + ")",
            str(s.blockN));
  // With overlap the S accumulator of the next block (block_n / 2) is live
  // while P of the current one (block_n / 4 packed registers) feeds P V. A
  // persistent tile loop keeps tile state live too (ptxas, CUDA 13, 240
  // registers): ~24 at head_dim > 128 (head_dim 256, block_n 80 spills
  // without them); at head_dim <= 128 the static scheduler none (block_n
  // 176 and 192 with O in the V ring: no spills), the dynamic one a few
  // (block_n 192 spills 20-40 bytes, 176 none; at head_dim 64 none: three
  // warpgroups of 160 at block_n 128, either order, 0 bytes). The
  // longest-first order on
  // a static persistent CTA at head_dim > 128 needs ~24 more (head_dim 192
  // block_n 96 and head_dim 256 block_n 64 spill 8-36 bytes without them).
  // Session 23 sweep (CUDA 13 ptxas; bf16 and fp16; with and without
  // early_finish, lazy_rescale, the TMA store and FA3's producer fields;
  // causal, softcap) and its review: on a dense problem (no local window,
  // varlen, KV cache, split or pack-GQA) in m-fastest order with K released
  // early, head_dim 128 block_n 192 needs no margin on either persistent
  // scheduler, and above head_dim 128 the dynamic scheduler needs 16
  // (head_dim 256 block_n 80 and head_dim 192 block_n 80-112: no spills;
  // head_dim 256 block_n 96 with stages 1, head_dim 224 block_n 128 and
  // head_dim 160 on three warpgroups spilled 4-20 bytes with none). Local
  // windows, varlen, KV caches, late_k_release and the longest-first order
  // spilled 4-136 bytes without the old margins, so they keep them (the
  // static scheduler at head_dim 128 too).
  const bool dense = !p.local && !p.varlen && !p.cacheSeqlens && !p.splitKv &&
                     !p.packGqa && !p.pagedKv;
  const bool plainLoop = dense && s.tileOrder == TileOrder::MFastest &&
                         s.lateKRelease == KRelease::Early;
  int persistentExtra = 0;
  if (s.scheduler != SchedulerKind::SingleTile) {
    if (p.headDim > 128)
      persistentExtra =
          s.tileOrder == TileOrder::LongestFirst ? 48
          : plainLoop && s.scheduler == SchedulerKind::DynamicPersistent
              ? 16
              : 24;
    else if (p.headDim > 64 && !plainLoop)
      persistentExtra = 8;
  }
  int neededOverlap = p.headDim / 2 + s.blockN / 2 + s.blockN / 4 + 32 +
                      persistentExtra;
  if (s.overlap && neededOverlap > s.consumerRegisters)
    FC_FAIL("schedule.overlap",
            std::string("false unless head_dim/2 + 3*block_n/4 + 32") +
                (persistentExtra ? " + " + str(persistentExtra) + " (" +
                                       enumName(s.scheduler) + ")"
                                 : std::string()) +
                " <= consumer_registers = " + str(s.consumerRegisters) +
                " (this spec needs " + str(neededOverlap) + ")",
            "true");


  // The paged loader walks a warp's page-table reads one block ahead, in
  // ascending order.
  if (s.keyOrder == KeyOrder::Descending && p.pagedKv)
    FC_FAIL("schedule.key_order",
            "ascending with paged_kv (the paged loader reads the page table "
            "block after block upwards)",
            "descending");
  // The longest-first order has no split coordinate (split-KV tiles are few
  // and of equal length).
  if (s.tileOrder == TileOrder::LongestFirst && p.splitKv)
    FC_FAIL("schedule.tile_order", "m_fastest with split_kv", "longest_first");

  // The dynamic scheduler hands tiles from one loading warp to the
  // consumers; split tiles are few and equal.
  if (s.scheduler == SchedulerKind::DynamicPersistent) {
    if (p.splitKv)
      FC_FAIL("schedule.scheduler", "single_tile or static_persistent with "
              "split_kv", "dynamic_persistent");
    if (s.producerWarps != 1)
      FC_FAIL("schedule.producer_warps", "1 with dynamic_persistent (one "
              "warp loads and hands out the tiles)", str(s.producerWarps));
  }

  // Shared memory: Q + stages * (K + V) (+ the O staging tile of the TMA
  // epilogue, unless it reuses Q's) + barriers <= 227 KB, or 1/n of the SM's
  // 228 KB less 1 KB per CTA for n resident CTAs.
  if (g.smem.dynamicSmemBytes > smemBudgetPerCta(s.ctasPerSm))
    FC_FAIL("schedule.stages",
            std::string("small enough that Q + stages * (K + V)") +
                " fits in " + str(smemBudgetPerCta(s.ctasPerSm)) +
                " bytes of shared memory" +
                (s.ctasPerSm > 1 ? " (each of " + str(s.ctasPerSm) +
                                       " CTAs per SM)"
                                 : std::string()) +
                " (this spec needs " + str(g.smem.dynamicSmemBytes) + ")",
            str(s.stages));
#undef FC_FAIL
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Printing and comparison
//===----------------------------------------------------------------------===//

std::string printSpec(const AttentionSpec &spec) {
  std::string os = "problem:\n";
  auto line = [&](const char *name, const auto &value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, std::optional<double>>) {
      if (value)
        os += std::string("  ") + name + ": " + printFieldValue(*value) + "\n";
    } else {
      os += std::string("  ") + name + ": " + printFieldValue(value) + "\n";
    }
  };
  forEachProblemField(spec.problem, line);
  os += "schedule:\n";
  forEachScheduleField(spec.schedule, line);
  return os;
}

bool operator==(const AttentionSpec &a, const AttentionSpec &b) {
  bool same = true;
#define FLASHCORE_SAME(member, name, T, def, doc)                           \
  same = same && a.problem.member == b.problem.member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_SAME)
#undef FLASHCORE_SAME
#define FLASHCORE_SAME(member, name, T, def, doc)                           \
  same = same && a.schedule.member == b.schedule.member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_SAME)
#undef FLASHCORE_SAME
  return same;
}

bool sameProblem(const ProblemSpec &a, const ProblemSpec &b) {
  ProblemSpec x = a, y = b;
  x.softmaxScale.reset();
  y.softmaxScale.reset();
  bool same = true;
#define FLASHCORE_SAME(member, name, T, def, doc)                              \
  same = same && x.member == y.member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_SAME)
#undef FLASHCORE_SAME
  return same;
}

size_t hashSpec(const AttentionSpec &spec) {
  return std::hash<std::string>()(printSpec(spec));
}

std::optional<ValidatedSpec> ValidatedSpec::check(const AttentionSpec &spec,
                                                  SpecDiagnostic *diag) {
  if (std::optional<SpecDiagnostic> d = validateSpec(spec)) {
    if (diag)
      *diag = *d;
    return std::nullopt;
  }
  return ValidatedSpec(spec);
}

bool parseScheduleOverrides(std::string_view text, ScheduleOverrides &out,
                            std::string &error) {
  ScheduleOverrides result;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.empty())
      continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = "schedule override must be field=value, got: " + std::string(item);
      return false;
    }
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    bool known = false, ok = true;
    std::string rule;
    forEachScheduleField(result, [&](const char *name, auto &slot) {
      if (known || key != name)
        return;
      known = true;
      typename std::decay_t<decltype(slot)>::value_type v{};
      ok = parseFieldValue(value, v, rule);
      if (ok)
        slot = v;
    });
    if (!known) {
      error = "schedule override names no schedule field, got: " +
              std::string(key);
      return false;
    }
    if (!ok) {
      error = std::string(key) + " must be " + rule + ", got: " +
              std::string(value);
      return false;
    }
  }
  out = result;
  return true;
}

} // namespace flashcore
