//===- KernelCache.h - Two-level kernel cache, modules ----------*- C++ -*-===//
//
// Two caches:
//
//  * KernelCache maps a kernel key (CacheKey.h: SHA-256 over the canonical
//    spec, arch, versions, assembler and flags) to a CompiledKernel. Level 1
//    is memory: lookups take a reader lock; a miss inserts a pending entry
//    under the writer lock, and the thread that inserted it produces the
//    kernel while every other thread asking for the same key waits on that
//    entry. Level 2 is the disk (DiskCache): the producing thread reads the
//    entry, else takes the key's cross-process lock, reads again, and only
//    then compiles and writes the entry. A failure is handed to the waiters
//    and the entry dropped, so a later call compiles again. The compile and
//    key functions are injected: production code passes productionCompile
//    and kernelCacheKey, tests pass fakes.
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
#include "runtime/CacheKey.h"
#include "runtime/CudaDriver.h"
#include "runtime/DiskCache.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace flashcore {

struct CompileRequest {
  AttentionSpec spec;
  CompileOptions options;
  CacheKey key;
};

/// Fills `kernel` (everything but `key`, `keyHex` and `spec`, which the cache
/// sets) or returns false with `error`.
using CompileFunction = std::function<bool(
    const CompileRequest &request, CompiledKernel &kernel, std::string &error)>;

/// Computes the key of (spec, options); false with `error` when the
/// toolchain cannot be resolved.
using KeyFunction =
    std::function<bool(const AttentionSpec &spec, const CompileOptions &options,
                       CacheKey &key, std::string &error)>;

/// The geometry (threads, shared memory) of a cached kernel; the generated
/// kernels' is computeGeometry(spec).
using GeometryFunction = std::function<KernelGeometry(
    const AttentionSpec &spec, const CompileOptions &options)>;

struct KernelCacheStats {
  uint64_t memoryHits = 0, diskHits = 0, compiles = 0, compileFailures = 0;
  DiskCacheStats disk;
  bool diskEnabled = false;
  std::string diskDirectory;
};

class KernelCache {
public:
  explicit KernelCache(CompileFunction compile,
                       std::shared_ptr<DiskCache> disk = nullptr,
                       KeyFunction key = kernelCacheKey,
                       GeometryFunction geometry = nullptr);

  /// The kernel for (spec, options): from memory, else from disk, else
  /// compiled (once, however many threads ask). Null with `error` when the
  /// compile fails (this call's or the one it waited for). `source`
  /// (optional) tells where it came from.
  std::shared_ptr<const CompiledKernel> get(const AttentionSpec &spec,
                                            const CompileOptions &options,
                                            std::string &error,
                                            KernelSource *source = nullptr);

  /// Replaces the compile function and forgets every kernel (for tests that
  /// drive the launcher with a stand-in kernel).
  void setCompileFunction(CompileFunction compile);
  /// Replaces the disk level (null: memory only).
  void setDiskCache(std::shared_ptr<DiskCache> disk);
  std::shared_ptr<DiskCache> diskCache() const;

  /// Counts a hit served without reaching this cache (the launcher's
  /// per-handle fast path), so stats describe every call.
  void noteFastHit() { nMemoryHits.fetch_add(1, std::memory_order_relaxed); }
  KernelCacheStats stats() const;

  /// Compiled kernels held.
  size_t size() const;
  void clear();

  /// Test hook: called (with the key hex) each time a thread starts waiting
  /// for another thread's compile.
  void setWaitObserver(std::function<void(const std::string &)> observer);

private:
  struct Entry {
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    std::shared_ptr<const CompiledKernel> kernel;
    KernelSource source = KernelSource::Compiled;
    std::string error;
  };

  std::shared_ptr<const CompiledKernel> wait(Entry &entry,
                                             const std::string &hex,
                                             std::string &error,
                                             KernelSource *source);
  /// Disk, then compile (+ disk write). Runs in the thread owning the entry.
  bool produce(const CompileRequest &request, const CompileFunction &compile,
               const std::shared_ptr<DiskCache> &disk, CompiledKernel &kernel,
               KernelSource &source, std::string &error);

  CompileFunction compile;
  KeyFunction makeKey;
  GeometryFunction geometryOf;
  std::shared_ptr<DiskCache> disk;
  std::function<void(const std::string &)> waitObserver;
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries;
  std::atomic<uint64_t> nMemoryHits{0}, nDiskHits{0}, nCompiles{0},
      nCompileFailures{0};
};

/// The generator (flashcore::generate) then ptxas, or the driver JIT when no
/// ptxas exists. Keeps IR, PTX, cubin, the ptxas command and its output under
/// $FLASHCORE_DUMP when set.
bool productionCompile(const CompileRequest &request, CompiledKernel &kernel,
                       std::string &error);

/// The options of kernels compiled for launches: the MLIR verifier runs after
/// each pass only when $FLASHCORE_VERIFY_IR is set (it never changes the
/// output, only the compile time).
CompileOptions launchCompileOptions();

/// The process-wide cache: productionCompile, the disk cache the environment
/// selects (read once, on first use).
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
