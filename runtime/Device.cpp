//===- Device.cpp - Device memory, streams and timing for tools -----------===//

#include "flashcore/Device.h"
#include "runtime/CudaDriver.h"

namespace flashcore {
namespace device {

namespace {

/// The driver, or null with `error` set.
const cuda::DriverApi *driver(std::string &error) {
  return cuda::getDriver(error);
}

bool check(const cuda::DriverApi &d, CUresult rc, const char *what,
           std::string &error) {
  if (rc == CUDA_SUCCESS)
    return true;
  error = cuda::callError(d, what, rc);
  return false;
}

} // namespace

bool available() { return cuda::driverAvailable(); }

std::string unavailableReason() {
  std::string error;
  return cuda::getDriver(error) ? std::string() : error;
}

bool deviceCount(int &count, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuDeviceGetCountFn(&count), "cuDeviceGetCount",
                    error);
}

bool deviceInfo(int ordinal, DeviceInfo &info, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (!d)
    return false;
  CUdevice dev = 0;
  if (!check(*d, d->cuDeviceGetFn(&dev, ordinal), "cuDeviceGet", error))
    return false;
  char name[256] = {};
  if (!check(*d, d->cuDeviceGetNameFn(name, sizeof name - 1, dev),
             "cuDeviceGetName", error))
    return false;
  info = DeviceInfo();
  info.ordinal = ordinal;
  info.name = name;
  info.driverVersion = d->driverVersion;
  struct {
    int *out;
    CUdevice_attribute attr;
  } attrs[] = {
      {&info.computeMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR},
      {&info.computeMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR},
      {&info.multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT},
      {&info.maxSharedBytesPerBlockOptin,
       CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN}};
  for (auto &a : attrs)
    if (!check(*d, d->cuDeviceGetAttributeFn(a.out, a.attr, dev),
               "cuDeviceGetAttribute", error))
      return false;
  return true;
}

bool selectDevice(int ordinal, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (!d)
    return false;
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  return check(*d, d->cuDeviceGetFn(&dev, ordinal), "cuDeviceGet", error) &&
         cuda::primaryContext(*d, dev, ctx, error) &&
         check(*d, d->cuCtxSetCurrentFn(ctx), "cuCtxSetCurrent", error);
}

bool allocate(CUdeviceptr &ptr, size_t bytes, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (!d)
    return false;
  if (!check(*d, d->cuMemAllocFn(&ptr, bytes), "cuMemAlloc", error)) {
    error += " (" + std::to_string(bytes) + " bytes)";
    return false;
  }
  return true;
}

bool release(CUdeviceptr ptr, std::string &error) {
  if (!ptr)
    return true;
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuMemFreeFn(ptr), "cuMemFree", error);
}

bool copyToDevice(CUdeviceptr dst, const void *src, size_t bytes,
                  std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d &&
         check(*d, d->cuMemcpyHtoDFn(dst, src, bytes), "cuMemcpyHtoD", error);
}

bool copyToHost(void *dst, CUdeviceptr src, size_t bytes, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d &&
         check(*d, d->cuMemcpyDtoHFn(dst, src, bytes), "cuMemcpyDtoH", error);
}

bool fill(CUdeviceptr dst, unsigned char value, size_t bytes,
          std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuMemsetD8Fn(dst, value, bytes), "cuMemsetD8",
                    error);
}

bool createStream(CUstream &stream, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuStreamCreateFn(&stream, CU_STREAM_DEFAULT),
                    "cuStreamCreate", error);
}

bool destroyStream(CUstream stream, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d &&
         check(*d, d->cuStreamDestroyFn(stream), "cuStreamDestroy", error);
}

bool synchronize(CUstream stream, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuStreamSynchronizeFn(stream),
                    "cuStreamSynchronize", error);
}

bool synchronizeDevice(std::string &error) {
  const cuda::DriverApi *d = driver(error);
  return d && check(*d, d->cuCtxSynchronizeFn(), "cuCtxSynchronize", error);
}

Timer::~Timer() {
  std::string ignored;
  const cuda::DriverApi *d = driver(ignored);
  if (!d)
    return;
  if (begin)
    d->cuEventDestroyFn(static_cast<CUevent>(begin));
  if (end)
    d->cuEventDestroyFn(static_cast<CUevent>(end));
}

bool Timer::init(std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (!d)
    return false;
  CUevent a = nullptr, b = nullptr;
  if (!check(*d, d->cuEventCreateFn(&a, CU_EVENT_DEFAULT), "cuEventCreate",
             error))
    return false;
  if (!check(*d, d->cuEventCreateFn(&b, CU_EVENT_DEFAULT), "cuEventCreate",
             error)) {
    d->cuEventDestroyFn(a);
    return false;
  }
  begin = a;
  end = b;
  return true;
}

bool Timer::start(CUstream stream, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (d && !begin)
    error = "Timer::start: call init() first";
  return d && begin &&
         check(*d, d->cuEventRecordFn(static_cast<CUevent>(begin), stream),
               "cuEventRecord", error);
}

bool Timer::stop(CUstream stream, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (d && !end)
    error = "Timer::stop: call init() first";
  return d && end &&
         check(*d, d->cuEventRecordFn(static_cast<CUevent>(end), stream),
               "cuEventRecord", error);
}

bool Timer::elapsedMs(float &ms, std::string &error) {
  const cuda::DriverApi *d = driver(error);
  if (d && (!begin || !end))
    error = "Timer::elapsedMs: call init() first";
  return d && begin && end &&
         check(*d, d->cuEventSynchronizeFn(static_cast<CUevent>(end)),
               "cuEventSynchronize", error) &&
         check(*d,
               d->cuEventElapsedTimeFn(&ms, static_cast<CUevent>(begin),
                                       static_cast<CUevent>(end)),
               "cuEventElapsedTime", error);
}

} // namespace device
} // namespace flashcore
