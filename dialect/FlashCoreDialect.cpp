//===- FlashCoreDialect.cpp - flashcore dialect registration --------------===//

#include "dialect/FlashCoreDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::fc;

#include "dialect/FlashCoreDialect.cpp.inc"

#define GET_OP_CLASSES
#include "dialect/FlashCoreOps.cpp.inc"

void FlashCoreDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "dialect/FlashCoreOps.cpp.inc"
      >();
}
