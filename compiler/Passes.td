//===- Passes.td - FlashCore passes ------------------------*- tablegen -*-===//

#ifndef FLASHCORE_PASSES_TD
#define FLASHCORE_PASSES_TD

include "mlir/Pass/PassBase.td"

def FCLowerAttentionKernel : Pass<"fc-lower-attention-kernel", "ModuleOp"> {
  let summary = "Expand flashcore.attention_kernel into a warp-specialized "
                "NVVM kernel";
  let description = [{
    Replaces every `flashcore.attention_kernel` with an `llvm.func` marked
    `nvvm.kernel` (parameters as in compiler/KernelABI.h) whose body is the
    FlashAttention-3-style forward kernel for the op's spec: a producer
    warpgroup issuing TMA loads into a `stages`-deep ring of shared-memory
    buffers guarded by mbarriers, and `consumer_warpgroups` warpgroups running
    wgmma (S = Q Kᵀ from shared memory, O += P V with P in registers) with an
    online softmax in between, registers moved between them with setmaxnreg.
    The body uses the arith, scf, llvm and nvvm dialects; lower it with
    `fc-lower-to-llvm`.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"
  ];
  let options = [
    Option<"stagesOverride", "stages", "int", /*default=*/"0",
           "When > 0, replace the spec's pipeline depth (for experiments "
           "from flashcore-opt; the result is re-validated)">
  ];
}

#endif // FLASHCORE_PASSES_TD
