//===- Mainloop.h - Producer and consumer loops over key blocks -*- C++ -*-===//
//
// The warp-specialized mainloop of one work tile (block_m query rows of one
// (batch, head)):
//
//   producer   one elected thread TMA-loads the Q tile (after the consumers
//              released the previous tile's) and, per key block j, the K and
//              V tiles into the next ring slot once it is empty (paged_kv:
//              page by page through the page table); with O staged in the V
//              ring, a tile's first V waits until the previous tile's O store
//              has read it (o_empty);
//   consumers  each warpgroup owns 64 query rows. Per key block: wait K,
//              S = Q Kᵀ, release K, softcap, mask, online softmax, wait V,
//              O += P V, release V. With `overlap`, Q Kᵀ of block j+1 is in
//              flight while the softmax of block j runs and P V of block j
//              is issued before its wait (FA3's intra-warpgroup overlap).
//              The key blocks run as separate loops (FA3's split): those
//              that need the mask and those that do not, whose body has no
//              branch between the S wait and the P V wait (releases are
//              predicated), so ptxas schedules it as one block.
//
// Both sides carry their PipelineState and the Q phase across tiles. The
// epilogue (Epilogue.h) takes the consumers' O and softmax state.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_MAINLOOP_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_MAINLOOP_H

#include "compiler/FlashCoreToNVVM/Gemm.h"
#include "compiler/FlashCoreToNVVM/Mask.h"
#include "compiler/FlashCoreToNVVM/Pipeline.h"
#include "compiler/FlashCoreToNVVM/Softmax.h"
#include "compiler/FlashCoreToNVVM/TileScheduler.h"

#include <optional>

namespace flashcore {

/// Where row `tileRow` of a work tile is: its query row within the sequence,
/// its query head, and whether it is a row of the call at all.
struct RowCoords {
  mlir::Value seq, head, valid;
};

/// A work tile's sequence facts, the same on the producer and the consumers.
struct TileContext {
  WorkTile tile;
  mlir::Value kvHead;
  /// The Q box's row and head coordinates (pack_gqa: row 0 of the first
  /// query head of the KV head).
  mlir::Value qRow, qHead;
  /// This sequence's lengths, where its rows start in the (packed) tensors,
  /// and the batch coordinate of the tensor maps (0 for varlen).
  mlir::Value seqlenQ, seqlenK, rowOffsetQ, rowOffsetK, tmaBatch;
  /// i1: the query block has rows (varlen blocks past a sequence's end do
  /// not); null when always true.
  mlir::Value valid;
  KeyBlockRange blocks;

  static TileContext make(KernelEmitter &e, const KernelArgs &args,
                          const WorkTile &tile);
  /// The coordinates of a tile row (non-packed: query row mBlock * block_m +
  /// tileRow of the tile's head; pack_gqa: head qHead + tileRow / seqlen_q,
  /// query row tileRow % seqlen_q).
  RowCoords row(KernelEmitter &e, const KernelArgs &args,
                mlir::Value tileRow) const;
};

/// Where a consumer thread sits: its warpgroup (0-based), warp, lane, the
/// tile rows of its two fragment rows and its first fragment column.
struct ConsumerThread {
  mlir::Value wg, warpInGroup, lane, isLane0;
  mlir::Value tileRow[2]; // within the work tile: wg*64 + warp*16 + lane/4 (+8)
  mlir::Value colBase;    // 2 * (lane % 4)

  static ConsumerThread make(KernelEmitter &e, mlir::Value tid,
                             mlir::Value warpGroup);
  /// The first of this warpgroup's 64 rows in the tile's sequence (before
  /// rowOffsetQ): m_block * block_m + wg * 64.
  mlir::Value firstRow(KernelEmitter &e, const TileContext &ctx) const;
};

class ProducerMainloop {
public:
  ProducerMainloop(KernelEmitter &e, const KernelArgs &args,
                   const SharedStorage &smem, mlir::Value warpInGroup)
      : e(e), args(args), smem(smem), warpInGroup(warpInGroup) {}

  /// Loads Q and every visited K/V block of the tile. `kv` is the ring state
  /// before the tile; returns it after (the Q phase flips per tile).
  PipelineState loadTile(const TileContext &ctx, PipelineState kv,
                         mlir::Value qPhase);

private:
  /// prefetch_q: the tile's Q boxes into L2 (no-op otherwise).
  void prefetchQ(const TileContext &ctx);
  void loadQ(const TileContext &ctx, mlir::Value qPhase);
  /// O staged in the V ring: wait until the previous tile's store has read
  /// it, before this tile's first V load (no-op otherwise).
  void waitForOStore(mlir::Value qPhase);
  void loadKV(const TileContext &ctx, bool isK, mlir::Value j,
              const PipelineState &slot);
  /// paged_kv: the page of chunk `lane` of key block j (num_pages where the
  /// chunk holds no key of the sequence).
  mlir::Value chunkPage(const TileContext &ctx, mlir::Value lane,
                        mlir::Value j);
  /// paged_kv: key block j's K or V, chunk `lane` from `page`.
  void loadPagedKV(const TileContext &ctx, bool isK, mlir::Value j,
                   const PipelineState &slot, mlir::Value lane,
                   mlir::Value page);
  /// paged_kv: the loop over key blocks, run by the whole loading warp;
  /// returns the ring state after it.
  llvm::SmallVector<mlir::Value> loadPagedBlocks(const TileContext &ctx,
                                                 mlir::ValueRange ring,
                                                 bool loadK, bool loadV);

