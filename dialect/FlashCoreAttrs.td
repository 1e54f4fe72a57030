//===- FlashCoreAttrs.td - flashcore attributes ------------*- tablegen -*-===//

#ifndef FLASHCORE_ATTRS_TD
#define FLASHCORE_ATTRS_TD

include "FlashCoreDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def FlashCore_DType : I32EnumAttr<"DType", "attention element type", [
    I32EnumAttrCase<"bf16", 0>,
    I32EnumAttrCase<"fp16", 1>
  ]> {
  let cppNamespace = "::mlir::fc";
  let genSpecializedAttr = 0;
}

def FlashCore_SpecAttr : AttrDef<FlashCore_Dialect, "Spec"> {
  let mnemonic = "spec";
  let summary = "An attention spec: problem and schedule";
  let description = [{
    Every field of a FlashCore spec (docs/SPEC.md). In the textual form the
    fields are `key = value` pairs in any order; schedule fields that are left
    out take their defaults, which depend on the problem.

    ```mlir
    #flashcore.spec<dtype = bf16, head_dim = 128, causal = false,
                    block_m = 128, block_n = 128, stages = 2>
    ```

    The verifier applies the spec rules (wgmma shapes, TMA boxes, swizzle,
    shared memory, registers) and reports the first violation as
    "<field> must be ..., got: ...".
  }];
  let parameters = (ins
    EnumParameter<FlashCore_DType>:$dtype,
    "int64_t":$headDim,
    "bool":$causal,
    "bool":$local,
    "bool":$softcap,
    "bool":$varlen,
    APFloatParameter<"softmax scale (0 means 1/sqrt(head_dim))">:$softmaxScale,
    "int64_t":$blockM,
    "int64_t":$blockN,
    "int64_t":$stages,
    "int64_t":$swizzle,
    "int64_t":$consumerWarpgroups,
    "int64_t":$producerWarps,
    "int64_t":$producerRegisters,
    "int64_t":$consumerRegisters
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // FLASHCORE_ATTRS_TD
