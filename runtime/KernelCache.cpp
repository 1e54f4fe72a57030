//===- KernelCache.cpp - Two-level kernel cache, loaded modules -----------===//

#include "runtime/KernelCache.h"
#include "runtime/Log.h"
#include "runtime/PtxAssembler.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace flashcore {

namespace {

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

std::string shortHex(const std::string &hex) { return hex.substr(0, 16); }

std::string ms(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", value);
  return buf;
}

std::string problemText(const AttentionSpec &spec) {
  const ProblemSpec &p = spec.problem;
  std::string s = std::string(dtypeName(p.dtype)) + " d" +
                  std::to_string(p.headDim);
  if (p.causal)
    s += " causal";
  if (p.local)
    s += " local";
  if (p.softcap)
    s += " softcap";
  if (p.varlen)
    s += " varlen";
  return s;
}

} // namespace

//===----------------------------------------------------------------------===//
// KernelCache
//===----------------------------------------------------------------------===//

KernelCache::KernelCache(CompileFunction compile,
                         std::shared_ptr<DiskCache> disk, KeyFunction key,
                         GeometryFunction geometry)
    : compile(std::move(compile)), makeKey(std::move(key)),
      geometryOf(std::move(geometry)), disk(std::move(disk)) {}

void KernelCache::setWaitObserver(
    std::function<void(const std::string &)> observer) {
  waitObserver = std::move(observer);
}

std::shared_ptr<const CompiledKernel>
KernelCache::wait(Entry &entry, const std::string &hex, std::string &error,
                  KernelSource *source) {
  std::unique_lock<std::mutex> lock(entry.mutex);
  bool wasFinished = entry.finished;
  if (!entry.finished) {
    if (waitObserver) {
      lock.unlock();
      waitObserver(hex);
      lock.lock();
    }
    entry.done.wait(lock, [&] { return entry.finished; });
  }
  if (!entry.kernel) {
    error = entry.error;
    return nullptr;
  }
  // A thread that found the kernel finished got a memory hit; one that
  // waited shares the producer's source (it was not in memory when asked).
  if (source)
    *source = wasFinished ? KernelSource::Memory : entry.source;
  if (wasFinished)
    nMemoryHits.fetch_add(1, std::memory_order_relaxed);
  return entry.kernel;
}

bool KernelCache::produce(const CompileRequest &request,
                          const CompileFunction &compileFn,
                          const std::shared_ptr<DiskCache> &diskCache,
                          CompiledKernel &kernel, KernelSource &source,
                          std::string &error) {
  const std::string &hex = request.key.hex;
  auto start = std::chrono::steady_clock::now();

  // Step 1. Disk, then (under the key's cross-process lock) disk again: the
  // process holding the lock may just have written the entry.
  DiskCache::KeyLock keyLock;
  if (diskCache && diskCache->enabled()) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string reason;
      DiskLookup found = diskCache->load(request.key, kernel, reason);
      if (found == DiskLookup::Hit) {
        source = KernelSource::Disk;
        nDiskHits.fetch_add(1, std::memory_order_relaxed);
        if (log::infoEnabled())
          log::info("kernel " + shortHex(hex) + " (" +
                    problemText(request.spec) + "): disk hit " +
                    diskCache->entryPath(hex) + " in " + ms(msSince(start)));
        return true;
      }
      if (found == DiskLookup::Rejected)
        log::warnOnce("disk-cache-entry:" + diskCache->entryPath(hex),
                      "the kernel cache entry " + diskCache->entryPath(hex) +
                          " is unusable (" + reason + "); rebuilding it");
      if (attempt == 0)
        keyLock = diskCache->lockKey(hex);
      if (!keyLock.held())
        break; // no other process to wait for
    }
  }

  // Step 2. Compile, then write the entry (before the lock is released).
  bool ok = false;
  try {
    ok = compileFn(request, kernel, error);
  } catch (const std::exception &e) {
    error = std::string("kernel compile threw: ") + e.what();
  } catch (...) {
    error = "kernel compile threw an unknown exception";
  }
  if (!ok) {
    if (error.empty())
      error = "kernel compile failed without a message";
    nCompileFailures.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  source = KernelSource::Compiled;
  nCompiles.fetch_add(1, std::memory_order_relaxed);
  bool stored = diskCache && diskCache->store(request.key, kernel);
  if (log::infoEnabled())
    log::info("kernel " + shortHex(hex) + " (" + problemText(request.spec) +
              "): compiled in " + ms(msSince(start)) + " (spec->ptx " +
              ms(kernel.timings.generateMs) + ", ptxas " +
              ms(kernel.timings.assembleMs) + ")" +
              (stored ? ", wrote " + diskCache->entryPath(hex)
                      : std::string(", memory only")));
  return true;
}

