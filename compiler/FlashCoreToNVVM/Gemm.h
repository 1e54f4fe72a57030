//===- Gemm.h - wgmma issue / commit / wait for one warpgroup ---*- C++ -*-===//
//
// A consumer warpgroup's matrix products (PTX ISA 9.7.15, wgmma), as separate
// steps so that two products can be in flight:
//
//   fence()       wgmma.fence: accumulator registers written since the last
//                 issue are visible to the next one
//   issueSS(...)  D (+)= A B with A and B in shared memory (descriptors)
//   issueRS(...)  D += A B with A from registers, B in shared memory
//   commit()      wgmma.commit_group: closes a group of issued products
//   wait(n)       wgmma.wait_group n: at most n groups still in flight; the
//                 accumulators of the older ones may be read
//
// M is always 64 (one warpgroup); N and K come from the operands. Descriptor
// math (start address >> 4, LBO/SBO, swizzle mode) is compiler/
// WgmmaDescriptor.h's.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_GEMM_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_GEMM_H

#include "compiler/FlashCoreToNVVM/Fragment.h"

namespace flashcore {

class KernelEmitter;

/// A wgmma operand in shared memory: `rows` rows of `k` columns (16-bit),
/// stored as a TMA box tile (column blocks of swizzle bytes). K-major
/// operands (Q, K) are read along their rows; MN-major ones (V) across.
struct SmemOperand {
  mlir::Value address; // 32-bit shared address of the operand's first row
  int rows = 0;        // rows of the stored tile (the layout's row count)
  bool kMajor = true;
};

class WarpgroupGemm {
public:
  explicit WarpgroupGemm(KernelEmitter &e) : e(e) {}

  void fence();
  /// D = A Bᵀ (acc == null: the first instruction ignores D) or D += A Bᵀ,
  /// m64 n<n> k<k>; A (64 rows) and B (n rows) K-major.
  Accumulator issueSS(int n, int k, const SmemOperand &a, const SmemOperand &b,
                      const Accumulator *acc);
  /// D += A B, A (64 x 16 kSteps) packed in registers, B (16 kSteps x
  /// acc.n) MN-major in shared memory. One inline-asm statement for the chain
  /// (NVVM has no register-A wgmma).
  Accumulator issueRS(const PackedOperand &a, const SmemOperand &b,
                      const Accumulator &acc);
  void commit();
  void wait(int pending);

private:
  KernelEmitter &e;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_GEMM_H
