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

struct RawProblem {
  Located<std::string> dtype;
  Located<long long> headDim;
  Located<bool> causal;
  Located<bool> local;
  Located<bool> softcap;
  Located<bool> varlen;
  Located<double> softmaxScale;
};

struct RawSchedule {
#define FLASHCORE_RAW_MEMBER(member, name) Located<long long> member;
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

template <> struct ScalarTraits<Located<long long>> {
  static void output(const Located<long long> &v, void *, raw_ostream &os) {
    os << v.value.value_or(0);
  }
  static StringRef input(StringRef scalar, void *ctxt, Located<long long> &v) {
    v.position = currentPosition(ctxt);
    long long parsed;
    if (scalar.getAsInteger(10, parsed))
      return "must be an integer";
    v.value = parsed;
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct ScalarTraits<Located<double>> {
  static void output(const Located<double> &v, void *, raw_ostream &os) {
    os << v.value.value_or(0);
  }
  static StringRef input(StringRef scalar, void *ctxt, Located<double> &v) {
    v.position = currentPosition(ctxt);
    double parsed;
    if (scalar.getAsDouble(parsed))
      return "must be a number";
    v.value = parsed;
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

template <> struct ScalarTraits<Located<bool>> {
  static void output(const Located<bool> &v, void *, raw_ostream &os) {
    os << (v.value.value_or(false) ? "true" : "false");
  }
  static StringRef input(StringRef scalar, void *ctxt, Located<bool> &v) {
    v.position = currentPosition(ctxt);
    if (scalar == "true")
      v.value = true;
    else if (scalar == "false")
      v.value = false;
    else
      return "must be true or false";
    return {};
  }
  static QuotingType mustQuote(StringRef) { return QuotingType::None; }
};

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
  static void mapping(IO &io, RawProblem &p) {
    io.mapRequired("dtype", p.dtype);
    io.mapRequired("head_dim", p.headDim);
    io.mapOptional("causal", p.causal);
    io.mapOptional("local", p.local);
    io.mapOptional("softcap", p.softcap);
    io.mapOptional("varlen", p.varlen);
    io.mapOptional("softmax_scale", p.softmaxScale);
  }
};

template <> struct MappingTraits<RawSchedule> {
  static void mapping(IO &io, RawSchedule &s) {
#define FLASHCORE_MAP_FIELD(member, name) io.mapOptional(name, s.member);
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

struct LineColumn {
  int line = 0, column = 0;
};

LineColumn locate(std::string_view text, const char *position) {
  LineColumn lc;
  if (!position || position < text.data() ||
      position > text.data() + text.size())
    return lc;
  lc.line = 1;
  lc.column = 1;
  for (const char *c = text.data(); c < position; ++c) {
    if (*c == '\n') {
      ++lc.line;
      lc.column = 1;
    } else {
      ++lc.column;
    }
  }
  return lc;
}

struct DiagCapture {
  bool seen = false;
  int line = 0, column = 0;
  std::string message;
};

void captureDiag(const llvm::SMDiagnostic &d, void *ctxt) {
  auto *capture = static_cast<DiagCapture *>(ctxt);
  if (capture->seen)
    return;
  capture->seen = true;
  capture->line = d.getLineNo();
  capture->column = d.getColumnNo() + 1;
  capture->message = d.getMessage().str();
}

/// Narrows a parsed integer to int, failing loudly on overflow.
bool narrow(const Located<long long> &raw, std::optional<int> &out,
            const char *field, std::string &error, const char *&where) {
  if (!raw.value)
    return true;
  if (*raw.value < -(1LL << 30) || *raw.value > (1LL << 30)) {
    error = std::string(field) + " must be a reasonable integer, got: " +
            std::to_string(*raw.value);
    where = raw.position;
    return false;
  }
  out = static_cast<int>(*raw.value);
  return true;
}

} // namespace

bool flashcore::parseSpec(std::string_view text, std::string_view bufferName,
                          AttentionSpec &spec, SpecDiagnostic &diag) {
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

  // Problem.
  ProblemSpec problem;
  const std::string &dtype = *raw.problem.dtype.value;
  if (dtype == "bf16")
    problem.dtype = DType::BF16;
  else if (dtype == "fp16")
    problem.dtype = DType::FP16;
  else
    return fail(raw.problem.dtype.position, "problem.dtype",
                "dtype must be bf16 or fp16, got: " + dtype);
  std::string error;
  const char *where = nullptr;
  std::optional<int> headDim;
  if (!narrow(raw.problem.headDim, headDim, "head_dim", error, where))
    return fail(where, "problem.head_dim", error);
  problem.headDim = *headDim;
  problem.causal = raw.problem.causal.value.value_or(false);
  problem.local = raw.problem.local.value.value_or(false);
  problem.softcap = raw.problem.softcap.value.value_or(false);
  problem.varlen = raw.problem.varlen.value.value_or(false);
  problem.softmaxScale = raw.problem.softmaxScale.value;

  // Schedule.
  ScheduleOverrides given;
  std::map<std::string, const char *> positions = {
      {"problem.dtype", raw.problem.dtype.position},
      {"problem.head_dim", raw.problem.headDim.position},
      {"problem.causal", raw.problem.causal.position},
      {"problem.local", raw.problem.local.position},
      {"problem.softcap", raw.problem.softcap.position},
      {"problem.varlen", raw.problem.varlen.position},
      {"problem.softmax_scale", raw.problem.softmaxScale.position},
  };
  if (raw.schedule) {
    const RawSchedule &s = *raw.schedule;
    struct {
      const char *field;
      const Located<long long> &raw;
      std::optional<int> &out;
    } fields[] = {
#define FLASHCORE_FIELD_ROW(member, name) {name, s.member, given.member},
        FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_FIELD_ROW)
#undef FLASHCORE_FIELD_ROW
    };
    for (auto &f : fields) {
      std::string path = std::string("schedule.") + f.field;
      if (!narrow(f.raw, f.out, f.field, error, where))
        return fail(where, path, error);
      positions[path] = f.raw.position;
    }
  }

  AttentionSpec result;
  result.problem = problem;
  result.schedule = resolveSchedule(problem, given);
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
                             SpecDiagnostic &diag) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    diag = SpecDiagnostic();
    diag.file = path;
    diag.message = "cannot read spec file: " + buffer.getError().message();
    return false;
  }
  llvm::StringRef text = (*buffer)->getBuffer();
  return parseSpec(std::string_view(text.data(), text.size()), path, spec,
                   diag);
}
