//===- TuneCommand.cpp - flashcore-gen tune: the schedule search ----------===//
//
// `flashcore-gen tune SPEC` searches the schedule space of the spec's problem:
//
//   1. every combination of the dimensions below (--restrict narrows one), as
//      schedule overrides resolved like a spec file's (register targets follow
//      the warpgroup count), kept when the validator accepts it;
//   2. compiled in parallel on the host's cores (--jobs) through the kernel
//      cache (memory, disk), kept when ptxas reports no spills;
//   3. on a GPU (not with --dry-run): each survivor checked against the fp64
//      reference of `run` on a small shape with partial tiles, then timed on
//      the FA3-protocol rows of --seqlens, with a progress bar; ranked by the
//      mean TFLOPS over those rows;
//   4. refined: every row of refinements() (fields that tune a structure
//      rather than choose one: FA3's producer fields and early finish, the
//      rescale order, the L2 policies) on top of each of the --refine best
//      (default 3), checked, timed and ranked with the rest -- rows x N
//      candidates more instead of a space 2^rows times larger. With
//      --dry-run the first --refine survivors in space order stand in for
//      the best (validated and compiled, not timed);
//   5. --write-table FILE: the winner (when it beats the spec's own schedule)
//      becomes the first entry of that dispatch table (specs/dispatch/table.yaml
//      format), matching the spec's problem; an entry of the same name is
//      replaced. --entry SCHEDULE writes a given schedule instead, no search.
//
// Adding a dimension: one row of space() (a schedule field of the field table
// and the values to try), or of refinements() (fields set together on top of
// the best); nothing else changes.
//
//===----------------------------------------------------------------------===//

#include "tools/flashcore-gen/Commands.h"

#include "flashcore/Compile.h"
#include "flashcore/Device.h"
#include "flashcore/flashcore.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace flashcore::tools {

