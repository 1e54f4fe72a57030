//===- WgmmaDescriptor.cpp - wgmma shared-memory matrix descriptors -------===//

#include "compiler/WgmmaDescriptor.h"
#include "compiler/Swizzle.h"

namespace flashcore {

/// Rows in one swizzle atom (and in one core-matrix group).
static constexpr int kAtomRows = 8;
/// K elements of one 16-bit wgmma instruction.
static constexpr int kKStepElems = 16;

int wgmmaLayoutType(int swizzleBytes) {
  switch (swizzleBytes) {
  case 128:
    return 1;
  case 64:
    return 2;
  case 32:
    return 3;
  default:
    return 0;
  }
}

uint64_t encodeWgmmaDescriptor(const WgmmaDescriptorFields &f) {
  uint64_t d = 0;
  d |= static_cast<uint64_t>((f.startAddress >> 4) & 0x3FFF);
  d |= static_cast<uint64_t>((f.leadingByteOffset >> 4) & 0x3FFF) << 16;
  d |= static_cast<uint64_t>((f.strideByteOffset >> 4) & 0x3FFF) << 32;
  d |= static_cast<uint64_t>(f.baseOffset & 0x7) << 49;
  d |= static_cast<uint64_t>(wgmmaLayoutType(f.swizzleBytes)) << 62;
  return d;
}

WgmmaDescriptorFields decodeWgmmaDescriptor(uint64_t d) {
  WgmmaDescriptorFields f;
  f.startAddress = static_cast<uint32_t>(d & 0x3FFF) << 4;
  f.leadingByteOffset = static_cast<uint32_t>((d >> 16) & 0x3FFF) << 4;
  f.strideByteOffset = static_cast<uint32_t>((d >> 32) & 0x3FFF) << 4;
  f.baseOffset = static_cast<uint32_t>((d >> 49) & 0x7);
  switch ((d >> 62) & 0x3) {
  case 1:
    f.swizzleBytes = 128;
    break;
  case 2:
    f.swizzleBytes = 64;
    break;
  case 3:
    f.swizzleBytes = 32;
    break;
  default:
    f.swizzleBytes = 0;
  }
  return f;
}

uint64_t kMajorDescriptorBase(int swizzleBytes) {
  WgmmaDescriptorFields f;
  // LBO is ignored for swizzled K-major layouts; 16 bytes (encoded 1) is the
  // conventional value.
  f.leadingByteOffset = kSwizzleChunkBytes;
  f.strideByteOffset = kAtomRows * swizzleBytes;
  f.swizzleBytes = swizzleBytes;
  return encodeWgmmaDescriptor(f);
}

uint64_t mnMajorDescriptorBase(int swizzleBytes, int rows) {
  WgmmaDescriptorFields f;
  f.leadingByteOffset = static_cast<uint32_t>(rows * swizzleBytes);
  f.strideByteOffset = kAtomRows * swizzleBytes;
  f.swizzleBytes = swizzleBytes;
  return encodeWgmmaDescriptor(f);
}

int kMajorKStepOffset(int kStep, int rows, int swizzleBytes, int elemBytes) {
  int boxCols = swizzleBytes / elemBytes;
  int col = kStep * kKStepElems;
  return (col / boxCols) * rows * swizzleBytes + (col % boxCols) * elemBytes;
}

int mnMajorKStepOffset(int kStep, int swizzleBytes) {
  return kStep * kKStepElems * swizzleBytes;
}

} // namespace flashcore
