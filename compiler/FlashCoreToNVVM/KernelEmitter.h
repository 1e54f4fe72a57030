//===- KernelEmitter.h - Primitives the kernels are built from --*- C++ -*-===//
//
// KernelEmitter wraps an OpBuilder positioned inside a kernel's llvm.func and
// offers the primitive operations every component emits: integer/float
// arithmetic (arith), loops and branches (scf), thread and block indices,
// warp shuffles, barriers and setmaxnreg, shared-memory pointers (llvm), and
// the Hopper data movers (nvvm: mbarriers, TMA loads and stores, stmatrix).
// The components of a kernel sit on top, one concern per file:
//
//   Fragment.h        accumulator / packed-operand fragments of wgmma
//   Gemm.{h,cpp}      wgmma issue (SS, RS) / commit / wait(n)
//   Sync.h            named barriers for warpgroup scheduling
//   Pipeline.{h,cpp}  pipeline state {stage, phase, count}, barrier rings
//   TileScheduler.{h,cpp}  work tiles: single-tile, static persistent
//   Mask.{h,cpp}      causal / window / sequence-end masks, key-block ranges
//   Softmax.{h,cpp}   online softmax, final normalisation, LSE
//   Mainloop.{h,cpp}  producer (TMA loads) and consumer (GEMMs + softmax)
//   Epilogue.{h,cpp}  register store | TMA store of O, LSE
//   ForwardKernel.cpp the forward kernel: the composition of the above
//
//   MBarrier.cpp, Tma.cpp  the mbarrier and TMA primitives declared here
//
// Only the compiler's lowering TUs include this header.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELEMITTER_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELEMITTER_H

#include "compiler/KernelABI.h"
#include "compiler/Spec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace flashcore {

class KernelEmitter {
public:
  KernelEmitter(mlir::OpBuilder &builder, mlir::Location loc,
                const ValidatedSpec &spec);

  mlir::OpBuilder &b;
  mlir::Location loc;
  const AttentionSpec &spec;
  const KernelGeometry geo;

  // Types.
  mlir::Type i1T, i16T, i32T, i64T, f32T;
  mlir::Type smemPtrT;   // !llvm.ptr<3>
  mlir::Type globalPtrT; // !llvm.ptr<1>
  mlir::Type genericPtrT;

  //===--------------------------------------------------------------------===//
  // Arithmetic (arith dialect; lowered by convert-arith-to-llvm).
  //===--------------------------------------------------------------------===//
  mlir::Value i1(bool v);
  mlir::Value i32(int64_t v);
  mlir::Value i64(int64_t v);
  mlir::Value f32(double v);
  mlir::Value add(mlir::Value a, mlir::Value c);
  mlir::Value sub(mlir::Value a, mlir::Value c);
  mlir::Value mul(mlir::Value a, mlir::Value c);
  mlir::Value divu(mlir::Value a, mlir::Value c);
  mlir::Value remu(mlir::Value a, mlir::Value c);
  mlir::Value divs(mlir::Value a, mlir::Value c);
  mlir::Value andi(mlir::Value a, mlir::Value c);
  mlir::Value ori(mlir::Value a, mlir::Value c);
  mlir::Value xori(mlir::Value a, mlir::Value c);
  mlir::Value shl(mlir::Value a, mlir::Value c);
  mlir::Value shru(mlir::Value a, mlir::Value c);
  mlir::Value mins(mlir::Value a, mlir::Value c);
  mlir::Value maxs(mlir::Value a, mlir::Value c);
  mlir::Value cmpi(mlir::arith::CmpIPredicate p, mlir::Value a, mlir::Value c);
  mlir::Value eq(mlir::Value a, mlir::Value c) {
    return cmpi(mlir::arith::CmpIPredicate::eq, a, c);
  }
  mlir::Value lt(mlir::Value a, mlir::Value c) {
    return cmpi(mlir::arith::CmpIPredicate::slt, a, c);
  }
  mlir::Value select(mlir::Value cond, mlir::Value t, mlir::Value f);
  mlir::Value ext64(mlir::Value v);   // sign-extend i32 -> i64
  mlir::Value zext64(mlir::Value v);  // zero-extend i32 -> i64
  mlir::Value fadd(mlir::Value a, mlir::Value c);
  mlir::Value fsub(mlir::Value a, mlir::Value c);
  mlir::Value fmul(mlir::Value a, mlir::Value c);
  mlir::Value fma(mlir::Value a, mlir::Value c, mlir::Value d);
  mlir::Value fmax(mlir::Value a, mlir::Value c);
  mlir::Value fdiv(mlir::Value a, mlir::Value c);
  mlir::Value cmpf(mlir::arith::CmpFPredicate p, mlir::Value a, mlir::Value c);
  /// 2^x, ex2.approx.ftz.f32 (what the softmax runs on).
  mlir::Value exp2(mlir::Value x);
  /// log2(x), lg2.approx.ftz.f32 (epilogue only).
  mlir::Value log2(mlir::Value x);
  /// 1 / x, rcp.approx.ftz.f32 (what FA3's fast-math build makes of 1.f / x).
  mlir::Value rcpApprox(mlir::Value x);
  /// tanh(x), tanh.approx.f32 (softcap).
  mlir::Value tanh(mlir::Value x);
  /// ceil(a / c) for a >= 0, c > 0.
  mlir::Value ceilDiv(mlir::Value a, int64_t c);
  /// Pack two fp32 values into one 32-bit register of two 16-bit values
  /// (lo in bits 0-15) in the problem's dtype (cvt.rn.{bf16,f16}x2.f32).
  mlir::Value packHalf2(mlir::Value lo, mlir::Value hi);

