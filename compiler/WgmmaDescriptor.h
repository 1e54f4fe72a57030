//===- WgmmaDescriptor.h - wgmma shared-memory matrix descriptors -*- C++ -*-===//
//
// A wgmma operand in shared memory is named by a 64-bit descriptor
// (PTX ISA 9.7.15.5.1, "Matrix Descriptor Format"):
//
//   bits  0-13  start address >> 4
//   bits 16-29  leading dimension byte offset (LBO) >> 4
//   bits 32-45  stride dimension byte offset (SBO) >> 4
//   bits 49-51  base offset (0: atoms are 1024-byte aligned)
//   bits 62-63  layout: 0 none, 1 128B swizzle, 2 64B, 3 32B
//
// For the swizzled layouts FlashCore uses (CuTe's canonical GMMA layouts,
// T = 16 bytes):
//   K-major  (Q and K, rows of head_dim contiguous):
//            ((8, m), (T, 2k)) : ((S, SBO), (1, T)); SBO = 8 rows * S bytes;
//            LBO unused (a 16-element k-step never leaves one swizzle row).
//   MN-major (V, read transposed as the B of O = P V):
//            ((S/T*T, m), (8, k)) : ((1, LBO), (S, SBO)); LBO = bytes between
//            column blocks along N, SBO = 8 rows * S bytes.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_WGMMADESCRIPTOR_H
#define FLASHCORE_COMPILER_WGMMADESCRIPTOR_H

#include <cstdint>

namespace flashcore {

struct WgmmaDescriptorFields {
  uint32_t startAddress = 0;      // bytes, shared::cta window
  uint32_t leadingByteOffset = 0; // bytes
  uint32_t strideByteOffset = 0;  // bytes
  uint32_t baseOffset = 0;        // 3 bits
  int swizzleBytes = 128;         // 0 (none), 32, 64, 128
};

/// The 2-bit layout code of a swizzle width (0 for none).
int wgmmaLayoutType(int swizzleBytes);

/// Packs the fields (addresses and offsets must be multiples of 16 and below
/// 2^18).
uint64_t encodeWgmmaDescriptor(const WgmmaDescriptorFields &fields);
WgmmaDescriptorFields decodeWgmmaDescriptor(uint64_t descriptor);

/// Descriptor bits of a tile with start address 0: OR in (address >> 4) to
/// complete it. The kernel computes these at generation time.
uint64_t kMajorDescriptorBase(int swizzleBytes);
uint64_t mnMajorDescriptorBase(int swizzleBytes, int rows);

/// Byte offset, from the tile start, of the operand for k-step `kStep` (16
/// elements of K) of a K-major tile with `rows` rows: the column block it
/// falls in, then 32 bytes per k-step inside the swizzle row.
int kMajorKStepOffset(int kStep, int rows, int swizzleBytes, int elemBytes);
/// Same for an MN-major tile: 16 rows of `swizzleBytes` per k-step.
int mnMajorKStepOffset(int kStep, int swizzleBytes);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_WGMMADESCRIPTOR_H
