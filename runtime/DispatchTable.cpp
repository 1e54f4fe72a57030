//===- DispatchTable.cpp - The shipped table of schedules per shape -------===//
//
// Read with llvm::yaml::Input into a mirror of the file; YAML-level errors
// (syntax, unknown keys, malformed scalars) come from YAML I/O with their
// line and column, semantic ones name the entry and its line.
//
//===----------------------------------------------------------------------===//

#include "runtime/DispatchTable.h"
#include "compiler/YamlText.h"
#include "runtime/EmbeddedFile.h"
#include "runtime/Log.h"
#include "runtime/Subprocess.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLTraits.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <type_traits>

namespace {

struct RawClass {
  std::string name;
  std::optional<int64_t> max;
};

struct RawName {
  std::string value;
};

struct RawInt {
  int64_t value = 0;
};

/// Problem and schedule fields are read as text and converted by the spec
/// field table (parseFieldValue), so their names and rules are the spec's.
struct RawMatch {
  std::optional<std::string> arch;
#define FLASHCORE_RAW_MEMBER(member, name, T, def, doc)                        \
  std::optional<std::string> member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_RAW_MEMBER)
  std::optional<std::vector<RawInt>> gqa;
  std::optional<std::vector<RawName>> seqlen;
};

struct RawSchedule {
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_RAW_MEMBER)
#undef FLASHCORE_RAW_MEMBER
};

struct RawEntry {
  std::string name;
  RawMatch match;
  std::optional<std::string> spec;
  std::optional<RawSchedule> schedule;
  const char *position = nullptr;
};

struct RawTable {
  int64_t version = 0;
  std::vector<RawClass> classes;
  std::vector<RawEntry> entries;
};

struct ParseContext {
  llvm::yaml::Input *input = nullptr;
};

} // namespace

LLVM_YAML_IS_SEQUENCE_VECTOR(RawClass)
LLVM_YAML_IS_SEQUENCE_VECTOR(RawEntry)
LLVM_YAML_IS_FLOW_SEQUENCE_VECTOR(RawName)
LLVM_YAML_IS_FLOW_SEQUENCE_VECTOR(RawInt)

