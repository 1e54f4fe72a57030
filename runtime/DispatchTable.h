//===- DispatchTable.h - The shipped schedule table -------------*- C++ -*-===//
//
// specs/dispatch/table.yaml, embedded into the library at build time, says
// which schedule a call gets. Each entry has a `match` (arch, any problem
// field of the spec table (compiler/Spec.h) but softmax_scale, a GQA-ratio
// range and a set of sequence-length classes; omitted fields match anything)
// and either
//
//   spec: <file>        a shipped spec (specs/<file>): its schedule, and its
//                       problem fields are added to the match; or
//   schedule: {...}     schedule fields; the rest are resolveSchedule's
//                       defaults for the call's problem ({} = heuristics).
//
// The first matching entry wins; no match means the heuristics. Sequence
// classes are defined by the table (by seqlen_k). Format: docs/RUNTIME.md.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_DISPATCHTABLE_H
#define FLASHCORE_RUNTIME_DISPATCHTABLE_H

#include "compiler/Spec.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashcore {

/// What dispatch looks at: the problem and the shape facts that select among
/// schedules.
struct DispatchQuery {
  ProblemSpec problem;
  /// seqlen_q 0: not known (a problem alone; rules that depend on the query
  /// tile's rows, fitSmallTile, do not apply).
  int64_t seqlenQ = 0, seqlenK = 1;
  /// heads_q / heads_kv.
  int64_t gqaRatio = 1;
  std::string arch = "sm_90a";
};

struct SeqlenClass {
  std::string name;
  /// Inclusive upper bound on seqlen_k; unset for the last class.
  std::optional<int64_t> max;
};

struct DispatchMatch {
  std::optional<std::string> arch;
  /// Problem fields the entry pins (any field of the spec table but
  /// softmax_scale); unset ones match anything.
  ProblemOverrides problem;
  int64_t gqaMin = 1, gqaMax = std::numeric_limits<int64_t>::max();
  /// Bit i set: matches seqlen class i.
  uint32_t seqlenClasses = ~0u;
};

struct DispatchEntry {
  std::string name;
  DispatchMatch match;
  /// `spec:` entries: the file name and the parsed spec.
  std::string specFile;
  std::optional<AttentionSpec> spec;
  /// `schedule:` entries: the fields given.
  ScheduleOverrides schedule;
};

class DispatchTable {
public:
  /// Gives the text of a spec file named by a `spec:` entry.
  using SpecResolver = std::function<bool(
      const std::string &name, std::string &text, std::string &error)>;

  /// Parses table text; `source` names it in messages ("table.yaml:12:5:
  /// error: ..."). Every `spec:` file must load and validate.
  static bool parse(std::string_view text, const std::string &source,
                    const SpecResolver &resolveSpec, DispatchTable &table,
                    std::string &error);

  /// The table calls use: $FLASHCORE_DISPATCH_TABLE's file when set (spec
  /// names relative to it first, then the shipped ones), else the embedded
  /// specs/dispatch/table.yaml. Loaded once; a table that does not load is
  /// reported once and replaced by an empty one (heuristics only).
  static std::shared_ptr<const DispatchTable> active();

  /// The text of an embedded file of specs/ ("default.yaml",
  /// "dispatch/table.yaml"); false when there is none.
  static bool embeddedFile(const std::string &name, std::string &text);
  static std::vector<std::string> embeddedFileNames();
  /// Resolves spec names against the embedded specs/.
  static SpecResolver embeddedResolver();

  const std::string &source() const { return tableSource; }
  const std::vector<SeqlenClass> &seqlenClasses() const { return classes; }
  const std::vector<DispatchEntry> &entries() const { return list; }

  /// Index of the class of `seqlenK` (0 when the table defines none).
  int seqlenClassOf(int64_t seqlenK) const;

  /// The first entry that matches, or null (heuristics).
  const DispatchEntry *match(const DispatchQuery &query) const;

  /// The spec `entry` gives for `problem`; false with `error` when the
  /// result does not validate.
  static bool specFor(const DispatchEntry &entry, const ProblemSpec &problem,
                      AttentionSpec &spec, std::string &error);

private:
  std::string tableSource;
  std::vector<SeqlenClass> classes;
  std::vector<DispatchEntry> list;
};

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_DISPATCHTABLE_H
