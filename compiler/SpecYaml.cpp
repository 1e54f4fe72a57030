//===- SpecYaml.cpp - Reading spec files with LLVM YAML I/O ---------------===//
//
// Specs are read with llvm::yaml::Input into a "raw" mirror of the spec in
// which every field is optional and remembers where in the file it was
// written. That location is what lets a semantic error found later by
// validateSpec ("block_n must be ...") point at the exact line and column of
// the offending value. Syntax errors, unknown keys and malformed scalars are
// reported by YAML I/O itself through a diagnostic handler, also with line
// and column.
//
//===----------------------------------------------------------------------===//

#include "compiler/Spec.h"
#include "compiler/YamlText.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLTraits.h"

#include <cmath>
#include <map>

using namespace flashcore;

namespace {

/// The parse in progress: the input (to ask for the node being read) and the
/// buffer (to turn node pointers into line and column).
struct ParseContext {
  llvm::yaml::Input *input = nullptr;
};

/// A scalar field as written in the file, with the position of its value.
template <typename T> struct Located {
  std::optional<T> value;
  const char *position = nullptr;
};

/// Every field is read as a located string and converted by the field
/// table's parseFieldValue, so each field's rule text comes from one place.
struct RawProblem {
#define FLASHCORE_RAW_MEMBER(member, name, T, def, doc)                     \
  Located<std::string> member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_RAW_MEMBER)
};

struct RawSchedule {
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_RAW_MEMBER)
#undef FLASHCORE_RAW_MEMBER
};

struct RawSpec {
  RawProblem problem;
  std::optional<RawSchedule> schedule;
  const char *problemPosition = nullptr;
  const char *schedulePosition = nullptr;
};

const char *currentPosition(void *ctxt) {
  auto *pc = static_cast<ParseContext *>(ctxt);
  if (!pc || !pc->input)
    return nullptr;
  const llvm::yaml::Node *node = pc->input->getCurrentNode();
  return node ? node->getSourceRange().Start.getPointer() : nullptr;
}

} // namespace

namespace llvm {
namespace yaml {

template <> struct ScalarTraits<Located<std::string>> {
  static void output(const Located<std::string> &v, void *, raw_ostream &os) {
    os << v.value.value_or("");
  }
  static StringRef input(StringRef scalar, void *ctxt,
                         Located<std::string> &v) {
    v.position = currentPosition(ctxt);
    v.value = scalar.str();
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct MappingTraits<RawProblem> {
  static void mapping(IO &io, RawProblem &fields) {
    // dtype and head_dim are required; YAML I/O reports them missing.
#define FLASHCORE_MAP_FIELD(member, name, T, def, doc)                      \
  if (std::string_view(def) == "required")                                     \
    io.mapRequired(name, fields.member);                                       \
  else                                                                         \
    io.mapOptional(name, fields.member);
    FLASHCORE_PROBLEM_FIELDS(FLASHCORE_MAP_FIELD)
  }
};

template <> struct MappingTraits<RawSchedule> {
  static void mapping(IO &io, RawSchedule &fields) {
    FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_MAP_FIELD)
#undef FLASHCORE_MAP_FIELD
  }
};

template <> struct MappingTraits<RawSpec> {
  static void mapping(IO &io, RawSpec &spec) {
    io.mapRequired("problem", spec.problem);
    io.mapOptional("schedule", spec.schedule);
  }
};

} // namespace yaml
} // namespace llvm

namespace {

using flashcore::yamltext::captureDiag;
using flashcore::yamltext::DiagCapture;
using flashcore::yamltext::LineColumn;
using flashcore::yamltext::locate;

} // namespace

bool flashcore::parseSpec(std::string_view text, std::string_view bufferName,
                          AttentionSpec &spec, SpecDiagnostic &diag,
                          const ScheduleOverrides *extra) {
  diag = SpecDiagnostic();
  diag.file = std::string(bufferName);
  auto fail = [&](const char *position, std::string field,
                  std::string message) {
    LineColumn lc = locate(text, position);
    diag.line = lc.line;
    diag.column = lc.column;
    diag.field = std::move(field);
    diag.message = std::move(message);
    return false;
  };

  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return fail(nullptr, "", "spec is empty; it needs at least a 'problem' "
                             "mapping with dtype and head_dim");

  RawSpec raw;
  ParseContext context;
  DiagCapture capture;
  llvm::yaml::Input input(llvm::StringRef(text.data(), text.size()), &context,
                          captureDiag, &capture);
  context.input = &input;
  input >> raw;
  if (input.error() || capture.seen) {
    diag.line = capture.line;
    diag.column = capture.column;
    diag.message = capture.seen ? capture.message : "malformed spec";
    return false;
  }
  if (input.nextDocument())
    return fail(nullptr, "", "spec must contain one YAML document");

  // Step 1. Field values, converted by the field table; a bad value is
  // reported at its position.
  std::map<std::string, const char *> positions;
  std::string failedField, failedRule;
  const char *failedAt = nullptr;
  auto convert = [&](const char *section, const Located<std::string> &raw,
                     const char *name, auto &slot) {
    std::string path = std::string(section) + "." + name;
    positions[path] = raw.position;
    if (!raw.value || !failedField.empty())
      return;
    typename std::decay_t<decltype(slot)>::value_type v{};
    std::string rule;
    if (!parseFieldValue(*raw.value, v, rule)) {
      failedField = path;
      failedRule = std::string(name) + " must be " + rule + ", got: " +
                   *raw.value;
      failedAt = raw.position;
      return;
    }
    slot = v;
  };
  ProblemOverrides givenProblem;
#define FLASHCORE_CONVERT(member, name, T, def, doc)                        \
  convert("problem", raw.problem.member, name, givenProblem.member);
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_CONVERT)
#undef FLASHCORE_CONVERT
  ScheduleOverrides given;
  if (raw.schedule) {
#define FLASHCORE_CONVERT(member, name, T, def, doc)                        \
  convert("schedule", raw.schedule->member, name, given.member);
    FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_CONVERT)
#undef FLASHCORE_CONVERT
  }
  if (!failedField.empty())
    return fail(failedAt, failedField, failedRule);
  // Step 2. The problem: required fields are there (YAML I/O checked), the
  // others default.
  ProblemSpec problem;
