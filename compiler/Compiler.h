//===- Compiler.h - Spec to PTX, the generator's public entry point -------===//
//
// The stages of kernel generation, as a named list (like Triton's
// ttir -> ttgir -> llir -> ptx):
//
//   spec      ValidatedSpec (compiler/Spec.h)
//   mlir      flashcore dialect: one flashcore.attention_kernel op
//   nvvm      after fc-lower-attention-kernel: llvm.func + nvvm/arith/scf ops
//   llvm-mlir after the upstream conversions: pure LLVM + NVVM dialect
//   llvm-ir   LLVM IR after translation and LLVM's middle-end pipeline
//   ptx       NVPTX backend output for sm_90a
//
// Everything here uses only std types so the CLI and the runtime can call it
// across the libflashcore.so boundary (LLVM/MLIR are linked in privately).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_COMPILER_H
#define FLASHCORE_COMPILER_COMPILER_H

#include "compiler/Spec.h"

#include <string>

namespace flashcore {

enum class EmitStage { FlashCoreMlir, NvvmMlir, LlvmMlir, LlvmIr, Ptx };

/// "mlir", "nvvm", "llvm-mlir", "llvm-ir", "ptx".
FLASHCORE_API const char *emitStageName(EmitStage stage);

struct GenerateOptions {
  /// Run the MLIR verifier after every pass (slower; on in tests).
  bool verifyEachPass = true;
  /// PTX ISA version the NVPTX backend targets, as "+ptxNN" (>= 86).
  std::string ptxFeature = "+ptx86";
};

struct GenerateTimings {
  double buildMs = 0;     // spec -> flashcore IR
  double lowerMs = 0;     // MLIR passes
  double translateMs = 0; // MLIR -> LLVM IR + middle end
  double codegenMs = 0;   // LLVM IR -> PTX
};

/// Generates `spec` up to `stage` and writes that stage's text to `out`.
/// Returns false with a message in `error` on failure; never aborts (the
/// spec was validated when the ValidatedSpec was made).
FLASHCORE_API bool generate(const ValidatedSpec &spec, EmitStage stage,
                            std::string &out, std::string &error,
                            const GenerateOptions &options = {},
                            GenerateTimings *timings = nullptr);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_COMPILER_H
