//===- TileScheduler.cpp - Single-tile and persistent tile schedulers -----===//

#include "compiler/FlashCoreToNVVM/TileScheduler.h"
#include "compiler/FlashCoreToNVVM/Sync.h"
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

/// Lanes per L2 group (l2LaneGroup of TileSchedule.h) from seqlen_k.
static Value laneGroup(KernelEmitter &e, const KernelArgs &args) {
  const int64_t perKey =
      int64_t(2) * e.spec.problem.headDim * dtypeBytes(e.spec.problem.dtype);
  Value keys = e.maxs(args[kParamSeqlenK], e.i32(1));
  Value g = e.divu(e.i32(int32_t(kL2GroupBytes / perKey)), keys);
  return e.mins(e.maxs(g, e.i32(1)), e.i32(int32_t(kMaxLaneGroup)));
}

/// tileCoordsLongestFirst of TileSchedule.h: tile t of M query blocks,
/// `heads` heads and `batch` sequences.
static WorkTile longestFirstTile(KernelEmitter &e, Value t, Value mBlocks,
                                 Value heads, Value batch, Value group) {
  Value lanes = e.mul(heads, batch);
  Value perGroup = e.mul(mBlocks, group);
  Value g = e.divu(t, perGroup);
  Value r = e.remu(t, perGroup);
  Value first = e.mul(g, group);
  Value inGroup = e.mins(group, e.sub(lanes, first));
  Value lane = e.add(first, e.remu(r, inGroup));
  WorkTile w;
  w.mBlock = orderedQueryBlock(e, mBlocks, e.divu(r, inGroup));
  w.head = e.remu(lane, heads);
  w.batch = e.divu(lane, heads);
  w.split = e.i32(0);
  return w;
}

/// tileCoords of TileSchedule.h (query block fastest, then head, batch and
/// split): tile t of the persistent schedulers' linear order.
static WorkTile linearTile(KernelEmitter &e, Value t, Value mBlocks,
                           Value heads, Value batch, Value tilesPerBatch,
                           Value tilesPerSplit) {
  const bool split = e.spec.problem.splitKv;
  WorkTile w;
  w.mBlock = orderedQueryBlock(e, mBlocks, e.remu(t, mBlocks));
  w.head = e.remu(e.divu(t, mBlocks), heads);
  Value b = e.divu(t, tilesPerBatch);
  w.batch = split ? e.remu(b, batch) : b; // below `batch` without splits
  w.split = split ? e.divu(t, tilesPerSplit) : e.i32(0);
  return w;
}

