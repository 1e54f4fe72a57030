//===- KernelArgs.cpp - Kernel arguments packed by the ABI table ----------===//

#include "runtime/KernelArgs.h"

#include <cstring>

namespace flashcore {

KernelArgPack::KernelArgPack(KernelKind kind) : kernelKind(kind) {
  table = kernelParams(kind, count);
  for (int i = 0; i < kMaxParams; ++i)
    mapIndex[i] = -1;
}

bool KernelArgPack::typed(int index, ParamType type) const {
  return index >= 0 && index < count && table[index].type == type;
}

void KernelArgPack::setTensorMap(int index, const TensorMapDesc &desc) {
  if (!typed(index, ParamType::TensorMap) || numMaps == 4)
    return;
  if (mapIndex[index] < 0)
    mapIndex[index] = numMaps++;
  maps[mapIndex[index]] = desc;
  set[index] = true;
}

#define FLASHCORE_SCALAR_SETTER(Name, Type, Enum)                              \
  void KernelArgPack::set##Name(int index, Type value) {                       \
    if (!typed(index, ParamType::Enum))                                        \
      return;                                                                  \
    std::memcpy(slots[index].bytes, &value, sizeof value);                     \
    set[index] = true;                                                         \
  }                                                                            \
  Type KernelArgPack::get##Name(int index) const {                             \
    Type value{};                                                              \
    if (typed(index, ParamType::Enum) && set[index])                           \
      std::memcpy(&value, slots[index].bytes, sizeof value);                   \
    return value;                                                              \
  }
FLASHCORE_SCALAR_SETTER(I32, int32_t, I32)
FLASHCORE_SCALAR_SETTER(F32, float, F32)
FLASHCORE_SCALAR_SETTER(I64, int64_t, I64)
#undef FLASHCORE_SCALAR_SETTER

void KernelArgPack::setPointer(int index, const void *value) {
  if (!typed(index, ParamType::GlobalPtr))
    return;
  std::memcpy(slots[index].bytes, &value, sizeof value);
  set[index] = true;
}

const TensorMapDesc *KernelArgPack::tensorMap(int index) const {
  return typed(index, ParamType::TensorMap) && mapIndex[index] >= 0
             ? &maps[mapIndex[index]]
             : nullptr;
}

const void *KernelArgPack::pointer(int index) const {
  const void *value = nullptr;
  if (typed(index, ParamType::GlobalPtr) && set[index])
    std::memcpy(&value, slots[index].bytes, sizeof value);
  return value;
}

int32_t KernelArgPack::i32(int index) const { return getI32(index); }
float KernelArgPack::f32(int index) const { return getF32(index); }
int64_t KernelArgPack::i64(int index) const { return getI64(index); }

bool KernelArgPack::complete(std::string &message) const {
  for (int i = 0; i < count; ++i)
    if (!set[i] && table[i].type != ParamType::TensorMap) {
      message = std::string("internal error: kernel parameter ") +
                table[i].name + " was not set";
      return false;
    }
  return true;
}

void **KernelArgPack::finalize(const cuda::DriverApi &driver,
                               std::string &message) {
  if (!complete(message))
    return nullptr;
  for (int i = 0; i < count; ++i) {
    if (table[i].type == ParamType::TensorMap) {
      auto *map = reinterpret_cast<CUtensorMap *>(slots[i].bytes);
      if (mapIndex[i] < 0) {
        std::memset(map, 0, sizeof(CUtensorMap));
      } else {
        const TensorMapDesc &desc = maps[mapIndex[i]];
        TensorMapPlan plan;
        if (!planTensorMap(desc, plan, message))
          return nullptr;
        if (!encodeTensorMap(driver, plan, *map, message)) {
          message = desc.name + ": " + message;
          return nullptr;
        }
      }
    }
    params[i] = slots[i].bytes;
  }
  return params;
}

} // namespace flashcore
