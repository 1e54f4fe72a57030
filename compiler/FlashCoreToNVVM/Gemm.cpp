//===- Gemm.cpp - wgmma issue / commit / wait and fragments ---------------===//
//
// Per consumer warpgroup and key block (PTX ISA 9.7.15, wgmma):
//
//   S = Q Kᵀ   m64 n<block_n> k16, A = Q and B = K both K-major in shared
//              memory (descriptors), head_dim / 16 instructions; the first
//              one ignores the accumulator (scale-d = 0).
//   O += P V   m64 n<head_dim> k16, A = P from registers, B = V MN-major in
//              shared memory (imm-trans-b = 1), block_n / 16 instructions.
//
//===----------------------------------------------------------------------===//

#include "compiler/FlashCoreToNVVM/Gemm.h"
#include "compiler/FlashCoreToNVVM/KernelEmitter.h"
#include "compiler/WgmmaDescriptor.h"

#include <string>

using namespace mlir;

namespace flashcore {

//===----------------------------------------------------------------------===//
// Fragments
//===----------------------------------------------------------------------===//

Accumulator Accumulator::zeros(KernelEmitter &e, int n) {
  Accumulator a;
  a.n = n;
  a.values.assign(n / 2, e.f32(0.0));
  return a;
}

Accumulator Accumulator::scaleRows(KernelEmitter &e, Value factor0,
                                   Value factor1) const {
  Accumulator out;
  out.n = n;
  out.values.reserve(values.size());
  for (int i = 0; i < size(); ++i)
    out.values.push_back(
        e.fmul(values[i], fragmentRow(i) == 0 ? factor0 : factor1));
  return out;
}

PackedOperand PackedOperand::pack(KernelEmitter &e, const Accumulator &acc) {
  // k-step j covers accumulator columns 16j..16j+15, i.e. values 8j..8j+7:
  //   a0 = (row 0, cols 16j + 2q..+1)     = v[8j],   v[8j+1]
  //   a1 = (row 8, cols 16j + 2q..+1)     = v[8j+2], v[8j+3]
  //   a2 = (row 0, cols 16j + 8 + 2q..+1) = v[8j+4], v[8j+5]
  //   a3 = (row 8, cols 16j + 8 + 2q..+1) = v[8j+6], v[8j+7]
  PackedOperand p;
  p.kSteps = acc.n / kWgmmaK;
  p.regs.reserve(acc.values.size() / 2);
  for (size_t i = 0; i + 1 < acc.values.size(); i += 2)
    p.regs.push_back(e.packHalf2(acc.values[i], acc.values[i + 1]));
  return p;
}

//===----------------------------------------------------------------------===//
// wgmma
//===----------------------------------------------------------------------===//

static NVVM::WGMMATypes wgmmaInputType(DType dtype) {
  return dtype == DType::FP16 ? NVVM::WGMMATypes::f16 : NVVM::WGMMATypes::bf16;
}

static Type accumulatorType(MLIRContext *ctx, int n, Type f32T) {
  return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32T));
}

static Accumulator unpack(KernelEmitter &e, Value structValue, int n) {
  Accumulator out;
  out.n = n;
  out.values.reserve(n / 2);
  for (int i = 0; i < n / 2; ++i)
    out.values.push_back(LLVM::ExtractValueOp::create(e.b, e.loc, structValue,
                                                      ArrayRef<int64_t>{i}));
  return out;
}

static Value packStruct(KernelEmitter &e, const Accumulator &acc) {
  Type accT = accumulatorType(e.b.getContext(), acc.n, e.f32T);
  Value s = LLVM::UndefOp::create(e.b, e.loc, accT);
  for (int i = 0; i < acc.size(); ++i)
    s = LLVM::InsertValueOp::create(e.b, e.loc, s, acc.values[i],
                                    ArrayRef<int64_t>{i});
  return s;
}

void WarpgroupGemm::fence() { NVVM::WgmmaFenceAlignedOp::create(e.b, e.loc); }

void WarpgroupGemm::commit() {
  NVVM::WgmmaGroupSyncAlignedOp::create(e.b, e.loc);
}

void WarpgroupGemm::wait(int pending) {
  NVVM::WgmmaWaitGroupSyncOp::create(e.b, e.loc, /*group=*/pending);
}

/// The 14-bit start-address field of a wgmma shared-memory descriptor:
/// (address >> 4) & 0x3FFF, i64. The mask matters in a cluster launch: there
/// a shared::cta address carries the CTA's rank in its cluster above bit 24
/// (the rank-1 CTA's addresses start at 0x1000000), and unmasked that bit
/// lands in the descriptor's leading-byte-offset field (bits 16-29) —
/// harmless for the swizzled K-major Q and K operands, which ignore it, but
/// it moved every MN-major V read of the second CTA (session 12 of
/// docs/PERFORMANCE.md: right LSE, wrong O). CUTLASS truncates the same way
/// (a 14-bit field of its GmmaDescriptor).
static Value descriptorAddressField(KernelEmitter &e, Value address) {
  return e.zext64(e.andi(e.shru(address, e.i32(4)), e.i32(0x3FFF)));
}

