//===- CudaDriver.cpp - libcuda loaded at run time with dlopen ------------===//

#include "runtime/CudaDriver.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace flashcore {
namespace cuda {

namespace {

struct LoadedDriver {
  DriverApi api;
  bool ok = false;
  std::string error;
};

using GetProcAddressV2 = PFN_cuGetProcAddress_v12000;
using GetProcAddressV1 = PFN_cuGetProcAddress_v11030;

/// Resolves one entry point: cuGetProcAddress at the declared ABI version
/// first, then dlsym of the exported name.
void *resolve(void *lib, GetProcAddressV2 getProc2, GetProcAddressV1 getProc1,
              const char *name, int version, const char *fallback) {
  void *fn = nullptr;
  if (getProc2) {
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    if (getProc2(name, &fn, version, CU_GET_PROC_ADDRESS_LEGACY_STREAM,
                 &found) != CUDA_SUCCESS ||
        found != CU_GET_PROC_ADDRESS_SUCCESS)
      fn = nullptr;
  } else if (getProc1) {
    if (getProc1(name, &fn, version, CU_GET_PROC_ADDRESS_LEGACY_STREAM) !=
        CUDA_SUCCESS)
      fn = nullptr;
  }
  if (!fn)
    fn = dlsym(lib, fallback);
  return fn;
}

LoadedDriver loadDriver() {
  LoadedDriver d;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    d.error = std::string("no CUDA driver (libcuda.so.1 not found): ") +
              (why ? why : "dlopen failed");
    return d;
  }
  // The library stays open for the life of the process: modules and
  // contexts created through it may outlive any FlashCore object.
  auto getProc2 =
      reinterpret_cast<GetProcAddressV2>(dlsym(lib, "cuGetProcAddress_v2"));
  auto getProc1 = getProc2 ? nullptr
                           : reinterpret_cast<GetProcAddressV1>(
                                 dlsym(lib, "cuGetProcAddress"));
  std::string missing;
#define FLASHCORE_CUDA_RESOLVE(name, version, fallback, required)              \
  d.api.name##Fn = reinterpret_cast<PFN_##name##_v##version>(                  \
      resolve(lib, getProc2, getProc1, #name, version, fallback));             \
  if (required && !d.api.name##Fn)                                             \
    missing += std::string(missing.empty() ? "" : ", ") + #name;
  FLASHCORE_CUDA_FUNCTIONS(FLASHCORE_CUDA_RESOLVE)
#undef FLASHCORE_CUDA_RESOLVE

  if (d.api.cuDriverGetVersionFn)
    d.api.cuDriverGetVersionFn(&d.api.driverVersion);
  if (!missing.empty()) {
    d.error = "the CUDA driver in libcuda.so.1 (version " +
              std::to_string(d.api.driverVersion) +
              ") lacks entry points FlashCore needs (a CUDA 12.0 or newer "
              "driver is required): " +
              missing;
    return d;
  }
  CUresult rc = d.api.cuInitFn(0);
  if (rc != CUDA_SUCCESS) {
    d.error = callError(d.api, "cuInit", rc);
    return d;
  }
  d.ok = true;
  return d;
}

const LoadedDriver &loadedDriver() {
  static const LoadedDriver driver = loadDriver();
  return driver;
}

} // namespace

const DriverApi *getDriver(std::string &error) {
  const LoadedDriver &d = loadedDriver();
  if (!d.ok) {
    error = d.error;
    return nullptr;
  }
  return &d.api;
}

bool driverAvailable() { return loadedDriver().ok; }

std::string resultString(const DriverApi &driver, CUresult result) {
  const char *name = nullptr;
  const char *text = nullptr;
  if (driver.cuGetErrorNameFn)
    driver.cuGetErrorNameFn(result, &name);
  if (driver.cuGetErrorStringFn)
    driver.cuGetErrorStringFn(result, &text);
  std::string out = name ? name : "CUresult " + std::to_string(result);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

std::string callError(const DriverApi &driver, const char *what,
                      CUresult result) {
  return std::string(what) + " failed: " + resultString(driver, result);
}

ScopedContext::~ScopedContext() {
  if (pushed) {
    CUcontext popped = nullptr;
    driver->cuCtxPopCurrentFn(&popped);
  }
}

bool ScopedContext::activate(const DriverApi &d, CUcontext ctx,
                             std::string &error) {
  CUcontext current = nullptr;
  CUresult rc = d.cuCtxGetCurrentFn(&current);
  if (rc != CUDA_SUCCESS) {
    error = callError(d, "cuCtxGetCurrent", rc);
    return false;
  }
  if (current == ctx)
    return true;
  rc = d.cuCtxPushCurrentFn(ctx);
  if (rc != CUDA_SUCCESS) {
    error = callError(d, "cuCtxPushCurrent", rc);
    return false;
  }
  driver = &d;
  pushed = true;
  return true;
}

bool primaryContext(const DriverApi &d, CUdevice device, CUcontext &ctx,
                    std::string &error) {
  static std::mutex mutex;
  static std::map<CUdevice, CUcontext> retained;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = retained.find(device);
  if (it != retained.end()) {
    ctx = it->second;
    return true;
  }
  CUresult rc = d.cuDevicePrimaryCtxRetainFn(&ctx, device);
  if (rc != CUDA_SUCCESS) {
    error = callError(d, "cuDevicePrimaryCtxRetain", rc) + " for device " +
            std::to_string(device);
    return false;
  }
  retained.emplace(device, ctx);
  return true;
}

unsigned long long contextId(const DriverApi &d, CUcontext ctx) {
  unsigned long long id = 0;
  if (d.cuCtxGetIdFn && d.cuCtxGetIdFn(ctx, &id) == CUDA_SUCCESS)
    return id;
  return static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(ctx));
}

} // namespace cuda
} // namespace flashcore