namespace {

/// The search space: schedule fields and the values tried.
struct TuneDimension {
  const char *field;
  std::vector<std::string> values;
};
const std::vector<TuneDimension> &space() {
  static const std::vector<TuneDimension> dims = {
      {"block_n", {"64", "80", "96", "112", "128", "144", "160", "176", "192"}},
      {"consumer_warpgroups", {"1", "2", "3"}},
      {"stages", {"2", "3"}},
      {"overlap", {"false", "true"}},
      {"scheduler", {"single_tile", "static_persistent", "dynamic_persistent"}},
      {"epilogue", {"registers", "tma"}},
      {"pingpong", {"false", "true"}},
      {"tile_order", {"m_fastest", "longest_first"}},
      {"lazy_rescale", {"false", "true"}},
      {"ctas_per_sm", {"1", "2"}},
      // cluster_m 2 is correct but measured 9-31 % slower than 1 on every
      // row it applies to (docs/PERFORMANCE.md, session 13): add "2" to
      // search it again.
      {"cluster_m", {"1"}},
  };
  return dims;
}

/// The second stage: overrides tried on top of the best candidates of the
/// first (a row that does not validate on a candidate, e.g. late_tile_claim
/// on a static scheduler, is skipped there).
struct Refinement {
  const char *name;
  const char *overrides;
};
const std::vector<Refinement> &refinements() {
  static const std::vector<Refinement> rows = {
      {"prefetch-q", "prefetch_q=true"},
      {"fa3-producer",
       "prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true"},
      {"early-finish", "early_finish=true"},
      {"prefetch-q+early-finish", "prefetch_q=true,early_finish=true"},
      {"fa3-producer+early-finish",
       "prefetch_q=true,late_tile_claim=true,producer_decodes_tiles=true,"
       "early_finish=true"},
      {"rescale-now", "defer_rescale=false"},
      {"late-k-release", "late_k_release=true"},
      {"edge-free", "edge_turns=false"},
      {"kv-evict-last", "kv_cache_hint=evict_last"},
      {"kv-l2-256", "kv_l2_promotion=256"},
      // FA3's walk downwards over a tile's key blocks (session 24; not yet
      // timed).
      {"keys-down", "key_order=descending"},
  };
  return rows;
}

struct Candidate {
  std::string overrides; // "block_n=128,consumer_warpgroups=2,..."
  AttentionSpec spec;
  std::shared_ptr<const CompiledKernel> kernel;
  std::string error;
  const Candidate *refines = nullptr; // the candidate a refinement is on
  double tflops = 0;     // mean over the timed rows
  bool checked = false;  // passed the fp64 check
};

/// "field=v1/v2/..." entries of --restrict into the dimensions' values.
bool applyRestrictions(const std::vector<std::string> &restrict,
                       std::vector<TuneDimension> &dims) {
  for (const std::string &r : restrict) {
    size_t eq = r.find('=');
    std::string field = r.substr(0, eq);
    auto it = std::find_if(dims.begin(), dims.end(), [&](const TuneDimension &d) {
      return field == d.field;
    });
    if (eq == std::string::npos || eq + 1 >= r.size() || it == dims.end()) {
      std::string names;
      for (const TuneDimension &d : dims)
        names += std::string(names.empty() ? "" : ", ") + d.field;
      std::cerr << "error: --restrict must be field=v1/v2/... with a field of "
                   "the space ("
                << names << "), got: " << r << "\n";
      return false;
    }
    it->values.clear();
    std::stringstream values(r.substr(eq + 1));
    for (std::string v; std::getline(values, v, '/');)
      if (!v.empty())
        it->values.push_back(v);
  }
  return true;
}

/// Every combination, in order (the last dimension fastest).
std::vector<std::string> combinations(const std::vector<TuneDimension> &dims) {
  std::vector<std::string> out{""};
  for (const TuneDimension &d : dims) {
    std::vector<std::string> next;
    for (const std::string &prefix : out)
      for (const std::string &v : d.values)
        next.push_back(prefix + (prefix.empty() ? "" : ",") + d.field + "=" + v);
    out.swap(next);
  }
  return out;
}

/// The overrides as a YAML flow mapping: {block_n: 128, stages: 2, ...}.
std::string yamlMapping(const std::string &overrides) {
  std::string out = "{";
  std::stringstream in(overrides);
  bool first = true;
  for (std::string kv; std::getline(in, kv, ',');) {
    size_t eq = kv.find('=');
    out += std::string(first ? "" : ", ") + kv.substr(0, eq) + ": " + kv.substr(eq + 1);
    first = false;
  }
  return out + "}";
}

std::string entryName(const ProblemSpec &p) {
  return std::string("tuned-") + dtypeName(p.dtype) + "-d" +
         std::to_string(p.headDim) + (p.causal ? "-causal" : "") +
         (p.local ? "-local" : "") + (p.softcap ? "-softcap" : "") +
         (p.varlen ? "-varlen" : "");
}

/// Puts the winner's entry first in the table at `path` (replacing an entry
/// of the same name).
bool writeTableEntry(const std::string &path, const ProblemSpec &p,
                     const std::string &overrides, double tflops,
                     double baseline) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "error: --write-table: cannot read " << path << "\n";
    return false;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  const std::string name = entryName(p);
  // Drop an earlier entry of this name: its "  - name:" line, the lines
  // under it and the comment lines just above it.
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "  - name: " + name)
      continue;
    size_t end = i + 1;
    while (end < lines.size() && lines[end].rfind("    ", 0) == 0)
      ++end;
    size_t begin = i;
    while (begin > 0 && lines[begin - 1].rfind("  # tuned", 0) == 0)
      --begin;
    lines.erase(lines.begin() + begin, lines.begin() + end);
    break;
  }
  auto at = std::find(lines.begin(), lines.end(), std::string("entries:"));
  if (at == lines.end()) {
    std::cerr << "error: --write-table: " << path
              << " must be a dispatch table with an 'entries:' line\n";
    return false;
  }
  char note[160];
  if (tflops > 0)
    std::snprintf(note, sizeof note,
                  "  # tuned by flashcore-gen tune: %.1f TFLOPS (the spec's own "
                  "schedule: %.1f)",
                  tflops, baseline);
  else
    std::snprintf(note, sizeof note, "  # tuned: written by flashcore-gen tune --entry");
  std::vector<std::string> entry = {
      note,
      "  - name: " + name,
      std::string("    match: {arch: sm_90a, dtype: ") + dtypeName(p.dtype) +
          ", head_dim: " + std::to_string(p.headDim) +
          ", causal: " + (p.causal ? "true" : "false") +
          ", local: " + (p.local ? "true" : "false") +
          ", softcap: " + (p.softcap ? "true" : "false") +
          ", varlen: " + (p.varlen ? "true" : "false") + "}",
      "    schedule: " + yamlMapping(overrides)};
  lines.insert(at + 1, entry.begin(), entry.end());
  std::ofstream out(path);
  for (const std::string &line : lines)
    out << line << "\n";
  if (!out) {
    std::cerr << "error: --write-table: cannot write " << path << "\n";
    return false;
  }
  std::cout << "wrote entry '" << name << "' into " << path << "\n";
  return true;
}

