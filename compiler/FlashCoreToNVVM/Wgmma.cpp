//===- Wgmma.cpp - The two matrix products of the attention kernel --------===//
//
// Per consumer warpgroup and key block (PTX ISA 9.7.15, wgmma):
//
//   S = Q Kᵀ   m64 n<block_n> k16, A = Q and B = K both K-major in shared
//              memory (descriptors), head_dim / 16 instructions; the first
//              one ignores the accumulator (scale-d = 0).
//   O += P V   m64 n<head_dim> k16, A = P from registers, B = V MN-major in
//              shared memory (imm-trans-b = 1), block_n / 16 instructions.
//
// Accumulator fragment (9.7.15.5.2, "wgmma .m64nNk16 D"): thread t of the
// warpgroup holds element i at row 16 * (t / 32) + (t % 32) / 4 + 8 * ((i % 4)
// / 2) and column 8 * (i / 4) + 2 * (t % 4) + i % 2 (fragmentRow/Col). The A
// register fragment of a k-step (4 x 32-bit, two 16-bit values each) has the
// same row/column pattern for 16 columns, which is why S converts to P in
// place without shuffles (see KernelEmitter::packA).
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"
#include "compiler/WgmmaDescriptor.h"

#include <string>

using namespace mlir;

namespace flashcore {

static NVVM::WGMMATypes wgmmaInputType(DType dtype) {
  return dtype == DType::FP16 ? NVVM::WGMMATypes::f16 : NVVM::WGMMATypes::bf16;
}

static Type accumulatorType(MLIRContext *ctx, int n, Type f32T) {
  return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32T));
}

static Fragment unpack(KernelEmitter &e, Value structValue, int count) {
  Fragment out;
  out.reserve(count);
  for (int i = 0; i < count; ++i)
    out.push_back(LLVM::ExtractValueOp::create(e.b, e.loc, structValue,
                                               ArrayRef<int64_t>{i}));
  return out;
}

Fragment KernelEmitter::wgmmaQK(Value qTile, Value kTile, Value wg) {
  const int n = spec.schedule.blockN;
  const int d = spec.problem.headDim;
  const int swizzle = spec.schedule.swizzle;
  const int rowsQ = spec.schedule.blockM;
  MLIRContext *ctx = b.getContext();
  Type accT = accumulatorType(ctx, n, f32T);

  // Descriptor of k-step 0: constant layout bits | (address >> 4). Later
  // k-steps add their byte offset >> 4 to the 14-bit address field; shared
  // addresses stay below 2^18, so the sum never carries out of it.
  Value kMajorBits = i64(static_cast<int64_t>(kMajorDescriptorBase(swizzle)));
  Value qAddr = add(smemAddress(qTile), mul(wg, i32(kWgmmaM * swizzle)));
  Value qDesc = ori(kMajorBits, zext64(shru(qAddr, i32(4))));
  Value kDesc = ori(kMajorBits, zext64(shru(smemAddress(kTile), i32(4))));

  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  Value acc = LLVM::UndefOp::create(b, loc, accT);
  auto shape = NVVM::MMAShapeAttr::get(ctx, kWgmmaM, n, kWgmmaK);
  NVVM::WGMMATypes inT = wgmmaInputType(spec.problem.dtype);
  for (int k = 0; k < d / kWgmmaK; ++k) {
    int qOff = kMajorKStepOffset(k, rowsQ, swizzle, geo.elemBytes) >> 4;
    int kOff = kMajorKStepOffset(k, n, swizzle, geo.elemBytes) >> 4;
    Value descA = k == 0 ? qDesc : add(qDesc, i64(qOff));
    Value descB = k == 0 ? kDesc : add(kDesc, i64(kOff));
    acc = NVVM::WgmmaMmaAsyncOp::create(
        b, loc, accT, acc, descA, descB, shape, inT, inT,
        NVVM::WGMMATypes::f32,
        k == 0 ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
        /*layoutA=K-major=*/NVVM::MMALayout::row,
        /*layoutB=K-major=*/NVVM::MMALayout::col, /*satfinite=*/nullptr);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, /*group=*/0);
  return unpack(*this, acc, n / 2);
}

/// The PTX of the RS wgmma chain of one key block: `kSteps` instructions on
/// the same `count` accumulators (tied in and out), each with its four
/// 32-bit A registers and its B descriptor; scale-d is always 1.
static std::string rsWgmmaChainPtx(int n, int kSteps, const char *type) {
  const int count = n / 2;
  std::string s = "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n";
  std::string accumulators;
  for (int i = 0; i < count; ++i)
    accumulators += (i ? ", $" : "$") + std::to_string(i);
  for (int k = 0; k < kSteps; ++k) {
    s += "wgmma.mma_async.sync.aligned.m64n" + std::to_string(n) + "k16.f32." +
         type + "." + type + " {" + accumulators + "}, {";
    for (int i = 0; i < 4; ++i)
      s += (i ? ", $" : "$") + std::to_string(count + 4 * k + i);
    // scale-d = p, imm-scale-a = 1, imm-scale-b = 1, imm-trans-b = 1 (V is
    // MN-major).
    s += "}, $" + std::to_string(count + 4 * kSteps + k) + ", p, 1, 1, 1;\n";
  }
  return s + "}\n";
}

Fragment KernelEmitter::wgmmaPV(const Fragment &o, ArrayRef<Value> pPacked,
                                Value vTile) {
  const int n = spec.problem.headDim;
  const int kSteps = spec.schedule.blockN / kWgmmaK;
  const int swizzle = spec.schedule.swizzle;
  const int count = n / 2;
  MLIRContext *ctx = b.getContext();
  Type accT = accumulatorType(ctx, n, f32T);
  const char *type = spec.problem.dtype == DType::FP16 ? "f16" : "bf16";

  Value mnBits = i64(static_cast<int64_t>(
      mnMajorDescriptorBase(swizzle, spec.schedule.blockN)));
  Value vDesc = ori(mnBits, zext64(shru(smemAddress(vTile), i32(4))));

  // Operands: A registers of every k-step, their B descriptors, then the
  // accumulators tied to the outputs.
  SmallVector<Value> operands(pPacked.begin(), pPacked.begin() + 4 * kSteps);
  for (int k = 0; k < kSteps; ++k)
    operands.push_back(
        k == 0 ? vDesc : add(vDesc, i64(mnMajorKStepOffset(k, swizzle) >> 4)));
  operands.append(o.begin(), o.end());
  std::string constraints;
  for (int i = 0; i < count; ++i)
    constraints += "=f,";
  for (int i = 0; i < 4 * kSteps; ++i)
    constraints += "r,";
  for (int k = 0; k < kSteps; ++k)
    constraints += "l,";
  for (int i = 0; i < count; ++i)
    constraints += std::to_string(i) + (i + 1 < count ? "," : "");

  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  // nvvm.wgmma.mma_async has no register-A form, and nvvm.inline_ptx cannot
  // return read-write operands as SSA values, so the RS chain is inline PTX
  // with tied accumulators, one asm statement for the whole chain. PTX ISA
  // 9.7.15.5.2, wgmma.mma_async (".f32.bf16.bf16 d, a, b-desc, scale-d,
  // imm-scale-a, imm-scale-b, imm-trans-b").
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, accT, operands, rsWgmmaChainPtx(n, kSteps, type), constraints,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, /*group=*/0);
  return unpack(*this, asmOp.getResult(0), count);
}

} // namespace flashcore
