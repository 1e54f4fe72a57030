//===- LowerAttentionKernel.cpp - The fc-lower-attention-kernel pass ------===//

#include "compiler/Passes.h"
#include "dialect/FlashCoreDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::fc {
#define GEN_PASS_DEF_FCLOWERATTENTIONKERNEL
#include "compiler/Passes.h.inc"
} // namespace mlir::fc

using namespace mlir;

namespace {
struct LowerAttentionKernelPass
    : public fc::impl::FCLowerAttentionKernelBase<LowerAttentionKernelPass> {
  using FCLowerAttentionKernelBase::FCLowerAttentionKernelBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    fc::populateFlashCoreToNVVMPatterns(patterns, stagesOverride);
    ConversionTarget target(getContext());
    target.addIllegalDialect<fc::FlashCoreDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