/// `problem` with the schedule of `overrides` (field=value,...) resolved as
/// a spec file's would be (register targets follow the warpgroup count); not
/// yet validated. False with `error` when the text does not parse.
bool specWith(const ProblemSpec &problem, const std::string &overrides,
              AttentionSpec &spec, std::string &error) {
  ScheduleOverrides given;
  if (!parseScheduleOverrides(overrides, given, error))
    return false;
  spec.problem = problem;
  spec.schedule = resolveSchedule(problem, given);
  return true;
}

/// The field names of "field=value,...".
std::vector<std::string> fieldNames(const std::string &overrides) {
  std::vector<std::string> names;
  std::stringstream in(overrides);
  for (std::string kv; std::getline(in, kv, ',');)
    names.push_back(kv.substr(0, kv.find('=')));
  return names;
}

/// Every refinement row on top of each of `best`: valid, not the schedule it
/// refines, and not a schedule already listed (two rows can land on one
/// schedule). A row that names a field the candidate's overrides already
/// set is skipped (a dimension decides that field).
std::vector<Candidate> refinedCandidates(const ProblemSpec &problem,
                                         const std::vector<const Candidate *> &best) {
  std::vector<Candidate> out;
  for (const Candidate *b : best) {
    const std::vector<std::string> taken = fieldNames(b->overrides);
    for (const Refinement &row : refinements()) {
      bool clash = false;
      for (const std::string &f : fieldNames(row.overrides))
        clash = clash || std::find(taken.begin(), taken.end(), f) != taken.end();
      if (clash)
        continue;
      Candidate c;
      c.refines = b;
      c.overrides = b->overrides + "," + row.overrides;
      std::string error;
      if (!specWith(problem, c.overrides, c.spec, error) ||
          validateSpec(c.spec) || c.spec == b->spec)
        continue;
      bool seen = false;
      for (const Candidate &o : out)
        seen = seen || o.spec == c.spec;
      if (!seen)
        out.push_back(std::move(c));
    }
  }
  return out;
}

void progress(size_t done, size_t total, const std::string &what) {
  const int width = 30;
  int filled = total ? int(width * done / total) : width;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu %-70.70s", std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), done, total, what.c_str());
  if (done == total)
    std::fprintf(stderr, "\n");
}

} // namespace