  //===--------------------------------------------------------------------===//
  // Control flow (scf dialect).
  //===--------------------------------------------------------------------===//
  void ifThen(mlir::Value cond, const std::function<void()> &thenBody);
  /// scf.if with results: both bodies return the values to yield.
  llvm::SmallVector<mlir::Value>
  ifThenElse(mlir::Value cond, mlir::TypeRange types,
             const std::function<llvm::SmallVector<mlir::Value>()> &thenBody,
             const std::function<llvm::SmallVector<mlir::Value>()> &elseBody);
  /// scf.for over [lb, ub) step 1 with loop-carried values.
  llvm::SmallVector<mlir::Value> forLoop(
      mlir::Value lb, mlir::Value ub, mlir::ValueRange inits,
      const std::function<llvm::SmallVector<mlir::Value>(
          mlir::Value iv, mlir::ValueRange carried)> &body);
  /// scf.while: `cond(carried)` is evaluated before each iteration, `body`
  /// returns the next carried values.
  llvm::SmallVector<mlir::Value> whileLoop(
      mlir::ValueRange inits,
      const std::function<mlir::Value(mlir::ValueRange carried)> &cond,
      const std::function<llvm::SmallVector<mlir::Value>(
          mlir::ValueRange carried)> &body);

  //===--------------------------------------------------------------------===//
  // Thread and block indices, warp-level operations, CTA barriers.
  //===--------------------------------------------------------------------===//
  mlir::Value threadIdx();
  mlir::Value blockIdx(int dim);
  mlir::Value gridDimX();
  /// nctaid.x / .y / .z (PTX ISA 10.9 special registers).
  mlir::Value gridDim(int dim);
  /// Warp index made provably warp-uniform (shfl.idx of lane 0) so the
  /// backend keeps role branches uniform.
  mlir::Value warpIndexUniform(mlir::Value tid);
  mlir::Value electOne();
  mlir::Value shuffleXor(mlir::Value v, int laneMask);
  /// bar.warp.sync of all 32 lanes (PTX ISA 9.7.13.2).
  void syncWarp();
  /// atom.global.add.u32 (relaxed, GPU scope): returns the old value.
  mlir::Value atomicAddGlobal(mlir::Value ptr, mlir::Value value);
  /// fence.acq_rel.gpu; atom.global.add.u32; fence.acq_rel.gpu: returns the
  /// old value; this thread's earlier memory operations are performed
  /// before the add (release), its later ones after it (acquire).
  mlir::Value atomicAddGlobalAcqRel(mlir::Value ptr, mlir::Value value);
  /// atom.global.exch.b32 (relaxed, GPU scope) of `value` into `ptr`.
  void atomicStoreGlobal(mlir::Value value, mlir::Value ptr);
  /// The i32 element `index` of a global i32 array.
  mlir::Value globalI32At(mlir::Value base, int index);
  /// st.shared / ld.shared of one scalar.
  void storeShared(mlir::Value value, mlir::Value ptr);
  mlir::Value loadShared(mlir::Type type, mlir::Value ptr);
  void barrierAll();
  /// The special register %cluster_ctarank: this CTA's rank in its cluster.
  mlir::Value clusterCtaRank();
  /// barrier.cluster.arrive + barrier.cluster.wait (PTX ISA, barrier.cluster;
  /// release / acquire by default): every non-exited thread of the cluster
  /// has arrived, and the memory operations before the arrive are visible
  /// cluster-wide.
  void clusterSync();
  /// griddepcontrol.wait / .launch_dependents (PTX ISA 9.7.13,
  /// griddepcontrol): a grid launched as a programmatic dependent (the
  /// split-KV combine) waits for its primary's completion and memory; a
  /// primary lets its dependents be scheduled once every CTA has signalled
  /// (or exited). Both are no-ops without a programmatic launch.
  void gridDependencyWait();
  void launchDependents();
  /// bar.sync id, threads (PTX ISA 9.7.13.1); Sync.h names the ids.
  void barrierSync(mlir::Value id, int threads);
  /// bar.arrive id, threads (PTX ISA 9.7.13.1): counts this thread in and
  /// goes on.
  void barrierArrive(mlir::Value id, int threads);
  void setMaxRegisters(int count, bool increase);
  /// vote.sync.any.pred over the full warp (PTX ISA 9.7.13.7): whether `pred`
  /// (i1) holds in any lane; warp-uniform.
  mlir::Value voteAny(mlir::Value pred);
  /// Ties `values` to an empty asm statement so that no use of them is moved
  /// above the point where this is emitted (after a wgmma wait).
  llvm::SmallVector<mlir::Value> fenceOperands(mlir::ValueRange values);

