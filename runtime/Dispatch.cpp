//===- Dispatch.cpp - The spec used for a call ----------------------------===//

#include "runtime/Dispatch.h"
#include "runtime/CacheKey.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <type_traits>

namespace flashcore {

std::string describeProblem(const ProblemSpec &p) {
  return std::string("{dtype: ") + dtypeName(p.dtype) +
         ", head_dim: " + std::to_string(p.headDim) +
         ", causal: " + (p.causal ? "true" : "false") +
         ", local: " + (p.local ? "true" : "false") +
         ", softcap: " + (p.softcap ? "true" : "false") +
         ", varlen: " + (p.varlen ? "true" : "false") + "}";
}

/// ", where they differ in split_kv (false there, true in the call), ..."
/// (there = the override) or "" when the problems are the same.
static std::string problemDifferences(const ProblemSpec &forced,
                                      const ProblemSpec &call) {
  std::string out;
#define FLASHCORE_DIFF(member, name, T, def, doc)                              \
  if constexpr (!std::is_same_v<T, std::optional<double>>)                    \
    if (!(forced.member == call.member))                                      \
      out += std::string(out.empty() ? ", where they differ in " : ", ") +     \
             name + " (" + printFieldValue(forced.member) + " there, " +      \
             printFieldValue(call.member) + " in the call)";
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_DIFF)
#undef FLASHCORE_DIFF
  return out;
}

BoundKernel *KernelChoice::bind(uint64_t contextKey,
                                const BoundKernel &kernel) {
  std::lock_guard<std::mutex> lock(ownedMutex);
  if (BoundKernel *existing = bound.find(contextKey))
    return existing;
  owned.push_back(std::make_unique<BoundKernel>(kernel));
  return bound.insert(contextKey, owned.back().get());
}

Dispatcher::Dispatcher() : Dispatcher(DispatchTable::active()) {}

void Dispatcher::forgetChoices() {
  std::lock_guard<std::mutex> lock(ownedMutex);
  choices.clear();
  ++generation;
}

Dispatcher::Dispatcher(std::shared_ptr<const DispatchTable> table)
    : dispatchTable(std::move(table)) {
  if (!dispatchTable)
    dispatchTable = std::make_shared<DispatchTable>();
  for (const DispatchEntry &entry : dispatchTable->entries())
    if (entry.schedule.clusterM.value_or(1) > 1 ||
        (entry.spec && entry.spec->schedule.clusterM > 1))
      tableClusters = true;
  mayCluster.store(tableClusters, std::memory_order_release);
}

bool Dispatcher::loadEnvironmentOverride(std::string &error) {
  const char *path = std::getenv("FLASHCORE_SPEC");
  const char *schedule = std::getenv("FLASHCORE_SCHEDULE");
  std::unique_lock<std::shared_mutex> lock(mutex);
  envOverride.reset();
  hasOverride.store(apiOverride.has_value(), std::memory_order_release);
  scheduleOverride.reset();
  mayCluster.store(tableClusters, std::memory_order_release);
  forgetChoices();
  if (schedule && *schedule) {
    ScheduleOverrides given;
    std::string why;
    if (!parseScheduleOverrides(schedule, given, why)) {
      error = "FLASHCORE_SCHEDULE=" + std::string(schedule) +
              " must be field=value,... of schedule fields: " + why;
      return false;
    }
    scheduleOverride = given;
    scheduleOverrideText = std::string("FLASHCORE_SCHEDULE=") + schedule;
  }
  mayCluster.store(tableClusters || (scheduleOverride &&
                                     scheduleOverride->clusterM.value_or(1) > 1),
                   std::memory_order_release);
  if (!path || !*path)
    return true;
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (!loadSpecFile(path, spec, diag)) {
    error = "FLASHCORE_SPEC=" + std::string(path) +
            " must name a valid spec file: " + diag.str();
    return false;
  }
  envOverride = Override{spec, std::string("FLASHCORE_SPEC=") + path};
  hasOverride.store(true, std::memory_order_release);
  return true;
}

bool Dispatcher::setOverrideText(const std::string &yaml,
                                 const std::string &source,
                                 std::string &error) {
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (!parseSpec(yaml, source, spec, diag)) {
    error = diag.str();
    return false;
  }
  setOverride(spec, source);
  return true;
}

void Dispatcher::setOverride(const AttentionSpec &spec,
                             const std::string &source) {
  std::unique_lock<std::shared_mutex> lock(mutex);
  apiOverride = Override{spec, source};
  hasOverride.store(true, std::memory_order_release);
  forgetChoices();
}

void Dispatcher::clearOverride() {
  std::unique_lock<std::shared_mutex> lock(mutex);
  apiOverride.reset();
  hasOverride.store(envOverride.has_value(), std::memory_order_release);
  forgetChoices();
}

std::optional<ProblemSpec> Dispatcher::overrideProblem() const {
  if (!hasOverride.load(std::memory_order_acquire))
    return std::nullopt;
  std::shared_lock<std::shared_mutex> lock(mutex);
  const std::optional<Override> &chosen = apiOverride ? apiOverride : envOverride;
  if (!chosen)
    return std::nullopt;
  return chosen->spec.problem;
}

