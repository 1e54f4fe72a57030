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

/// One box of a tile load at `coords` (column, row, head, batch) of the
/// tensor map, landing `byteOffset` bytes into `dst`, with the L2 cache
/// policy `policy` (null: none).
/// `multicast` (i16, null: none) names the cluster CTAs that receive the box
/// at the same offset of their shared memory, each completing its own
/// barrier at `bar`'s offset (.multicast::cluster).
static void loadBox(KernelEmitter &e, Value tensorMap, Value dst, Value bar,
                    Value byteOffset, SmallVector<Value> coords,
                    Value policy, Value multicast = Value()) {
  Value box = e.smemAt(dst, byteOffset);
  if (multicast)
    box = LLVM::AddrSpaceCastOp::create(
        e.b, e.loc, LLVM::LLVMPointerType::get(e.b.getContext(), 7), box);
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      e.b, e.loc, box, tensorMap, coords, bar, /*im2colOffsets=*/ValueRange{},
      /*multicastMask=*/multicast, /*l2CacheHint=*/policy,
      NVVM::TMALoadMode::TILE, /*isCTAOnly=*/!multicast,
      /*group=*/NVVM::CTAGroupKindAttr(), /*predicate=*/Value());
}

void KernelEmitter::tmaLoadTile(Value tensorMap, Value dst, Value bar,
                                int rows, Value row, Value head, Value batch,
                                Value policy) {
  const int blockBytes = rows * spec.schedule.swizzle;
  for (int c = 0; c < geo.columnBlocks; ++c)
    loadBox(*this, tensorMap, dst, bar, i32(c * blockBytes),
            {i32(c * geo.boxCols), row, head, batch}, policy);
}

void KernelEmitter::tmaPrefetchTile(Value tensorMap, Value row, Value head,
                                    Value batch) {
  for (int c = 0; c < geo.columnBlocks; ++c)
    NVVM::CpAsyncBulkTensorPrefetchOp::create(
        b, loc, tensorMap, ValueRange{i32(c * geo.boxCols), row, head, batch},
        /*im2colOffsets=*/ValueRange{}, NVVM::TMALoadMode::TILE,
        /*l2CacheHint=*/Value());
}

Value KernelEmitter::cachePolicy(CacheHint hint) {
  // createpolicy's encodings of a whole-line fraction of 1.0 with the
  // priority (CUTLASS's CacheHintSm90 values).
  switch (hint) {
  case CacheHint::Normal:
    return Value();
  case CacheHint::EvictFirst:
    return i64(0x12F0000000000000ll);
  case CacheHint::EvictLast:
    return i64(0x14F0000000000000ll);
  }
  return Value();
}

void KernelEmitter::tmaLoadKVTile(Value tensorMap, Value dst, Value bar,
                                  Value row, Value head, Value batch) {
  const int rows = spec.schedule.blockN;
  const int chunk = geo.kvBoxRows;
  const int blockBytes = rows * spec.schedule.swizzle;
  Value policy = cachePolicy(spec.schedule.kvCacheHint);
  if (spec.schedule.clusterM == 2) {
    // This CTA's half of the block, rows [rank * half, (rank + 1) * half),
    // multicast to both CTAs of the cluster (mask 0b11: ranks 0 and 1).
    const int half = rows / 2;
    Value first = mul(clusterCtaRank(), i32(half));
    Value both = arith::ConstantIntOp::create(b, loc, i16T, 3);
    for (int r = 0; r < half; r += chunk) {
      Value tileRow = add(first, i32(r));
      tmaLoadRows(tensorMap, dst, bar, rows, tileRow, add(row, tileRow), head,
                  batch, both);
    }
    return;
  }
  for (int r = 0; r < rows; r += chunk)
    for (int c = 0; c < geo.columnBlocks; ++c)
      loadBox(*this, tensorMap, dst, bar,
              i32(c * blockBytes + r * spec.schedule.swizzle),
              {i32(c * geo.boxCols), r ? add(row, i32(r)) : row, head, batch},
              policy);
}

void KernelEmitter::tmaLoadRows(Value tensorMap, Value dst, Value bar,
                                int tileRows, Value tileRow, Value row,
                                Value head, Value batch, Value multicast) {
  const int blockBytes = tileRows * spec.schedule.swizzle;
  Value rowBytes = mul(tileRow, i32(spec.schedule.swizzle));
  Value policy = cachePolicy(spec.schedule.kvCacheHint);
  for (int c = 0; c < geo.columnBlocks; ++c)
    loadBox(*this, tensorMap, dst, bar, add(rowBytes, i32(c * blockBytes)),
            {i32(c * geo.boxCols), row, head, batch}, policy, multicast);
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

void KernelEmitter::prefetchTensorMap(Value tensorMap) {
  NVVM::PrefetchOp::create(b, loc, /*cacheLevel=*/nullptr,
                           /*evictPriority=*/nullptr, tensorMap,
                           /*predicate=*/Value(), /*tensormap=*/true,
                           /*uniform=*/false, /*in_param_space=*/true);
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
