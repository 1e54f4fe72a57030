//===- Sync.h - Named barriers for warpgroup scheduling ---------*- C++ -*-===//
//
// bar.sync id, n (PTX ISA 9.7.13.1) among n threads of the CTA. Barrier 0 is
// the whole CTA's (__syncthreads); the ids below are FlashCore's:
//
//   1 .. 4   consumer warpgroup w's own 128 threads (id 1 + w): the TMA
//            epilogue's "staging tile free" and "staging tile written" points
//   5        every consumer thread: the TMA epilogue staging in the Q tile
//            waits until no warpgroup reads Q any more
//   6, 7     ping-pong (`pingpong: true`): consumer warpgroup w's turn to
//            issue GEMMs (id 6 + w; the third's is 10), 256 threads:
//            w's 128 wait there with bar.sync, the previous warpgroup's
//            (round robin) 128 let it go with bar.arrive
//   8, 9     dynamic_persistent: the next tile's index in shared memory is
//            written (8) / read (9); the producer's loading warp and every
//            consumer thread, 32 + 128 * consumer_warpgroups
//   10       the third consumer warpgroup's turn (ping-pong with three)
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_SYNC_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_SYNC_H

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

namespace flashcore {

inline constexpr int kFirstWarpgroupBarrier = 1;
inline constexpr int kConsumersBarrier = 5;
inline constexpr int kFirstTurnBarrier = 6;
inline constexpr int kTileSlotFullBarrier = 8;
inline constexpr int kTileSlotEmptyBarrier = 9;
inline constexpr int kThirdTurnBarrier = 10;
inline constexpr int kMaxNamedBarriers = 16;
// Ping-pong takes at most three warpgroups (a fourth's 6 + 3 would be the
// tile slot's barrier 9).
static_assert(kThirdTurnBarrier < kMaxNamedBarriers &&
              kThirdTurnBarrier > kTileSlotEmptyBarrier);

/// A named barrier: an id (possibly computed at run time, uniform across its
/// threads) and the number of threads that meet there.
struct NamedBarrier {
  mlir::Value id;
  int threads = 0;

  /// The barrier of consumer warpgroup `wg` (0-based, run-time value).
  static NamedBarrier consumerWarpgroup(KernelEmitter &e, mlir::Value wg) {
    return NamedBarrier{e.add(wg, e.i32(kFirstWarpgroupBarrier)),
                        kThreadsPerWarpgroup};
  }
  /// Every consumer thread of the CTA.
  static NamedBarrier consumers(KernelEmitter &e) {
    return NamedBarrier{e.i32(kConsumersBarrier),
                        kThreadsPerWarpgroup *
                            e.spec.schedule.consumerWarpgroups};
  }
  /// Warpgroup `wg`'s turn to issue GEMMs (ping-pong): two warpgroups meet
  /// there, `wg` waiting (sync), the one before it in the round robin
  /// releasing it (arrive). firstTurn is warpgroup 0's.
  static NamedBarrier firstTurn(KernelEmitter &e) {
    return NamedBarrier{e.i32(kFirstTurnBarrier), 2 * kThreadsPerWarpgroup};
  }
  static NamedBarrier turnOf(KernelEmitter &e, mlir::Value wg) {
    mlir::Value id = e.add(wg, e.i32(kFirstTurnBarrier));
    if (e.spec.schedule.consumerWarpgroups > 2)
      id = e.select(e.eq(wg, e.i32(2)), e.i32(kThirdTurnBarrier), id);
    return NamedBarrier{id, 2 * kThreadsPerWarpgroup};
  }
  /// dynamic_persistent's tile slot: written (full) or read (empty); the
  /// producer's loading warp and every consumer thread meet there.
  static NamedBarrier tileSlot(KernelEmitter &e, bool full) {
    return NamedBarrier{
        e.i32(full ? kTileSlotFullBarrier : kTileSlotEmptyBarrier),
        32 + kThreadsPerWarpgroup * e.spec.schedule.consumerWarpgroups};
  }
  void sync(KernelEmitter &e) const { e.barrierSync(id, threads); }
  void arrive(KernelEmitter &e) const { e.barrierArrive(id, threads); }
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_SYNC_H
