//===- MBarrier.cpp - mbarrier operations of the attention kernel ---------===//
//
// The pipeline between the producer (TMA) and the consumers (wgmma) runs on
// shared-memory mbarriers (PTX ISA 9.7.13.15):
//   - "full" barriers: count 1; the producer's arrive.expect_tx sets the byte
//     count and TMA's complete_tx finishes the phase when the tile landed.
//   - "empty" barriers: count = consumer warps; one lane per consumer warp
//     arrives once the stage's wgmmas have read it.
// Waiters use try_wait.parity on the phase they expect (phase = use / stages
// & 1); a fresh barrier is in phase 0, so waiting for parity 1 passes at once,
// which is how the producer's first lap skips the empty barriers.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

using namespace mlir;

namespace flashcore {

void KernelEmitter::mbarrierInit(Value bar, int count) {
  NVVM::MBarrierInitOp::create(b, loc, bar, i32(count), /*predicate=*/Value());
}

void KernelEmitter::mbarrierInitFence() {
  // Make the initialised barriers visible to the async proxy (TMA's
  // complete_tx) and to the other threads before anyone uses them.
  NVVM::FenceMbarrierInitOp::create(b, loc);
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}

void KernelEmitter::mbarrierArrive(Value bar) {
  NVVM::MBarrierArriveOp::create(b, loc, /*res=*/Type(), bar, /*count=*/Value());
}

void KernelEmitter::mbarrierArriveIf(Value bar, Value pred) {
  NVVM::MBarrierArriveExpectTxOp::create(b, loc, /*res=*/Type(), bar, i32(0),
                                         NVVM::MemScopeKind::CTA,
                                         /*relaxed=*/false, pred);
}

void KernelEmitter::mbarrierArriveClusterIf(Value bar, Value rank,
                                            Value pred) {
  // Inline PTX: NVVM's mbarrier arrive ops take no predicate on a
  // shared::cluster barrier ("not supported when using predicate"), and a
  // branch would split the consumer's release point out of its basic block
  // (see mbarrierArriveIf). PTX ISA: mapa (the peer's address of a shared
  // variable) and mbarrier.arrive (.shared::cluster, .release.cluster).
  MLIRContext *ctx = b.getContext();
  Value p = LLVM::ZExtOp::create(b, loc, i32T, pred);
  LLVM::InlineAsmOp::create(
      b, loc, TypeRange{}, ValueRange{smemAddress(bar), rank, p},
      "{\n\t.reg .pred p;\n\t.reg .b32 remote;\n\t"
      "setp.ne.b32 p, $2, 0;\n\t"
      "@p mapa.shared::cluster.u32 remote, $0, $1;\n\t"
      "@p mbarrier.arrive.release.cluster.shared::cluster.b64 _, [remote];\n\t}",
      "r,r,r,~{memory}", /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
}

void KernelEmitter::mbarrierArriveExpectTx(Value bar, int bytes) {
  mbarrierArriveExpectTx(bar, i32(bytes));
}

void KernelEmitter::mbarrierArriveExpectTx(Value bar, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(b, loc, /*res=*/Type(), bar,
                                         bytes, NVVM::MemScopeKind::CTA,
                                         /*relaxed=*/false,
                                         /*predicate=*/Value());
}

void KernelEmitter::mbarrierWait(Value bar, Value parity) {
  if (!spec.schedule.suspendWaits) {
    // A try_wait.parity loop with a 0 ns suspend-time hint (PTX ISA
    // 9.7.13.15.16): each try returns at once, so the thread polls.
    NVVM::MBarrierTryWaitParityOp::create(b, loc, bar, parity, i32(0));
    return;
  }
  // suspend_waits: try_wait.parity without a hint, in a loop until the phase
  // completes. A try may park the thread until the phase completes or a
  // system-dependent time limit passes (CUTLASS's ClusterBarrier::wait), so
  // a waiting warp takes no issue slots from the warps it shares its SM
  // sub-partition with.
  whileLoop(
      ValueRange{},
      [&](ValueRange) {
        Value done = NVVM::MBarrierTryWaitOp::create(b, loc, i1T, bar, parity,
                                                     /*ticks=*/Value());
        return xori(done, i1(true));
      },
      [&](ValueRange) { return SmallVector<Value>{}; });
}

} // namespace flashcore
