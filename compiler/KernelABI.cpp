//===- KernelABI.cpp - Launch geometry and shared-memory plan -------------===//

#include "compiler/KernelABI.h"

#include <algorithm>

namespace flashcore {

static int alignTo(int value, int alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

KernelGeometry computeGeometry(const AttentionSpec &spec) {
  const ProblemSpec &p = spec.problem;
  const ScheduleSpec &s = spec.schedule;
  KernelGeometry g;
  if (p.kind == KernelKind::Combine) {
    // A warp per (row, head), no shared memory (CombineKernel.cpp).
    g.threadsPerCta = 32 * kCombineWarps;
    g.entryRegisterCap = kMaxRegistersPerThread / 8 * 8;
    g.elemBytes = dtypeBytes(p.dtype);
    return g;
  }
  g.threadsPerCta = kThreadsPerWarpgroup * (1 + s.consumerWarpgroups);
  g.entryRegisterCap =
      entryRegisterCap(g.threadsPerCta * std::max(1, s.ctasPerSm));
  g.elemBytes = dtypeBytes(p.dtype);
  g.boxCols = s.swizzle / g.elemBytes;
  g.qBoxRows = s.blockM;
  // With cluster_m 2 a CTA loads half of each K/V block (and multicasts it).
  g.kvBoxRows = s.kvBoxRows ? s.kvBoxRows : s.blockN / s.clusterM;
  g.columnBlocks = g.boxCols > 0 ? p.headDim / g.boxCols : 0;
  g.qTileBytes = s.blockM * p.headDim * g.elemBytes;
  g.kvTileBytes = s.blockN * p.headDim * g.elemBytes;
  g.oBoxRows = kWgmmaM;

  // Tiles are laid out back to back, each starting on a swizzle-atom boundary
  // (1024 bytes): Q, then K stages, then V stages, then the O staging tile
  // (TMA epilogue only), then the mbarriers.
  SmemLayout &m = g.smem;
  m.qOffset = 0;
  m.qBytes = g.qTileBytes;
  m.kvTileBytes = alignTo(g.kvTileBytes, kSmemAlignment);
  m.kOffset = alignTo(m.qOffset + m.qBytes, kSmemAlignment);
  m.vOffset = m.kOffset + s.stages * m.kvTileBytes;
  m.oOffset = m.vOffset + s.stages * m.kvTileBytes;
  m.oBytes = s.epilogue == EpilogueKind::Tma
                 ? alignTo(s.blockM * p.headDim * g.elemBytes, kSmemAlignment)
                 : 0;
  m.numBarriers = 2 + 4 * s.stages;
  auto total = [&](int oBytes) {
    return m.oOffset + oBytes + m.numBarriers * kMbarrierBytes +
           kSmemAlignment - 16;
  };
  if (m.oBytes > 0 && total(m.oBytes) > smemBudgetPerCta(s.ctasPerSm)) {
    if (loopsOverTiles(s) && m.oBytes <= s.stages * m.kvTileBytes) {
      // A persistent CTA stages O over the V ring: every V of the tile has
      // been read by then, and the next tile's V loads wait for o_empty.
      m.oAliasesV = true;
      m.oOffset = m.vOffset;
      m.numBarriers += 1;
    } else {
      // The Q tile holds block_m x head_dim too: stage O there.
      m.oAliasesQ = true;
      m.oOffset = m.qOffset;
    }
    m.oBytes = 0;
  }
  m.barrierOffset = m.oAliased() ? m.vOffset + s.stages * m.kvTileBytes
                                 : m.oOffset + m.oBytes;
  m.usedBytes = m.barrierOffset + m.numBarriers * kMbarrierBytes;
  if (s.scheduler == SchedulerKind::DynamicPersistent) {
    // The next tile's index (and with producer_decodes_tiles its query
    // block, head and batch).
    m.tileSlotOffset = m.usedBytes;
    m.usedBytes += s.producerDecodesTiles ? 16 : 8;
  }
  // The dynamic window is only guaranteed 16-byte aligned; the kernel rounds
  // its base up to 1024, so reserve the worst-case slack.
  m.dynamicSmemBytes = m.usedBytes + kSmemAlignment - 16;
  return g;
}

} // namespace flashcore

namespace flashcore {

const ParamInfo *kernelParams(KernelKind kind, int &count) {
  static const ParamInfo forward[] = {
#define FLASHCORE_PARAM_INFO(e, name, type, doc) {name, ParamType::type},
      FLASHCORE_FORWARD_ABI(FLASHCORE_PARAM_INFO)
#undef FLASHCORE_PARAM_INFO
  };
  static const ParamInfo combine[] = {
#define FLASHCORE_PARAM_INFO(e, name, type, doc) {name, ParamType::type},
      FLASHCORE_COMBINE_ABI(FLASHCORE_PARAM_INFO)
#undef FLASHCORE_PARAM_INFO
  };
  switch (kind) {
  case KernelKind::Forward:
    count = kNumKernelParams;
    return forward;
  case KernelKind::Combine:
    count = kNumCombineParams;
    return combine;
  }
  count = 0;
  return nullptr;
}

const char *kernelName(KernelKind kind) {
  switch (kind) {
  case KernelKind::Forward:
    return kKernelName;
  case KernelKind::Combine:
    return kCombineKernelName;
  }
  return "?";
}

} // namespace flashcore
