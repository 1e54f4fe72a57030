//===- FlashCoreOps.cpp - flashcore op verifiers --------------------------===//

#include "dialect/FlashCoreDialect.h"

using namespace mlir;
using namespace mlir::fc;

LogicalResult AttentionKernelOp::verify() {
  // The name becomes a PTX .entry symbol: [A-Za-z_$][A-Za-z0-9_$]*.
  StringRef name = getSymName();
  auto valid = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '$' || (!first && c >= '0' && c <= '9');
  };
  if (name.empty())
    return emitOpError("kernel name must be a non-empty PTX identifier");
  for (size_t i = 0; i < name.size(); ++i)
    if (!valid(name[i], i == 0))
      return emitOpError("kernel name must be a PTX identifier "
                         "([A-Za-z_$][A-Za-z0-9_$]*), got: ")
             << name;
  return success();
}