namespace llvm {
namespace yaml {

template <> struct ScalarTraits<RawName> {
  static void output(const RawName &v, void *, raw_ostream &os) {
    os << v.value;
  }
  static StringRef input(StringRef s, void *, RawName &v) {
    v.value = s.str();
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct ScalarTraits<RawInt> {
  static void output(const RawInt &v, void *, raw_ostream &os) {
    os << v.value;
  }
  static StringRef input(StringRef s, void *, RawInt &v) {
    long long n = 0;
    if (s.getAsInteger(10, n))
      return "expected an integer";
    v.value = n;
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct MappingTraits<RawClass> {
  static void mapping(IO &io, RawClass &c) {
    io.mapRequired("name", c.name);
    io.mapOptional("max", c.max);
  }
};

template <> struct MappingTraits<RawMatch> {
  static void mapping(IO &io, RawMatch &m) {
    io.mapOptional("arch", m.arch);
#define FLASHCORE_MAP_FIELD(member, name, T, def, doc)                         \
  if (std::string_view(name) != "softmax_scale")                               \
    io.mapOptional(name, m.member);
    FLASHCORE_PROBLEM_FIELDS(FLASHCORE_MAP_FIELD)
#undef FLASHCORE_MAP_FIELD
    io.mapOptional("gqa", m.gqa);
    io.mapOptional("seqlen", m.seqlen);
  }
};

template <> struct MappingTraits<RawSchedule> {
  static void mapping(IO &io, RawSchedule &s) {
#define FLASHCORE_MAP_FIELD(member, name, T, def, doc)                         \
  io.mapOptional(name, s.member);
    FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_MAP_FIELD)
#undef FLASHCORE_MAP_FIELD
  }
};

template <> struct MappingTraits<RawEntry> {
  static void mapping(IO &io, RawEntry &e) {
    if (auto *pc = static_cast<ParseContext *>(io.getContext()))
      if (const Node *node = pc->input->getCurrentNode())
        e.position = node->getSourceRange().Start.getPointer();
    io.mapRequired("name", e.name);
    io.mapOptional("match", e.match);
    io.mapOptional("spec", e.spec);
    io.mapOptional("schedule", e.schedule);
  }
};

template <> struct MappingTraits<RawTable> {
  static void mapping(IO &io, RawTable &t) {
    io.mapRequired("version", t.version);
    io.mapOptional("seqlen_classes", t.classes);
    io.mapRequired("entries", t.entries);
  }
};

} // namespace yaml
} // namespace llvm

namespace flashcore {

namespace {

const EmbeddedFile kEmbedded[] = {
#include "flashcore_generated/EmbeddedSpecs.inc"
};

constexpr const char *kEmbeddedTable = "dispatch/table.yaml";

using yamltext::captureDiag;
using yamltext::DiagCapture;

int lineOf(std::string_view text, const char *position) {
  return yamltext::locate(text, position).line;
}

/// Converts the raw text of a field to its slot; false with "<section>.<name>
/// must be <rule>, got: <text>" in `error`.
template <typename Slot>
bool convertField(const std::optional<std::string> &raw, const char *section,
                  const char *name, Slot &slot, std::string &error) {
  if (!raw)
    return true;
  typename Slot::value_type v{};
  std::string rule;
  if (!parseFieldValue(*raw, v, rule)) {
    error = std::string(section) + "." + name + " must be " + rule +
            ", got: " + *raw;
    return false;
  }
  slot = v;
  return true;
}

/// Adds the problem of a `spec:` entry's file to its match; false when an
/// explicit match field contradicts it.
template <typename T> bool pin(std::optional<T> &field, const T &value) {
  if (field && *field != value)
    return false;
  field = value;
  return true;
}
/// softmax_scale is never matched on.
bool pin(std::optional<double> &, const std::optional<double> &) {
  return true;
}

/// Whether a pinned match field rules `value` out.
template <typename T>
bool excludes(const std::optional<T> &field, const T &value) {
  return field && *field != value;
}
bool excludes(const std::optional<double> &, const std::optional<double> &) {
  return false;
}

} // namespace

bool DispatchTable::embeddedFile(const std::string &name, std::string &text) {
  const EmbeddedFile *f = findEmbedded(kEmbedded, name.c_str());
  if (f)
    text = f->text;
  return f != nullptr;
}

std::vector<std::string> DispatchTable::embeddedFileNames() {
  std::vector<std::string> names;
  for (const EmbeddedFile &f : kEmbedded)
    names.push_back(f.name);
  return names;
}

DispatchTable::SpecResolver DispatchTable::embeddedResolver() {
  return [](const std::string &name, std::string &text, std::string &error) {
    if (name.find('/') == std::string::npos && embeddedFile(name, text))
      return true;
    error = "no shipped spec file specs/" + name;
    return false;
  };
}

bool DispatchTable::parse(std::string_view text, const std::string &source,
                          const SpecResolver &resolveSpec, DispatchTable &table,
                          std::string &error) {
  table = DispatchTable();
  table.tableSource = source;
  auto fail = [&](int line, const std::string &message) {
    error = source + (line ? ":" + std::to_string(line) : std::string()) +
            ": error: " + message;
    return false;
  };

  // Step 1. YAML into the mirror.
  RawTable raw;
  ParseContext context;
  DiagCapture capture;
  llvm::yaml::Input input(llvm::StringRef(text.data(), text.size()), &context,
                          captureDiag, &capture);
  context.input = &input;
  input >> raw;
  if (input.error() || capture.seen) {
    error = source + ":" + std::to_string(capture.line) + ":" +
            std::to_string(capture.column) + ": error: " +
            (capture.seen ? capture.message : "malformed dispatch table");
    return false;
  }
  if (raw.version != 1)
    return fail(0, "version must be 1, got: " + std::to_string(raw.version));

  // Step 2. Sequence-length classes: increasing bounds, only the last open.
  if (raw.classes.size() > 32)
    return fail(0, "seqlen_classes must have at most 32 classes, got: " +
                       std::to_string(raw.classes.size()));
  std::map<std::string, int> classIndex;
  for (size_t i = 0; i < raw.classes.size(); ++i) {
    const RawClass &c = raw.classes[i];
    bool last = i + 1 == raw.classes.size();
    if (last == c.max.has_value())
      return fail(0, "seqlen class '" + c.name + "' must " +
                         (last ? "have no max (it is the last class)"
                               : "have a max (only the last class has none)"));
    if (c.max && (*c.max < 1 || (i > 0 && *c.max <= *raw.classes[i - 1].max)))
      return fail(0, "seqlen class '" + c.name +
                         "' max must be >= 1 and above the previous class's, "
                         "got: " +
                         std::to_string(*c.max));
    if (!classIndex.emplace(c.name, int(i)).second)
      return fail(0, "seqlen class '" + c.name + "' is defined twice");
    table.classes.push_back(SeqlenClass{c.name, c.max});
  }

  // Step 3. Entries.
  for (const RawEntry &e : raw.entries) {
    int line = lineOf(text, e.position);
    std::string where = "entry '" + e.name + "': ";
    DispatchEntry entry;
    entry.name = e.name;
    DispatchMatch &m = entry.match;
    m.arch = e.match.arch;
    std::string fieldError;
    bool converted = true;
#define FLASHCORE_CONVERT(member, name, T, def, doc)                           \
  converted = converted && convertField(e.match.member, "match", name,         \
                                        m.problem.member, fieldError);
    FLASHCORE_PROBLEM_FIELDS(FLASHCORE_CONVERT)
#undef FLASHCORE_CONVERT
    if (!converted)
      return fail(line, where + fieldError);
    if (e.match.gqa) {
      const std::vector<RawInt> &g = *e.match.gqa;
      if (g.size() != 2 || g[0].value < 1 || g[1].value < g[0].value)
        return fail(line, where + "match.gqa must be [min, max] with 1 <= "
                                  "min <= max");
      m.gqaMin = g[0].value;
      m.gqaMax = g[1].value;
    }
    if (e.match.seqlen) {
      m.seqlenClasses = 0;
      for (const RawName &n : *e.match.seqlen) {
        auto it = classIndex.find(n.value);
        if (it == classIndex.end())
          return fail(line, where +
                                "match.seqlen names no seqlen class, "
                                "got: " +
                                n.value);
        m.seqlenClasses |= 1u << it->second;
      }
    }
    if (e.spec.has_value() == e.schedule.has_value())
      return fail(line, where + "must have exactly one of spec and schedule");
    if (e.spec) {
      std::string specText, resolveError;
      if (!resolveSpec(*e.spec, specText, resolveError))
        return fail(line, where + resolveError);
      AttentionSpec spec;
      SpecDiagnostic diag;
      if (!parseSpec(specText, *e.spec, spec, diag))
        return fail(line, where + "spec " + diag.str());
      // The spec file's problem joins the match (every field but the scale).
      bool consistent = true;
#define FLASHCORE_PIN(member, name, T, def, doc)                               \
  consistent = consistent && pin(m.problem.member, spec.problem.member);
      FLASHCORE_PROBLEM_FIELDS(FLASHCORE_PIN)
#undef FLASHCORE_PIN
      if (!consistent)
        return fail(line,
                    where + "match contradicts the problem of " + *e.spec);
      spec.problem.softmaxScale.reset();
      entry.specFile = *e.spec;
      entry.spec = spec;
    } else {
      const RawSchedule &s = *e.schedule;
      ScheduleOverrides &o = entry.schedule;
      bool ok = true;
      std::string fieldError;
#define FLASHCORE_CONVERT(member, name, T, def, doc)                           \
  ok = ok && convertField(s.member, "schedule", name, o.member, fieldError);
      FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_CONVERT)
#undef FLASHCORE_CONVERT
      if (!ok)
        return fail(line, where + fieldError);
    }
    table.list.push_back(std::move(entry));
  }
  return true;
}

int DispatchTable::seqlenClassOf(int64_t seqlenK) const {
  for (size_t i = 0; i < classes.size(); ++i)
    if (!classes[i].max || seqlenK <= *classes[i].max)
      return int(i);
  return 0;
}

const DispatchEntry *DispatchTable::match(const DispatchQuery &q) const {
  uint32_t classBit = 1u << seqlenClassOf(q.seqlenK);
  const ProblemSpec &p = q.problem;
  for (const DispatchEntry &e : list) {
    const DispatchMatch &m = e.match;
    bool same = !(m.arch && *m.arch != q.arch);
#define FLASHCORE_SAME(member, name, T, def, doc)                              \
  same = same && !excludes(m.problem.member, p.member);
    FLASHCORE_PROBLEM_FIELDS(FLASHCORE_SAME)
#undef FLASHCORE_SAME
    if (!same || q.gqaRatio < m.gqaMin || q.gqaRatio > m.gqaMax ||
        !(m.seqlenClasses & classBit))
      continue;
    return &e;
  }
  return nullptr;
}

bool DispatchTable::specFor(const DispatchEntry &entry,
                            const ProblemSpec &problem, AttentionSpec &spec,
                            std::string &error) {
  spec.problem = problem;
  spec.problem.softmaxScale.reset();
  spec.schedule = entry.spec ? entry.spec->schedule
                             : resolveSchedule(spec.problem, entry.schedule);
  if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
    error = "dispatch table entry '" + entry.name +
            "' gives an invalid "
            "spec: " +
            diag->str();
    return false;
  }
  return true;
}

std::shared_ptr<const DispatchTable> DispatchTable::active() {
  static std::shared_ptr<const DispatchTable> table = [] {
    auto t = std::make_shared<DispatchTable>();
    std::string error, text;
    const char *path = std::getenv("FLASHCORE_DISPATCH_TABLE");
    bool ok;
    if (path && *path) {
      std::string file = path;
      std::string dir = file.find('/') == std::string::npos
                            ? "."
                            : file.substr(0, file.rfind('/'));
      SpecResolver shipped = embeddedResolver();
      SpecResolver resolver = [dir, shipped](const std::string &name,
                                             std::string &out,
                                             std::string &err) {
        std::string ignored;
        return readFile(dir + "/" + name, out, ignored) ||
               shipped(name, out, err);
      };
      ok = readFile(file, text, error) &&
           parse(text, "FLASHCORE_DISPATCH_TABLE=" + file, resolver, *t, error);
    } else {
      ok = embeddedFile(kEmbeddedTable, text) &&
           parse(text, std::string("specs/") + kEmbeddedTable,
                 embeddedResolver(), *t, error);
      if (!ok && error.empty())
        error = "the library has no embedded dispatch table";
    }
    if (!ok) {
      log::warnOnce("dispatch-table", error + "; using the heuristics only");
      *t = DispatchTable();
    }
    return std::shared_ptr<const DispatchTable>(std::move(t));
  }();
  return table;
}

} // namespace flashcore
