//===- KernelArgs.h - Kernel arguments packed by the ABI table --*- C++ -*-===//
//
// A KernelArgPack holds one launch's arguments in the order and with the
// types of its kernel kind's ABI table (compiler/KernelABI.h): typed setters
// check each parameter's table type, tensor-map parameters hold a
// TensorMapDesc that is encoded at launch (or zeros when the kernel does not
// read that map), and params() is what cuLaunchKernel takes. Nothing here
// allocates: the storage is a fixed array sized for the largest table.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_KERNELARGS_H
#define FLASHCORE_RUNTIME_KERNELARGS_H

#include "compiler/KernelABI.h"
#include "runtime/TensorMap.h"

#include <cstdint>
#include <string>

namespace flashcore {

class KernelArgPack {
public:
  /// The largest ABI table's parameter count (KernelABI.h).
  static constexpr int kMaxParams =
      int(kNumKernelParams) > int(kNumCombineParams) ? int(kNumKernelParams)
                                                     : int(kNumCombineParams);

  explicit KernelArgPack(KernelKind kind = KernelKind::Forward);
  /// Forgets every argument and takes `kind`'s table (cheap: no copies).
  void reset(KernelKind kind);

  void setTensorMap(int index, const TensorMapDesc &desc);
  void setPointer(int index, const void *value);
  void setI32(int index, int32_t value);
  void setF32(int index, float value);
  void setI64(int index, int64_t value);

  /// What was set (tests, messages). Reading a parameter as another type
  /// than its table's returns 0 / null.
  const TensorMapDesc *tensorMap(int index) const;
  const void *pointer(int index) const;
  int32_t i32(int index) const;
  float f32(int index) const;
  int64_t i64(int index) const;

  /// Every parameter was set with its table type (tensor maps may stay
  /// unset: they are passed as zeros); else false naming the first one.
  bool complete(std::string &message) const;
  /// Encodes the tensor maps that were set (each checked by planTensorMap),
  /// zeroes the others, and returns the parameter array; null with a message
  /// on failure. Again after that (no setTensorMap since): the same array.
  void **finalize(const cuda::DriverApi &driver, std::string &message);
  /// After finalize: points the set tensor map `index` at `base` (the same
  /// shape and strides; cuTensorMapReplaceAddress, else a fresh encode) and
  /// returns the parameter array again; null with a message on failure. A
  /// prepared launch's new pointers go through here and setPointer.
  void **rebaseTensorMap(int index, const void *base,
                         const cuda::DriverApi &driver, std::string &message);

  KernelKind kind() const { return kernelKind; }

private:
  struct alignas(128) Slot {
    unsigned char bytes[128]; // CUtensorMap or a scalar / pointer
  };
  bool typed(int index, ParamType type) const;
  int32_t getI32(int index) const;
  float getF32(int index) const;
  int64_t getI64(int index) const;

  KernelKind kernelKind;
  const ParamInfo *table = nullptr;
  int count = 0;
  Slot slots[kMaxParams];
  bool set[kMaxParams] = {};
  TensorMapDesc maps[4];
  int mapIndex[kMaxParams];
  int numMaps = 0;
  bool finalized = false;
  void *params[kMaxParams] = {};
};

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_KERNELARGS_H
