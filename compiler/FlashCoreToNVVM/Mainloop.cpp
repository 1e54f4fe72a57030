//===- Mainloop.cpp - Producer and consumer loops over key blocks ---------===//

#include "compiler/FlashCoreToNVVM/Mainloop.h"
#include "compiler/FlashCoreToNVVM/Sync.h"

using namespace mlir;

namespace flashcore {

//===----------------------------------------------------------------------===//
// The order of a tile's key blocks
//===----------------------------------------------------------------------===//

namespace {
/// key_order: the producer and the consumers visit a tile's key blocks
/// [nStart, nEnd) in the same order, upwards or (FA3's) downwards. The ring
/// slots follow the visits, not the block indices. Ascending emits exactly
/// the loops the generator had before the field.
struct KeyWalk {
  KernelEmitter &e;
  Value nStart, nEnd;
  bool down;

  KeyWalk(KernelEmitter &e, const KeyBlockRange &blocks)
      : e(e), nStart(blocks.nStart), nEnd(blocks.nEnd),
        down(e.spec.schedule.keyOrder == KeyOrder::Descending) {}

  /// The block visited first.
  Value first() const { return down ? e.sub(nEnd, e.i32(1)) : nStart; }
  /// The block visited last.
  Value last() const { return down ? nStart : e.sub(nEnd, e.i32(1)); }
  /// The block visited just before block j.
  Value before(Value j) const {
    return down ? e.add(j, e.i32(1)) : e.sub(j, e.i32(1));
  }
  /// The block visited second (when there is one).
  Value second() const {
    return down ? e.sub(nEnd, e.i32(2)) : e.add(nStart, e.i32(1));
  }
  /// Blocks [lo, hi) in visit order; `body` gets the block index.
  SmallVector<Value>
  loop(Value lo, Value hi, ValueRange inits,
       const std::function<SmallVector<Value>(Value, ValueRange)> &body) const {
    if (!down)
      return e.forLoop(lo, hi, inits, body);
    Value top = e.sub(hi, e.i32(1));
    return e.forLoop(e.i32(0), e.sub(hi, lo), inits,
                     [&](Value i, ValueRange c) { return body(e.sub(top, i), c); });
  }
  /// The block range [lo, hi) left after the first `skip` visits (0 or 1).
  std::pair<Value, Value> restRange(int skip) const {
    if (skip == 0)
      return {nStart, nEnd};
    return down ? std::pair{nStart, e.sub(nEnd, e.i32(1))}
                : std::pair{e.add(nStart, e.i32(1)), nEnd};
  }
  /// The blocks after the first `skip` visits (0 or 1), in visit order.
  SmallVector<Value>
  rest(int skip, ValueRange inits,
       const std::function<SmallVector<Value>(Value, ValueRange)> &body) const {
    auto [lo, hi] = restRange(skip);
    return loop(lo, hi, inits, body);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Tile context and thread geometry
//===----------------------------------------------------------------------===//

/// Loads base[index] of an i32 global array (cu_seqlens, cache_seqlens, the
/// page table); index i32 or i64.
static Value loadI32(KernelEmitter &e, Value base, Value index) {
  Value ptr = LLVM::GEPOp::create(e.b, e.loc, e.globalPtrT, e.i32T, base,
                                  ValueRange{index});
  return LLVM::LoadOp::create(e.b, e.loc, e.i32T, ptr, /*alignment=*/4);
}

TileContext TileContext::make(KernelEmitter &e, const KernelArgs &a,
                              const WorkTile &tile) {
  const ProblemSpec &p = e.spec.problem;
  TileContext c;
  c.tile = tile;
  c.kvHead = p.packGqa ? tile.head : e.divu(tile.head, a[kParamHeadsPerKvHead]);
  if (p.varlen) {
    Value next = e.add(tile.batch, e.i32(1));
    c.rowOffsetQ = loadI32(e, a[kParamCuSeqlensQ], tile.batch);
    c.rowOffsetK = loadI32(e, a[kParamCuSeqlensK], tile.batch);
    c.seqlenQ = e.sub(loadI32(e, a[kParamCuSeqlensQ], next),
                      c.rowOffsetQ);
    c.seqlenK = e.sub(loadI32(e, a[kParamCuSeqlensK], next),
                      c.rowOffsetK);
    c.tmaBatch = e.i32(0);
    c.valid = e.lt(e.mul(tile.mBlock, e.i32(e.spec.schedule.blockM)),
                   c.seqlenQ);
  } else {
    c.rowOffsetQ = c.rowOffsetK = e.i32(0);
    c.seqlenQ = a[kParamSeqlenQ];
    // A cache length is clamped to [0, seqlen_k]: the rows (and, paged, the
    // page-table columns) the call described are all a tile may touch.
    c.seqlenK = p.cacheSeqlens
                    ? e.maxs(e.mins(loadI32(e, a[kParamCacheSeqlens],
                                                    tile.batch),
                                    a[kParamSeqlenK]),
                             e.i32(0))
                    : a[kParamSeqlenK];
    c.tmaBatch = tile.batch;
  }
  if (p.packGqa) {
    c.qRow = c.rowOffsetQ;
    c.qHead = e.mul(c.kvHead, a[kParamHeadsPerKvHead]);
  } else {
    c.qRow = e.add(c.rowOffsetQ,
                   e.mul(tile.mBlock, e.i32(e.spec.schedule.blockM)));
    c.qHead = tile.head;
  }
  c.blocks = KeyBlockRange::forQueryBlock(e, a, tile.mBlock, c.seqlenQ,
                                          c.seqlenK);
  if (p.splitKv) {
    // splitKeyBlocks of TileSchedule.h: contiguous ranges of ceil(n / S).
    Value n = e.sub(c.blocks.nEnd, c.blocks.nStart);
    Value splits = a[kParamNumSplits];
    Value per = e.divs(e.add(n, e.sub(splits, e.i32(1))), splits);
    Value begin = e.mins(e.add(c.blocks.nStart, e.mul(tile.split, per)),
                         c.blocks.nEnd);
    c.blocks.nStart = begin;
    c.blocks.nEnd = e.mins(e.add(begin, per), c.blocks.nEnd);
  }
  return c;
}

RowCoords TileContext::row(KernelEmitter &e, const KernelArgs &a,
                           Value tileRow) const {
  RowCoords r;
  if (e.spec.problem.packGqa) {
    // The Q box is (cols, seqlen_q rows, heads) in that order in shared
    // memory: packed row = head * seqlen_q + query row.
    Value rowsPerHead = a[kParamSeqlenQ];
    r.seq = e.remu(tileRow, rowsPerHead);
    r.head = e.add(qHead, e.divu(tileRow, rowsPerHead));
    r.valid = e.andi(e.lt(tileRow, a[kParamQRows]), e.lt(r.seq, seqlenQ));
  } else {
    r.seq = e.add(e.mul(tile.mBlock, e.i32(e.spec.schedule.blockM)), tileRow);
    r.head = tile.head;
    r.valid = e.lt(r.seq, seqlenQ);
  }
  return r;
}

ConsumerThread ConsumerThread::make(KernelEmitter &e, Value tid,
                                    Value warpGroup) {
  ConsumerThread t;
  t.wg = e.sub(warpGroup, e.i32(1));
  t.lane = e.remu(tid, e.i32(32));
  t.warpInGroup = e.remu(e.divu(tid, e.i32(32)), e.i32(4));
  t.isLane0 = e.eq(t.lane, e.i32(0));
  t.tileRow[0] = e.add(e.mul(t.wg, e.i32(kWgmmaM)),
                       e.add(e.mul(t.warpInGroup, e.i32(16)),
                             e.divu(t.lane, e.i32(4))));
  t.tileRow[1] = e.add(t.tileRow[0], e.i32(8));
  t.colBase = e.mul(e.remu(t.lane, e.i32(4)), e.i32(2));
  return t;
}

Value ConsumerThread::firstRow(KernelEmitter &e, const TileContext &ctx) const {
  return e.add(e.mul(ctx.tile.mBlock, e.i32(e.spec.schedule.blockM)),
               e.mul(wg, e.i32(kWgmmaM)));
}

//===----------------------------------------------------------------------===//
// Producer
//===----------------------------------------------------------------------===//

void ProducerMainloop::loadKV(const TileContext &ctx, bool isK, Value j,
                              const PipelineState &slot) {
  const int blockN = e.spec.schedule.blockN;
  Value empty = isK ? smem.kEmpty(slot.stage) : smem.vEmpty(slot.stage);
  Value full = isK ? smem.kFull(slot.stage) : smem.vFull(slot.stage);
  e.mbarrierWait(empty, e.xori(slot.phase, e.i32(1)));
  e.mbarrierArriveExpectTx(full, e.geo.kvTileBytes);
  Value dst = isK ? smem.kTile(slot.stage) : smem.vTile(slot.stage);
  e.tmaLoadKVTile(args[isK ? kParamTmaK : kParamTmaV], dst, full,
                  e.add(ctx.rowOffsetK, e.mul(j, e.i32(blockN))), ctx.kvHead,
                  ctx.tmaBatch);
}

void ProducerMainloop::waitForOStore(Value qPhase) {
  // o_empty completes its phase k when tile k's O has left the V ring; tile
  // k + 1 (Q phase parity (k + 1) & 1) waits for parity k & 1. A CTA's first
  // tile passes at once: a fresh barrier counts the phase before 0 as done.
  if (e.geo.smem.oAliasesV)
    e.mbarrierWait(smem.oEmpty(), e.xori(qPhase, e.i32(1)));
}

// prefetch_q (FA3's prefetch(tma_load_Q) at the top of its load()): a
// persistent CTA's Q load waits for the previous tile's last Q·Kᵀ, about a
// block after the producer starts the tile; the prefetch brings Q into L2
// before then, so that load reads L2, not DRAM.
void ProducerMainloop::prefetchQ(const TileContext &ctx) {
  if (e.spec.schedule.prefetchQ)
    e.tmaPrefetchTile(args[kParamTmaQ], ctx.qRow, ctx.qHead, ctx.tmaBatch);
}

void ProducerMainloop::loadQ(const TileContext &ctx, Value qPhase) {
  const ScheduleSpec &s = e.spec.schedule;
  // A CTA's only tile loads Q into a fresh buffer.
  if (loopsOverTiles(s))
    e.mbarrierWait(smem.qEmpty(), e.xori(qPhase, e.i32(1)));
  // A packed Q box has q_rows rows (seqlen_q x heads).
  if (e.spec.problem.packGqa)
    e.mbarrierArriveExpectTx(
        smem.qFull(), e.mul(args[kParamQRows],
                            e.i32(e.spec.problem.headDim * e.geo.elemBytes)));
  else
    e.mbarrierArriveExpectTx(smem.qFull(), e.geo.qTileBytes);
  e.tmaLoadTile(args[kParamTmaQ], smem.qTile(), smem.qFull(), s.blockM,
                ctx.qRow, ctx.qHead, ctx.tmaBatch,
                e.cachePolicy(s.qCacheHint));
}

//===----------------------------------------------------------------------===//
// Producer, paged K/V
//
// A key block of a paged cache is block_n / chunk loads of `chunk` rows, each
// inside one page (pageChunkRows, TileSchedule.h). The whole loading warp
// runs the loop: lane c reads the page of chunk c (all chunks' page-table
// entries in flight at once, not one after the other) and issues that
// chunk's TMA load. The pages of block j+1 are read while block j waits for
// its buffers, and K and V of one block share them.
//===----------------------------------------------------------------------===//

Value ProducerMainloop::chunkPage(const TileContext &ctx, Value lane,
                                  Value j) {
  // A lane past the block's chunks, or a chunk past the sequence's keys,
  // reads no page-table entry and holds page num_pages: a load from it is out
  // of bounds, zeros, and still the chunk's bytes towards expect_tx.
  Value chunk = args[kParamPageChunkRows];
  Value key = e.add(e.mul(j, e.i32(e.spec.schedule.blockN)),
                    e.mul(lane, chunk));
  Value inBlock = e.lt(lane, e.divu(e.i32(e.spec.schedule.blockN), chunk));
  return e.ifThenElse(
      e.andi(inBlock, e.lt(key, ctx.seqlenK)), TypeRange{e.i32T},
      [&] {
        Value row = e.mul(e.ext64(ctx.tile.batch), args[kParamPageTableStride]);
        Value column = e.ext64(e.divu(key, args[kParamPageSize]));
        return SmallVector<Value>{
            loadI32(e, args[kParamPageTable], e.add(row, column))};
      },
      [&] { return SmallVector<Value>{args[kParamNumPages]}; })[0];
}

void ProducerMainloop::loadPagedKV(const TileContext &ctx, bool isK, Value j,
                                   const PipelineState &slot, Value lane,
                                   Value page) {
  const int blockN = e.spec.schedule.blockN;
  Value empty = isK ? smem.kEmpty(slot.stage) : smem.vEmpty(slot.stage);
  Value full = isK ? smem.kFull(slot.stage) : smem.vFull(slot.stage);
  Value chunk = args[kParamPageChunkRows];
  // Lane 0 alone waits (mbarrierWait's retry branch is warp-uniform: one
  // thread, or lanes that agree) and sets the expected bytes; the warp sync
  // holds the other lanes until then and orders their loads after the wait.
  e.ifThen(e.eq(lane, e.i32(0)), [&] {
    e.mbarrierWait(empty, e.xori(slot.phase, e.i32(1)));
    e.mbarrierArriveExpectTx(full, e.geo.kvTileBytes);
  });
  e.syncWarp();
  e.ifThen(e.lt(lane, e.divu(e.i32(blockN), chunk)), [&] {
    Value tileRow = e.mul(lane, chunk);
    Value key = e.add(e.mul(j, e.i32(blockN)), tileRow);
    e.tmaLoadRows(args[isK ? kParamTmaK : kParamTmaV],
                  isK ? smem.kTile(slot.stage) : smem.vTile(slot.stage), full,
                  blockN, tileRow, e.remu(key, args[kParamPageSize]),
                  ctx.kvHead, page);
  });
}

SmallVector<Value> ProducerMainloop::loadPagedBlocks(const TileContext &ctx,
                                                     ValueRange ring,
                                                     bool loadK, bool loadV) {
  const int stages = e.spec.schedule.stages;
  Value lane = e.remu(e.threadIdx(), e.i32(32));
  SmallVector<Value> inits(ring.begin(), ring.end());
  inits.push_back(chunkPage(ctx, lane, ctx.blocks.nStart));
  SmallVector<Value> out = e.forLoop(
      ctx.blocks.nStart, ctx.blocks.nEnd, inits,
      [&](Value j, ValueRange carried) {
        PipelineState slot = PipelineState::from(carried, 0);
        Value page = carried[PipelineState::kNumValues];
        Value nextPage = chunkPage(ctx, lane, e.add(j, e.i32(1)));
        if (loadK)
          loadPagedKV(ctx, /*isK=*/true, j, slot, lane, page);
        if (loadV)
          loadPagedKV(ctx, /*isK=*/false, j, slot, lane, page);
        SmallVector<Value> next;
        slot.advance(e, stages).appendTo(next);
        next.push_back(nextPage);
        return next;
      });
  out.pop_back();
  return out;
}

PipelineState ProducerMainloop::loadTile(const TileContext &ctx,
                                         PipelineState kv, Value qPhase) {
  const ScheduleSpec &s = e.spec.schedule;
  const bool splitV = s.producerWarps == 2;
  SmallVector<Type> stateTypes(PipelineState::kNumValues, e.i32T);
  SmallVector<Value> unchanged;
  kv.appendTo(unchanged);

  const KeyWalk walk(e, ctx.blocks);
  // The blocks after the first `skip` visits.
  auto blocksFrom = [&](int skip, ValueRange ring, bool loadK, bool loadV) {
    return walk.rest(skip, ring,
                     [&](Value j, ValueRange carried) {
                       PipelineState slot = PipelineState::from(carried, 0);
                       if (loadK)
                         loadKV(ctx, /*isK=*/true, j, slot);
                       if (loadV)
                         loadKV(ctx, /*isK=*/false, j, slot);
                       SmallVector<Value> next;
                       slot.advance(e, s.stages).appendTo(next);
                       return next;
                     });
  };
  // k_ahead (FA3's order): K(first), then [K(j), V(j-1)] for the blocks
  // after it, then V(last), so a K load waits only on the K slot it reuses,
  // never behind a V slot that frees one P·V later. V and K use the same
  // ring, V's state one block behind. `beforeV` runs between K(first) and
  // the tile's first V load (Q's load, the wait for O to leave the V ring).
  auto kAheadBlocks = [&](function_ref<void()> afterFirstK,
                          function_ref<void()> beforeFirstV) {
    loadKV(ctx, /*isK=*/true, walk.first(), kv);
    afterFirstK();
    Value second = walk.second();
    SmallVector<Value> vRing = walk.rest(
        1, unchanged, [&](Value j, ValueRange carried) {
          PipelineState vSlot = PipelineState::from(carried, 0);
          PipelineState kSlot = vSlot.advance(e, s.stages);
          loadKV(ctx, /*isK=*/true, j, kSlot);
          e.ifThen(e.eq(j, second), [&] { beforeFirstV(); });
          loadKV(ctx, /*isK=*/false, walk.before(j), vSlot);
          SmallVector<Value> next;
          kSlot.appendTo(next);
          return next;
        });
    // A one-block tile reaches its V here; a longer one waited in the loop
    // (a second wait on a completed phase returns at once).
    beforeFirstV();
    PipelineState vLast = PipelineState::from(vRing, 0);
    loadKV(ctx, /*isK=*/false, walk.last(), vLast);
    SmallVector<Value> ring;
    vLast.advance(e, s.stages).appendTo(ring);
    return ring;
  };
  auto contiguousBlocks = [&](bool loadK, bool loadV) {
    if (s.kAhead && loadK && loadV)
      return e.ifThenElse(
          e.lt(ctx.blocks.nStart, ctx.blocks.nEnd), stateTypes,
          [&] { return kAheadBlocks([] {}, [] {}); },
          [&] { return unchanged; });
    return blocksFrom(0, unchanged, loadK, loadV);
  };
  // A persistent CTA's Q buffer frees only when the previous tile's last
  // Q·Kᵀ is done: the first K block of this tile loads before the wait for
  // it (FA3's order), so it is in flight while the consumers finish the
  // previous tile and store its O.
  auto kFirstThenQ = [&](bool loadV) {
    return e.ifThenElse(
        e.lt(ctx.blocks.nStart, ctx.blocks.nEnd), stateTypes,
        [&] {
          if (s.kAhead && loadV)
            return kAheadBlocks([&] { this->loadQ(ctx, qPhase); },
                                [&] { waitForOStore(qPhase); });
          loadKV(ctx, /*isK=*/true, walk.first(), kv);
          this->loadQ(ctx, qPhase);
          if (loadV) {
            waitForOStore(qPhase);
            loadKV(ctx, /*isK=*/false, walk.first(), kv);
          }
          SmallVector<Value> ring;
          kv.advance(e, s.stages).appendTo(ring);
          return blocksFrom(1, ring,
                            /*loadK=*/true, loadV);
        },
        [&] {
          this->loadQ(ctx, qPhase);
          return unchanged;
        });
  };
  // Contiguous K/V: one elected thread of a loading warp loads Q and runs
  // the loop over key blocks. Paged: one thread loads Q, the whole warp runs
  // the loop. The ring state a warp ends with is what it starts the next tile
  // with.
  auto loader = [&](int warp, bool loadQ, bool loadK, bool loadV) {
    return e.ifThenElse(
        e.eq(warpInGroup, e.i32(warp)), stateTypes,
        [&] {
          if (e.spec.problem.pagedKv) {
            if (loadQ)
              e.ifThen(e.electOne(), [&] {
                prefetchQ(ctx);
                this->loadQ(ctx, qPhase);
              });
            if (loadV && e.geo.smem.oAliasesV) {
              Value lane = e.remu(e.threadIdx(), e.i32(32));
              e.ifThen(e.eq(lane, e.i32(0)), [&] { waitForOStore(qPhase); });
              e.syncWarp();
            }
            return loadPagedBlocks(ctx, unchanged, loadK, loadV);
          }
          return e.ifThenElse(
              e.electOne(), stateTypes,
              [&] {
                if (loadQ)
                  prefetchQ(ctx);
                if (loadQ && loadK && loopsOverTiles(s))
                  return kFirstThenQ(loadV);
                if (loadQ)
                  this->loadQ(ctx, qPhase);
                if (loadV)
                  waitForOStore(qPhase);
                return contiguousBlocks(loadK, loadV);
              },
              [&] { return unchanged; });
        },
        [&] { return unchanged; });
  };

  // Warp 0: Q, then K (and V unless a second warp loads it).
  SmallVector<Value> after = loader(0, true, true, !splitV);
  if (splitV) {
    SmallVector<Value> afterV = loader(1, false, false, true);
    // Warp 0 and warp 1 each carry their own copy of the ring state.
    Value isWarp1 = e.eq(warpInGroup, e.i32(1));
    for (int i = 0; i < PipelineState::kNumValues; ++i)
      after[i] = e.select(isWarp1, afterV[i], after[i]);
  }
  return PipelineState::from(after, 0);
}

//===----------------------------------------------------------------------===//
// Consumers
//===----------------------------------------------------------------------===//

Value ConsumerMainloop::arriving(Value when) {
  return when ? e.andi(thread.isLane0, when) : thread.isLane0;
}

void ConsumerMainloop::release(Value barrier, Value when) {
  // Predicated, not branched: the wait(1) ... softmax ... wait(0) stretch of
  // the overlapped loop must stay one basic block, or ptxas hoists the P V
  // wait above the softmax (seen in the SASS: no EX2 between them).
  e.mbarrierArriveIf(barrier, arriving(when));
}

void ConsumerMainloop::releaseStage(Value barrier, Value when) {
  Value pred = arriving(when);
  e.mbarrierArriveIf(barrier, pred); // release(), with the predicate kept
  if (e.spec.schedule.clusterM == 2)
    e.mbarrierArriveClusterIf(barrier, e.xori(e.clusterCtaRank(), e.i32(1)),
                              pred);
}

Accumulator ConsumerMainloop::rescale(const Accumulator &o,
                                      const Value alpha[2], Value moved) {
  if (!moved)
    return o.scaleRows(e, alpha[0], alpha[1]);
  // lazy_rescale: alpha is 1 in every row of a warp none of whose lanes
  // moved a maximum; the branch is warp-uniform (vote.sync.any).
  SmallVector<Type> types(o.size(), e.f32T);
  Accumulator out = o;
  out.values = e.ifThenElse(
      e.voteAny(moved), types,
      [&] { return o.scaleRows(e, alpha[0], alpha[1]).values; },
      [&] { return o.values; });
  return out;
}

// Turns go round robin over the consumer warpgroups (FA3's scheduler
// barriers: 0 -> 1 -> 0 with two, 0 -> 1 -> 2 -> 0 with three); the last
// warpgroup gives warpgroup 0 its first turn.
void ConsumerMainloop::startTurns() {
  const int wgs = e.spec.schedule.consumerWarpgroups;
  if (e.spec.schedule.pingpong)
    e.ifThen(e.eq(thread.wg, e.i32(wgs - 1)),
             [&] { NamedBarrier::firstTurn(e).arrive(e); });
}

void ConsumerMainloop::awaitTurn() {
  if (e.spec.schedule.pingpong)
    NamedBarrier::turnOf(e, thread.wg).sync(e);
}

void ConsumerMainloop::passTurn() {
  const int wgs = e.spec.schedule.consumerWarpgroups;
  if (!e.spec.schedule.pingpong)
    return;
  Value next = wgs == 2 ? e.sub(e.i32(1), thread.wg)
                        : e.select(e.eq(thread.wg, e.i32(wgs - 1)), e.i32(0),
                                   e.add(thread.wg, e.i32(1)));
  NamedBarrier::turnOf(e, next).arrive(e);
}

// leader_waits (FA3's `if (warp_group_idx == 0) consumer_wait(...)`): a
// stage is waited for by warpgroup 0 before its turn; a later warpgroup's
// turn for the same block comes after that one (the round robin starts at
// warpgroup 0 and every warpgroup takes the same turns per block), so the
// stage has filled by then. Not with trim_masked_blocks: a warpgroup that
// passes blocks takes its turns one K block behind one that computes them.
void ConsumerMainloop::waitInTurns(Value fullBarrier, Value phase) {
  if (!e.spec.schedule.leaderWaits || trimsMaskedBlocks(e.spec)) {
    e.mbarrierWait(fullBarrier, phase);
    return;
  }
  e.ifThen(e.eq(thread.wg, e.i32(0)),
           [&] { e.mbarrierWait(fullBarrier, phase); });
}

Accumulator ConsumerMainloop::issueQK(const PipelineState &slot) {
  const ScheduleSpec &s = e.spec.schedule;
  // Q rows [64 wg, 64 wg + 64) of the Q tile: a K-major operand starting 64
  // rows (64 * swizzle bytes) into the tile's first column block.
  SmemOperand q{e.add(e.smemAddress(smem.qTile()),
                      e.mul(thread.wg, e.i32(kWgmmaM * s.swizzle))),
                s.blockM, /*kMajor=*/true};
  SmemOperand k{e.smemAddress(smem.kTile(slot.stage)), s.blockN, true};
  gemm.fence();
  Accumulator acc =
      gemm.issueSS(s.blockN, e.spec.problem.headDim, q, k, /*acc=*/nullptr);
  gemm.commit();
  return acc;
}

Accumulator ConsumerMainloop::prepareScores(const TileContext &ctx,
                                            const RowMask &mask, Accumulator s,
                                            Value j, MaskUse use) {
  if (e.spec.problem.softcap) {
    // S' = tanh(S * scale / c); the exponent's scale is c * log2(e).
    for (Value &x : s.values)
      x = e.tanh(e.fmul(x, args[kParamSoftcapScale]));
  }
  if (use == MaskUse::Never)
    return s;
  Value blockStart =
      e.add(e.mul(j, e.i32(e.spec.schedule.blockN)), thread.colBase);
  if (use == MaskUse::Always)
    return mask.apply(e, s, blockStart);
  SmallVector<Type> types(s.values.size(), e.f32T);
  s.values = e.ifThenElse(
      ctx.blocks.needsMask(e, j), types,
      [&] { return mask.apply(e, s, blockStart).values; },
      [&] { return s.values; });
  return s;
}

SmallVector<Value> ConsumerMainloop::forKeyBlocks(const TileContext &ctx,
                                                  int skip, ValueRange inits,
                                                  const KeyBlockBody &body) {
  const KeyBlockRange &blocks = ctx.blocks;
  const bool local = e.spec.problem.local;
  const KeyWalk walk(e, blocks);
  // The blocks left after `skip` visits: [first, end).
  auto [first, end] = walk.restRange(skip);
  // [first, lowEnd): below a window's lower edge; [maskStart, end): across
  // the upper key limit (causal diagonal, window, sequence end); between:
  // no mask. Each bound is clamped into [first, end], so the three ranges
  // tile it in order; key_order descending runs them from the top down.
  Value lowEnd =
      local ? e.maxs(first, e.mins(blocks.nMaskLowEnd, end)) : first;
  Value maskStart = e.maxs(lowEnd, e.mins(blocks.nMaskStart, end));
  SmallVector<Value> carried(inits.begin(), inits.end());
  auto loop = [&](Value lb, Value ub, MaskUse use) {
    carried = walk.loop(lb, ub, carried, [&](Value j, ValueRange c) {
      return body(j, c, use);
    });
  };
  if (walk.down) {
    loop(maskStart, end, MaskUse::Always);
    loop(lowEnd, maskStart, MaskUse::Never);
    if (local)
      loop(first, lowEnd, MaskUse::Always);
    return carried;
  }
  if (local)
    loop(first, lowEnd, MaskUse::Always);
  loop(lowEnd, maskStart, MaskUse::Never);
  loop(maskStart, end, MaskUse::Always);
  return carried;
}

ConsumerResult ConsumerMainloop::computeTile(const TileContext &ctx,
                                             PipelineState kv, Value qPhase) {
  Value rows[2];
  for (int r = 0; r < 2; ++r)
    rows[r] = ctx.row(e, args, thread.tileRow[r]).seq;
  RowMask mask = RowMask::forRows(e, args, rows, ctx.seqlenQ, ctx.seqlenK);

  // Step 1. Wait for Q.
  e.mbarrierWait(smem.qFull(), qPhase);
  // Step 2. Loop over key blocks. Once every Q·Kᵀ of the tile has
  // completed, Q may be reloaded for the CTA's next tile (unless the
  // epilogue stages O in the Q tile; it releases Q itself): the overlapped
  // loop releases it before its last P·V, the serial one after the loop.
  const bool releaseQ =
      loopsOverTiles(e.spec.schedule) && !e.geo.smem.oAliasesQ;
  // trim_masked_blocks: this warpgroup's GEMMs end at its own rows' last
  // visible key block; the tile's later blocks are masked for all of them.
  const bool trim = trimsMaskedBlocks(e.spec);
  TileContext own = ctx;
  if (trim) {
    own.blocks.nEnd =
        ctx.blocks.endForRows(e, args, thread.firstRow(e, ctx), kWgmmaM,
                              ctx.seqlenQ, ctx.seqlenK);
  }
  // The blocks past this warpgroup's rows are passed where the walk meets
  // them: after its own blocks upwards, before them downwards.
  const bool down = e.spec.schedule.keyOrder == KeyOrder::Descending;
  if (trim && down)
    kv = passBlocks(own.blocks.nEnd, ctx.blocks.nEnd, kv);
  ConsumerResult result = e.spec.schedule.overlap
                              ? loopOverlapped(own, mask, kv, releaseQ)
                              : loopSerial(own, mask, kv);
  if (!e.spec.schedule.overlap && releaseQ)
    release(smem.qEmpty());
  if (trim && !down)
    result.kv = passBlocks(own.blocks.nEnd, ctx.blocks.nEnd, result.kv);
  return result;
}

PipelineState ConsumerMainloop::passBlocks(Value from, Value to,
                                           PipelineState kv) {
  const int stages = e.spec.schedule.stages;
  // A computed block takes one turn (overlapped loop: its Q·Kᵀ with the
  // previous P·V) or two (serial loop: Q·Kᵀ, then P·V): a passed block the
  // same, so the round robin stays in step with the other warpgroups.
  const int turns = e.spec.schedule.overlap ? 1 : 2;
  SmallVector<Value> inits;
  kv.appendTo(inits);
  SmallVector<Value> out =
      e.forLoop(from, to, inits, [&](Value, ValueRange c) {
        PipelineState slot = PipelineState::from(c, 0);
        for (int t = 0; t < turns; ++t) {
          awaitTurn();
          passTurn();
        }
        // Released only once loaded: an early arrival would count towards
        // the stage's previous use, which other warpgroups may still read.
        e.mbarrierWait(smem.kFull(slot.stage), slot.phase);
        releaseStage(smem.kEmpty(slot.stage));
        e.mbarrierWait(smem.vFull(slot.stage), slot.phase);
        releaseStage(smem.vEmpty(slot.stage));
        SmallVector<Value> next;
        slot.advance(e, stages).appendTo(next);
        return next;
      });
  return PipelineState::from(out, 0);
}

// Both loops carry O (head_dim / 2 f32), then the softmax state, then what
// each loop needs more (the serial loop: the ring state; the overlapped loop:
// P and two ring states); both return O, softmax state, ring state.

/// O and the softmax state at the front of `values`.
static std::pair<Accumulator, OnlineSoftmax::State>
carriedOAndStats(ValueRange values, int headDim) {
  const int oCount = headDim / 2;
  Accumulator o;
  o.n = headDim;
  o.values.assign(values.begin(), values.begin() + oCount);
  return {o, OnlineSoftmax::State::from(values, oCount)};
}

/// O and the softmax state (early_finish: its Final, as many values),
/// followed by `kv`: the loops' result layout.
template <typename Stats>
static SmallVector<Value> packResult(const Accumulator &o, const Stats &stats,
                                     const PipelineState &kv) {
  SmallVector<Value> v(o.values.begin(), o.values.end());
  stats.appendTo(v);
  kv.appendTo(v);
  return v;
}

static ConsumerResult unpackResult(ValueRange values, int headDim) {
  ConsumerResult r;
  std::tie(r.o, r.stats) = carriedOAndStats(values, headDim);
  r.kv = PipelineState::from(
      values, headDim / 2 + OnlineSoftmax::State::kNumValues);
  return r;
}

/// Carried values of the serial loop: O, softmax state, ring state.
ConsumerResult ConsumerMainloop::loopSerial(const TileContext &ctx,
                                            const RowMask &mask,
                                            PipelineState kv) {
  const int d = e.spec.problem.headDim;
  const int stages = e.spec.schedule.stages;
  OnlineSoftmax softmax(e, args[kParamScaleLog2]);
  SmallVector<Value> inits =
      packResult(Accumulator::zeros(e, d), OnlineSoftmax::State::initial(e), kv);

  SmallVector<Value> out = forKeyBlocks(
      ctx, /*skip=*/0, inits,
      [&](Value j, ValueRange carried, MaskUse use) {
        ConsumerResult c = unpackResult(carried, d);
        Accumulator o = c.o;
        OnlineSoftmax::State stats = c.stats;
        PipelineState slot = c.kv;

        e.mbarrierWait(smem.kFull(slot.stage), slot.phase);
        awaitTurn();
        Accumulator scores = issueQK(slot);
        passTurn();
        gemm.wait(0);
        releaseStage(smem.kEmpty(slot.stage));
        scores = prepareScores(ctx, mask, scores, j, use);

        Value alpha[2], moved;
        Accumulator p = softmax.step(scores, stats, alpha, &moved);
        o = rescale(o, alpha, moved);
        PackedOperand pRegs = PackedOperand::pack(e, p);

        e.mbarrierWait(smem.vFull(slot.stage), slot.phase);
        SmemOperand v{e.smemAddress(smem.vTile(slot.stage)),
                      e.spec.schedule.blockN, /*kMajor=*/false};
        awaitTurn();
        gemm.fence();
        o = gemm.issueRS(pRegs, v, o);
        gemm.commit();
        passTurn();
        gemm.wait(0);
        releaseStage(smem.vEmpty(slot.stage));

        return packResult(o, stats, slot.advance(e, stages));
      });
  return unpackResult(out, d);
}

/// FA3's intra-warpgroup overlap. Block j's Q·Kᵀ is issued before block
/// j-1's P·V, and its softmax runs while that P·V is in flight:
///
///   prologue  S(n0) = Q Kᵀ(n0); wait; softmax -> P(n0)
///   j > n0    issue S(j) = Q Kᵀ(j); issue O += P(j-1) V(j-1); wait(1) [S
///             done]; softmax(S(j)) -> P(j), alpha; wait(0) [P·V done];
///             O *= alpha
///   tail      O += P(last) V(last); wait(0)
///
/// defer_rescale (FA3's order above head_dim 128, its RescaleOBeforeGemm;
/// at 128 and below FA3 rescales after the P·V wait) moves `O *= alpha` of
/// block j-1 to block j, between the issue of S(j) and that of
/// P(j-1) V(j-1): the rescale runs under Q·Kᵀ, and behind the P·V wait only
/// P's conversion remains (ptxas hoists that wait over everything that does
/// not feed what follows it).
ConsumerResult ConsumerMainloop::loopOverlapped(const TileContext &ctx,
                                                const RowMask &mask,
                                                PipelineState kv,
                                                bool releaseQ) {
  const int d = e.spec.problem.headDim;
  const int blockN = e.spec.schedule.blockN;
  const int stages = e.spec.schedule.stages;
  const int oCount = d / 2;
  const int pCount = blockN / 4;
  constexpr int kStats = OnlineSoftmax::State::kNumValues;
  constexpr int kState = PipelineState::kNumValues;
  OnlineSoftmax softmax(e, args[kParamScaleLog2]);
  auto vOperand = [&](const PipelineState &slot) {
    return SmemOperand{e.smemAddress(smem.vTile(slot.stage)), blockN,
                       /*kMajor=*/false};
  };

  // Result layout: O, softmax state (early_finish: the rows' 1 / l and
  // LSE, as many values), ring state.
  const bool earlyFinish = e.spec.schedule.earlyFinish;
  static_assert(OnlineSoftmax::Final::kNumValues == kStats);
  SmallVector<Type> types(oCount, e.f32T);
  types.append(kStats, e.f32T);
  types.append(kState, e.i32T);
  SmallVector<Value> empty =
      earlyFinish ? packResult(Accumulator::zeros(e, d),
                               OnlineSoftmax::Final::empty(e), kv)
                  : packResult(Accumulator::zeros(e, d),
                               OnlineSoftmax::State::initial(e), kv);
  // The loop's carried P and ring states, after O and the softmax state.
  auto carriedP = [&](ValueRange c) {
    PackedOperand p;
    p.kSteps = blockN / kWgmmaK;
    p.regs.assign(c.begin() + oCount + kStats,
                  c.begin() + oCount + kStats + pCount);
    return p;
  };
  auto carriedSlot = [&](ValueRange c, int which) { // 0: P's V, 1: next K
    return PipelineState::from(c, oCount + kStats + pCount + which * kState);
  };
  // defer_rescale: the pending rescale of O (alpha of both row halves, and
  // with lazy_rescale whether a maximum moved) after the two ring states.
  const bool defer = e.spec.schedule.deferRescale;
  const bool lazy = e.spec.schedule.lazyRescale;
  const KRelease kRelease = e.spec.schedule.lateKRelease;
  const bool lateK = kRelease != KRelease::Early;
  const int pendingAt = oCount + kStats + pCount + 2 * kState;
  struct Pending {
    Value alpha[2];
    Value moved; // null unless lazy_rescale
  };
  auto carriedPending = [&](ValueRange c) {
    Pending r{{c[pendingAt], c[pendingAt + 1]}, lazy ? c[pendingAt + 2] : Value()};
    return r;
  };
  auto appendPending = [&](SmallVector<Value> &v, const Pending &r) {
    if (!defer)
      return;
    v.append({r.alpha[0], r.alpha[1]});
    if (lazy)
      v.push_back(r.moved);
  };

  SmallVector<Value> out = e.ifThenElse(
      e.lt(ctx.blocks.nStart, ctx.blocks.nEnd), types,
      [&] {
        // Prologue: the first block's scores.
        // edge_turns false (FA3): the first Q·Kᵀ and the last P·V are
        // issued outside the round robin; each warpgroup then takes one turn
        // fewer per block than it computes, as many as the others (every
        // warpgroup computes at least one block of a non-empty tile).
        const bool edgeTurns = e.spec.schedule.edgeTurns;
        // Waits for the edge GEMM's stage, then (edge_turns) for its turn.
        auto enterEdge = [&](Value fullBarrier, Value phase) {
          if (!edgeTurns) {
            e.mbarrierWait(fullBarrier, phase);
            return;
          }
          waitInTurns(fullBarrier, phase);
          awaitTurn();
        };
        auto leaveEdge = [&] {
          if (edgeTurns)
            passTurn();
        };
        enterEdge(smem.kFull(kv.stage), kv.phase);
        Accumulator s0 = issueQK(kv);
        leaveEdge();
        gemm.wait(0);
        s0.values = e.fenceOperands(s0.values);
        releaseStage(smem.kEmpty(kv.stage));
        s0 = prepareScores(ctx, mask, s0, KeyWalk(e, ctx.blocks).first(),
                           MaskUse::IfNeeded);
        OnlineSoftmax::State stats = OnlineSoftmax::State::initial(e);
        Value alpha[2];
        PackedOperand p0 = PackedOperand::pack(e, softmax.step(s0, stats, alpha));

        SmallVector<Value> inits = Accumulator::zeros(e, d).values;
        stats.appendTo(inits);
        inits.append(p0.regs.begin(), p0.regs.end());
        kv.appendTo(inits);                      // slot of P's V
        kv.advance(e, stages).appendTo(inits);   // slot of the next K
        // O is still zero: the first pending rescale is a no-op.
        appendPending(inits, Pending{{e.f32(1.0), e.f32(1.0)},
                                     lazy ? e.i1(false) : Value()});
        SmallVector<Value> loop = forKeyBlocks(
            ctx, /*skip=*/1, inits,
            [&](Value j, ValueRange c, MaskUse use) {
              auto [o, st] = carriedOAndStats(c, d);
              PackedOperand pPrev = carriedP(c);
              PipelineState vSlot = carriedSlot(c, 0);
              PipelineState kSlot = carriedSlot(c, 1);

              waitInTurns(smem.kFull(kSlot.stage), kSlot.phase);
              awaitTurn(); // held through the V wait: both GEMMs one turn
              Accumulator s = issueQK(kSlot);
              if (defer) {
                Pending r = carriedPending(c);
                o = rescale(o, r.alpha, r.moved);
              }
              waitInTurns(smem.vFull(vSlot.stage), vSlot.phase);
              gemm.fence();
              o = gemm.issueRS(pPrev, vOperand(vSlot), o);
              gemm.commit();
              passTurn();
              gemm.wait(1); // S(j) is ready, P(j-1) V(j-1) may run on
              s.values = e.fenceOperands(s.values);
              if (!lateK)
                releaseStage(smem.kEmpty(kSlot.stage));
              s = prepareScores(ctx, mask, s, j, use);
              Value a[2], moved;
              Accumulator p = softmax.step(s, st, a, &moved);
              if (lateK) {
                // late_k_release: K(j) is free since wait(1); releasing it
                // here, predicated on the row sums (always > -1 or NaN, which
                // ptxas cannot know), ties the exponentials that feed them
                // (both row halves, or the first one's) to an arrive that
                // precedes the P·V wait in program order.
                Value after = kRelease == KRelease::Late
                                  ? e.fadd(st.rowSum[0], st.rowSum[1])
                                  : st.rowSum[0];
                releaseStage(smem.kEmpty(kSlot.stage),
                             e.cmpf(arith::CmpFPredicate::UGT, after,
                                    e.f32(-1.0)));
              }
              gemm.wait(0);
              o.values = e.fenceOperands(o.values);
              releaseStage(smem.vEmpty(vSlot.stage));
              if (!defer)
                o = rescale(o, a, moved);
              PackedOperand pNext = PackedOperand::pack(e, p);

              SmallVector<Value> next(o.values.begin(), o.values.end());
              st.appendTo(next);
              next.append(pNext.regs.begin(), pNext.regs.end());
              kSlot.appendTo(next);
              kSlot.advance(e, stages).appendTo(next);
              appendPending(next, Pending{{a[0], a[1]}, moved});
              return next;
            });

        // Tail: the last block's P·V. Every Q·Kᵀ has completed (the
        // loop's wait(1), or the prologue's wait): Q is free.
        if (releaseQ)
          release(smem.qEmpty());
        auto [o, st] = carriedOAndStats(loop, d);
        PackedOperand pLast = carriedP(loop);
        PipelineState vSlot = carriedSlot(loop, 0);
        PipelineState kSlot = carriedSlot(loop, 1);
        if (defer) {
          Pending r = carriedPending(loop);
          o = rescale(o, r.alpha, r.moved);
        }
        enterEdge(smem.vFull(vSlot.stage), vSlot.phase);
        gemm.fence();
        o = gemm.issueRS(pLast, vOperand(vSlot), o);
        gemm.commit();
        leaveEdge();
        // early_finish: the row sums' quad reduction, 1 / l and the LSE
        // need no accumulator; they run while the last P·V is in flight
        // (FA3's softmax.finalize precedes its last warpgroup_wait).
        std::optional<OnlineSoftmax::Final> fin;
        if (earlyFinish)
          fin = softmax.finish(st, /*fastReciprocal=*/true);
        gemm.wait(0);
        o.values = e.fenceOperands(o.values);
        releaseStage(smem.vEmpty(vSlot.stage));

        return fin ? packResult(o, *fin, kSlot) : packResult(o, st, kSlot);
      },
      [&] {
        if (releaseQ)
          release(smem.qEmpty());
        return empty;
      });
  ConsumerResult r = unpackResult(out, d);
  if (earlyFinish) {
    r.final = OnlineSoftmax::Final::from(out, oCount);
    r.stats = OnlineSoftmax::State{};
  }
  return r;
}

} // namespace flashcore
