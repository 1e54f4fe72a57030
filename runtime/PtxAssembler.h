//===- PtxAssembler.h - PTX to cubin: ptxas or driver JIT -------*- C++ -*-===//
//
// The public entry points (findPtxas, ptxasVersion, assemblePtx) are declared
// in flashcore/Compile.h. This header adds the pieces they are built from, so
// that tests can drive them without touching the environment: the ptxas
// search with an injected environment, the `ptxas -v` log parser, and the
// driver-JIT fallback used when no ptxas binary exists.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_PTXASSEMBLER_H
#define FLASHCORE_RUNTIME_PTXASSEMBLER_H

#include "flashcore/Compile.h"
#include "runtime/CudaDriver.h"

#include <string>
#include <vector>

namespace flashcore {

/// The places findPtxas looks, in order. Empty entries are skipped.
struct PtxasSearch {
  std::string flashcorePtxas;  // $FLASHCORE_PTXAS (must exist if set)
  std::string cudaHome;        // $CUDA_HOME
  std::string configuredPtxas; // FLASHCORE_DEFAULT_PTXAS (CMake)
  std::string systemPtxas = "/usr/local/cuda/bin/ptxas";
  std::string path;            // $PATH

  static PtxasSearch fromEnvironment();
};

/// Finds ptxas as described by `search`. A $FLASHCORE_PTXAS that is not an
/// executable file is an error (not silently skipped). When nothing is found
/// `error` lists every place tried.
bool findPtxasIn(const PtxasSearch &search, std::string &path,
                 std::string &error);

/// Resource usage of one function in a `ptxas -v` log.
struct PtxasFunctionUsage {
  std::string name;
  bool isEntry = false;
  ResourceUsage usage;
};

/// Parses `ptxas -v` output (formats of CUDA 11 through 13). Functions are
/// returned in the order they first appear. Lines that are warnings (ptxas
/// warning, and info lines carrying a Cxxxx performance note) go to
/// `warnings`.
std::vector<PtxasFunctionUsage>
parsePtxasLog(const std::string &log, std::vector<std::string> *warnings);

/// The usage of `kernelName`, else of the only entry function. False when the
/// log names neither.
bool findResourceUsage(const std::vector<PtxasFunctionUsage> &functions,
                       const std::string &kernelName, ResourceUsage &usage);

/// "13.0.88" from `ptxas --version` text ("... release 13.0, V13.0.88").
std::string parsePtxasVersion(const std::string &versionText);

/// `ptxas --version` of a given binary (cached per path).
bool ptxasVersionOf(const std::string &ptxas, std::string &version,
                    std::string &error);

/// The flags assemblePtxWith passes before the input file:
/// -arch=<arch> -O3 -v <extra flags>.
std::vector<std::string> ptxasFlags(const AssembleOptions &options);

/// assemblePtx with an explicit ptxas binary.
bool assemblePtxWith(const std::string &ptxas, const std::string &ptx,
                     const AssembleOptions &options, AssembleResult &result,
                     std::string &error);

/// Loads PTX into the current context with cuModuleLoadDataEx (the driver
/// JIT, which honours setmaxnreg), collecting its info and error logs.
bool jitLoadModule(const cuda::DriverApi &driver, const std::string &ptx,
                   CUmodule &module, std::string &infoLog, std::string &error);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_PTXASSEMBLER_H
