//===- Epilogue.cpp - Register and TMA-store epilogues --------------------===//

#include "compiler/FlashCoreToNVVM/Epilogue.h"
#include "compiler/FlashCoreToNVVM/Sync.h"

using namespace mlir;

namespace flashcore {

RowCoords Epilogue::row(const TileContext &ctx, int r) {
  return ctx.row(e, args, thread.tileRow[r]);
}

void Epilogue::store(const TileContext &ctx, const ConsumerResult &result) {
  OnlineSoftmax softmax(e, args[kParamScaleLog2]);
  OnlineSoftmax::Final f = result.finish(softmax);
  Accumulator o = result.o.scaleRows(e, f.inverseSum[0], f.inverseSum[1]);
  storeOutput(ctx, o);
  storeLse(ctx, f.lse);
}

void Epilogue::storeOutputFromRegisters(const TileContext &ctx,
                                        const Accumulator &o) {
  for (int r = 0; r < 2; ++r) {
    RowCoords rc = row(ctx, r);
    e.ifThen(rc.valid, [&] {
      Value base = e.add(
          e.mul(e.ext64(ctx.tile.batch), args[kParamOutBatchStride]),
          e.add(e.mul(e.ext64(e.add(ctx.rowOffsetQ, rc.seq)),
                      args[kParamOutRowStride]),
                e.mul(e.ext64(rc.head), args[kParamOutHeadStride])));
      base = e.add(base, e.ext64(thread.colBase));
      for (int i = 0; i < o.size(); i += 2) {
        if (fragmentRow(i) != r)
          continue;
        Value packed = e.packHalf2(o.values[i], o.values[i + 1]);
        Value idx = e.add(base, e.i64(fragmentCol(i)));
        Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.i16T,
                                        args[kParamOut], ValueRange{idx});
        LLVM::StoreOp::create(e.b, e.loc, packed, ptr, /*alignment=*/4);
      }
    });
  }
}

void Epilogue::storeLse(const TileContext &ctx, const Value lse[2]) {
  Value lsePtr = args[kParamLse];
  Value lseInt = LLVM::PtrToIntOp::create(e.b, e.loc, e.i64T, lsePtr);
  Value hasLse = e.cmpi(arith::CmpIPredicate::ne, lseInt, e.i64(0));
  Value quadLeader = e.eq(thread.colBase, e.i32(0));
  e.ifThen(e.andi(hasLse, quadLeader), [&] {
    for (int r = 0; r < 2; ++r) {
      RowCoords rc = row(ctx, r);
      e.ifThen(rc.valid, [&] {
        Value idx = e.add(
            e.add(e.mul(e.ext64(ctx.tile.batch), args[kParamLseBatchStride]),
                  e.mul(e.ext64(rc.head), args[kParamLseHeadStride])),
            e.ext64(e.add(ctx.rowOffsetQ, rc.seq)));
        Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.f32T,
                                        lsePtr, ValueRange{idx});
        LLVM::StoreOp::create(e.b, e.loc, lse[r], ptr, /*alignment=*/4);
      });
    }
  });
}

namespace {

class RegisterEpilogue : public Epilogue {
public:
  using Epilogue::Epilogue;

protected:
  void storeOutput(const TileContext &ctx, const Accumulator &o) override {
    storeOutputFromRegisters(ctx, o);
  }
};

class TmaEpilogue : public Epilogue {
public:
  using Epilogue::Epilogue;

