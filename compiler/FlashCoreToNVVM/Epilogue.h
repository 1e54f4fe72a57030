//===- Epilogue.h - Normalise and store O and the LSE -----------*- C++ -*-===//
//
// After a tile's mainloop each consumer thread holds its part of O
// (unnormalised) and its rows' softmax statistics. The epilogue divides O by
// the row sums, writes it, and writes the natural-log LSE (when the call asks
// for it), by one of the spec's `epilogue` kinds:
//
//   registers  each thread stores its fragment: 32-bit stores of two adjacent
//              columns, rows past the sequence's end skipped;
//   tma        each consumer warpgroup stages its 64 rows in swizzled shared
//              memory with stmatrix (the layout of a TMA box tile), fences
//              the async proxy, and one elected thread issues the bulk tensor
//              stores (rows past the tensor's end are dropped by the TMA
//              unit). Varlen tiles that end inside their sequence's last
//              query block use the register path for that block.
//
// The LSE is always stored from registers (one fp32 per row). A split_kv
// forward's epilogue is `partial` whatever the field says: the split's
// normalised O (fp32) and LSE go to the workspace for the combine kernel.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_EPILOGUE_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_EPILOGUE_H

#include "compiler/FlashCoreToNVVM/Mainloop.h"

#include <memory>

namespace flashcore {

class Epilogue {
public:
  Epilogue(KernelEmitter &e, const KernelArgs &args, const SharedStorage &smem,
           const ConsumerThread &thread)
      : e(e), args(args), smem(smem), thread(thread) {}
  virtual ~Epilogue() = default;

  /// Normalises and stores the tile's O and LSE.
  virtual void store(const TileContext &ctx, const ConsumerResult &result);
  /// After the last tile (outstanding bulk stores complete).
  virtual void finish() {}

  static std::unique_ptr<Epilogue> create(KernelEmitter &e,
                                          const KernelArgs &args,
                                          const SharedStorage &smem,
                                          const ConsumerThread &thread);

protected:
  virtual void storeOutput(const TileContext &ctx, const Accumulator &o) = 0;
  /// The register store of O (rows below seqlen_q only).
  void storeOutputFromRegisters(const TileContext &ctx, const Accumulator &o);
  void storeLse(const TileContext &ctx, const mlir::Value lse[2]);
  /// Coordinates of the thread's fragment row r.
  RowCoords row(const TileContext &ctx, int r);

  KernelEmitter &e;
  const KernelArgs &args;
  const SharedStorage &smem;
  const ConsumerThread &thread;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_EPILOGUE_H
