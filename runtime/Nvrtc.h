//===- Nvrtc.h - libnvrtc loaded at run time with dlopen --------*- C++ -*-===//
//
// The pre-Hopper fallback compiles CUDA C++ templates (templates/) with
// nvrtc. Like libcuda, libnvrtc is opened with dlopen the first time it is
// needed, so a machine without it still runs the Hopper path. Search order:
// $FLASHCORE_NVRTC (a path), $CUDA_HOME/lib64, the CUDA toolkit FlashCore
// was configured with, then the loader's path (libnvrtc.so.13, .12, .so).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_NVRTC_H
#define FLASHCORE_RUNTIME_NVRTC_H

#include <string>
#include <vector>

namespace flashcore {
namespace nvrtc {

/// What one compile produced.
struct Output {
  std::string cubin;
  std::string log;
};

/// The loaded library (process-wide; never unloaded).
struct Library {
  std::string path;
  int major = 0, minor = 0;

  /// Compiles `source` (program name `name`) for the real architecture
  /// sm_<arch> into a cubin. False with `error` naming nvrtc's result and
  /// holding its log when the compile fails.
  bool compile(const std::string &source, const std::string &name, int arch,
               const std::vector<std::string> &options, Output &out,
               std::string &error) const;

  /// nvrtc's version as "13.0".
  std::string version() const {
    return std::to_string(major) + "." + std::to_string(minor);
  }

  // nvrtc's C entry points (nvrtc.h), resolved by dlsym.
  using Program = struct _nvrtcProgram *;
  int (*createProgram)(Program *, const char *, const char *, int,
                       const char *const *, const char *const *) = nullptr;
  int (*compileProgram)(Program, int, const char *const *) = nullptr;
  int (*getProgramLogSize)(Program, size_t *) = nullptr;
  int (*getProgramLog)(Program, char *) = nullptr;
  int (*getCUBINSize)(Program, size_t *) = nullptr;
  int (*getCUBIN)(Program, char *) = nullptr;
  int (*destroyProgram)(Program *) = nullptr;
  const char *(*getErrorString)(int) = nullptr;
  int (*getVersion)(int *, int *) = nullptr;
};

/// The library, loaded on first use; null with `error` listing what was
/// tried when none loads.
const Library *library(std::string &error);

} // namespace nvrtc
} // namespace flashcore

#endif // FLASHCORE_RUNTIME_NVRTC_H
