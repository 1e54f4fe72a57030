//===- KernelCache.cpp - One compile per kernel key, loaded modules -------===//

#include "runtime/KernelCache.h"
#include "runtime/PtxAssembler.h"

#include <exception>

namespace flashcore {

std::string kernelCacheKey(const AttentionSpec &spec,
                           const CompileOptions &options) {
  std::string key = std::string("arch: ") + kTargetArch + "\n";
  key += "ptx: " + options.ptxFeature + "\n";
  key += "ptxas_flags:";
  for (const std::string &flag : options.extraPtxasFlags)
    key += " " + flag;
  key += "\n";
  return key + printSpec(spec);
}

//===----------------------------------------------------------------------===//
// KernelCache
//===----------------------------------------------------------------------===//

KernelCache::KernelCache(CompileFunction compile)
    : compile(std::move(compile)) {}

void KernelCache::setWaitObserver(
    std::function<void(const std::string &)> observer) {
  waitObserver = std::move(observer);
}

std::shared_ptr<const CompiledKernel>
KernelCache::wait(Entry &entry, const std::string &key, std::string &error,
                  bool *cached) {
  std::unique_lock<std::mutex> lock(entry.mutex);
  if (cached)
    *cached = entry.finished;
  if (!entry.finished) {
    if (waitObserver) {
      lock.unlock();
      waitObserver(key);
      lock.lock();
    }
    entry.done.wait(lock, [&] { return entry.finished; });
  }
  if (!entry.kernel)
    error = entry.error;
  return entry.kernel;
}

std::shared_ptr<const CompiledKernel>
KernelCache::get(const AttentionSpec &spec, const CompileOptions &options,
                 std::string &error, bool *cached) {
  std::string key = kernelCacheKey(spec, options);
  std::shared_ptr<Entry> entry;
  CompileFunction compileFn;
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(key);
    if (it != entries.end())
      entry = it->second;
  }
  if (entry)
    return wait(*entry, key, error, cached);
  {
    // Re-check under the writer lock: another thread may have inserted the
    // key since the reader lock was dropped.
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(key);
    if (it != entries.end()) {
      entry = it->second;
      lock.unlock();
      return wait(*entry, key, error, cached);
    }
    entry = std::make_shared<Entry>();
    entries.emplace(key, entry);
    compileFn = compile;
  }
  if (cached)
    *cached = false;

  // This thread owns the entry: compile without holding any lock.
  CompileRequest request{spec, options, key};
  CompiledKernel kernel;
  std::string compileError;
  bool ok = false;
  try {
    ok = compileFn(request, kernel, compileError);
  } catch (const std::exception &e) {
    compileError = std::string("kernel compile threw: ") + e.what();
  } catch (...) {
    compileError = "kernel compile threw an unknown exception";
  }
  std::shared_ptr<const CompiledKernel> result;
  if (ok) {
    kernel.key = key;
    kernel.spec = spec;
    result = std::make_shared<const CompiledKernel>(std::move(kernel));
  } else {
    if (compileError.empty())
      compileError = "kernel compile failed without a message";
    // Drop the entry before publishing the failure: threads already waiting
    // get the error, threads arriving later compile again.
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto it = entries.find(key);
    if (it != entries.end() && it->second == entry)
      entries.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(entry->mutex);
    entry->finished = true;
    entry->kernel = result;
    entry->error = compileError;
  }
  entry->done.notify_all();
  if (!result)
    error = compileError;
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

void KernelCache::clear() {
  std::unique_lock<std::shared_mutex> lock(mutex);
  entries.clear();
}

KernelCache &globalKernelCache() {
  static KernelCache cache(productionCompile);
  return cache;
}

//===----------------------------------------------------------------------===//
// ModuleCache
//===----------------------------------------------------------------------===//

bool ModuleCache::getFunction(const cuda::DriverApi &d, CUcontext ctx,
                              const CompiledKernel &kernel,
                              CUfunction &function, std::string &error) {
  auto id = std::make_pair(cuda::contextId(d, ctx), kernel.key);
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
  CUresult rc =
      d.cuModuleGetFunctionFn(&entry.function, entry.module, kKernelName);
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(d, "cuModuleGetFunction", rc) + " for '" +
            kKernelName + "'";
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
  loaded.emplace(id, entry);
  function = entry.function;
  return true;
}

ModuleCache &globalModuleCache() {
  static ModuleCache cache;
  return cache;
}

} // namespace flashcore
