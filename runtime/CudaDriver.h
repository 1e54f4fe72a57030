//===- CudaDriver.h - libcuda loaded at run time with dlopen ----*- C++ -*-===//
//
// Nothing in FlashCore links against libcuda: the driver is opened with
// dlopen("libcuda.so.1") the first time a GPU function is needed, so the
// library loads (and CPU-only tests run) on machines without a driver.
//
// Entry points are resolved with cuGetProcAddress, asking for the ABI version
// each pointer type below was declared for (the `_vNNNN` suffix of its
// cudaTypedefs.h typedef). Where cuGetProcAddress is missing or does not know
// a symbol, the versioned export that cuda.h maps the name to (`cuMemAlloc_v2`,
// `cuCtxPushCurrent_v2`, ...) is looked up with dlsym instead.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_CUDADRIVER_H
#define FLASHCORE_RUNTIME_CUDADRIVER_H

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

namespace flashcore {
namespace cuda {

/// X(name, abiVersion, dlsymFallback, required)
#define FLASHCORE_CUDA_FUNCTIONS(X)                                            \
  X(cuInit, 2000, "cuInit", true)                                              \
  X(cuDriverGetVersion, 2020, "cuDriverGetVersion", true)                      \
  X(cuGetErrorName, 6000, "cuGetErrorName", true)                              \
  X(cuGetErrorString, 6000, "cuGetErrorString", true)                          \
  X(cuDeviceGet, 2000, "cuDeviceGet", true)                                    \
  X(cuDeviceGetCount, 2000, "cuDeviceGetCount", true)                          \
  X(cuDeviceGetAttribute, 2000, "cuDeviceGetAttribute", true)                  \
  X(cuDeviceGetName, 2000, "cuDeviceGetName", true)                            \
  X(cuDevicePrimaryCtxRetain, 7000, "cuDevicePrimaryCtxRetain", true)          \
  X(cuDevicePrimaryCtxRelease, 11000, "cuDevicePrimaryCtxRelease_v2", true)    \
  X(cuCtxGetCurrent, 4000, "cuCtxGetCurrent", true)                            \
  X(cuCtxSetCurrent, 4000, "cuCtxSetCurrent", true)                            \
  X(cuCtxGetDevice, 2000, "cuCtxGetDevice", true)                              \
  X(cuCtxPushCurrent, 4000, "cuCtxPushCurrent_v2", true)                       \
  X(cuCtxPopCurrent, 4000, "cuCtxPopCurrent_v2", true)                         \
  X(cuCtxSynchronize, 2000, "cuCtxSynchronize", true)                          \
  X(cuCtxGetId, 12000, "cuCtxGetId", false)                                    \
  X(cuStreamGetCtx, 9020, "cuStreamGetCtx", true)                              \
  X(cuStreamCreate, 2000, "cuStreamCreate", true)                              \
  X(cuStreamDestroy, 4000, "cuStreamDestroy_v2", true)                         \
  X(cuStreamSynchronize, 2000, "cuStreamSynchronize", true)                    \
  X(cuStreamGetId, 12000, "cuStreamGetId", false)                              \
  X(cuStreamIsCapturing, 10000, "cuStreamIsCapturing", false)                  \
  X(cuModuleLoadData, 2000, "cuModuleLoadData", true)                          \
  X(cuModuleLoadDataEx, 2010, "cuModuleLoadDataEx", true)                      \
  X(cuModuleGetFunction, 2000, "cuModuleGetFunction", true)                    \
  X(cuModuleUnload, 2000, "cuModuleUnload", true)                              \
  X(cuFuncSetAttribute, 9000, "cuFuncSetAttribute", true)                      \
  X(cuFuncGetAttribute, 2020, "cuFuncGetAttribute", true)                      \
  X(cuLaunchKernel, 4000, "cuLaunchKernel", true)                              \
  X(cuLaunchKernelEx, 11060, "cuLaunchKernelEx", false)                        \
  X(cuTensorMapEncodeTiled, 12000, "cuTensorMapEncodeTiled", true)             \
  X(cuTensorMapReplaceAddress, 12000, "cuTensorMapReplaceAddress", false)      \
  X(cuPointerGetAttribute, 4000, "cuPointerGetAttribute", true)                \
  X(cuPointerGetAttributes, 7000, "cuPointerGetAttributes", true)              \
  X(cuMemAlloc, 3020, "cuMemAlloc_v2", true)                                   \
  X(cuMemFree, 3020, "cuMemFree_v2", true)                                     \
  X(cuMemAllocAsync, 11020, "cuMemAllocAsync", false)                          \
  X(cuMemFreeAsync, 11020, "cuMemFreeAsync", false)                            \
  X(cuMemcpyHtoD, 3020, "cuMemcpyHtoD_v2", true)                               \
  X(cuMemcpyDtoH, 3020, "cuMemcpyDtoH_v2", true)                               \
  X(cuMemcpyDtoD, 3020, "cuMemcpyDtoD_v2", true)                               \
  X(cuMemcpyHtoDAsync, 3020, "cuMemcpyHtoDAsync_v2", true)                     \
  X(cuMemcpyDtoHAsync, 3020, "cuMemcpyDtoHAsync_v2", true)                     \
  X(cuMemsetD8, 3020, "cuMemsetD8_v2", true)                                   \
  X(cuMemsetD8Async, 3020, "cuMemsetD8Async", true)                            \
  X(cuEventCreate, 2000, "cuEventCreate", true)                                \
  X(cuEventDestroy, 4000, "cuEventDestroy_v2", true)                           \
  X(cuEventRecord, 2000, "cuEventRecord", true)                                \
  X(cuEventSynchronize, 2000, "cuEventSynchronize", true)                      \
  X(cuEventElapsedTime, 2000, "cuEventElapsedTime", true)

/// The resolved driver entry points. Members are named `<function>Fn`
/// (e.g. `cuMemAllocFn`) so that cuda.h's renaming macros do not apply.
/// Optional entries (see the table) may be null.
struct DriverApi {
#define FLASHCORE_CUDA_MEMBER(name, version, fallback, required)               \
  PFN_##name##_v##version name##Fn = nullptr;
  FLASHCORE_CUDA_FUNCTIONS(FLASHCORE_CUDA_MEMBER)
#undef FLASHCORE_CUDA_MEMBER
  /// cuDriverGetVersion, e.g. 13000.
  int driverVersion = 0;
};

/// Opens libcuda and calls cuInit(0) once per process (thread-safe). Returns
/// null and sets `error` when the driver is absent, too old or fails to
/// initialize; the same failure is reported on every later call.
const DriverApi *getDriver(std::string &error);

/// True when libcuda.so.1 can be opened and initialized. Never aborts.
bool driverAvailable();

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or "CUresult 123" when the
/// driver does not know the code.
std::string resultString(const DriverApi &driver, CUresult result);

/// "<what> failed: <resultString>".
std::string callError(const DriverApi &driver, const char *what,
                      CUresult result);

/// Makes a context current for the lifetime of the object (push/pop) when it
/// is not current already.
class ScopedContext {
public:
  ScopedContext() = default;
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;
  ~ScopedContext();

  /// Pushes `ctx` unless it is already current.
  bool activate(const DriverApi &driver, CUcontext ctx, std::string &error);

private:
  const DriverApi *driver = nullptr;
  bool pushed = false;
};

/// The primary context of `device`, retained once per process and kept (so
/// modules loaded into it stay valid).
bool primaryContext(const DriverApi &driver, CUdevice device, CUcontext &ctx,
                    std::string &error);

/// A process-unique id for a context (cuCtxGetId where the driver has it, the
/// handle value otherwise). Contexts can be destroyed and their handle values
/// reused; ids are not.
unsigned long long contextId(const DriverApi &driver, CUcontext ctx);

} // namespace cuda
} // namespace flashcore

#endif // FLASHCORE_RUNTIME_CUDADRIVER_H