DispatchStatus Dispatcher::choose(const ProblemSpec &problem,
                                  AttentionSpec &spec,
                                  std::string &error) const {
  DispatchQuery query;
  query.problem = problem;
  return choose(query, spec, error);
}

DispatchStatus Dispatcher::choose(const DispatchQuery &query,
                                  AttentionSpec &spec, std::string &error,
                                  std::string *source) const {
  const ProblemSpec &problem = query.problem;
  std::optional<Override> chosen;
  std::optional<ScheduleOverrides> forcedFields;
  std::string forcedText;
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    chosen = apiOverride ? apiOverride : envOverride;
    forcedFields = scheduleOverride;
    forcedText = scheduleOverrideText;
  }
  // Step 1. An override, for its own problem only.
  if (chosen) {
    const ProblemSpec &p = chosen->spec.problem;
    if (!sameProblem(p, problem)) {
      error = "the spec override " + chosen->source + " is for problem " +
              describeProblem(p) + ", but the call is " +
              describeProblem(problem) + problemDifferences(p, problem);
      return DispatchStatus::SpecMismatch;
    }
    spec = chosen->spec;
    spec.problem.softmaxScale.reset();
    if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
      error = "the spec override " + chosen->source +
              " is invalid: " + diag->str();
      return DispatchStatus::InvalidSpec;
    }
    if (source)
      *source = chosen->source;
    return DispatchStatus::Ok;
  }

  // FLASHCORE_SCHEDULE's fields, forced onto what steps 2 and 3 choose;
  // then the cluster fitted to the call's query blocks.
  auto forced = [&](const std::string &from) {
    std::string chosen = from;
    if (forcedFields) {
      spec.schedule =
          forceSchedule(spec.problem, spec.schedule, *forcedFields);
      if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
        error = forcedText + " gives an invalid spec for " +
                describeProblem(problem) + ": " + diag->str();
        return DispatchStatus::InvalidSpec;
      }
      chosen += " + " + forcedText;
    }
    if (fitClusterToQueryBlocks(query, spec))
      chosen += " (cluster_m 1: odd query-block count)";
    if (source)
      *source = chosen;
    return DispatchStatus::Ok;
  };

  // Step 2. The dispatch table. An entry whose schedule does not validate
  // for this problem is skipped (it is reported by the table's unit test).
  if (const DispatchEntry *entry = dispatchTable->match(query)) {
    std::string ignored;
    if (DispatchTable::specFor(*entry, problem, spec, ignored)) {
      fitSmallTile(query, &entry->schedule, spec);
      return forced("dispatch table entry '" + entry->name + "' (" +
                    dispatchTable->source() + ")");
    }
  }

  // Step 3. The heuristics.
  spec.problem = problem;
  spec.problem.softmaxScale.reset();
  spec.schedule = defaultSchedule(spec.problem);
  if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
    error = "no valid schedule for " + describeProblem(problem) + ": " +
            diag->str();
    return DispatchStatus::Unsupported;
  }
  fitSmallTile(query, nullptr, spec);
  return forced("heuristics");
}

bool tileRowsFitOneWarpgroup(const DispatchQuery &q) {
  const int64_t perQuery =
      q.problem.packGqa ? std::max<int64_t>(1, q.gqaRatio) : 1;
  return q.seqlenQ >= 1 && q.seqlenQ * perQuery <= int64_t(kWgmmaM);
}

/// `spec` with `fit` forced onto its schedule (derived fields re-derived),
/// where that validates; true when it changed `spec`.
static bool forceIfValid(AttentionSpec &spec, const ScheduleOverrides &fit) {
  AttentionSpec fitted = spec;
  fitted.schedule = forceSchedule(spec.problem, spec.schedule, fit);
  if (validateSpec(fitted))
    return false;
  spec = fitted;
  return true;
}

void fitSmallTile(const DispatchQuery &query, const ScheduleOverrides *named,
                  AttentionSpec &spec) {
  if (!tileRowsFitOneWarpgroup(query))
    return;
  // Each fit on its own: one that does not validate leaves the other. A
  // ping-pong schedule keeps its warpgroups (forceSchedule would drop the
  // ping-pong; measured on decode alone, see below).
  if (spec.schedule.consumerWarpgroups != 1 && !spec.schedule.pingpong &&
      !(named && (named->blockM || named->consumerWarpgroups))) {
    ScheduleOverrides one;
    one.consumerWarpgroups = 1;
    forceIfValid(spec, one);
  }
  // 64-key blocks only on the one-warpgroup tile (a ping-pong entry keeps
  // two warpgroups, and its blocks: measured on decode alone).
  if (spec.schedule.consumerWarpgroups == 1 &&
      spec.problem.headDim == kSmallTileBlockNHeadDim &&
      spec.schedule.blockN > kSmallTileBlockN && !(named && named->blockN)) {
    ScheduleOverrides keys;
    keys.blockN = kSmallTileBlockN;
    forceIfValid(spec, keys);
  }
  if (spec.schedule.consumerWarpgroups != 1 || !spec.problem.cacheSeqlens)
    return;
  if (spec.problem.pagedKv) {
    if (spec.schedule.stages < kPagedDecodeStages &&
        !(named && named->stages)) {
      ScheduleOverrides deeper;
      deeper.stages = kPagedDecodeStages;
      forceIfValid(spec, deeper);
    }
  } else if (!spec.problem.splitKv && query.seqlenK <= kTwoCtaDecodeMaxKeys &&
             spec.schedule.ctasPerSm == 1 && !(named && named->ctasPerSm)) {
    ScheduleOverrides two;
    two.ctasPerSm = 2;
    forceIfValid(spec, two);
  }
}

