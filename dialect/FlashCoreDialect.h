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

namespace flashcore {
/// For the attribute storage's uniquing (found by ADL).
inline llvm::hash_code hash_value(const AttentionSpec &spec) {
  return llvm::hash_code(hashSpec(spec));
}
} // namespace flashcore

#define GET_ATTRDEF_CLASSES
#include "dialect/FlashCoreAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/FlashCoreOps.h.inc"

namespace mlir::fc {

/// The spec a (verified) attribute describes.
flashcore::ValidatedSpec toValidatedSpec(SpecAttr attr);

/// The attribute describing `spec`.
SpecAttr getSpecAttr(MLIRContext *context, const flashcore::ValidatedSpec &spec);

} // namespace mlir::fc

#endif // FLASHCORE_DIALECT_FLASHCOREDIALECT_H
