//===- Device.h - Device memory, streams and timing for tools ---*- C++ -*-===//
//
// A small exported helper layer over the CUDA driver that libflashcore
// already opens with dlopen, so that `flashcore-gen run/bench` and the GPU
// tests never load libcuda themselves. Every function returns false with a
// message in `error` on failure; none aborts.
//
// All calls act on the current context; selectDevice makes the primary
// context of a device current on the calling thread.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_DEVICE_H
#define FLASHCORE_DEVICE_H

#include "compiler/Spec.h" // FLASHCORE_API

#include <cuda.h>

#include <cstddef>
#include <string>

namespace flashcore {
namespace device {

/// True when libcuda.so.1 loads and initializes (no error text).
FLASHCORE_API bool available();

/// Why available() is false ("" when it is true).
FLASHCORE_API std::string unavailableReason();

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
  /// Largest dynamic shared memory a CTA may opt into.
  int maxSharedBytesPerBlockOptin = 0;
  /// cuDriverGetVersion, e.g. 13000.
  int driverVersion = 0;
};

FLASHCORE_API bool deviceCount(int &count, std::string &error);
FLASHCORE_API bool deviceInfo(int ordinal, DeviceInfo &info,
                              std::string &error);

/// Makes the primary context of `ordinal` current on this thread.
FLASHCORE_API bool selectDevice(int ordinal, std::string &error);

FLASHCORE_API bool allocate(CUdeviceptr &ptr, size_t bytes,
                            std::string &error);
/// Freeing 0 is a no-op.
FLASHCORE_API bool release(CUdeviceptr ptr, std::string &error);
FLASHCORE_API bool copyToDevice(CUdeviceptr dst, const void *src, size_t bytes,
                                std::string &error);
FLASHCORE_API bool copyToHost(void *dst, CUdeviceptr src, size_t bytes,
                              std::string &error);
FLASHCORE_API bool fill(CUdeviceptr dst, unsigned char value, size_t bytes,
                        std::string &error);

/// A stream of the current context (cuStreamCreate, non-blocking flags 0).
FLASHCORE_API bool createStream(CUstream &stream, std::string &error);
FLASHCORE_API bool destroyStream(CUstream stream, std::string &error);
FLASHCORE_API bool synchronize(CUstream stream, std::string &error);
/// cuCtxSynchronize on the current context: reports asynchronous kernel
/// faults.
FLASHCORE_API bool synchronizeDevice(std::string &error);

/// An event pair for timing work on a stream.
class FLASHCORE_API Timer {
public:
  Timer() = default;
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;
  ~Timer();

  /// Creates the events in the current context.
  bool init(std::string &error);
  bool start(CUstream stream, std::string &error);
  bool stop(CUstream stream, std::string &error);
  /// Waits for the stop event; milliseconds between start and stop.
  bool elapsedMs(float &ms, std::string &error);

private:
  void *begin = nullptr; // CUevent
  void *end = nullptr;
};

} // namespace device
} // namespace flashcore

#endif // FLASHCORE_DEVICE_H
