//===- KernelArgs.cpp - Kernel arguments packed by the ABI table ----------===//

#include "runtime/KernelArgs.h"

#include <cstring>

namespace flashcore {

namespace {

bool samePlan(const TensorMapPlan &a, const TensorMapPlan &b) {
  return a.dataType == b.dataType && a.base == b.base &&
         std::memcmp(a.dims, b.dims, sizeof a.dims) == 0 &&
         std::memcmp(a.strides, b.strides, sizeof a.strides) == 0 &&
         std::memcmp(a.box, b.box, sizeof a.box) == 0 &&
         std::memcmp(a.elementStrides, b.elementStrides,
                     sizeof a.elementStrides) == 0 &&
         a.swizzle == b.swizzle && a.l2Promotion == b.l2Promotion &&
         a.oobFill == b.oobFill && a.interleave == b.interleave;
}

/// The last few tensor maps this thread encoded: a loop over the same
/// buffers (torch's caching allocator hands the same ones back) encodes each
/// once. cuTensorMapEncodeTiled is a pure function of its arguments.
class EncodedMapCache {
public:
  bool find(const TensorMapPlan &plan, CUtensorMap &map) const {
    for (int i = 0; i < used; ++i)
      if (samePlan(entries[i].plan, plan)) {
        std::memcpy(&map, &entries[i].map, sizeof map);
        return true;
      }
    return false;
  }
  void add(const TensorMapPlan &plan, const CUtensorMap &map) {
    Entry &e = entries[next];
    e.plan = plan;
    std::memcpy(&e.map, &map, sizeof map);
    next = (next + 1) % kEntries;
    used = used < kEntries ? used + 1 : kEntries;
  }

private:
  static constexpr int kEntries = 8;
  struct Entry {
    TensorMapPlan plan;
    CUtensorMap map;
  };
  Entry entries[kEntries];
  int used = 0, next = 0;
};

thread_local EncodedMapCache encodedMaps;

} // namespace

KernelArgPack::KernelArgPack(KernelKind kind) { reset(kind); }

void KernelArgPack::reset(KernelKind kind) {
  kernelKind = kind;
  table = kernelParams(kind, count);
  for (int i = 0; i < kMaxParams; ++i) {
    mapIndex[i] = -1;
    set[i] = false;
  }
  numMaps = 0;
  finalized = false;
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
  finalized = false;
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
  if (finalized) { // encoded, and no map set since (rebaseTensorMap keeps it)
    for (int i = 0; i < count; ++i)
      params[i] = slots[i].bytes;
    return params;
  }
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
        if (!encodedMaps.find(plan, *map)) {
          if (!encodeTensorMap(driver, plan, *map, message)) {
            message = desc.name + ": " + message;
            return nullptr;
          }
          encodedMaps.add(plan, *map);
        }
      }
    }
    params[i] = slots[i].bytes;
  }
  finalized = true;
  return params;
}

void **KernelArgPack::rebaseTensorMap(int index, const void *base,
                                      const cuda::DriverApi &driver,
                                      std::string &message) {
  const bool read = typed(index, ParamType::TensorMap) && mapIndex[index] >= 0;
  if (!finalized) {
    if (read)
      maps[mapIndex[index]].base = base;
    return finalize(driver, message);
  }
  if (read && maps[mapIndex[index]].base != base) {
    TensorMapDesc &desc = maps[mapIndex[index]];
    desc.base = base;
    auto *map = reinterpret_cast<CUtensorMap *>(slots[index].bytes);
    if (driver.cuTensorMapReplaceAddressFn) {
      CUresult rc =
          driver.cuTensorMapReplaceAddressFn(map, const_cast<void *>(base));
      if (rc != CUDA_SUCCESS) {
        message = desc.name + ": " +
                  cuda::callError(driver, "cuTensorMapReplaceAddress", rc);
        return nullptr;
      }
    } else {
      TensorMapPlan plan;
      if (!planTensorMap(desc, plan, message))
        return nullptr;
      if (!encodeTensorMap(driver, plan, *map, message)) {
        message = desc.name + ": " + message;
        return nullptr;
      }
    }
  }
  // The array points into this object (it may have been moved since).
  for (int i = 0; i < count; ++i)
    params[i] = slots[i].bytes;
  return params;
}

} // namespace flashcore
