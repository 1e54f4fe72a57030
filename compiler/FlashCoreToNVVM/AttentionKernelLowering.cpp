//===- AttentionKernelLowering.cpp - flashcore.attention_kernel -> NVVM ---===//
//
// The conversion pattern behind fc-lower-attention-kernel: it replaces the
// op by an llvm.func with its kind's ABI signature and emits the kernel body
// (ForwardKernel.cpp). The module gets the dynamic shared-memory symbol the
// body addresses.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"
#include "compiler/Passes.h"
#include "dialect/FlashCoreDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;

namespace {

struct AttentionKernelOpLowering
    : public OpConversionPattern<fc::AttentionKernelOp> {
  AttentionKernelOpLowering(MLIRContext *ctx, int stagesOverride)
      : OpConversionPattern(ctx), stagesOverride(stagesOverride) {}

  LogicalResult
  matchAndRewrite(fc::AttentionKernelOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // The attribute verified its spec; only a stages= override needs a new
    // check.
    flashcore::ValidatedSpec validated = fc::toValidatedSpec(op.getSpec());
    if (stagesOverride > 0) {
      flashcore::AttentionSpec spec = validated.spec();
      spec.schedule.stages = stagesOverride;
      flashcore::SpecDiagnostic d;
      std::optional<flashcore::ValidatedSpec> checked =
          flashcore::ValidatedSpec::check(spec, &d);
      if (!checked)
        return op.emitOpError() << d.message;
      validated = *checked;
    }

    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return op.emitOpError("must be nested in a builtin.module");
    if (!module.lookupSymbol("flashcore_smem")) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      flashcore::KernelEmitter::declareSharedMemory(rewriter, op.getLoc());
    }

    std::string name = op.getSymName().str();
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    rewriter.eraseOp(op);
    LLVM::LLVMFuncOp func =
        flashcore::createKernelFunction(rewriter, loc, name, validated);
    flashcore::emitKernelBody(rewriter, func, validated);
    return success();
  }

  int stagesOverride;
};

} // namespace

void mlir::fc::populateFlashCoreToNVVMPatterns(RewritePatternSet &patterns,
                                               int stagesOverride) {
  patterns.add<AttentionKernelOpLowering>(patterns.getContext(),
                                          stagesOverride);
}