#define FLASHCORE_PROBLEM_FROM(member, name, T, def, doc)                   \
  if (givenProblem.member)                                                     \
    problem.member = *givenProblem.member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_PROBLEM_FROM)
#undef FLASHCORE_PROBLEM_FROM

  AttentionSpec result;
  result.problem = problem;
  result.schedule = resolveSchedule(problem, given);
  if (extra) {
    // --schedule goes on top of the file's resolved schedule exactly as
    // FLASHCORE_SCHEDULE goes on top of a dispatch-table entry
    // (forceSchedule): a field the file sets and that follows a forced one
    // (the register split after consumer_warpgroups, late_tile_claim after
    // the scheduler, ...) is derived again. A field whose value is no longer
    // the file's has no position in the file to point at.
    const ScheduleSpec fromFile = result.schedule;
    result.schedule = forceSchedule(problem, fromFile, *extra);
#define FLASHCORE_MOVED(member, name, T, def, doc)                             \
  if (extra->member || !(result.schedule.member == fromFile.member))           \
    positions.erase(std::string("schedule.") + name);
    FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_MOVED)
#undef FLASHCORE_MOVED
  }
  if (std::optional<SpecDiagnostic> violation = validateSpec(result)) {
    // Point at the offending value; a defaulted field points at the start of
    // the file, since there is nothing written to point at.
    const char *position = nullptr;
    auto it = positions.find(violation->field);
    if (it != positions.end())
      position = it->second;
    if (!position)
      position = text.data();
    return fail(position, violation->field, violation->message);
  }
  spec = result;
  return true;
}

bool flashcore::loadSpecFile(const std::string &path, AttentionSpec &spec,
                             SpecDiagnostic &diag,
                             const ScheduleOverrides *extra) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    diag = SpecDiagnostic();
    diag.file = path;
    diag.message = "cannot read spec file: " + buffer.getError().message();
    return false;
  }
  llvm::StringRef text = (*buffer)->getBuffer();
  return parseSpec(std::string_view(text.data(), text.size()), path, spec,
                   diag, extra);
}
