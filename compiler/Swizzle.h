//===- Swizzle.h - Shared-memory swizzle math (TMA and wgmma) ---*- C++ -*-===//
//
// TMA writes and wgmma reads shared memory through the same XOR swizzle. For a
// swizzle of S bytes (32, 64 or 128) the pattern repeats every 8 rows of S
// bytes ("an atom"); inside it, the 16-byte chunk index of an address is XORed
// with the row index:
//
//   swizzled(a) = a ^ (((a >> 7) & (S/16 - 1)) << 4)        (CuTe Swizzle<B,4,3>)
//
// where bits [4, 4 + log2(S/16)) select the 16-byte chunk and bits [7, ...)
// the 128-byte line. The formula holds only for atoms that start at a
// multiple of 1024 bytes, which is why tiles are 1024-byte aligned.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_SWIZZLE_H
#define FLASHCORE_COMPILER_SWIZZLE_H

#include <cstdint>

namespace flashcore {

/// Bytes in one shared-memory line that the swizzle permutes chunks across.
inline constexpr int kSharedMemoryLineBytes = 128;
/// Swizzle moves data in chunks of 16 bytes (one 128-bit access).
inline constexpr int kSwizzleChunkBytes = 16;

/// True for 32, 64 and 128.
bool isValidSwizzle(int swizzleBytes);

/// Applies the swizzle of `swizzleBytes` to a byte offset from a 1024-aligned
/// base. The mapping is a bijection on every 1024-byte block.
int64_t swizzleByteOffset(int64_t byteOffset, int swizzleBytes);

/// Where element (row, col) of a rows x cols tile lands when TMA loads it
/// with boxes of (swizzleBytes / elemBytes) columns: column block
/// col / boxCols comes first, then row, then the swizzled position inside
/// the row. This is the layout the kernel's Q, K and V tiles have.
int64_t tileElementByteOffset(int row, int col, int rows, int swizzleBytes,
                              int elemBytes);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_SWIZZLE_H
