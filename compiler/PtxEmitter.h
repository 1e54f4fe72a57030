//===- PtxEmitter.h - LLVM dialect -> LLVM IR -> PTX ------------*- C++ -*-===//

#ifndef FLASHCORE_COMPILER_PTXEMITTER_H
#define FLASHCORE_COMPILER_PTXEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace flashcore {

/// NVPTX target of every kernel.
inline constexpr const char *kNvptxTriple = "nvptx64-nvidia-cuda";
inline constexpr const char *kNvptxChip = "sm_90a";

/// Translates an LLVM-dialect module to LLVM IR, sets the NVPTX triple and
/// data layout, and runs the middle-end pipeline (PtxEmitter.cpp says which).
/// Null with `error` set on failure.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::ModuleOp module,
                                                   llvm::LLVMContext &context,
                                                   const std::string &ptxFeature,
                                                   std::string &error);

/// Runs the NVPTX backend on `module` (sm_90a, `ptxFeature` e.g. "+ptx86").
bool emitPtx(llvm::Module &module, const std::string &ptxFeature,
             std::string &ptx, std::string &error);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_PTXEMITTER_H