  //===--------------------------------------------------------------------===//
  // Shared memory (llvm dialect pointers in address space 3).
  //===--------------------------------------------------------------------===//
  /// Declares the dynamic shared-memory symbol in `module` (once).
  static void declareSharedMemory(mlir::OpBuilder &moduleBuilder,
                                  mlir::Location loc);
  /// The dynamic shared memory base rounded up to 1024 bytes.
  mlir::Value alignedSmemBase();
  mlir::Value smemAt(mlir::Value base, mlir::Value byteOffset);
  mlir::Value smemAt(mlir::Value base, int64_t byteOffset);
  /// 32-bit shared-window address of a shared pointer (for descriptors).
  mlir::Value smemAddress(mlir::Value ptr);

  //===--------------------------------------------------------------------===//
  // mbarrier (MBarrier.cpp).
  //===--------------------------------------------------------------------===//
  void mbarrierInit(mlir::Value bar, int count);
  void mbarrierInitFence();
  void mbarrierArrive(mlir::Value bar);
  /// One arrival where `pred` (i1) holds, as a predicated instruction, not a
  /// branch (mbarrier.arrive.expect_tx with 0 bytes: expect-tx(0), then
  /// arrive-on; PTX ISA "mbarrier.arrive"), so that the code around it stays one
  /// basic block that ptxas schedules as a whole.
  void mbarrierArriveIf(mlir::Value bar, mlir::Value pred);
  /// mbarrierArriveIf on the barrier at `bar`'s offset in the shared memory
  /// of cluster CTA `rank` (mapa + mbarrier.arrive.release.cluster
  /// .shared::cluster), predicated as well.
  void mbarrierArriveClusterIf(mlir::Value bar, mlir::Value rank,
                               mlir::Value pred);
  void mbarrierArriveExpectTx(mlir::Value bar, int bytes);
  void mbarrierArriveExpectTx(mlir::Value bar, mlir::Value bytes);
  void mbarrierWait(mlir::Value bar, mlir::Value parity);

