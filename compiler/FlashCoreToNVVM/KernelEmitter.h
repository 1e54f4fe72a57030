//===- KernelEmitter.h - Building blocks of the attention kernel -*- C++ -*-===//
//
// KernelEmitter wraps an OpBuilder positioned inside the kernel's llvm.func
// and offers the few dozen operations the attention kernel is made of:
// integer/float arithmetic (arith), loops and branches (scf), shared-memory
// pointers (llvm), and the Hopper machinery (nvvm: TMA, mbarriers, wgmma,
// setmaxnreg). Each family lives in its own file:
//
//   MBarrier.cpp  mbarrier init / arrive / expect_tx / try_wait.parity
//   Tma.cpp       cp.async.bulk.tensor tile loads
//   Wgmma.cpp     descriptors, SS and RS wgmma chains
//   Softmax.cpp   masking, online softmax, P packing, the epilogue
//   AttentionKernel.cpp  the kernel itself, phase by phase
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

/// Values live in one consumer thread: an accumulator fragment of a
/// 64 x N wgmma tile (N / 2 fp32 values, layout in Wgmma.cpp).
using Fragment = llvm::SmallVector<mlir::Value>;

class KernelEmitter {
public:
  KernelEmitter(mlir::OpBuilder &builder, mlir::Location loc,
                const AttentionSpec &spec);

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
  mlir::Value shru(mlir::Value a, mlir::Value c);
  mlir::Value mins(mlir::Value a, mlir::Value c);
  mlir::Value maxs(mlir::Value a, mlir::Value c);
  mlir::Value cmpi(mlir::arith::CmpIPredicate p, mlir::Value a, mlir::Value c);
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
  /// tanh(x), tanh.approx.f32 (softcap).
  mlir::Value tanh(mlir::Value x);
  /// ceil(a / c) for a >= 0, c > 0.
  mlir::Value ceilDiv(mlir::Value a, int64_t c);

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

  //===--------------------------------------------------------------------===//
  // Thread and block indices (nvvm special registers).
  //===--------------------------------------------------------------------===//
  mlir::Value threadIdx();
  mlir::Value blockIdx(int dim);
  mlir::Value gridDimX();
  /// Warp index made provably warp-uniform (shfl.idx of lane 0) so the
  /// backend keeps role branches uniform.
  mlir::Value warpIndexUniform(mlir::Value tid);
  mlir::Value electOne();
  mlir::Value shuffleXor(mlir::Value v, int laneMask);
  void barrierAll();
  void setMaxRegisters(int count, bool increase);

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
  void mbarrierArriveExpectTx(mlir::Value bar, int bytes);
  void mbarrierWait(mlir::Value bar, mlir::Value parity);

  //===--------------------------------------------------------------------===//
  // TMA (Tma.cpp).
  //===--------------------------------------------------------------------===//
  /// Loads a `rows`-row tile of a (head_dim, seqlen, heads, batch) tensor map
  /// into `dst` as head_dim / boxCols column blocks, completing on `bar`.
  void tmaLoadTile(mlir::Value tensorMap, mlir::Value dst, mlir::Value bar,
                   int rows, mlir::Value row, mlir::Value head,
                   mlir::Value batch);

  //===--------------------------------------------------------------------===//
  // wgmma (Wgmma.cpp).
  //===--------------------------------------------------------------------===//
  /// S = Q Kᵀ for one consumer warpgroup: Q rows [64 * wg, 64 * wg + 64) of
  /// the Q tile at `qTile`, all block_n rows of the K tile at `kTile`.
  /// Issues fence, the head_dim / 16 wgmmas, commit and wait.
  Fragment wgmmaQK(mlir::Value qTile, mlir::Value kTile, mlir::Value wg);
  /// O += P V with P in registers (packed 16-bit pairs, 4 per k-step) and V
  /// the MN-major tile at `vTile`. Issues fence, block_n / 16 wgmmas, commit
  /// and wait.
  Fragment wgmmaPV(const Fragment &o, llvm::ArrayRef<mlir::Value> pPacked,
                   mlir::Value vTile);

  //===--------------------------------------------------------------------===//
  // Softmax and epilogue (Softmax.cpp).
  //===--------------------------------------------------------------------===//
  /// Pack two fp32 values into one 32-bit register of two 16-bit values
  /// (lo in bits 0-15) in the problem's dtype (cvt.rn.{bf16,f16}x2.f32).
  mlir::Value packHalf2(mlir::Value lo, mlir::Value hi);
  /// Max / sum over the four lanes of a quad (the threads sharing a row).
  mlir::Value quadMax(mlir::Value v);
  mlir::Value quadSum(mlir::Value v);
  /// Elements of row r whose column (fragmentCol, relative to the thread's
  /// first column) is outside [low[r], high[r]) become -inf; a null low[r]
  /// means no lower limit.
  Fragment maskColumns(const Fragment &s, const mlir::Value low[2],
                       const mlir::Value high[2]);

  /// Running statistics of the two rows a thread owns, in the log2 domain:
  /// rowMax = max(S) * scale * log2(e); rowSum = this thread's part of
  /// sum(2^(S * scale * log2(e) - rowMax)) (reduced over the quad at the end).
  struct SoftmaxState {
    mlir::Value rowMax[2];
    mlir::Value rowSum[2];
  };
  /// One online-softmax step: turns scores into unnormalised probabilities
  /// P = 2^(S * scaleLog2 - newMax), updates `state`, and returns in `alpha`
  /// the factors 2^(oldMax - newMax) the O accumulator must be scaled by.
  Fragment softmaxStep(const Fragment &s, mlir::Value scaleLog2,
                       SoftmaxState &state, mlir::Value alpha[2]);
  /// Multiplies the elements of row r of an accumulator by factor[r].
  Fragment scaleRows(const Fragment &acc, mlir::Value factor0,
                     mlir::Value factor1);
  /// P (fp32 fragment of a 64 x block_n tile) as wgmma A registers: four
  /// packed 32-bit values per 16-column k-step.
  llvm::SmallVector<mlir::Value> packA(const Fragment &p);
};

/// The row (0 or 1: lane/4 or lane/4 + 8) and column (0..N-1, before adding
/// 2 * (lane % 4)) of accumulator element `i` of a 64 x N wgmma fragment.
/// PTX ISA 9.7.15.5.2, "wgmma .m64nNk16 register fragment D".
inline int fragmentRow(int i) { return (i % 4) / 2; }
inline int fragmentCol(int i) { return (i / 4) * 8 + (i % 2); }

/// Builds the body of the attention kernel into `func` (an llvm.func with the
/// KernelABI signature and an entry block).
void emitAttentionKernelBody(mlir::OpBuilder &b, mlir::LLVM::LLVMFuncOp func,
                             const AttentionSpec &spec);

/// Creates `llvm.func @name` with the KernelABI parameters and NVVM kernel
/// attributes at the builder's insertion point (a module body).
mlir::LLVM::LLVMFuncOp createKernelFunction(mlir::OpBuilder &b,
                                            mlir::Location loc,
                                            llvm::StringRef name,
                                            const AttentionSpec &spec);

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELEMITTER_H
