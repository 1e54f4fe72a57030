//===- Pipeline.cpp - The MLIR pass pipelines of the generator ------------===//
//
//   fc-lower-to-nvvm  flashcore -> llvm.func + arith/scf/nvvm
//                     (fc-lower-attention-kernel, cse; no canonicalizer: on
//                     the emitter's thousands of constants it cost 27 ms of
//                     the ~30 ms MLIR time, and LLVM's O3 folds the same)
//   fc-lower-to-llvm  arith/scf/cf/nvvm -> LLVM dialect (NVVM intrinsics
//                     that have no LLVM intrinsic, such as wgmma, become
//                     inline PTX here: convert-nvvm-to-llvm)
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void fc::buildFlashCoreToNVVMPipeline(OpPassManager &pm) {
  pm.addPass(fc::createFCLowerAttentionKernel());
  pm.addPass(createCSEPass());
}

void fc::buildNVVMToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void fc::registerFlashCorePassesAndPipelines() {
  registerFlashCorePasses();
  PassPipelineRegistration<>(
      "fc-lower-to-nvvm",
      "Lower flashcore kernels to llvm.func with arith/scf/nvvm ops",
      buildFlashCoreToNVVMPipeline);
  PassPipelineRegistration<>(
      "fc-lower-to-llvm",
      "Lower arith/scf/cf/nvvm to the LLVM dialect for translation",
      buildNVVMToLLVMPipeline);
}
