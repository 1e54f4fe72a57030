//===- TileScheduler.cpp - Single-tile and static persistent schedulers ---===//

#include "compiler/FlashCoreToNVVM/TileScheduler.h"
#include "compiler/TileSchedule.h"

using namespace mlir;

namespace flashcore {

namespace {

class SingleTileScheduler : public TileScheduler {
public:
  SingleTileScheduler(KernelEmitter &e) : e(e) {}

  SmallVector<Value> forEachTile(ValueRange carried,
                                 const TileBody &body) override {
    WorkTile t;
    Value bx = e.blockIdx(0);
    t.mBlock = reverseQueryBlocks(e.spec.problem)
                   ? e.sub(e.sub(e.gridDimX(), e.i32(1)), bx)
                   : bx;
    t.head = e.blockIdx(1);
    t.batch = e.blockIdx(2);
    return body(t, carried);
  }

private:
  KernelEmitter &e;
};

/// tileCoords of TileSchedule.h, with the loop t = blockIdx.x; t < T;
/// t += gridDim.x.
class StaticPersistentScheduler : public TileScheduler {
public:
  StaticPersistentScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(ValueRange carried,
                                 const TileBody &body) override {
    Value mBlocks = e.ceilDiv(args[kParamSeqlenQ], e.spec.schedule.blockM);
    Value tilesPerBatch = e.mul(mBlocks, args[kParamHeadsQ]);
    Value tiles = e.mul(tilesPerBatch, args[kParamBatch]);
    Value stride = e.gridDimX();
    const bool reverse = reverseQueryBlocks(e.spec.problem);
    SmallVector<Value> inits = {e.blockIdx(0)};
    inits.append(carried.begin(), carried.end());
    SmallVector<Value> out = e.whileLoop(
        inits, [&](ValueRange c) { return e.lt(c[0], tiles); },
        [&](ValueRange c) {
          Value t = c[0];
          WorkTile w;
          Value i = e.remu(t, mBlocks);
          w.head = e.remu(e.divu(t, mBlocks), args[kParamHeadsQ]);
          w.batch = e.divu(t, tilesPerBatch);
          w.mBlock = reverse ? e.sub(e.sub(mBlocks, e.i32(1)), i) : i;
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
    return std::make_unique<SingleTileScheduler>(e);
  case SchedulerKind::StaticPersistent:
    return std::make_unique<StaticPersistentScheduler>(e, args);
  }
  return nullptr;
}

} // namespace flashcore