std::shared_ptr<const CompiledKernel>
KernelCache::get(const AttentionSpec &spec, const CompileOptions &options,
                 std::string &error, KernelSource *source) {
  CompileRequest request{spec, options, {}};
  KeyFunction keyFn;
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    keyFn = makeKey;
  }
  if (!keyFn(spec, options, request.key, error))
    return nullptr;
  const std::string &hex = request.key.hex;

  std::shared_ptr<Entry> entry;
  CompileFunction compileFn;
  std::shared_ptr<DiskCache> diskCache;
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(hex);
    if (it != entries.end())
      entry = it->second;
  }
  if (entry)
    return wait(*entry, hex, error, source);
  {
    // Re-check under the writer lock: another thread may have inserted the
    // key since the reader lock was dropped.
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(hex);
    if (it != entries.end()) {
      entry = it->second;
      lock.unlock();
      return wait(*entry, hex, error, source);
    }
    entry = std::make_shared<Entry>();
    entries.emplace(hex, entry);
    compileFn = compile;
    diskCache = disk;
  }

  // This thread owns the entry: produce the kernel without holding any lock.
  CompiledKernel kernel;
  KernelSource produced = KernelSource::Compiled;
  std::string produceError;
  std::shared_ptr<const CompiledKernel> result;
  if (produce(request, compileFn, diskCache, kernel, produced, produceError)) {
    kernel.key = request.key.text;
    kernel.keyHex = hex;
    kernel.spec = spec;
    kernel.geometry =
        geometryOf ? geometryOf(spec, options) : computeGeometry(spec);
    result = std::make_shared<const CompiledKernel>(std::move(kernel));
  } else {
    // Drop the entry before publishing the failure: threads already waiting
    // get the error, threads arriving later compile again.
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(hex);
    if (it != entries.end() && it->second == entry)
      entries.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(entry->mutex);
    entry->finished = true;
    entry->kernel = result;
    entry->source = produced;
    entry->error = produceError;
  }
  entry->done.notify_all();
  if (!result) {
    error = produceError;
    return nullptr;
  }
  if (source)
    *source = produced;
  return result;
}

size_t KernelCache::size() const {
  std::shared_lock<std::shared_mutex> lock(mutex);
  size_t n = 0;
  for (const auto &[key, entry] : entries) {
    std::lock_guard<std::mutex> entryLock(entry->mutex);
    n += entry->kernel != nullptr;
  }
  return n;
}

void KernelCache::setCompileFunction(CompileFunction fn) {
  std::unique_lock<std::shared_mutex> lock(mutex);
  compile = std::move(fn);
  entries.clear();
}

void KernelCache::setDiskCache(std::shared_ptr<DiskCache> d) {
  std::unique_lock<std::shared_mutex> lock(mutex);
  disk = std::move(d);
}

std::shared_ptr<DiskCache> KernelCache::diskCache() const {
  std::shared_lock<std::shared_mutex> lock(mutex);
  return disk;
}

void KernelCache::clear() {
  std::unique_lock<std::shared_mutex> lock(mutex);
  entries.clear();
}

KernelCacheStats KernelCache::stats() const {
  KernelCacheStats s;
  s.memoryHits = nMemoryHits;
  s.diskHits = nDiskHits;
  s.compiles = nCompiles;
  s.compileFailures = nCompileFailures;
  if (std::shared_ptr<DiskCache> d = diskCache()) {
    s.disk = d->stats();
    s.diskEnabled = d->writable();
    s.diskDirectory = d->directory();
  }
  return s;
}

CompileOptions launchCompileOptions() {
  static const bool verify = [] {
    const char *v = std::getenv("FLASHCORE_VERIFY_IR");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  CompileOptions options;
  options.verifyEachPass = verify;
  return options;
}

KernelCache &globalKernelCache() {
  static KernelCache cache(productionCompile, DiskCache::fromEnvironment());
  return cache;
}

//===----------------------------------------------------------------------===//
// ModuleCache
//===----------------------------------------------------------------------===//

bool ModuleCache::getFunction(const cuda::DriverApi &d, CUcontext ctx,
                              const CompiledKernel &kernel,
                              CUfunction &function, std::string &error) {
  auto id = std::make_pair(cuda::contextId(d, ctx), kernel.keyHex);
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    auto it = loaded.find(id);
    if (it != loaded.end()) {
      function = it->second.function;
      return true;
    }
  }
  // Loading takes milliseconds; holding the writer lock keeps it to one load
  // per (context, key).
  std::unique_lock<std::shared_mutex> lock(mutex);
  auto it = loaded.find(id);
  if (it != loaded.end()) {
    function = it->second.function;
    return true;
  }
  Loaded entry;
  if (!kernel.cubin.empty()) {
    CUresult rc = d.cuModuleLoadDataFn(&entry.module, kernel.cubin.data());
    if (rc != CUDA_SUCCESS) {
      error = cuda::callError(d, "cuModuleLoadData (cubin)", rc);
      return false;
    }
  } else {
    std::string infoLog;
    if (!jitLoadModule(d, kernel.ptx, entry.module, infoLog, error))
      return false;
  }
  const char *name = kernelName(kernel.spec.problem.kind);
  CUresult rc = d.cuModuleGetFunctionFn(&entry.function, entry.module, name);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(d, "cuModuleGetFunction", rc) + " for '" + name +
            "'";
    d.cuModuleUnloadFn(entry.module);
    return false;
  }
  int smem = kernel.geometry.smem.dynamicSmemBytes;
  rc = d.cuFuncSetAttributeFn(entry.function,
                              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                              smem);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(d, "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_"
                               "BYTES)", rc) +
            " with " + std::to_string(smem) + " bytes";
    d.cuModuleUnloadFn(entry.module);
    return false;
  }
  if (kernel.spec.schedule.ctasPerSm > 1) {
    // n resident CTAs need n times the shared memory: ask for the largest
    // carveout (the driver may otherwise pick one that holds only one).
    rc = d.cuFuncSetAttributeFn(entry.function,
                                CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                                CU_SHAREDMEM_CARVEOUT_MAX_SHARED);
    if (rc != CUDA_SUCCESS) {
      error = cuda::callError(d, "cuFuncSetAttribute(PREFERRED_SHARED_MEMORY_"
                                 "CARVEOUT)", rc);
      d.cuModuleUnloadFn(entry.module);
      return false;
    }
  }
  loaded.emplace(id, entry);
  function = entry.function;
  return true;
}

ModuleCache &globalModuleCache() {
  static ModuleCache cache;
  return cache;
}

} // namespace flashcore
