//===- FlashCoreOps.td - flashcore operations --------------*- tablegen -*-===//

#ifndef FLASHCORE_OPS_TD
#define FLASHCORE_OPS_TD

include "FlashCoreAttrs.td"
include "mlir/IR/SymbolInterfaces.td"

def FlashCore_AttentionKernelOp : FlashCore_Op<"attention_kernel", [Symbol]> {
  let summary = "A warp-specialized attention forward kernel to generate";
  let description = [{
    Declares one GPU kernel computing attention forward for the problem and
    schedule in `spec`. `fc-lower-attention-kernel` replaces it with an
    `llvm.func` of the same name marked `nvvm.kernel`, whose body uses TMA
    (`cp.async.bulk.tensor`), mbarriers, `wgmma.mma_async` and `setmaxnreg`.
    The parameter list is fixed by compiler/KernelABI.h.

    ```mlir
    flashcore.attention_kernel @flashcore_attention_fwd
        spec = #flashcore.spec<dtype = bf16, head_dim = 128, causal = true>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, FlashCore_SpecAttr:$spec);
  let assemblyFormat = "$sym_name `spec` `=` $spec attr-dict";
  let hasVerifier = 1;
}

#endif // FLASHCORE_OPS_TD