bool fitClusterToQueryBlocks(const DispatchQuery &query, AttentionSpec &spec) {
  const int cluster = spec.schedule.clusterM;
  if (cluster <= 1 || query.seqlenQ <= 0 ||
      numQueryBlocks(spec, query.seqlenQ) % cluster == 0)
    return false;
  ScheduleOverrides one;
  one.clusterM = 1;
  return forceIfValid(spec, one);
}

/// The problems cluster_m 2 validates for (Spec.cpp's rules): dense,
/// non-causal, without a window or a KV cache.
static bool mayClusterProblem(const ProblemSpec &p) {
  return !p.causal && !p.local && !p.varlen && !p.cacheSeqlens &&
         !p.splitKv && !p.packGqa && !p.pagedKv;
}

/// Bit i: the query-block count of block_m 64 (i + 1) is odd.
static uint64_t queryBlockParities(int64_t seqlenQ) {
  uint64_t bits = 0;
  for (int64_t i = 0; i < 4 && seqlenQ > 0; ++i) {
    const int64_t rows = int64_t(kWgmmaM) * (i + 1);
    bits |= uint64_t(((seqlenQ + rows - 1) / rows) & 1) << i;
  }
  return bits;
}

uint64_t Dispatcher::classKey(const DispatchQuery &q) const {
  const ProblemSpec &p = q.problem;
  const bool oneWarpgroup = tileRowsFitOneWarpgroup(q);
  uint64_t key = uint64_t(1) << 63;
  key |= uint64_t(p.dtype == DType::FP16 ? 1 : 0);
  // fitSmallTile's two-CTA rule for short KV caches, whatever the table's
  // sequence-length classes.
  key |= uint64_t(p.cacheSeqlens && oneWarpgroup &&
                  q.seqlenK <= kTwoCtaDecodeMaxKeys)
         << 1;
  key |= uint64_t(p.causal) << 2 | uint64_t(p.local) << 3 |
         uint64_t(p.softcap) << 4 | uint64_t(p.varlen) << 5;
  key |= (uint64_t(p.headDim) & 0x3FF) << 6;
  key |= (uint64_t(dispatchTable->seqlenClassOf(q.seqlenK)) & 0x1F) << 16;
  uint64_t ratio = q.gqaRatio < 1 ? 1 : uint64_t(q.gqaRatio);
  key |= (ratio & 0xFFFFFFFFull) << 21;
  key |= uint64_t(p.cacheSeqlens) << 53 | uint64_t(p.splitKv) << 54 |
         uint64_t(p.packGqa) << 55 | uint64_t(p.pagedKv) << 56 |
         uint64_t(oneWarpgroup) << 57 |
         (mayCluster.load(std::memory_order_acquire) && mayClusterProblem(p)
              ? queryBlockParities(q.seqlenQ) << 58
              : 0);
  return key;
}

KernelChoice *Dispatcher::resolve(const DispatchQuery &query,
                                  DispatchStatus &status,
                                  std::string &error) const {
  // The generation is read before the key: the key depends on the override
  // (mayCluster), so a choice made across a reload is used but not cached.
  uint64_t before = generation.load();
  uint64_t key = classKey(query);
  if (KernelChoice *cached = choices.find(key)) {
    status = DispatchStatus::Ok;
    return cached;
  }
  auto choice = std::make_unique<KernelChoice>();
  status = choose(query, choice->spec, error, &choice->source);
  if (status != DispatchStatus::Ok)
    return nullptr;
  choice->geometry = computeGeometry(choice->spec);
  if (choice->spec.problem.splitKv) {
    AttentionSpec combine;
    combine.problem.kind = KernelKind::Combine;
    combine.problem.dtype = choice->spec.problem.dtype;
    combine.problem.headDim = choice->spec.problem.headDim;
    combine.schedule = defaultSchedule(combine.problem);
    choice->combineSpec = combine;
    choice->combineGeometry = computeGeometry(combine);
  }
  std::lock_guard<std::mutex> lock(ownedMutex);
  owned.push_back(std::move(choice));
  if (generation.load() != before)
    return owned.back().get(); // the override changed meanwhile
  return choices.insert(key, owned.back().get());
}

} // namespace flashcore