  void finish() override {
    e.ifThen(e.eq(thread.warpInGroup, e.i32(0)), [&] {
      e.ifThen(e.electOne(), [&] { e.tmaStoreWaitAll(); });
    });
  }

protected:
  void storeOutput(const TileContext &ctx, const Accumulator &o) override {
    const bool inQ = e.geo.smem.oAliasesQ;
    const bool inV = e.geo.smem.oAliasesV;
    // Staging in the Q tile (the V ring): wait until no warpgroup reads Q
    // (V) any more (every consumer thread, whichever path its warpgroup takes
    // below).
    if (e.geo.smem.oAliased())
      NamedBarrier::consumers(e).sync(e);
    if (!e.spec.problem.varlen) {
      storeThroughSharedMemory(ctx, o);
      return;
    }
    // A packed sequence's last query block would spill its rows into the
    // next sequence's: that warpgroup stores from registers instead.
    Value firstRow = thread.firstRow(e, ctx);
    Value whole = e.cmpi(arith::CmpIPredicate::sle,
                         e.add(firstRow, e.i32(kWgmmaM)), ctx.seqlenQ);
    auto ifOp = scf::IfOp::create(e.b, e.loc, whole, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    storeThroughSharedMemory(ctx, o);
    e.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    storeOutputFromRegisters(ctx, o);
    if (inQ && loopsOverTiles(e.spec.schedule))
      e.ifThen(thread.isLane0, [&] { e.mbarrierArrive(smem.qEmpty()); });
    if (inV)
      e.ifThen(e.andi(thread.isLane0, e.eq(thread.warpInGroup, e.i32(0))),
               [&] { e.mbarrierArrive(smem.oEmpty()); });
  }

private:
  void storeThroughSharedMemory(const TileContext &ctx, const Accumulator &o) {
    const int swizzle = e.spec.schedule.swizzle;
    const int elem = e.geo.elemBytes;
    const int boxCols = e.geo.boxCols;
    NamedBarrier staging = NamedBarrier::consumerWarpgroup(e, thread.wg);
    const bool inQ = e.geo.smem.oAliasesQ;
    const bool inV = e.geo.smem.oAliasesV;
    const bool aliased = e.geo.smem.oAliased();
    // Step 1. The staging tile is free: the previous tile's store has read it
    // (its issuing thread waits for that here, a persistent CTA's only wait:
    // the read overlapped this tile's mainloop; before the barrier). In the Q
    // tile or the V ring, storeOutput has waited for every consumer already
    // (and the V ring holds no later tile's V: those loads wait for o_empty).
    const bool deferredWait = !aliased && loopsOverTiles(e.spec.schedule);
    if (deferredWait)
      e.ifThen(e.eq(thread.warpInGroup, e.i32(0)),
               [&] { e.ifThen(e.electOne(), [&] { e.tmaStoreWaitRead(); }); });
    if (!aliased)
      staging.sync(e);

    // Step 2. stmatrix the normalised O into the TMA box layout
    // (FragmentLayout.h, stmatrixByteOffsetSplit).
    PackedOperand packed = PackedOperand::pack(e, o);
    Value base = smem.oStaging(thread.wg);
    Value lane = thread.lane;
    Value matrix = e.divu(lane, e.i32(8));
    Value tileRow = e.add(e.mul(thread.warpInGroup, e.i32(16)),
                          e.add(e.mul(e.remu(matrix, e.i32(2)), e.i32(8)),
                                e.remu(lane, e.i32(8))));
    Value rowBytes = e.mul(tileRow, e.i32(swizzle));
    Value rowXor = e.shl(e.andi(e.shru(rowBytes, e.i32(7)),
                                e.i32(swizzle / kSwizzleChunkBytes - 1)),
                         e.i32(4));
    Value colBytes = e.mul(e.divu(lane, e.i32(16)), e.i32(8 * elem));
    for (int j = 0; j < packed.kSteps; ++j) {
      int block = (16 * j / boxCols) * kWgmmaM * swizzle;
      int inRow = ((16 * j) % boxCols) * elem;
      Value offset = e.add(e.add(e.i32(block), rowBytes),
                           e.xori(e.add(e.i32(inRow), colBytes), rowXor));
      e.stmatrixX4(e.smemAt(base, offset), packed.kStep(j));
    }
    e.fenceProxyAsyncShared();

    // Step 3. Everyone's rows are staged: one thread stores the 64 rows.
    staging.sync(e);
    e.ifThen(e.eq(thread.warpInGroup, e.i32(0)), [&] {
      e.ifThen(e.electOne(), [&] {
        Value firstRow = e.add(ctx.rowOffsetQ, thread.firstRow(e, ctx));
        e.tmaStoreTile(args[kParamTmaO], base, kWgmmaM, firstRow,
                       ctx.tile.head, ctx.tmaBatch);
        if (!deferredWait)
          e.tmaStoreWaitRead();
        // The V ring may take the next tile's V once every warpgroup's
        // store has read its rows.
        if (inV)
          e.mbarrierArrive(smem.oEmpty());
      });
    });
    if (inQ && loopsOverTiles(e.spec.schedule)) {
      // Step 4. The store has read this warpgroup's part of the Q tile: the
      // CTA's next tile may load its Q.
      staging.sync(e);
      e.ifThen(thread.isLane0, [&] { e.mbarrierArrive(smem.qEmpty()); });
    }
  }
};

/// split_kv: the split's normalised O as fp32 pairs (64-bit stores) and its
/// LSE into the workspace, at [split][accum row][head] (KernelABI.h).
class PartialEpilogue : public Epilogue {
public:
  using Epilogue::Epilogue;

