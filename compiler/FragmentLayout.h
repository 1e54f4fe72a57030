//===- FragmentLayout.h - Register layouts of wgmma fragments (MLIR-free) -===//
//
// PTX ISA 9.7.15.5.2, "wgmma .m64nNk16 register fragment D": thread t of a
// warpgroup (warp w = t / 32, lane l = t % 32) holds the N / 2 fp32 values of
// a 64 x N accumulator; value i sits at
//
//   row    = 16 w + l / 4 + 8 * fragmentRow(i),  fragmentRow(i) = (i % 4) / 2
//   column = 2 (l % 4) + fragmentCol(i),         fragmentCol(i) = 8 (i / 4) + i % 2
//
// The A register fragment of an RS wgmma k-step (four 32-bit registers of two
// 16-bit values, 16 columns) has the same pattern, so S turns into P in place.
// The same four registers are the four 8x8 matrices of stmatrix.x4 in the
// order (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7, cols 8-15),
// (rows 8-15, cols 8-15); lane l addresses row l % 8 of matrix l / 8
// (stmatrixRow/Col). Table-tested in tests/unit/FragmentLayoutTest.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FRAGMENTLAYOUT_H
#define FLASHCORE_COMPILER_FRAGMENTLAYOUT_H

#include "compiler/Swizzle.h"

#include <cstdint>

namespace flashcore {

/// Row half (0: l / 4, 1: l / 4 + 8) of accumulator value i.
inline int fragmentRow(int i) { return (i % 4) / 2; }
/// Column of accumulator value i relative to the thread's first, 2 (l % 4).
inline int fragmentCol(int i) { return (i / 4) * 8 + (i % 2); }

/// Row (within the warp's 16) and column (within the 16-column k-step) of the
/// 8-element row that lane `lane` addresses in stmatrix.x4.
inline int stmatrixRow(int lane) { return ((lane / 8) % 2) * 8 + lane % 8; }
inline int stmatrixCol(int lane) { return (lane / 16) * 8; }

/// Byte offset, in a staged `rows` x cols tile laid out like a TMA box tile
/// (column blocks of swizzle bytes, see Swizzle.h), of the 8 elements lane
/// `lane` of warp `warp` stores in k-step `kStep` with stmatrix.x4.
inline int64_t stmatrixByteOffset(int warp, int lane, int kStep, int rows,
                                  int swizzleBytes, int elemBytes) {
  int row = 16 * warp + stmatrixRow(lane);
  int col = 16 * kStep + stmatrixCol(lane);
  return tileElementByteOffset(row, col, rows, swizzleBytes, elemBytes);
}

/// The same offset in the form the TMA epilogue emits it: a per-thread part
/// (row * S and the swizzle XOR of the row, which touches bits 4-6 only) and
/// a per-k-step part (the column block and the 16-column step inside it).
/// Equal to stmatrixByteOffset for every valid swizzle (the test checks it).
inline int64_t stmatrixByteOffsetSplit(int warp, int lane, int kStep, int rows,
                                       int swizzleBytes, int elemBytes) {
  int boxCols = swizzleBytes / elemBytes;
  int64_t rowBytes = int64_t(16 * warp + stmatrixRow(lane)) * swizzleBytes;
  int64_t rowXor = ((rowBytes >> 7) & (swizzleBytes / kSwizzleChunkBytes - 1))
                   << 4;
  int64_t block = int64_t(16 * kStep / boxCols) * rows * swizzleBytes;
  int64_t inRow = int64_t((16 * kStep) % boxCols) * elemBytes +
                  int64_t(stmatrixCol(lane)) * elemBytes;
  return block + rowBytes + (inRow ^ rowXor);
}

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FRAGMENTLAYOUT_H
