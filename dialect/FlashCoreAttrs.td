//===- FlashCoreAttrs.td - flashcore attributes ------------*- tablegen -*-===//

#ifndef FLASHCORE_ATTRS_TD
#define FLASHCORE_ATTRS_TD

include "FlashCoreDialect.td"
include "mlir/IR/AttrTypeBase.td"

def FlashCore_SpecAttr : AttrDef<FlashCore_Dialect, "Spec"> {
  let mnemonic = "spec";
  let summary = "An attention spec: problem and schedule";
  let description = [{
    Every field of a FlashCore spec (docs/SPEC.md), as `key = value` pairs in
    any order with the field names and values of the YAML spec. The fields
    and their value syntax come from the one field table
    (`FLASHCORE_PROBLEM_FIELDS` / `FLASHCORE_SCHEDULE_FIELDS` in
    compiler/Spec.h); schedule fields that are left out take their defaults,
    which depend on the problem. The printed form lists every field.

    ```mlir
    #flashcore.spec<dtype = bf16, head_dim = 128, causal = true,
                    block_n = 128, stages = 2, scheduler = static_persistent>
    ```

    The verifier applies the spec rules (wgmma shapes, TMA boxes, swizzle,
    shared memory, registers) and reports the first violation as
    "<field> must be ..., got: ...".
  }];
  let parameters = (ins "::flashcore::AttentionSpec":$spec);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // FLASHCORE_ATTRS_TD