  void store(const TileContext &ctx, const ConsumerResult &result) override {
    OnlineSoftmax softmax(e, args[kParamScaleLog2]);
    OnlineSoftmax::Final f = result.finish(softmax);
    Accumulator o = result.o.scaleRows(e, f.inverseSum[0], f.inverseSum[1]);
    const int d = e.spec.problem.headDim;
    Type pairT = VectorType::get({2}, e.f32T);
    Value quadLeader = e.eq(thread.colBase, e.i32(0));
    for (int r = 0; r < 2; ++r) {
      RowCoords rc = row(ctx, r);
      e.ifThen(rc.valid, [&] {
        // Row of the workspace: batch * seqlen_q + query (varlen: the packed
        // row).
        Value accumRow =
            e.spec.problem.varlen
                ? e.add(ctx.rowOffsetQ, rc.seq)
                : e.add(e.mul(ctx.tile.batch, args[kParamSeqlenQ]), rc.seq);
        Value slot = e.add(
            e.mul(e.ext64(e.add(e.mul(ctx.tile.split, args[kParamAccumRows]),
                                accumRow)),
                  e.ext64(args[kParamHeadsQ])),
            e.ext64(rc.head));
        Value base = e.add(e.mul(slot, e.i64(d)), e.ext64(thread.colBase));
        for (int i = 0; i < o.size(); i += 2) {
          if (fragmentRow(i) != r)
            continue;
          Value pair = LLVM::UndefOp::create(e.b, e.loc, pairT);
          pair = LLVM::InsertElementOp::create(e.b, e.loc, pair, o.values[i],
                                               e.i32(0));
          pair = LLVM::InsertElementOp::create(e.b, e.loc, pair,
                                               o.values[i + 1], e.i32(1));
          Value ptr = LLVM::GEPOp::create(
              e.b, e.loc, e.globalPtrT, e.f32T, args[kParamOAccum],
              ValueRange{e.add(base, e.i64(fragmentCol(i)))});
          LLVM::StoreOp::create(e.b, e.loc, pair, ptr, /*alignment=*/8);
        }
        e.ifThen(quadLeader, [&] {
          Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.f32T,
                                          args[kParamLseAccum],
                                          ValueRange{slot});
          LLVM::StoreOp::create(e.b, e.loc, f.lse[r], ptr, /*alignment=*/4);
        });
      });
    }
  }

protected:
  void storeOutput(const TileContext &, const Accumulator &) override {}
};

} // namespace

std::unique_ptr<Epilogue> Epilogue::create(KernelEmitter &e,
                                           const KernelArgs &args,
                                           const SharedStorage &smem,
                                           const ConsumerThread &thread) {
  if (e.spec.problem.splitKv)
    return std::make_unique<PartialEpilogue>(e, args, smem, thread);
  switch (e.spec.schedule.epilogue) {
  case EpilogueKind::Registers:
    return std::make_unique<RegisterEpilogue>(e, args, smem, thread);
  case EpilogueKind::Tma:
    return std::make_unique<TmaEpilogue>(e, args, smem, thread);
  }
  return nullptr;
}

} // namespace flashcore