Accumulator WarpgroupGemm::issueSS(int n, int k, const SmemOperand &a,
                                   const SmemOperand &bOp,
                                   const Accumulator *acc) {
  const int swizzle = e.spec.schedule.swizzle;
  MLIRContext *ctx = e.b.getContext();
  Type accT = accumulatorType(ctx, n, e.f32T);

  // Descriptor of k-step 0: constant layout bits | address field. Later
  // k-steps add their byte offset >> 4 to the 14-bit address field; a CTA's
  // shared-memory offsets stay below 2^18, so the sum never carries out of
  // it.
  Value kMajorBits =
      e.i64(static_cast<int64_t>(kMajorDescriptorBase(swizzle)));
  Value aDesc = e.ori(kMajorBits, descriptorAddressField(e, a.address));
  Value bDesc = e.ori(kMajorBits, descriptorAddressField(e, bOp.address));

  Value d = acc ? packStruct(e, *acc) : LLVM::UndefOp::create(e.b, e.loc, accT);
  auto shape = NVVM::MMAShapeAttr::get(ctx, kWgmmaM, n, kWgmmaK);
  NVVM::WGMMATypes inT = wgmmaInputType(e.spec.problem.dtype);
  for (int s = 0; s < k / kWgmmaK; ++s) {
    int aOff = kMajorKStepOffset(s, a.rows, swizzle, e.geo.elemBytes) >> 4;
    int bOff = kMajorKStepOffset(s, bOp.rows, swizzle, e.geo.elemBytes) >> 4;
    Value descA = s == 0 ? aDesc : e.add(aDesc, e.i64(aOff));
    Value descB = s == 0 ? bDesc : e.add(bDesc, e.i64(bOff));
    bool zero = s == 0 && !acc;
    d = NVVM::WgmmaMmaAsyncOp::create(
        e.b, e.loc, accT, d, descA, descB, shape, inT, inT,
        NVVM::WGMMATypes::f32,
        zero ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
        /*layoutA=K-major=*/NVVM::MMALayout::row,
        /*layoutB=K-major=*/NVVM::MMALayout::col, /*satfinite=*/nullptr);
  }
  return unpack(e, d, n);
}

/// The PTX of an RS wgmma chain: `kSteps` instructions on the same `count`
/// accumulators (tied in and out), each with its four 32-bit A registers and
/// its B descriptor; scale-d is always 1.
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
    // scale-d = p, imm-scale-a = 1, imm-scale-b = 1, imm-trans-b = 1 (B is
    // MN-major).
    s += "}, $" + std::to_string(count + 4 * kSteps + k) + ", p, 1, 1, 1;\n";
  }
  return s + "}\n";
}

Accumulator WarpgroupGemm::issueRS(const PackedOperand &a,
                                   const SmemOperand &bOp,
                                   const Accumulator &acc) {
  const int n = acc.n;
  const int kSteps = a.kSteps;
  const int swizzle = e.spec.schedule.swizzle;
  const int count = n / 2;
  MLIRContext *ctx = e.b.getContext();
  Type accT = accumulatorType(ctx, n, e.f32T);
  const char *type = e.spec.problem.dtype == DType::FP16 ? "f16" : "bf16";

  Value mnBits =
      e.i64(static_cast<int64_t>(mnMajorDescriptorBase(swizzle, bOp.rows)));
  Value bDesc = e.ori(mnBits, descriptorAddressField(e, bOp.address));

  // Operands: A registers of every k-step, their B descriptors, then the
  // accumulators tied to the outputs.
  SmallVector<Value> operands(a.regs.begin(), a.regs.begin() + 4 * kSteps);
  for (int k = 0; k < kSteps; ++k)
    operands.push_back(
        k == 0 ? bDesc
               : e.add(bDesc, e.i64(mnMajorKStepOffset(k, swizzle) >> 4)));
  operands.append(acc.values.begin(), acc.values.end());
  std::string constraints;
  for (int i = 0; i < count; ++i)
    constraints += "=f,";
  for (int i = 0; i < 4 * kSteps; ++i)
    constraints += "r,";
  for (int k = 0; k < kSteps; ++k)
    constraints += "l,";
  for (int i = 0; i < count; ++i)
    constraints += std::to_string(i) + (i + 1 < count ? "," : "");

  // nvvm.wgmma.mma_async has no register-A form, and nvvm.inline_ptx cannot
  // return read-write operands as SSA values, so the RS chain is inline PTX
  // with tied accumulators, one asm statement for the whole chain. PTX ISA
  // 9.7.15.5.2, wgmma.mma_async (".f32.bf16.bf16 d, a, b-desc, scale-d,
  // imm-scale-a, imm-scale-b, imm-trans-b").
  auto asmOp = LLVM::InlineAsmOp::create(
      e.b, e.loc, accT, operands, rsWgmmaChainPtx(n, kSteps, type),
      constraints, /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  return unpack(e, asmOp.getResult(0), n);
}

} // namespace flashcore
