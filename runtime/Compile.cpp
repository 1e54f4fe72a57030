//===- Compile.cpp - Spec to kernel: generator, then ptxas ----------------===//
//
// productionCompile is the compile function of the process-wide kernel
// cache. The generator (flashcore::generate, compiler/Compiler.h) is linked
// into libflashcore.so next to this code; it is referenced weakly so that
// binaries that link only the MLIR-free runtime objects (the unit tests)
// still link, and report a clear error if they ever reach it.
//
// With $FLASHCORE_DUMP set, every compile leaves its artifacts there as
// flashcore-<first 16 hex digits of the key>.<what>:
//   key (the full cache key text), spec.yaml, mlir, nvvm.mlir, llvm.mlir, ll
//   (each IR stage, generated again only when dumping), ptx, cubin,
//   ptxas.cmd (the command that ran and a repro command on the dumped PTX),
//   ptxas.log (ptxas's output) and log (assembler, warnings, errors).
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "runtime/KernelCache.h"
#include "runtime/PtxAssembler.h"
#include "runtime/Subprocess.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

namespace flashcore {
// Weak: see the file comment.
__attribute__((weak)) bool generate(const ValidatedSpec &spec, EmitStage stage,
                                    std::string &out, std::string &error,
                                    const GenerateOptions &options,
                                    GenerateTimings *timings);
} // namespace flashcore

namespace flashcore {

const char *kernelSourceName(KernelSource source) {
  switch (source) {
  case KernelSource::Memory:
    return "memory";
  case KernelSource::Disk:
    return "disk";
  case KernelSource::Compiled:
    return "compiled";
  }
  return "unknown";
}

namespace {

/// Where one compile's artifacts go under $FLASHCORE_DUMP ("" when unset).
std::string dumpBase(const CompileRequest &request) {
  const char *dir = std::getenv("FLASHCORE_DUMP");
  if (!dir || !*dir)
    return "";
  mkdir(dir, 0755); // may exist already
  return std::string(dir) + "/flashcore-" + request.key.hex.substr(0, 16);
}

/// The IR of every stage before PTX (generated again: only when dumping).
void dumpStages(const std::string &base, const ValidatedSpec &spec,
                const GenerateOptions &options) {
  const std::pair<EmitStage, const char *> stages[] = {
      {EmitStage::FlashCoreMlir, ".mlir"},
      {EmitStage::NvvmMlir, ".nvvm.mlir"},
      {EmitStage::LlvmMlir, ".llvm.mlir"},
      {EmitStage::LlvmIr, ".ll"}};
  std::string ignored;
  for (const auto &[stage, suffix] : stages) {
    std::string text, error;
    if (!generate(spec, stage, text, error, options, nullptr))
      text = "// generating this stage failed: " + error + "\n";
    writeFile(base + suffix, text, ignored);
  }
}

void dumpArtifacts(const std::string &base, const CompileRequest &request,
                   const CompiledKernel &kernel, const std::string &command,
                   const std::string &ptxas, const std::string &failure) {
  if (base.empty())
    return;
  std::string ignored;
  writeFile(base + ".key", request.key.text, ignored);
  writeFile(base + ".spec.yaml", printSpec(request.spec), ignored);
  if (!kernel.ptx.empty())
    writeFile(base + ".ptx", kernel.ptx, ignored);
  if (!kernel.cubin.empty())
    writeFile(base + ".cubin", kernel.cubin, ignored);
  if (!command.empty()) {
    AssembleOptions options;
    options.extraFlags = request.options.extraPtxasFlags;
    std::vector<std::string> repro = {ptxas};
    for (const std::string &flag : ptxasFlags(options))
      repro.push_back(flag);
    repro.insert(repro.end(), {base + ".ptx", "-o", base + ".cubin"});
    writeFile(base + ".ptxas.cmd",
              "# ran: " + command + "\n" + shellJoin(repro) + "\n", ignored);
    writeFile(base + ".ptxas.log", kernel.ptxasLog, ignored);
  }
  std::string log = "assembler: " + kernel.assembler + "\n";
  for (const std::string &w : kernel.warnings)
    log += "warning: " + w + "\n";
  if (!failure.empty())
    log += "error: " + failure + "\n";
  writeFile(base + ".log", log, ignored);
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace

bool productionCompile(const CompileRequest &request, CompiledKernel &kernel,
                       std::string &error) {
  const AttentionSpec &spec = request.spec;
  SpecDiagnostic diag;
  std::optional<ValidatedSpec> validated = ValidatedSpec::check(spec, &diag);
  if (!validated) {
    error = "invalid spec: " + diag.str();
    return false;
  }
  if (!&generate) {
    error = "the kernel generator (flashcore::generate) is not linked into "
            "this binary; link libflashcore.so";
    return false;
  }
  const std::string dump = dumpBase(request);

  // Step 1. Spec -> PTX.
  GenerateOptions genOptions;
  genOptions.verifyEachPass = request.options.verifyEachPass;
  genOptions.ptxFeature = request.options.ptxFeature;
  if (!dump.empty())
    dumpStages(dump, *validated, genOptions);
  GenerateTimings genTimings;
  auto start = std::chrono::steady_clock::now();
  std::string genError;
  if (!generate(*validated, EmitStage::Ptx, kernel.ptx, genError, genOptions,
                &genTimings)) {
    error = "generating PTX failed: " + genError + "\nspec:\n" +
            printSpec(spec);
    dumpArtifacts(dump, request, kernel, "", "", error);
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
  Toolchain toolchain;
  if (!currentToolchain(toolchain, error))
    return false; // an explicit FLASHCORE_PTXAS that is wrong
  if (toolchain.ptxasPath.empty()) {
    kernel.assembler = "driver JIT";
    kernel.warnings.push_back(toolchain.missingReason +
                              "; the CUDA driver will JIT-compile the PTX");
    dumpArtifacts(dump, request, kernel, "", "", "");
    return true;
  }
  AssembleOptions asmOptions;
  asmOptions.extraFlags = request.options.extraPtxasFlags;
  asmOptions.kernelName = kernelName(spec.problem.kind);
  if (!dump.empty())
    asmOptions.reproDir = std::getenv("FLASHCORE_DUMP");
  AssembleResult assembled;
  start = std::chrono::steady_clock::now();
  if (!assemblePtxWith(toolchain.ptxasPath, kernel.ptx, asmOptions, assembled,
                       error)) {
    kernel.ptxasLog = assembled.infoLog;
    dumpArtifacts(dump, request, kernel, assembled.command,
                  toolchain.ptxasPath, error);
    return false;
  }
  kernel.timings.assembleMs = msSince(start);
  kernel.cubin = std::move(assembled.cubin);
  kernel.resources = assembled.resources;
  kernel.ptxasLog = std::move(assembled.infoLog);
  kernel.warnings.insert(kernel.warnings.end(), assembled.warnings.begin(),
                         assembled.warnings.end());
  kernel.assembler = "ptxas " + toolchain.ptxasVersion + " (" +
                     toolchain.ptxasPath + ")";
  dumpArtifacts(dump, request, kernel, assembled.command, toolchain.ptxasPath,
                "");
  return true;
}

bool compileKernel(const AttentionSpec &spec, const CompileOptions &options,
                   std::shared_ptr<const CompiledKernel> &kernel,
                   std::string &error, KernelSource *source) {
  // The cache's compile (productionCompile) validates the spec; an invalid
  // one is never found in the cache, so it fails there with its message.
  kernel = globalKernelCache().get(spec, options, error, source);
  return kernel != nullptr;
}

} // namespace flashcore
