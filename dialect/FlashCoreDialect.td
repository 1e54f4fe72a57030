//===- FlashCoreDialect.td - The flashcore dialect ---------*- tablegen -*-===//
//
// The flashcore dialect carries attention-level meaning: a kernel op whose
// attribute is the full spec (problem + schedule). Everything below that level
// (TMA, mbarriers, wgmma, warp specialization) is expressed with upstream
// NVVM/LLVM/SCF/Arith ops by the fc-lower-attention-kernel pass.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_DIALECT_TD
#define FLASHCORE_DIALECT_TD

include "mlir/IR/OpBase.td"

def FlashCore_Dialect : Dialect {
  let name = "flashcore";
  let cppNamespace = "::mlir::fc";
  let summary = "Attention kernels for NVIDIA Hopper, described by a spec";
  let description = [{
    A `flashcore.attention_kernel` op names one generated kernel and carries a
    `#flashcore.spec<...>` attribute: the problem (dtype, head_dim, causal,
    softmax_scale) and the schedule (block_m, block_n, stages, swizzle,
    consumer_warpgroups, producer_warps, producer_registers,
    consumer_registers). The attribute verifier applies the same rules as the
    YAML spec validator (docs/SPEC.md).
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Defined next to the attributes (FlashCoreAttrs.cpp).
    void registerAttributes();
  }];
}

class FlashCore_Op<string mnemonic, list<Trait> traits = []>
    : Op<FlashCore_Dialect, mnemonic, traits>;

#endif // FLASHCORE_DIALECT_TD
