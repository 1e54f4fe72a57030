//===- TileScheduler.cpp - Single-tile and static persistent schedulers ---===//

#include "compiler/FlashCoreToNVVM/TileScheduler.h"
#include "compiler/TileSchedule.h"

using namespace mlir;

namespace flashcore {

namespace {

/// Heads of the tile space: query heads, or KV heads with pack_gqa.
static Value tileHeads(KernelEmitter &e, const KernelArgs &args) {
  return e.spec.problem.packGqa
             ? e.divu(args[kParamHeadsQ], args[kParamHeadsPerKvHead])
             : args[kParamHeadsQ];
}

/// Query blocks of the tile space (one with pack_gqa: the packed rows fit).
static Value queryBlocks(KernelEmitter &e, const KernelArgs &args) {
  return e.spec.problem.packGqa
             ? e.i32(1)
             : e.ceilDiv(args[kParamSeqlenQ], e.spec.schedule.blockM);
}

/// The query block of linear index i: longest first for causal and local
/// kernels (reverseQueryBlocks).
static Value orderedQueryBlock(KernelEmitter &e, Value mBlocks, Value i) {
  return reverseQueryBlocks(e.spec.problem)
             ? e.sub(e.sub(mBlocks, e.i32(1)), i)
             : i;
}

class SingleTileScheduler : public TileScheduler {
public:
  SingleTileScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(ValueRange carried,
                                 const TileBody &body) override {
    WorkTile t;
    Value bx = e.blockIdx(0);
    // grid.x = splits * query blocks, query blocks fastest.
    Value mBlocks = e.spec.problem.splitKv
                        ? e.divu(e.gridDimX(), args[kParamNumSplits])
                        : e.gridDimX();
    Value i = e.spec.problem.splitKv ? e.remu(bx, mBlocks) : bx;
    t.split = e.spec.problem.splitKv ? e.divu(bx, mBlocks) : e.i32(0);
    t.mBlock = orderedQueryBlock(e, mBlocks, i);
    t.head = e.blockIdx(1);
    t.batch = e.blockIdx(2);
    return body(t, carried);
  }

private:
  KernelEmitter &e;
  const KernelArgs &args;
};

/// tileCoords of TileSchedule.h, with the loop t = blockIdx.x; t < T;
/// t += gridDim.x; the split index is the slowest coordinate.
class StaticPersistentScheduler : public TileScheduler {
public:
  StaticPersistentScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(ValueRange carried,
                                 const TileBody &body) override {
    Value mBlocks = queryBlocks(e, args);
    Value heads = tileHeads(e, args);
    Value tilesPerBatch = e.mul(mBlocks, heads);
    Value tilesPerSplit = e.mul(tilesPerBatch, args[kParamBatch]);
    Value tiles = e.spec.problem.splitKv
                      ? e.mul(tilesPerSplit, args[kParamNumSplits])
                      : tilesPerSplit;
    Value stride = e.gridDimX();
    SmallVector<Value> inits = {e.blockIdx(0)};
    inits.append(carried.begin(), carried.end());
    SmallVector<Value> out = e.whileLoop(
        inits, [&](ValueRange c) { return e.lt(c[0], tiles); },
        [&](ValueRange c) {
          Value t = c[0];
          WorkTile w;
          Value i = e.remu(t, mBlocks);
          w.head = e.remu(e.divu(t, mBlocks), heads);
          w.batch = e.remu(e.divu(t, tilesPerBatch), args[kParamBatch]);
          w.split = e.spec.problem.splitKv ? e.divu(t, tilesPerSplit)
                                           : e.i32(0);
          w.mBlock = orderedQueryBlock(e, mBlocks, i);
          SmallVector<Value> next = {e.add(t, stride)};
          SmallVector<Value> state = body(w, c.drop_front());
          next.append(state.begin(), state.end());
          return next;
        });
    return SmallVector<Value>(out.begin() + 1, out.end());
  }

private:
  KernelEmitter &e;
  const KernelArgs &args;
};

} // namespace

std::unique_ptr<TileScheduler> TileScheduler::create(KernelEmitter &e,
                                                     const KernelArgs &args) {
  switch (e.spec.schedule.scheduler) {
  case SchedulerKind::SingleTile:
    return std::make_unique<SingleTileScheduler>(e, args);
  case SchedulerKind::StaticPersistent:
    return std::make_unique<StaticPersistentScheduler>(e, args);
  }
  return nullptr;
}

} // namespace flashcore
