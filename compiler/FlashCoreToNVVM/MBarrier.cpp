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
  // Lowered to a try_wait.parity loop; the suspend-time hint 0 leaves the
  // time limit to the hardware.
  NVVM::MBarrierTryWaitParityOp::create(b, loc, bar, parity, i32(0));
}

} // namespace flashcore
