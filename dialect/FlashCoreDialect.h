//===- FlashCoreDialect.h - The flashcore dialect ---------------*- C++ -*-===//
//
// Include this to use the flashcore dialect, its spec attribute and its ops.
// Heavy MLIR headers stay here, out of the MLIR-free compiler headers.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_DIALECT_FLASHCOREDIALECT_H
#define FLASHCORE_DIALECT_FLASHCOREDIALECT_H

#include "compiler/Spec.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"

#include "dialect/FlashCoreDialect.h.inc"
#include "dialect/FlashCoreEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/FlashCoreAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/FlashCoreOps.h.inc"

namespace mlir::fc {

/// The MLIR-free spec an attribute describes.
flashcore::AttentionSpec toAttentionSpec(SpecAttr attr);

/// The attribute describing `spec` (which should be valid; invalid specs give
/// an attribute that fails verification).
SpecAttr getSpecAttr(MLIRContext *context, const flashcore::AttentionSpec &spec);

} // namespace mlir::fc

#endif // FLASHCORE_DIALECT_FLASHCOREDIALECT_H
