//===- Tma.cpp - TMA tile loads and stores, stmatrix ----------------------===//
//
// Q, K and V are 4-D tensor maps with dims (head_dim, seqlen, heads, batch)
// and boxes (boxCols, rows, 1, 1), boxCols = swizzle / elem_bytes (KernelABI.h).
// A tile of `rows` rows is head_dim / boxCols boxes, stored one after the
// other: column block c at byte c * rows * swizzle. Rows past seqlen are
// filled with zeros by the TMA unit and still count towards the transaction
// bytes, so expect_tx always uses the full tile size. Stores are the mirror
// image: rows past the end of the tensor are not written.
// (PTX ISA 9.7.9.25.5.1, cp.async.bulk.tensor.)
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

using namespace mlir;

namespace flashcore {

void KernelEmitter::tmaLoadTile(Value tensorMap, Value dst, Value bar,
                                int rows, Value row, Value head, Value batch) {
  const int blockBytes = rows * spec.schedule.swizzle;
  for (int c = 0; c < geo.columnBlocks; ++c) {
    Value box = smemAt(dst, static_cast<int64_t>(c) * blockBytes);
    SmallVector<Value> coords = {i32(c * geo.boxCols), row, head, batch};
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, loc, box, tensorMap, coords, bar, /*im2colOffsets=*/ValueRange{},
        /*multicastMask=*/Value(), /*l2CacheHint=*/Value(),
        NVVM::TMALoadMode::TILE, /*isCTAOnly=*/true,
        /*group=*/NVVM::CTAGroupKindAttr(), /*predicate=*/Value());
  }
}

void KernelEmitter::tmaLoadRows(Value tensorMap, Value dst, Value bar,
                                int tileRows, Value tileRow, Value row,
                                Value head, Value batch) {
  const int blockBytes = tileRows * spec.schedule.swizzle;
  Value rowBytes = mul(tileRow, i32(spec.schedule.swizzle));
  for (int c = 0; c < geo.columnBlocks; ++c) {
    Value box = smemAt(dst, add(rowBytes, i32(c * blockBytes)));
    SmallVector<Value> coords = {i32(c * geo.boxCols), row, head, batch};
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, loc, box, tensorMap, coords, bar, /*im2colOffsets=*/ValueRange{},
        /*multicastMask=*/Value(), /*l2CacheHint=*/Value(),
        NVVM::TMALoadMode::TILE, /*isCTAOnly=*/true,
        /*group=*/NVVM::CTAGroupKindAttr(), /*predicate=*/Value());
  }
}

void KernelEmitter::tmaStoreTile(Value tensorMap, Value src, int rows,
                                 Value row, Value head, Value batch) {
  const int blockBytes = rows * spec.schedule.swizzle;
  for (int c = 0; c < geo.columnBlocks; ++c) {
    Value box = smemAt(src, static_cast<int64_t>(c) * blockBytes);
    SmallVector<Value> coords = {i32(c * geo.boxCols), row, head, batch};
    NVVM::CpAsyncBulkTensorSharedCTAToGlobalOp::create(
        b, loc, tensorMap, box, coords, /*l2CacheHint=*/Value(),
        NVVM::TMAStoreMode::TILE, /*predicate=*/Value());
  }
  NVVM::CpAsyncBulkCommitGroupOp::create(b, loc);
}

void KernelEmitter::tmaStoreWaitRead() {
  NVVM::CpAsyncBulkWaitGroupOp::create(b, loc, b.getI32IntegerAttr(0),
                                       b.getUnitAttr());
}

void KernelEmitter::tmaStoreWaitAll() {
  NVVM::CpAsyncBulkWaitGroupOp::create(b, loc, b.getI32IntegerAttr(0),
                                       UnitAttr());
}

void KernelEmitter::fenceProxyAsyncShared() {
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}

void KernelEmitter::stmatrixX4(Value rowAddress, ValueRange regs) {
  MLIRContext *ctx = b.getContext();
  NVVM::StMatrixOp::create(
      b, loc, rowAddress, regs, NVVM::MMALayout::row,
      NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8),
      NVVM::LdStMatrixEltType::B16);
}

} // namespace flashcore