int tune(const AttentionSpec &base, const CommandOptions &options) {
  // --entry: write a given schedule (checked like a candidate) without a search.
  if (!options.entry.empty()) {
    AttentionSpec spec;
    std::string error;
    if (!specWith(base.problem, options.entry, spec, error)) {
      std::cerr << "error: --entry: " << error << "\n";
      return 1;
    }
    if (std::optional<SpecDiagnostic> d = validateSpec(spec)) {
      std::cerr << "error: --entry " << options.entry << ": " << d->message << "\n";
      return 1;
    }
    if (options.tablePath.empty()) {
      std::cerr << "error: --entry needs --write-table FILE\n";
      return 1;
    }
    return writeTableEntry(options.tablePath, base.problem, options.entry, 0, 0)
               ? 0
               : 2;
  }
  // The search checks candidates with `run`, which drives dense forward
  // problems with run-time defaults only.
  const ProblemSpec &p = base.problem;
  if (p.kind != KernelKind::Forward || p.local || p.softcap || p.varlen ||
      p.cacheSeqlens || p.pagedKv || p.splitKv || p.packGqa) {
    std::cerr << "error: tune's spec must be a dense forward problem (no local, "
                 "softcap, varlen, cache_seqlens, paged_kv, split_kv, pack_gqa: "
                 "its check runs `run`), got: "
              << options.specPath << "\n";
    return 1;
  }
  std::vector<TuneDimension> dims = space();
  if (options.refine < 0) {
    std::cerr << "error: --refine must be 0 or more candidates, got: "
              << options.refine << "\n";
    return 1;
  }
  if (!applyRestrictions(options.restrict, dims))
    return 1;

  // 1. The valid combinations.
  std::vector<Candidate> valid;
  std::map<std::string, int> rejected; // the rule's field -> count
  const std::vector<std::string> all = combinations(dims);
  for (const std::string &o : all) {
    Candidate c;
    c.overrides = o;
    std::string error;
    if (!specWith(base.problem, o, c.spec, error)) {
      std::cerr << "error: --restrict: " << error << "\n";
      return 1;
    }
    if (std::optional<SpecDiagnostic> d = validateSpec(c.spec)) {
      ++rejected[d->field.empty() ? "spec" : d->field];
      continue;
    }
    valid.push_back(std::move(c));
  }

  // 2. Compiled in parallel; spills drop a candidate.
  const int jobs = options.jobs > 0
                       ? options.jobs
                       : std::max(1u, std::thread::hardware_concurrency());
  // Compiles `cands`, returns the spill-free ones, counts the rest.
  auto compileAll = [&](std::vector<Candidate> &cands, int &failed, int &spilled) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < std::min<int>(jobs, int(cands.size())); ++w)
      workers.emplace_back([&] {
        CompileOptions compileOptions;
        compileOptions.ptxFeature = options.ptxFeature;
        for (size_t i; (i = next++) < cands.size();)
          compileKernel(cands[i].spec, compileOptions, cands[i].kernel,
                        cands[i].error);
      });
    for (std::thread &t : workers)
      t.join();
    std::vector<Candidate *> ok;
    for (Candidate &c : cands) {
      if (!c.kernel) {
        ++failed;
        std::cerr << "compile failed: " << c.overrides << ": " << c.error << "\n";
      } else if (c.kernel->resources.spillStoreBytes > 0 ||
                 c.kernel->resources.stackFrameBytes > 0) {
        ++spilled;
      } else {
        ok.push_back(&c);
      }
    }
    return ok;
  };
  int failed = 0, spilled = 0;
  std::vector<Candidate *> survivors = compileAll(valid, failed, spilled);
  std::printf("space: %zu combinations of %zu dimensions; %zu valid (rejected:",
              all.size(), dims.size(), valid.size());
  for (const auto &[field, count] : rejected)
    std::printf(" %s %d", field.c_str(), count);
  std::printf("), %zu compiled without spills (%d spilled, %d failed) on %d "
              "threads\n",
              survivors.size(), spilled, failed, jobs);
  const size_t refineCount = size_t(options.refine);
  // 4's candidates on top of `best`, compiled; a row whose launch is its
  // base's (the same PTX and tensor maps: defer_rescale without overlap,
  // ...) is dropped.
  std::vector<Candidate> refined;
  int refineFailed = 0, refineSpilled = 0;
  auto refineOn = [&](const std::vector<Candidate *> &best) {
    std::vector<const Candidate *> on(best.begin(), best.end());
    refined = refinedCandidates(base.problem, on);
    std::vector<Candidate *> ok;
    int same = 0;
    for (Candidate *c : compileAll(refined, refineFailed, refineSpilled)) {
      // kv_l2_promotion is the one schedule field the PTX does not carry
      // (runtime/Launcher.cpp puts it in the K/V tensor maps).
      if (c->kernel->ptx == c->refines->kernel->ptx &&
          c->spec.schedule.kvL2Promotion ==
              c->refines->spec.schedule.kvL2Promotion)
        ++same;
      else
        ok.push_back(c);
    }
    std::printf("refinements: %zu rows on the %zu %s; %zu valid, %zu compiled "
                "without spills and unlike their base (%d spilled, %d failed, "
                "%d the same kernel)\n",
                refinements().size(), on.size(),
                options.dryRun ? "first survivors (--dry-run: not ranked)"
                               : "best",
                refined.size(), ok.size(), refineSpilled, refineFailed, same);
    return ok;
  };
  if (options.dryRun) {
    std::vector<Candidate *> shown = survivors;
    if (refineCount > 0) {
      std::vector<Candidate *> first(
          survivors.begin(),
          survivors.begin() + std::min(refineCount, survivors.size()));
      std::vector<Candidate *> more = refineOn(first);
      shown.insert(shown.end(), more.begin(), more.end());
    }
    std::printf("| schedule | threads | smem bytes | registers |\n|---|---|---|---|\n");
    for (const Candidate *c : shown)
      std::printf("| %s | %d | %d | %d |\n", c->overrides.c_str(),
                  c->kernel->geometry.threadsPerCta,
                  c->kernel->geometry.smem.dynamicSmemBytes,
                  c->kernel->resources.registers);
    return failed || refineFailed ? 2 : 0;
  }

  // 3. On the GPU: checked, then timed.
  device::DeviceInfo info;
  if (!openDevice(info))
    return 3;
  std::vector<int> seqlens = options.benchSeqlens;
  if (seqlens.empty())
    seqlens = {2048, 8192};
  auto timeSpec = [&](const AttentionSpec &spec, double &tflops) {
    flashcore_handle_t handle = handleFor(spec);
    if (!handle)
      return false;
    double sum = 0;
    bool ok = true;
    for (int s : seqlens) {
      double ms = 0, t = 0;
      ok = ok && timeProtocolRow(handle, spec, s, options, ms, t);
      sum += t;
    }
    flashcore_destroy(handle);
    tflops = sum / double(seqlens.size());
    return ok;
  };
  double baseline = 0;
  if (!timeSpec(base, baseline)) {
    std::cerr << "error: the spec's own schedule did not run\n";
    return 2;
  }
  CommandOptions check = options;
  check.quiet = true;
  check.batch = 1;
  check.heads = 4;
  check.kvHeads = 4;
  check.seqlen = 600; // partial query and key tiles
  check.seqlenK = 0;
  check.checkRows = 24;
  check.repeats = 1;
  std::vector<Candidate *> ranked;
  int wrong = 0; // a valid schedule with a wrong answer: a generator bug
  // Checks and times `cands`, adds the good ones to `ranked`, best first.
  auto measure = [&](const std::vector<Candidate *> &cands) {
    for (size_t i = 0; i < cands.size(); ++i) {
      Candidate &c = *cands[i];
      progress(i, cands.size(), c.overrides);
      c.checked = run(c.spec, check) == 0;
      if (c.checked && !timeSpec(c.spec, c.tflops))
        c.tflops = 0;
    }
    progress(cands.size(), cands.size(), "done");
    for (Candidate *c : cands) {
      if (!c->checked) {
        ++wrong;
        std::cerr << "FAILED the fp64 check: " << c->overrides << "\n";
      } else if (c->tflops > 0) {
        ranked.push_back(c);
      }
    }
    std::sort(ranked.begin(), ranked.end(), [](const Candidate *a, const Candidate *b) {
      return a->tflops > b->tflops;
    });
  };
  measure(survivors);
  size_t firstStage = ranked.size();
  if (refineCount > 0 && !ranked.empty()) {
    std::vector<Candidate *> best(
        ranked.begin(), ranked.begin() + std::min(refineCount, ranked.size()));
    measure(refineOn(best));
  }
  std::printf("%s: the spec's own schedule %.1f TFLOPS (mean over S =", info.name.c_str(),
              baseline);
  for (int s : seqlens)
    std::printf(" %d", s);
  std::printf("); %zu candidates checked and timed (%zu refined), %d failed "
              "the fp64 check\n",
              ranked.size(), ranked.size() - firstStage, wrong);
  std::printf("| rank | schedule | TFLOPS | vs the spec's |\n|---|---|---|---|\n");
  for (size_t i = 0; i < ranked.size() && int(i) < options.top; ++i)
    std::printf("| %zu | %s | %.1f | %.3f |\n", i + 1, ranked[i]->overrides.c_str(),
                ranked[i]->tflops, ranked[i]->tflops / baseline);
  if (!options.tablePath.empty() && !ranked.empty() &&
      ranked[0]->tflops > baseline)
    if (!writeTableEntry(options.tablePath, base.problem, ranked[0]->overrides,
                         ranked[0]->tflops, baseline))
      return 2;
  // A valid schedule that failed to compile or gave a wrong answer is a
  // generator bug: exit code 2 even when a winner was found.
  return wrong || failed || refineFailed ? 2 : 0;
}

} // namespace flashcore::tools