class SingleTileScheduler : public TileScheduler {
public:
  SingleTileScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(TileRole, ValueRange carried,
                                 const TileBody &body) override {
    if (e.spec.schedule.tileOrder == TileOrder::LongestFirst) {
      // The linear block index through the longest-first order: blocks are
      // handed to SMs in index order, so the longest tiles start first.
      Value m = e.gridDim(0), h = e.gridDim(1);
      Value linear = e.add(e.blockIdx(0),
                           e.mul(m, e.add(e.blockIdx(1),
                                          e.mul(h, e.blockIdx(2)))));
      return body(longestFirstTile(e, linear, m, h, e.gridDim(2),
                                   laneGroup(e, args)),
                  carried);
    }
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
/// t += gridDim.x; the split index is the slowest coordinate. With
/// `tile_order: longest_first`, tileCoordsLongestFirst dealt in a snake
/// (round k: snakeTile(blockIdx.x, k, gridDim.x)).
class StaticPersistentScheduler : public TileScheduler {
public:
  StaticPersistentScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(TileRole, ValueRange carried,
                                 const TileBody &body) override {
    Value mBlocks = queryBlocks(e, args);
    Value heads = tileHeads(e, args);
    Value tilesPerBatch = e.mul(mBlocks, heads);
    Value tilesPerSplit = e.mul(tilesPerBatch, args[kParamBatch]);
    Value tiles = e.spec.problem.splitKv
                      ? e.mul(tilesPerSplit, args[kParamNumSplits])
                      : tilesPerSplit;
    Value stride = e.gridDimX();
    const bool longestFirst =
        e.spec.schedule.tileOrder == TileOrder::LongestFirst;
    Value cta = e.blockIdx(0);
    // Carried: the tile, the round (longest first only), then the body's.
    const int own = longestFirst ? 2 : 1;
    SmallVector<Value> inits = {cta};
    if (longestFirst)
      inits.push_back(e.i32(0));
    inits.append(carried.begin(), carried.end());
    SmallVector<Value> out = e.whileLoop(
        inits, [&](ValueRange c) { return e.lt(c[0], tiles); },
        [&](ValueRange c) {
          Value t = c[0];
          WorkTile w;
          SmallVector<Value> next;
          if (longestFirst) {
            // The lane group is recomputed per tile: a value live across
            // the loop costs the 24-register producer a spill.
            w = longestFirstTile(e, t, mBlocks, heads, args[kParamBatch],
                                 laneGroup(e, args));
            // snakeTile(cta, k + 1, grid).
            Value k = e.add(c[1], e.i32(1));
            Value odd = e.eq(e.andi(k, e.i32(1)), e.i32(1));
            Value back = e.sub(e.sub(stride, e.i32(1)), cta);
            next = {e.add(e.mul(k, stride), e.select(odd, back, cta)), k};
          } else {
            w = linearTile(e, t, mBlocks, heads, args[kParamBatch],
                           tilesPerBatch, tilesPerSplit);
            next = {e.add(t, stride)};
          }
          SmallVector<Value> state = body(w, c.drop_front(own));
          next.append(state.begin(), state.end());
          return next;
        });
    return SmallVector<Value>(out.begin() + own, out.end());
  }

private:
  KernelEmitter &e;
  const KernelArgs &args;
};

/// tileCoords (or, with `tile_order: longest_first`, tileCoordsLongestFirst)
/// of TileSchedule.h; tiles handed out by an atomic counter
/// (TileScheduler.h). The loop carries the tile, then the body's values.
class DynamicPersistentScheduler : public TileScheduler {
public:
  DynamicPersistentScheduler(KernelEmitter &e, const KernelArgs &args)
      : e(e), args(args) {}

  SmallVector<Value> forEachTile(TileRole role, ValueRange carried,
                                 const TileBody &body) override {
    Value mBlocks = queryBlocks(e, args);
    Value heads = tileHeads(e, args);
    Value tilesPerBatch = e.mul(mBlocks, heads);
    Value tiles = e.mul(tilesPerBatch, args[kParamBatch]);
    Value slot = e.smemAt(e.alignedSmemBase(), e.geo.smem.tileSlotOffset);
    NamedBarrier full = NamedBarrier::tileSlot(e, /*full=*/true);
    NamedBarrier empty = NamedBarrier::tileSlot(e, /*full=*/false);
    const bool producer = role == TileRole::Producer;
    // No split_kv here (a spec rule): the batch is t / tilesPerBatch.
    // Longest first: FA3's dynamic order (every lane of an L2 group its
    // longest query block first); the lane group is recomputed per tile, as
    // in the static scheduler.
    auto decode = [&](Value t) {
      return e.spec.schedule.tileOrder == TileOrder::LongestFirst
                 ? longestFirstTile(e, t, mBlocks, heads, args[kParamBatch],
                                    laneGroup(e, args))
                 : linearTile(e, t, mBlocks, heads, args[kParamBatch],
                              tilesPerBatch, tiles);
    };
    // producer_decodes_tiles: the slot's words 1-3 hold the next tile's
    // query block, head and batch, which the consumers carry after the tile
    // index (the loop's own values).
    const bool handOver = e.spec.schedule.producerDecodesTiles;
    const bool carriesCoords = handOver && !producer;
    const int own = carriesCoords ? 4 : 1;
    auto slotWord = [&](int i) { return e.smemAt(slot, int64_t(4 * i)); };
    // The slot starts free: the consumers' first "read" lets the producer's
    // first write through.
    if (!producer)
      empty.arrive(e);
    SmallVector<Value> inits = {e.blockIdx(0)};
    if (carriesCoords) {
      // A CTA without a tile (a grid of one over an empty problem) skips
      // the decode: its divisors may be zero.
      SmallVector<Value> first = e.ifThenElse(
          e.lt(e.blockIdx(0), tiles), TypeRange{e.i32T, e.i32T, e.i32T},
          [&] {
            WorkTile w = decode(e.blockIdx(0));
            return SmallVector<Value>{w.mBlock, w.head, w.batch};
          },
          [&] { return SmallVector<Value>(3, e.i32(0)); });
      inits.append(first.begin(), first.end());
    }
    inits.append(carried.begin(), carried.end());
    SmallVector<Value> out = e.whileLoop(
        inits, [&](ValueRange c) { return e.lt(c[0], tiles); },
        [&](ValueRange c) {
          Value t = c[0];
          // The producer claims the next tile before loading this one, or
          // with late_tile_claim (FA3's scheduler_prefetch after the K
          // loads) once it has issued this tile's loads: CTAs then claim in
          // about the order they will finish their tiles, which keeps a
          // longest-first order longest first.
          Value lane = e.remu(e.threadIdx(), e.i32(32));
          auto claim = [&] {
            return e.ifThenElse(
                e.eq(lane, e.i32(0)), TypeRange{e.i32T},
                [&] {
                  return SmallVector<Value>{
                      e.atomicAddGlobal(args[kParamTileCounter], e.i32(1))};
                },
                [&] { return SmallVector<Value>{e.i32(0)}; })[0];
          };
          const bool late = e.spec.schedule.lateTileClaim;
          Value claimed;
          if (producer && !late)
            claimed = claim();
          WorkTile w;
          if (carriesCoords) {
            w.mBlock = c[1];
            w.head = c[2];
            w.batch = c[3];
            w.split = e.i32(0);
          } else {
            w = decode(t);
          }
          SmallVector<Value> state = body(w, c.drop_front(own));
          Value next;
          SmallVector<Value> coords;
          if (producer && late)
            claimed = claim();
          if (producer) {
            // Hand the claimed tile over once the consumers have read the
            // previous one; the warp reads it back after lane 0's store. The
            // loads ran on one elected lane: the warp reconverges first
            // (bar.sync is .aligned). With producer_decodes_tiles lane 0
            // decodes the tile before the barrier, so that only the stores
            // lie between the consumers' release of the slot and their wait
            // for it (past the last tile the coordinates are never read;
            // tile 0's keep the divisions in range).
            Value n = e.add(claimed, e.gridDimX());
            SmallVector<Value> decoded;
            if (handOver)
              decoded = e.ifThenElse(
                  e.eq(lane, e.i32(0)), TypeRange{e.i32T, e.i32T, e.i32T},
                  [&] {
                    WorkTile d = decode(e.select(e.lt(n, tiles), n, e.i32(0)));
                    return SmallVector<Value>{d.mBlock, d.head, d.batch};
                  },
                  [&] { return SmallVector<Value>(3, e.i32(0)); });
            e.syncWarp();
            empty.sync(e);
            e.ifThen(e.eq(lane, e.i32(0)), [&] {
              e.storeShared(n, slot);
              for (size_t i = 0; i < decoded.size(); ++i)
                e.storeShared(decoded[i], slotWord(int(i) + 1));
            });
            e.syncWarp();
            next = e.loadShared(e.i32T, slot);
            full.arrive(e);
          } else {
            full.sync(e);
            next = e.loadShared(e.i32T, slot);
            if (carriesCoords)
              for (int i = 1; i <= 3; ++i)
                coords.push_back(e.loadShared(e.i32T, slotWord(i)));
            // The last tile's slot is not read again: no arrival left over.
            e.ifThen(e.lt(next, tiles), [&] { empty.arrive(e); });
          }
          SmallVector<Value> result = {next};
          result.append(coords.begin(), coords.end());
          result.append(state.begin(), state.end());
          return result;
        });
    // The counter resets itself: each CTA's loading lane counts the CTA out
    // after its last claim (whose returned value ended its loop, so every
    // claim it made has been performed), and the CTA that counts last zeroes
    // both words for the next launch that reads this counter in stream
    // order. A launch whose runtime zeroes them itself (a per-call
    // workspace) finds them zero again when it ends.
    if (producer) {
      Value lane = e.remu(e.threadIdx(), e.i32(32));
      e.ifThen(e.eq(lane, e.i32(0)), [&] {
        Value counter = args[kParamTileCounter];
        Value done = e.globalI32At(counter, 1);
        Value before = e.atomicAddGlobalAcqRel(done, e.i32(1));
        e.ifThen(e.eq(before, e.sub(e.gridDimX(), e.i32(1))), [&] {
          e.atomicStoreGlobal(e.i32(0), counter);
          e.atomicStoreGlobal(e.i32(0), done);
        });
      });
    }
    return SmallVector<Value>(out.begin() + own, out.end());
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
  case SchedulerKind::DynamicPersistent:
    return std::make_unique<DynamicPersistentScheduler>(e, args);
  }
  return nullptr;
}

} // namespace flashcore