  //===--------------------------------------------------------------------===//
  // TMA and stmatrix (Tma.cpp).
  //===--------------------------------------------------------------------===//
  /// Loads a `rows`-row tile of a (head_dim, seqlen, heads, batch) tensor map
  /// into `dst` as head_dim / boxCols column blocks, completing on `bar`.
  /// `policy`: the cache-policy operand (null: none).
  void tmaLoadTile(mlir::Value tensorMap, mlir::Value dst, mlir::Value bar,
                   int rows, mlir::Value row, mlir::Value head,
                   mlir::Value batch, mlir::Value policy = {});
  /// A block_n-row tile of K or V: as tmaLoadTile, in chunks of kv_box_rows
  /// rows (each chunk's column blocks back to back, so the parts of a row
  /// are requested together), with the kv_cache_hint policy. With cluster_m
  /// 2 this CTA loads the rows [rank * block_n / 2, (rank + 1) * block_n / 2)
  /// and multicasts them into both CTAs' `dst`, completing on each one's
  /// `bar` (the same shared-memory offsets in every CTA of the cluster).
  void tmaLoadKVTile(mlir::Value tensorMap, mlir::Value dst, mlir::Value bar,
                     mlir::Value row, mlir::Value head, mlir::Value batch);
  /// The cache-policy operand for `hint` (kv_cache_hint, q_cache_hint); null
  /// for `normal`.
  mlir::Value cachePolicy(CacheHint hint);
  /// cp.async.bulk.prefetch.tensor.L2 of the boxes tmaLoadTile loads at the
  /// same coordinates (PTX ISA 9.7.9.25.5.3): the tile comes into L2, no
  /// shared memory or barrier is touched.
  void tmaPrefetchTile(mlir::Value tensorMap, mlir::Value row,
                       mlir::Value head, mlir::Value batch);
  /// Part of a tile: the boxes of a map whose box height is a run-time
  /// part of the tile's `tileRows` rows, landing at row `tileRow` of every
  /// column block of `dst` (paged K/V, or a cluster CTA's half of a K/V
  /// block; tileRow is a multiple of 8 rows, so tileRow * swizzle starts a
  /// swizzle atom). `multicast` (i16 CTA mask, null: none) also lands the
  /// boxes in those cluster CTAs, at the same offsets.
  void tmaLoadRows(mlir::Value tensorMap, mlir::Value dst, mlir::Value bar,
                   int tileRows, mlir::Value tileRow, mlir::Value row,
                   mlir::Value head, mlir::Value batch,
                   mlir::Value multicast = mlir::Value());
  /// Stores a `rows`-row tile laid out like tmaLoadTile's from `src` to the
  /// tensor map (rows past the tensor's end are dropped by the TMA unit),
  /// then commits the bulk group.
  void tmaStoreTile(mlir::Value tensorMap, mlir::Value src, int rows,
                    mlir::Value row, mlir::Value head, mlir::Value batch);
  /// cp.async.bulk.wait_group.read 0: the shared memory of every committed
  /// store may be overwritten.
  void tmaStoreWaitRead();
  /// cp.async.bulk.wait_group 0: every committed store has completed.
  void tmaStoreWaitAll();
  /// prefetch.param.tensormap [a]: brings the 128-byte CUtensorMap kernel
  /// parameter `tensorMap` (grid_constant; its generic pointer, read as the
  /// parameter space) into the cache the TMA unit reads descriptors from,
  /// ahead of its first cp.async.bulk.tensor (PTX ISA 9.7.9.15, prefetch).
  void prefetchTensorMap(mlir::Value tensorMap);
  /// fence.proxy.async.shared::cta: this thread's generic-proxy shared
  /// writes become visible to the async proxy (TMA, wgmma).
  void fenceProxyAsyncShared();
  /// stmatrix.sync.aligned.m8n8.x4.shared.b16: four 8x8 matrices of 16-bit
  /// pairs from `regs` (one i32 each), lane l giving the address of row l % 8
  /// of matrix l / 8 (PTX ISA 9.7.14.5.16).
  void stmatrixX4(mlir::Value rowAddress, mlir::ValueRange regs);
};

/// Builds the body of the kernel of the spec's kind into `func` (an llvm.func
/// with the kind's ABI signature and an entry block).
void emitKernelBody(mlir::OpBuilder &b, mlir::LLVM::LLVMFuncOp func,
                    const ValidatedSpec &spec);

/// Creates `llvm.func @name` with the parameters of the spec's kernel kind
/// (KernelABI.h's table) and NVVM kernel attributes at the builder's
/// insertion point (a module body).
mlir::LLVM::LLVMFuncOp createKernelFunction(mlir::OpBuilder &b,
                                            mlir::Location loc,
                                            llvm::StringRef name,
                                            const ValidatedSpec &spec);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELEMITTER_H
