//===- FlashCoreAttrs.cpp - #flashcore.spec parsing, printing, verifying --===//
//
// The textual form is `#flashcore.spec<key = value, ...>` with the field names
// of the YAML spec (docs/SPEC.md). dtype and head_dim are required; schedule
// fields that are left out take the same defaults as in a YAML spec.
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

flashcore::AttentionSpec mlir::fc::toAttentionSpec(SpecAttr attr) {
  flashcore::AttentionSpec spec;
  spec.problem.dtype = attr.getDtype() == DType::fp16 ? flashcore::DType::FP16
                                                      : flashcore::DType::BF16;
  spec.problem.headDim = static_cast<int>(attr.getHeadDim());
  spec.problem.causal = attr.getCausal();
  spec.problem.local = attr.getLocal();
  spec.problem.softcap = attr.getSoftcap();
  spec.problem.varlen = attr.getVarlen();
  double scale = attr.getSoftmaxScale().convertToDouble();
  if (scale != 0.0)
    spec.problem.softmaxScale = scale;
  flashcore::ScheduleSpec &s = spec.schedule;
  s.blockM = static_cast<int>(attr.getBlockM());
  s.blockN = static_cast<int>(attr.getBlockN());
  s.stages = static_cast<int>(attr.getStages());
  s.swizzle = static_cast<int>(attr.getSwizzle());
  s.consumerWarpgroups = static_cast<int>(attr.getConsumerWarpgroups());
  s.producerWarps = static_cast<int>(attr.getProducerWarps());
  s.producerRegisters = static_cast<int>(attr.getProducerRegisters());
  s.consumerRegisters = static_cast<int>(attr.getConsumerRegisters());
  return spec;
}

SpecAttr mlir::fc::getSpecAttr(MLIRContext *context,
                               const flashcore::AttentionSpec &spec) {
  const flashcore::ScheduleSpec &s = spec.schedule;
  return SpecAttr::get(
      context,
      spec.problem.dtype == flashcore::DType::FP16 ? DType::fp16 : DType::bf16,
      spec.problem.headDim, spec.problem.causal, spec.problem.local,
      spec.problem.softcap, spec.problem.varlen,
      llvm::APFloat(spec.problem.softmaxScale.value_or(0.0)), s.blockM,
      s.blockN, s.stages, s.swizzle, s.consumerWarpgroups, s.producerWarps,
      s.producerRegisters, s.consumerRegisters);
}

LogicalResult
SpecAttr::verify(function_ref<InFlightDiagnostic()> emitError, DType dtype,
                 int64_t headDim, bool causal, bool local, bool softcap,
                 bool varlen, llvm::APFloat softmaxScale,
                 int64_t blockM, int64_t blockN, int64_t stages,
                 int64_t swizzle, int64_t consumerWarpgroups,
                 int64_t producerWarps, int64_t producerRegisters,
                 int64_t consumerRegisters) {
  // Values outside int range cannot be represented in the spec at all.
  for (int64_t v : {headDim, blockM, blockN, stages, swizzle,
                    consumerWarpgroups, producerWarps, producerRegisters,
                    consumerRegisters})
    if (v < INT32_MIN || v > INT32_MAX)
      return emitError() << "spec field out of range, got: " << v;
  double scale = softmaxScale.convertToDouble();
  if (scale < 0 || !std::isfinite(scale))
    return emitError() << "softmax_scale must be a finite number > 0, got: "
                       << scale;
  flashcore::AttentionSpec spec;
  spec.problem.dtype =
      dtype == DType::fp16 ? flashcore::DType::FP16 : flashcore::DType::BF16;
  spec.problem.headDim = static_cast<int>(headDim);
  spec.problem.causal = causal;
  spec.problem.local = local;
  spec.problem.softcap = softcap;
  spec.problem.varlen = varlen;
  if (scale != 0.0)
    spec.problem.softmaxScale = scale;
  spec.schedule = {static_cast<int>(blockM),
                   static_cast<int>(blockN),
                   static_cast<int>(stages),
                   static_cast<int>(swizzle),
                   static_cast<int>(consumerWarpgroups),
                   static_cast<int>(producerWarps),
                   static_cast<int>(producerRegisters),
                   static_cast<int>(consumerRegisters)};
  if (std::optional<flashcore::SpecDiagnostic> d = flashcore::validateSpec(spec))
    return emitError() << d->message;
  return success();
}

