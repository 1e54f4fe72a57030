//===- Passes.h - FlashCore passes and pipelines ----------------*- C++ -*-===//

#ifndef FLASHCORE_COMPILER_PASSES_H
#define FLASHCORE_COMPILER_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
class RewritePatternSet;
namespace fc {

#define GEN_PASS_DECL
#include "compiler/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Passes.h.inc"

/// The pattern that expands flashcore.attention_kernel (one kernel per op).
/// `stagesOverride` > 0 replaces the spec's pipeline depth.
void populateFlashCoreToNVVMPatterns(RewritePatternSet &patterns,
                                     int stagesOverride = 0);

/// flashcore dialect -> llvm.func with arith/scf/nvvm (fc-lower-attention-kernel
/// + cse).
void buildFlashCoreToNVVMPipeline(OpPassManager &pm);
/// arith/scf/cf/nvvm -> LLVM dialect, ready for translation to LLVM IR.
void buildNVVMToLLVMPipeline(OpPassManager &pm);

/// Registers the passes and the pipelines `fc-lower-to-nvvm` and
/// `fc-lower-to-llvm` (for flashcore-opt).
void registerFlashCorePassesAndPipelines();

} // namespace fc
} // namespace mlir

#endif // FLASHCORE_COMPILER_PASSES_H
