//===- Pipeline.cpp - Pipeline state and the CTA's shared storage ---------===//

#include "compiler/FlashCoreToNVVM/Pipeline.h"

using namespace mlir;

namespace flashcore {

PipelineState PipelineState::start(KernelEmitter &e) {
  return PipelineState{e.i32(0), e.i32(0), e.i32(0)};
}

PipelineState PipelineState::advance(KernelEmitter &e, int stages) const {
  if (stages == 1)
    return PipelineState{stage, e.xori(phase, e.i32(1)), e.add(count, e.i32(1))};
  Value next = e.add(stage, e.i32(1));
  Value wrap = e.eq(next, e.i32(stages));
  return PipelineState{e.select(wrap, e.i32(0), next),
                       e.select(wrap, e.xori(phase, e.i32(1)), phase),
                       e.add(count, e.i32(1))};
}

SharedStorage::SharedStorage(KernelEmitter &e)
    : e(e), layout(e.geo.smem), stages(e.spec.schedule.stages) {
  base = e.alignedSmemBase();
  q = e.smemAt(base, layout.qOffset);
  qFullBar = e.smemAt(base, layout.qFullBarrier());
  qEmptyBar = e.smemAt(base, layout.qEmptyBarrier());
}

Value SharedStorage::at(int offset, Value index, int stride) const {
  return e.smemAt(base, e.add(e.i32(offset), e.mul(index, e.i32(stride))));
}
Value SharedStorage::kTile(Value stage) const {
  return at(layout.kOffset, stage, layout.kvTileBytes);
}
Value SharedStorage::vTile(Value stage) const {
  return at(layout.vOffset, stage, layout.kvTileBytes);
}
Value SharedStorage::kFull(Value stage) const {
  return at(layout.kFullBarrier(0), stage, kMbarrierBytes);
}
Value SharedStorage::vFull(Value stage) const {
  return at(layout.vFullBarrier(0, stages), stage, kMbarrierBytes);
}
Value SharedStorage::kEmpty(Value stage) const {
  return at(layout.kEmptyBarrier(0, stages), stage, kMbarrierBytes);
}
Value SharedStorage::vEmpty(Value stage) const {
  return at(layout.vEmptyBarrier(0, stages), stage, kMbarrierBytes);
}
Value SharedStorage::oStaging(Value wg) const {
  // 64 rows x head_dim, a multiple of 2048 bytes: every warpgroup's tile
  // starts on a swizzle atom.
  return at(layout.oOffset, wg, kWgmmaM * e.spec.problem.headDim * e.geo.elemBytes);
}

Value SharedStorage::oEmpty() const {
  return e.smemAt(base, layout.oEmptyBarrier(stages));
}

void SharedStorage::initBarriers() const {
  const int consumerWarps = 4 * e.spec.schedule.consumerWarpgroups;
  e.mbarrierInit(qFullBar, 1);
  if (loopsOverTiles(e.spec.schedule))
    e.mbarrierInit(qEmptyBar, consumerWarps);
  // cluster_m 2: a K/V stage is free once the consumers of both CTAs have
  // read it, since either CTA's producer writes into both.
  const int stageReaders = consumerWarps * e.spec.schedule.clusterM;
  for (int st = 0; st < stages; ++st) {
    Value stage = e.i32(st);
    e.mbarrierInit(kFull(stage), 1);
    e.mbarrierInit(vFull(stage), 1);
    e.mbarrierInit(kEmpty(stage), stageReaders);
    e.mbarrierInit(vEmpty(stage), stageReaders);
  }
  if (layout.oAliasesV)
    e.mbarrierInit(oEmpty(), e.spec.schedule.consumerWarpgroups);
  e.mbarrierInitFence();
}

} // namespace flashcore
