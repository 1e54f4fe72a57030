//===- flashcore-opt.cpp - MLIR driver with the flashcore dialect ---------===//
//
// Parses, verifies, prints and transforms flashcore / NVVM IR; used by the lit
// tests (round trips, -verify-diagnostics, fc-lower-attention-kernel).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "dialect/FlashCoreDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::fc::FlashCoreDialect, mlir::LLVM::LLVMDialect,
                  mlir::NVVM::NVVMDialect, mlir::arith::ArithDialect,
                  mlir::scf::SCFDialect, mlir::cf::ControlFlowDialect>();
  mlir::fc::registerFlashCorePassesAndPipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "FlashCore optimizer driver\n", registry));
}
