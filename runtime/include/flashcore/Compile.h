//===- Compile.h - Spec to loadable kernel, for tools -----------*- C++ -*-===//
//
// The exported C++ entry points behind `flashcore-gen emit-cubin` and `run`:
// assemble PTX with the ptxas binary (not nvJitLink, which ignores
// setmaxnreg), read back the resource usage ptxas reports, and compile a spec
// through the process-wide kernel cache (memory, then disk) the launcher
// uses.
//
// Only std types and the MLIR-free compiler headers appear here.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILE_H
#define FLASHCORE_COMPILE_H

#include "compiler/KernelABI.h"
#include "compiler/Spec.h"

#include <memory>
#include <string>
#include <vector>

namespace flashcore {

/// What ptxas -v reports for one kernel. sharedBytes is *static* shared
/// memory only (FlashCore kernels use dynamic shared memory, see
/// KernelGeometry::smem).
struct ResourceUsage {
  int registers = 0;
  int sharedBytes = 0;
  int stackFrameBytes = 0;
  int spillStoreBytes = 0;
  int spillLoadBytes = 0;
  int barriers = 0;
};

/// "168 registers, 0 bytes smem, 0 bytes stack, 0/0 bytes spill
/// stores/loads, 1 barriers".
FLASHCORE_API std::string formatResourceUsage(const ResourceUsage &usage);

struct AssembleOptions {
  /// Passed as -arch=<arch>.
  std::string arch = "sm_90a";
  /// Appended after "-O3 -v" (e.g. "--warn-on-spills").
  std::vector<std::string> extraFlags;
  /// The kernel whose usage is reported (others are ignored).
  std::string kernelName = kKernelName;
  /// Where the PTX of a failed assembly is kept for the repro command. Empty:
  /// $FLASHCORE_DUMP if set, else a fresh /tmp/flashcore-repro-XXXXXX/.
  std::string reproDir;
};

struct AssembleResult {
  std::string cubin;
  ResourceUsage resources;
  /// ptxas's complete -v output (stderr then stdout).
  std::string infoLog;
  /// "ptxas warning" lines and performance notes such as (C7508)
  /// "'setmaxnreg' ignored".
  std::vector<std::string> warnings;
  /// The command that was run (temporary paths included).
  std::string command;
  double wallMs = 0;
};

/// Finds the ptxas binary: $FLASHCORE_PTXAS, $CUDA_HOME/bin/ptxas, the
/// toolkit FlashCore was configured with, /usr/local/cuda/bin/ptxas, $PATH.
FLASHCORE_API bool findPtxas(std::string &path, std::string &error);

/// "13.0.88", from `ptxas --version` of the binary findPtxas returns.
FLASHCORE_API bool ptxasVersion(std::string &version, std::string &error);

/// PTX -> cubin with `ptxas -arch=<arch> -O3 -v <extra flags>`. On failure
/// `error` holds ptxas's output and a "Repro command: ..." line naming a kept
/// copy of the PTX.
FLASHCORE_API bool assemblePtx(const std::string &ptx,
                               const AssembleOptions &options,
                               AssembleResult &result, std::string &error);

struct CompileOptions {
  /// PTX ISA feature passed to the generator (GenerateOptions::ptxFeature).
  std::string ptxFeature = "+ptx86";
  /// Run the MLIR verifier after every pass (not part of the cache key: it
  /// never changes the output). Launches turn it off unless
  /// $FLASHCORE_VERIFY_IR is set.
  bool verifyEachPass = true;
  /// Extra ptxas flags (part of the cache key).
  std::vector<std::string> extraPtxasFlags;
  /// The pre-Hopper fallback (runtime/TemplateKernel.h): the compute
  /// capability x 10 its kernel is compiled for with nvrtc; 0 for the
  /// generated sm_90a kernels.
  int templateArch = 0;
};

struct CompileTimings {
  double buildMs = 0, lowerMs = 0, translateMs = 0, codegenMs = 0;
  /// Spec -> PTX in total, and PTX -> cubin.
  double generateMs = 0;
  double assembleMs = 0;
};

/// Where compileKernel found a kernel.
enum class KernelSource {
  /// Already compiled in this process.
  Memory,
  /// Read from the disk cache ($FLASHCORE_CACHE_DIR, docs/RUNTIME.md).
  Disk,
  /// Generated and assembled by this call.
  Compiled
};

/// "memory", "disk", "compiled".
FLASHCORE_API const char *kernelSourceName(KernelSource source);

/// A compiled kernel as the caches hold it (immutable once published).
struct CompiledKernel {
  AttentionSpec spec;
  /// The cache key text: versions, generator hash, arch, assembler, flags and
  /// printSpec(spec) (docs/RUNTIME.md), and its SHA-256 in hex.
  std::string key;
  std::string keyHex;
  std::string ptx;
  /// Empty when no ptxas binary was found: the driver JIT-compiles `ptx`
  /// (cuModuleLoadDataEx) when the module is loaded.
  std::string cubin;
  KernelGeometry geometry;
  ResourceUsage resources;
  std::string ptxasLog;
  std::vector<std::string> warnings;
  /// "ptxas 13.0.88 (/usr/local/cuda/bin/ptxas)" or "driver JIT".
  std::string assembler;
  CompileTimings timings;
};

/// Validates `spec`, then returns the kernel from the process-wide cache:
/// memory, else the disk cache, else generated and assembled (once, however
/// many threads ask). `source` (optional) tells which.
FLASHCORE_API bool compileKernel(const AttentionSpec &spec,
                                 const CompileOptions &options,
                                 std::shared_ptr<const CompiledKernel> &kernel,
                                 std::string &error,
                                 KernelSource *source = nullptr);

} // namespace flashcore

#endif // FLASHCORE_COMPILE_H