Attribute SpecAttr::parse(AsmParser &parser, Type) {
  MLIRContext *context = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  std::optional<DType> dtype;
  std::optional<int64_t> headDim;
  bool causal = false, local = false, softcap = false, varlen = false;
  struct BoolField {
    const char *name;
    bool &slot;
  } boolFields[] = {{"causal", causal},
                    {"local", local},
                    {"softcap", softcap},
                    {"varlen", varlen}};
  double scale = 0.0;
  flashcore::ScheduleOverrides given;
  struct IntField {
    const char *name;
    std::optional<int> &slot;
  } intFields[] = {
#define FLASHCORE_FIELD_ROW(member, name) {name, given.member},
      FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_FIELD_ROW)
#undef FLASHCORE_FIELD_ROW
  };

  if (parser.parseLess())
    return {};
  do {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "dtype") {
      StringRef value;
      if (parser.parseKeyword(&value))
        return {};
      std::optional<DType> d = symbolizeDType(value);
      if (!d) {
        parser.emitError(keyLoc) << "dtype must be bf16 or fp16, got: "
                                 << value;
        return {};
      }
      dtype = d;
    } else if (key == "head_dim") {
      int64_t v;
      if (parser.parseInteger(v))
        return {};
      headDim = v;
    } else if (llvm::any_of(boolFields, [&](const BoolField &f) {
                 return key == f.name;
               })) {
      StringRef value;
      if (parser.parseKeyword(&value))
        return {};
      if (value != "true" && value != "false") {
        parser.emitError(keyLoc) << key << " must be true or false, got: "
                                 << value;
        return {};
      }
      for (BoolField &f : boolFields)
        if (key == f.name)
          f.slot = value == "true";
    } else if (key == "softmax_scale") {
      if (parser.parseFloat(scale))
        return {};
    } else {
      IntField *field = nullptr;
      for (IntField &f : intFields)
        if (key == f.name)
          field = &f;
      if (!field) {
        parser.emitError(keyLoc) << "unknown spec field '" << key << "'";
        return {};
      }
      int64_t v;
      if (parser.parseInteger(v))
        return {};
      if (v < INT32_MIN || v > INT32_MAX) {
        parser.emitError(keyLoc) << key << " out of range, got: " << v;
        return {};
      }
      field->slot = static_cast<int>(v);
    }
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  if (!dtype || !headDim) {
    parser.emitError(loc) << "spec needs dtype and head_dim";
    return {};
  }
  if (*headDim < INT32_MIN || *headDim > INT32_MAX) {
    parser.emitError(loc) << "head_dim out of range, got: " << *headDim;
    return {};
  }
  flashcore::ProblemSpec problem;
  problem.dtype =
      *dtype == DType::fp16 ? flashcore::DType::FP16 : flashcore::DType::BF16;
  problem.headDim = static_cast<int>(*headDim);
  problem.causal = causal;
  problem.local = local;
  problem.softcap = softcap;
  problem.varlen = varlen;
  flashcore::ScheduleSpec s = flashcore::resolveSchedule(problem, given);
  return SpecAttr::getChecked([&] { return parser.emitError(loc); }, context,
                              *dtype, *headDim, causal, local, softcap, varlen,
                              llvm::APFloat(scale),
                              s.blockM, s.blockN, s.stages, s.swizzle,
                              s.consumerWarpgroups, s.producerWarps,
                              s.producerRegisters, s.consumerRegisters);
}

void SpecAttr::print(AsmPrinter &printer) const {
  printer << "<dtype = " << stringifyDType(getDtype())
          << ", head_dim = " << getHeadDim()
          << ", causal = " << (getCausal() ? "true" : "false");
  // Off-by-default features print only when on.
  if (getLocal())
    printer << ", local = true";
  if (getSoftcap())
    printer << ", softcap = true";
  if (getVarlen())
    printer << ", varlen = true";
  double scale = getSoftmaxScale().convertToDouble();
  if (scale != 0.0) {
    printer << ", softmax_scale = ";
    printer.printFloat(getSoftmaxScale());
  }
  printer << ", block_m = " << getBlockM() << ", block_n = " << getBlockN()
          << ", stages = " << getStages() << ", swizzle = " << getSwizzle()
          << ", consumer_warpgroups = " << getConsumerWarpgroups()
          << ", producer_warps = " << getProducerWarps()
          << ", producer_registers = " << getProducerRegisters()
          << ", consumer_registers = " << getConsumerRegisters() << ">";
}
