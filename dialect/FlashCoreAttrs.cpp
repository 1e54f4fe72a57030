//===- FlashCoreAttrs.cpp - #flashcore.spec parsing, printing, verifying --===//
//
// The textual form is `#flashcore.spec<key = value, ...>` with the field names
// and values of the YAML spec (docs/SPEC.md), both from the field table of
// compiler/Spec.h. dtype and head_dim are required; schedule fields that are
// left out take the same defaults as in a YAML spec.
//
//===----------------------------------------------------------------------===//

#include "dialect/FlashCoreDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::fc;

#define GET_ATTRDEF_CLASSES
#include "dialect/FlashCoreAttrs.cpp.inc"

void FlashCoreDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/FlashCoreAttrs.cpp.inc"
      >();
}

flashcore::ValidatedSpec mlir::fc::toValidatedSpec(SpecAttr attr) {
  // SpecAttr::verify ran validateSpec when the attribute was built.
  return flashcore::ValidatedSpec::assumeValid(attr.getSpec());
}

SpecAttr mlir::fc::getSpecAttr(MLIRContext *context,
                               const flashcore::ValidatedSpec &spec) {
  return SpecAttr::get(context, spec.spec());
}

LogicalResult SpecAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               flashcore::AttentionSpec spec) {
  if (std::optional<flashcore::SpecDiagnostic> d = flashcore::validateSpec(spec))
    return emitError() << d->message;
  return success();
}

namespace {
/// Parses the value of one field, with the token its type takes: a keyword
/// (booleans, enums), an integer, or a float. Errors name the field.
template <typename T>
ParseResult parseValue(AsmParser &parser, SMLoc keyLoc, StringRef key,
                       T &out) {
  std::string text, rule;
  if constexpr (std::is_same_v<T, int>) {
    int64_t v = 0;
    if (parser.parseInteger(v))
      return failure();
    if (v < INT32_MIN || v > INT32_MAX)
      return parser.emitError(keyLoc) << key << " out of range, got: " << v;
    text = std::to_string(v);
  } else if constexpr (std::is_same_v<T, double>) {
    double v = 0;
    if (parser.parseFloat(v))
      return failure();
    out = v;
    return success();
  } else {
    StringRef word;
    if (parser.parseKeyword(&word))
      return failure();
    text = word.str();
  }
  if (!flashcore::parseFieldValue(text, out, rule))
    return parser.emitError(keyLoc)
           << key << " must be " << rule << ", got: " << text;
  return success();
}
} // namespace

Attribute SpecAttr::parse(AsmParser &parser, Type) {
  MLIRContext *context = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  flashcore::ProblemOverrides problemGiven;
  flashcore::ScheduleOverrides given;
  if (parser.parseLess())
    return {};
  do {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    bool known = false, ok = true;
    auto field = [&](const char *name, auto &slot) {
      if (known || key != name)
        return;
      known = true;
      typename std::decay_t<decltype(slot)>::value_type v{};
      ok = succeeded(parseValue(parser, keyLoc, key, v));
      if (ok)
        slot = v;
    };
    flashcore::forEachProblemField(problemGiven, field);
    flashcore::forEachScheduleField(given, field);
    if (!known) {
      parser.emitError(keyLoc) << "unknown spec field '" << key << "'";
      return {};
    }
    if (!ok)
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  if (!problemGiven.dtype || !problemGiven.headDim) {
    parser.emitError(loc) << "spec needs dtype and head_dim";
    return {};
  }
  flashcore::AttentionSpec spec;
#define FLASHCORE_PROBLEM_FROM(member, name, T, def, doc)                      \
  if (problemGiven.member)                                                     \
    spec.problem.member = *problemGiven.member;
  FLASHCORE_PROBLEM_FIELDS(FLASHCORE_PROBLEM_FROM)
#undef FLASHCORE_PROBLEM_FROM
  spec.schedule = flashcore::resolveSchedule(spec.problem, given);
  return SpecAttr::getChecked([&] { return parser.emitError(loc); }, context,
                              spec);
}

void SpecAttr::print(AsmPrinter &printer) const {
  const flashcore::AttentionSpec &spec = getSpec();
  const char *sep = "<";
  auto field = [&](const char *name, const auto &value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, std::optional<double>>) {
      if (!value)
        return;
      printer << sep << name << " = ";
      printer.printFloat(llvm::APFloat(*value));
    } else {
      printer << sep << name << " = " << flashcore::printFieldValue(value);
    }
    sep = ", ";
  };
  flashcore::forEachProblemField(spec.problem, field);
  flashcore::forEachScheduleField(spec.schedule, field);
  printer << ">";
}
