//===- Compile.cpp - Spec to kernel: generator, then ptxas ----------------===//
//
// productionCompile is the compile function of the process-wide kernel
// cache. The generator (flashcore::generate, compiler/Compiler.h) is linked
// into libflashcore.so next to this code; it is referenced weakly so that
// binaries that link only the MLIR-free runtime objects (the unit tests)
// still link, and report a clear error if they ever reach it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "runtime/KernelCache.h"
#include "runtime/PtxAssembler.h"
#include "runtime/Subprocess.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

namespace flashcore {
// Weak: see the file comment.
__attribute__((weak)) bool generate(const AttentionSpec &spec, EmitStage stage,
                                    std::string &out, std::string &error,
                                    const GenerateOptions &options,
                                    GenerateTimings *timings);
} // namespace flashcore

namespace flashcore {

/// Writes the artifacts of one compile under $FLASHCORE_DUMP (if set) as
/// flashcore-<first 16 hex digits of SHA-256(key)>.{spec.yaml,ptx,cubin,log}.
static void dumpArtifacts(const CompileRequest &request,
                          const CompiledKernel &kernel,
                          const std::string &failure) {
  const char *dir = std::getenv("FLASHCORE_DUMP");
  if (!dir || !*dir)
    return;
  mkdir(dir, 0755); // may exist already
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(request.key));
  std::string base = std::string(dir) + "/flashcore-" +
                     llvm::toHex(digest, /*LowerCase=*/true).substr(0, 16);
  std::string ignored;
  writeFile(base + ".spec.yaml", request.key, ignored);
  if (!kernel.ptx.empty())
    writeFile(base + ".ptx", kernel.ptx, ignored);
  if (!kernel.cubin.empty())
    writeFile(base + ".cubin", kernel.cubin, ignored);
  std::string log = kernel.assembler + "\n" + kernel.ptxasLog;
  if (!failure.empty())
    log += "\nerror: " + failure + "\n";
  writeFile(base + ".log", log, ignored);
}

static double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

bool productionCompile(const CompileRequest &request, CompiledKernel &kernel,
                       std::string &error) {
  const AttentionSpec &spec = request.spec;
  if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
    error = "invalid spec: " + diag->str();
    return false;
  }
  if (!&generate) {
    error = "the kernel generator (flashcore::generate) is not linked into "
            "this binary; link libflashcore.so";
    return false;
  }

  // Step 1. Spec -> PTX.
  GenerateOptions genOptions;
  genOptions.verifyEachPass = request.options.verifyEachPass;
  genOptions.ptxFeature = request.options.ptxFeature;
  GenerateTimings genTimings;
  auto start = std::chrono::steady_clock::now();
  std::string genError;
  if (!generate(spec, EmitStage::Ptx, kernel.ptx, genError, genOptions,
                &genTimings)) {
    error = "generating PTX failed: " + genError + "\nspec:\n" +
            printSpec(spec);
    dumpArtifacts(request, kernel, error);
    return false;
  }
  kernel.timings.generateMs = msSince(start);
  kernel.timings.buildMs = genTimings.buildMs;
  kernel.timings.lowerMs = genTimings.lowerMs;
  kernel.timings.translateMs = genTimings.translateMs;
  kernel.timings.codegenMs = genTimings.codegenMs;
  kernel.geometry = computeGeometry(spec);

  // Step 2. PTX -> cubin with ptxas; without one, leave the cubin empty and
  // let the driver JIT the PTX when the module is loaded.
  PtxasSearch search = PtxasSearch::fromEnvironment();
  std::string ptxas, findError;
  if (!findPtxasIn(search, ptxas, findError)) {
    if (!search.flashcorePtxas.empty()) {
      error = findError; // an explicit FLASHCORE_PTXAS that is wrong
      return false;
    }
    kernel.assembler = "driver JIT";
    kernel.warnings.push_back(findError +
                              "; the CUDA driver will JIT-compile the PTX");
    dumpArtifacts(request, kernel, "");
    return true;
  }
  AssembleOptions asmOptions;
  asmOptions.extraFlags = request.options.extraPtxasFlags;
  AssembleResult assembled;
  start = std::chrono::steady_clock::now();
  if (!assemblePtxWith(ptxas, kernel.ptx, asmOptions, assembled, error)) {
    dumpArtifacts(request, kernel, error);
    return false;
  }
  kernel.timings.assembleMs = msSince(start);
  kernel.cubin = std::move(assembled.cubin);
  kernel.resources = assembled.resources;
  kernel.ptxasLog = std::move(assembled.infoLog);
  kernel.warnings.insert(kernel.warnings.end(), assembled.warnings.begin(),
                         assembled.warnings.end());
  std::string version, versionError;
  kernel.assembler = "ptxas " +
                     (ptxasVersionOf(ptxas, version, versionError)
                          ? version
                          : std::string("(unknown version)")) +
                     " (" + ptxas + ")";
  dumpArtifacts(request, kernel, "");
  return true;
}

bool compileKernel(const AttentionSpec &spec, const CompileOptions &options,
                   std::shared_ptr<const CompiledKernel> &kernel,
                   std::string &error, bool *cached) {
  if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
    error = "invalid spec: " + diag->str();
    return false;
  }
  kernel = globalKernelCache().get(spec, options, error, cached);
  return kernel != nullptr;
}

} // namespace flashcore
