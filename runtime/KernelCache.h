//===- KernelCache.h - One compile per key, modules per context -*- C++ -*-===//
//
// Two in-memory caches:
//
//  * KernelCache maps a kernel key (arch, PTX feature, ptxas flags, canonical
//    spec text) to a CompiledKernel. Lookups take a reader lock; a miss
//    inserts a pending entry under the writer lock, and the thread that
//    inserted it compiles while every other thread asking for the same key
//    waits on that entry. A failure is handed to those waiters and the entry
//    is dropped, so a later call compiles again. The compile function is
//    injected: production code passes productionCompile (generator + ptxas),
//    tests pass a fake.
//
//  * ModuleCache maps (CUDA context id, kernel key) to the loaded CUmodule and
//    its CUfunction, with the kernel's dynamic shared memory opted in. A
//    kernel is loaded once per context, so a call on device 1 never uses a
//    module loaded on device 0.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_KERNELCACHE_H
#define FLASHCORE_RUNTIME_KERNELCACHE_H

#include "flashcore/Compile.h"
#include "runtime/CudaDriver.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace flashcore {

/// The target every key names.
inline constexpr const char *kTargetArch = "sm_90a";

/// "arch: sm_90a\nptx: +ptx86\nptxas_flags: ...\n" + printSpec(spec).
std::string kernelCacheKey(const AttentionSpec &spec,
                           const CompileOptions &options);

struct CompileRequest {
  AttentionSpec spec;
  CompileOptions options;
  std::string key;
};

/// Fills `kernel` (everything but `key` and `spec`, which the cache sets) or
/// returns false with `error`.
using CompileFunction = std::function<bool(
    const CompileRequest &request, CompiledKernel &kernel, std::string &error)>;

class KernelCache {
public:
  explicit KernelCache(CompileFunction compile);

  /// The kernel for (spec, options), compiled on first use. Returns null with
  /// `error` when the compile fails (this call's or the one it waited for).
  /// `cached` (optional) is set when the kernel was already compiled.
  std::shared_ptr<const CompiledKernel> get(const AttentionSpec &spec,
                                            const CompileOptions &options,
                                            std::string &error,
                                            bool *cached = nullptr);

  /// Replaces the compile function and forgets every kernel (for tests that
  /// drive the launcher with a stand-in kernel).
  void setCompileFunction(CompileFunction compile);

  /// Compiled kernels held.
  size_t size() const;
  void clear();

  /// Test hook: called (with the key) each time a thread starts waiting for
  /// another thread's compile.
  void setWaitObserver(std::function<void(const std::string &)> observer);

private:
  struct Entry {
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    std::shared_ptr<const CompiledKernel> kernel;
    std::string error;
  };

  std::shared_ptr<const CompiledKernel> wait(Entry &entry,
                                             const std::string &key,
                                             std::string &error, bool *cached);

  CompileFunction compile;
  std::function<void(const std::string &)> waitObserver;
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries;
};

/// The generator (flashcore::generate) then ptxas, or the driver JIT when no
/// ptxas exists. Keeps PTX, cubin and logs under $FLASHCORE_DUMP when set.
bool productionCompile(const CompileRequest &request, CompiledKernel &kernel,
                       std::string &error);

/// The process-wide cache, compiling with productionCompile.
KernelCache &globalKernelCache();

class ModuleCache {
public:
  /// The kernel's function in `ctx`, which must be current on this thread.
  /// Loads the module on first use (cubin, or the PTX through the driver JIT
  /// when there is no cubin) and sets the function's maximum dynamic shared
  /// memory to geometry.smem.dynamicSmemBytes.
  bool getFunction(const cuda::DriverApi &driver, CUcontext ctx,
                   const CompiledKernel &kernel, CUfunction &function,
                   std::string &error);

private:
  struct Loaded {
    CUmodule module = nullptr;
    CUfunction function = nullptr;
  };
  std::shared_mutex mutex;
  std::map<std::pair<unsigned long long, std::string>, Loaded> loaded;
};

ModuleCache &globalModuleCache();

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_KERNELCACHE_H
