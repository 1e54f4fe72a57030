//===- Swizzle.cpp - Shared-memory swizzle math ---------------------------===//

#include "compiler/Swizzle.h"

namespace flashcore {

bool isValidSwizzle(int swizzleBytes) {
  return swizzleBytes == 32 || swizzleBytes == 64 || swizzleBytes == 128;
}

int64_t swizzleByteOffset(int64_t byteOffset, int swizzleBytes) {
  // Chunks per line that take part: 2 (32B), 4 (64B) or 8 (128B).
  int64_t mask = swizzleBytes / kSwizzleChunkBytes - 1;
  int64_t line = byteOffset / kSharedMemoryLineBytes;
  return byteOffset ^ ((line & mask) * kSwizzleChunkBytes);
}

int64_t tileElementByteOffset(int row, int col, int rows, int swizzleBytes,
                              int elemBytes) {
  int boxCols = swizzleBytes / elemBytes;
  int64_t block = col / boxCols;
  int64_t inRow = static_cast<int64_t>(col % boxCols) * elemBytes;
  int64_t linear = block * rows * swizzleBytes +
                   static_cast<int64_t>(row) * swizzleBytes + inRow;
  return swizzleByteOffset(linear, swizzleBytes);
}

} // namespace flashcore
