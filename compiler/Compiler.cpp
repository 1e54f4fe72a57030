//===- Compiler.cpp - spec -> flashcore IR -> LLVM -> PTX -----------------===//
//
// Runs the stages listed in Compiler.h in one process and one MLIRContext
// (single-threaded: a kernel is one function, a thread pool costs more than
// it saves). MLIR diagnostics are collected into the error string; nothing
// here aborts on a spec that passed validation. Should LLVM still report a
// fatal error (a validation gap), the handler installed here turns it into
// an "internal error" return instead of ending the host process.
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "compiler/KernelABI.h"
#include "compiler/Passes.h"
#include "compiler/PtxEmitter.h"
#include "dialect/FlashCoreDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csetjmp>
#include <cstdlib>
#include <memory>
#include <mutex>

using namespace mlir;

namespace flashcore {

const char *emitStageName(EmitStage stage) {
  switch (stage) {
  case EmitStage::FlashCoreMlir:
    return "mlir";
  case EmitStage::NvvmMlir:
    return "nvvm";
  case EmitStage::LlvmMlir:
    return "llvm-mlir";
  case EmitStage::LlvmIr:
    return "llvm-ir";
  case EmitStage::Ptx:
    return "ptx";
  }
  return "?";
}

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

template <typename T> std::string printToString(T printable) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printable.print(os);
  return text;
}
} // namespace

/// Dialects and translations every compile needs.
static void registerEverything(DialectRegistry &registry) {
  registry.insert<fc::FlashCoreDialect, LLVM::LLVMDialect, NVVM::NVVMDialect,
                  arith::ArithDialect, scf::SCFDialect, cf::ControlFlowDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

namespace {

/// One context per thread, kept: creating it and loading the dialects costs
/// more than lowering a kernel. What it keeps (uniqued types and attributes)
/// grows with the number of distinct specs only.
thread_local std::unique_ptr<MLIRContext> threadContext;

/// A generate() call in progress on this thread: where LLVM's fatal-error
/// handler jumps back to.
struct FatalTrap {
  std::jmp_buf jump;
  std::string reason;
};
thread_local FatalTrap *activeTrap = nullptr;

void onLlvmFatalError(void *, const char *reason, bool) {
  if (FatalTrap *trap = activeTrap) {
    trap->reason = reason;
    activeTrap = nullptr;
    std::longjmp(trap->jump, 1);
  }
  // Not inside generate(): LLVM's own behaviour (it exits after this).
  llvm::errs() << "LLVM ERROR: " << reason << "\n";
}

bool generateUnguarded(const ValidatedSpec &spec, EmitStage stage,
                       std::string &out, std::string &error,
                       const GenerateOptions &options,
                       GenerateTimings *timings);

} // namespace

bool generate(const ValidatedSpec &spec, EmitStage stage, std::string &out,
              std::string &error, const GenerateOptions &options,
              GenerateTimings *timings) {
  // LLVM's handler is process-wide (this library's copy of LLVM only: it
  // is linked hidden), installed once.
  static std::once_flag installed;
  std::call_once(installed, [] {
    llvm::install_fatal_error_handler(onLlvmFatalError, nullptr);
  });
  FatalTrap trap;
  FatalTrap *const outer = activeTrap;
  if (setjmp(trap.jump) != 0) {
    // The objects of the abandoned compile are leaked, and so is this
    // thread's context, which may be mid-change: the next call makes a new
    // one.
    activeTrap = outer;
    (void)threadContext.release();
    out.clear();
    error = "internal error: LLVM reported a fatal error while generating "
            "the kernel (a gap in spec validation; please report the spec): " +
            trap.reason;
    return false;
  }
  activeTrap = &trap;
  bool ok = generateUnguarded(spec, stage, out, error, options, timings);
  activeTrap = outer;
  return ok;
}

namespace {

bool generateUnguarded(const ValidatedSpec &spec, EmitStage stage,
                       std::string &out, std::string &error,
                       const GenerateOptions &options,
                       GenerateTimings *timings) {
  GenerateTimings localTimings;
  GenerateTimings &t = timings ? *timings : localTimings;
  if (options.ptxFeature.rfind("+ptx", 0) != 0 ||
      std::atoi(options.ptxFeature.c_str() + 4) < 86) {
    error = "ptx feature must be +ptxNN with NN >= 86 (TMA to shared::cta and "
            "setmaxnreg need PTX ISA 8.6), got: " + options.ptxFeature;
    return false;
  }

  if (!threadContext) {
    DialectRegistry registry;
    registerEverything(registry);
    threadContext = std::make_unique<MLIRContext>(
        registry, MLIRContext::Threading::DISABLED);
    threadContext->loadAllAvailableDialects();
  }
  MLIRContext &context = *threadContext;
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    llvm::raw_string_ostream os(diagnostics);
    os << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  auto fail = [&](const std::string &what) {
    error = what + (diagnostics.empty() ? "" : ":\n" + diagnostics);
    return false;
  };

  // Step 1. Spec -> flashcore IR.
  auto start = Clock::now();
  Location loc = FileLineColLoc::get(&context, "spec", 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder builder(module->getBodyRegion());
  fc::AttentionKernelOp::create(builder, loc, kernelName(spec.problem().kind),
                                fc::getSpecAttr(&context, spec));
  if (failed(verify(*module)))
    return fail("the flashcore IR built from the spec does not verify");
  t.buildMs = msSince(start);
  if (stage == EmitStage::FlashCoreMlir) {
    out = printToString(*module);
    return true;
  }

  // Test hook (tests/gen/fatal-error.test): an LLVM fatal error here must
  // come back as an error, not end the process.
  if (const char *inject = std::getenv("FLASHCORE_TEST_FATAL_ERROR");
      inject && *inject)
    llvm::report_fatal_error(llvm::Twine("injected by "
                                         "FLASHCORE_TEST_FATAL_ERROR=") +
                                 inject,
                             /*gen_crash_diag=*/false);

  // Step 2. MLIR passes.
  start = Clock::now();
  PassManager pm(&context);
  pm.enableVerifier(options.verifyEachPass);
  fc::buildFlashCoreToNVVMPipeline(pm);
  if (failed(pm.run(*module)))
    return fail("fc-lower-to-nvvm failed");
  if (stage == EmitStage::NvvmMlir) {
    t.lowerMs = msSince(start);
    out = printToString(*module);
    return true;
  }
  PassManager toLLVM(&context);
  toLLVM.enableVerifier(options.verifyEachPass);
  fc::buildNVVMToLLVMPipeline(toLLVM);
  if (failed(toLLVM.run(*module)))
    return fail("fc-lower-to-llvm failed");
  t.lowerMs = msSince(start);
  if (stage == EmitStage::LlvmMlir) {
    out = printToString(*module);
    return true;
  }

  // Step 3. LLVM IR + the middle-end pipeline.
  start = Clock::now();
  llvm::LLVMContext llvmContext;
  std::string translateError;
  std::unique_ptr<llvm::Module> llvmModule = translateAndOptimize(
      *module, llvmContext, options.ptxFeature, translateError);
  if (!llvmModule)
    return fail(translateError);
  t.translateMs = msSince(start);
  if (stage == EmitStage::LlvmIr) {
    llvm::raw_string_ostream os(out);
    llvmModule->print(os, /*AAW=*/nullptr);
    return true;
  }

  // Step 4. PTX.
  start = Clock::now();
  std::string codegenError;
  if (!emitPtx(*llvmModule, options.ptxFeature, out, codegenError))
    return fail(codegenError);
  t.codegenMs = msSince(start);
  return true;
}

} // namespace

} // namespace flashcore