  KernelEmitter &e;
  const KernelArgs &args;
  const SharedStorage &smem;
  mlir::Value warpInGroup;
};

/// What the consumers hand to the epilogue.
struct ConsumerResult {
  Accumulator o;              // unnormalised
  OnlineSoftmax::State stats; // row max and (per-thread) sum
  PipelineState kv;           // ring state after the tile
  /// early_finish: the rows' 1 / l and LSE, computed before the last P·V
  /// wait (then `stats` is not set).
  std::optional<OnlineSoftmax::Final> final;

  /// What the epilogue normalises O with.
  OnlineSoftmax::Final finish(OnlineSoftmax &softmax) const {
    return final ? *final : softmax.finish(stats);
  }
};

class ConsumerMainloop {
public:
  ConsumerMainloop(KernelEmitter &e, const KernelArgs &args,
                   const SharedStorage &smem, const ConsumerThread &thread)
      : e(e), args(args), smem(smem), thread(thread), gemm(e) {}

  ConsumerResult computeTile(const TileContext &ctx, PipelineState kv,
                             mlir::Value qPhase);
  /// Ping-pong, once per kernel before the first tile: the last consumer
  /// warpgroup hands the first turn to warpgroup 0. (Every later turn is
  /// handed on after a GEMM group, so the last hand-over of a tile starts
  /// the next one.)
  void startTurns();

private:
  /// Key blocks [from, to) that this warpgroup does not compute (trimmed):
  /// it takes their ping-pong turns and releases their K and V stages once
  /// loaded. Returns the ring state after them.
  PipelineState passBlocks(mlir::Value from, mlir::Value to,
                           PipelineState kv);
  /// Ping-pong: wait for this warpgroup's turn to issue GEMMs; hand the turn
  /// to the next warpgroup (round robin) after issuing them. No-ops without
  /// pingpong.
  void awaitTurn();
  void passTurn();
  /// Waits for a K or V stage to fill before a turn that reads it: every
  /// warpgroup, or with leader_waits warpgroup 0 alone.
  void waitInTurns(mlir::Value fullBarrier, mlir::Value phase);
  /// O *= alpha (per row half); with lazy_rescale (`moved` non-null) only
  /// when some lane of the warp moved a row maximum.
  Accumulator rescale(const Accumulator &o, const mlir::Value alpha[2],
                      mlir::Value moved);
  /// S = Q Kᵀ of the K tile in `slot` issued (fence, wgmmas, commit).
  Accumulator issueQK(const PipelineState &slot);
  /// Whether a key block's scores take the mask: checked per block (the
  /// overlapped loop's first block), always, or never.
  enum class MaskUse { IfNeeded, Always, Never };
  /// Softcap and mask of S for key block j.
  Accumulator prepareScores(const TileContext &ctx, const RowMask &mask,
                            Accumulator s, mlir::Value j, MaskUse use);
  using KeyBlockBody = std::function<llvm::SmallVector<mlir::Value>(
      mlir::Value j, mlir::ValueRange carried, MaskUse use)>;
  /// The key blocks after the tile's first `skip` visits (0 or 1) in
  /// key_order, as up to three loops (FA3's split): the blocks that need the
  /// mask (a window's lower edge; the upper key limit) and those between,
  /// whose body has no mask and no branch for it.
  llvm::SmallVector<mlir::Value> forKeyBlocks(const TileContext &ctx,
                                              int skip,
                                              mlir::ValueRange inits,
                                              const KeyBlockBody &body);
  /// Lane 0 of each warp, and `when` if given: who arrives on a release.
  mlir::Value arriving(mlir::Value when);
  /// Lane 0 of each warp arrives on `barrier` (and `when`, if given).
  void release(mlir::Value barrier, mlir::Value when = {});
  /// Frees a K or V stage: release() here and, with cluster_m 2, on the
  /// peer CTA's barrier too (its producer multicasts into this CTA's stage).
  void releaseStage(mlir::Value barrier, mlir::Value when = {});
  ConsumerResult loopSerial(const TileContext &ctx, const RowMask &mask,
                            PipelineState kv);
  /// `releaseQ`: arrive on q_empty as soon as the tile's last Q·Kᵀ has
  /// completed (before the last block's P·V), so that a persistent CTA's
  /// next Q loads under that P·V and the epilogue.
  ConsumerResult loopOverlapped(const TileContext &ctx, const RowMask &mask,
                                PipelineState kv, bool releaseQ);

  KernelEmitter &e;
  const KernelArgs &args;
  const SharedStorage &smem;
  const ConsumerThread &thread;
  WarpgroupGemm gemm;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_MAINLOOP_H
