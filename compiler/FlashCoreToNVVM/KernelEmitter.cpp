//===- KernelEmitter.cpp - Arithmetic, control flow, indices, memory ------===//

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace flashcore {

static constexpr const char *kSmemSymbol = "flashcore_smem";

KernelEmitter::KernelEmitter(OpBuilder &builder, Location loc,
                             const ValidatedSpec &validated)
    : b(builder), loc(loc), spec(validated.spec()),
      geo(computeGeometry(validated.spec())) {
  MLIRContext *ctx = b.getContext();
  i1T = b.getI1Type();
  i16T = b.getI16Type();
  i32T = b.getI32Type();
  i64T = b.getI64Type();
  f32T = b.getF32Type();
  smemPtrT = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/3);
  globalPtrT = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  genericPtrT = LLVM::LLVMPointerType::get(ctx);
}

//===----------------------------------------------------------------------===//
// Arithmetic
//===----------------------------------------------------------------------===//

Value KernelEmitter::i1(bool v) {
  return arith::ConstantIntOp::create(b, loc, i1T, v);
}
Value KernelEmitter::i32(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, i32T, v);
}
Value KernelEmitter::i64(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, i64T, v);
}
Value KernelEmitter::f32(double v) {
  return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32T),
                                        APFloat(static_cast<float>(v)));
}
Value KernelEmitter::add(Value a, Value c) {
  return arith::AddIOp::create(b, loc, a, c);
}
Value KernelEmitter::sub(Value a, Value c) {
  return arith::SubIOp::create(b, loc, a, c);
}
Value KernelEmitter::mul(Value a, Value c) {
  return arith::MulIOp::create(b, loc, a, c);
}
Value KernelEmitter::divu(Value a, Value c) {
  return arith::DivUIOp::create(b, loc, a, c);
}
Value KernelEmitter::remu(Value a, Value c) {
  return arith::RemUIOp::create(b, loc, a, c);
}
Value KernelEmitter::divs(Value a, Value c) {
  return arith::DivSIOp::create(b, loc, a, c);
}
Value KernelEmitter::andi(Value a, Value c) {
  return arith::AndIOp::create(b, loc, a, c);
}
Value KernelEmitter::ori(Value a, Value c) {
  return arith::OrIOp::create(b, loc, a, c);
}
Value KernelEmitter::xori(Value a, Value c) {
  return arith::XOrIOp::create(b, loc, a, c);
}
Value KernelEmitter::shl(Value a, Value c) {
  return arith::ShLIOp::create(b, loc, a, c);
}
Value KernelEmitter::shru(Value a, Value c) {
  return arith::ShRUIOp::create(b, loc, a, c);
}
Value KernelEmitter::mins(Value a, Value c) {
  return arith::MinSIOp::create(b, loc, a, c);
}
Value KernelEmitter::maxs(Value a, Value c) {
  return arith::MaxSIOp::create(b, loc, a, c);
}
Value KernelEmitter::cmpi(arith::CmpIPredicate p, Value a, Value c) {
  return arith::CmpIOp::create(b, loc, p, a, c);
}
Value KernelEmitter::select(Value cond, Value t, Value f) {
  return arith::SelectOp::create(b, loc, cond, t, f);
}
Value KernelEmitter::ext64(Value v) {
  return arith::ExtSIOp::create(b, loc, i64T, v);
}
Value KernelEmitter::zext64(Value v) {
  return arith::ExtUIOp::create(b, loc, i64T, v);
}
Value KernelEmitter::fadd(Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}
Value KernelEmitter::fsub(Value a, Value c) {
  return arith::SubFOp::create(b, loc, a, c);
}
Value KernelEmitter::fmul(Value a, Value c) {
  return arith::MulFOp::create(b, loc, a, c);
}
Value KernelEmitter::fma(Value a, Value c, Value d) {
  return LLVM::FMAOp::create(b, loc, a, c, d);
}
Value KernelEmitter::fmax(Value a, Value c) {
  // maxnum: a NaN operand yields the other one (-inf from masking stays).
  return arith::MaxNumFOp::create(b, loc, a, c);
}
Value KernelEmitter::fdiv(Value a, Value c) {
  return arith::DivFOp::create(b, loc, a, c);
}
Value KernelEmitter::cmpf(arith::CmpFPredicate p, Value a, Value c) {
  return arith::CmpFOp::create(b, loc, p, a, c);
}
Value KernelEmitter::exp2(Value x) {
  // PTX ISA 9.7.4.9 ex2: the MUFU.EX2 path; ftz is fine for softmax.
  return LLVM::CallIntrinsicOp::create(
             b, loc, f32T, b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
             ValueRange{x})
      .getResult(0);
}
Value KernelEmitter::log2(Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, f32T, b.getStringAttr("llvm.nvvm.lg2.approx.ftz.f"),
             ValueRange{x})
      .getResult(0);
}
Value KernelEmitter::rcpApprox(Value x) {
  // PTX ISA 9.7.4.1 rcp.approx: MUFU.RCP alone, no Newton step and no
  // slow path for denormals (rcp.rn's).
  return LLVM::CallIntrinsicOp::create(
             b, loc, f32T, b.getStringAttr("llvm.nvvm.rcp.approx.ftz.f"),
             ValueRange{x})
      .getResult(0);
}
Value KernelEmitter::tanh(Value x) {
  // llvm.tanh with approximate-functions allowed selects PTX's
  // tanh.approx.f32 (PTX ISA 9.7.4.11, sm_75+).
  auto op = LLVM::TanhOp::create(b, loc, x);
  op.setFastmathFlagsAttr(
      LLVM::FastmathFlagsAttr::get(b.getContext(), LLVM::FastmathFlags::afn));
  return op;
}
Value KernelEmitter::ceilDiv(Value a, int64_t c) {
  return divs(add(a, i32(c - 1)), i32(c));
}

Value KernelEmitter::packHalf2(Value lo, Value hi) {
  // cvt.rn.{bf16x2,f16x2}.f32 d, hi, lo (PTX ISA 9.7.9.21): `hi` lands in the
  // upper 16 bits, so the lower-indexed column stays in the low half.
  MLIRContext *ctx = b.getContext();
  Value packed;
  if (spec.problem.dtype == DType::FP16)
    packed = NVVM::ConvertF32x2ToF16x2Op::create(
        b, loc, VectorType::get({2}, Float16Type::get(ctx)), hi, lo,
        /*random_bits=*/Value(), NVVM::FPRoundingMode::RN,
        NVVM::SaturationMode::NONE, /*relu=*/false);
  else
    packed = NVVM::ConvertF32x2ToBF16x2Op::create(
        b, loc, VectorType::get({2}, BFloat16Type::get(ctx)), hi, lo,
        /*random_bits=*/Value(), NVVM::FPRoundingMode::RN,
        NVVM::SaturationMode::NONE, /*relu=*/false);
  return LLVM::BitcastOp::create(b, loc, i32T, packed);
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

void KernelEmitter::ifThen(Value cond, const std::function<void()> &thenBody) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  thenBody();
}

SmallVector<Value> KernelEmitter::ifThenElse(
    Value cond, TypeRange types,
    const std::function<SmallVector<Value>()> &thenBody,
    const std::function<SmallVector<Value>()> &elseBody) {
  auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> v = thenBody();
    scf::YieldOp::create(b, loc, v);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> w = elseBody();
    scf::YieldOp::create(b, loc, w);
  }
  return SmallVector<Value>(ifOp.getResults());
}

SmallVector<Value> KernelEmitter::forLoop(
    Value lb, Value ub, ValueRange inits,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  // The body-builder form creates no terminator of its own, so nothing has to
  // be erased behind the back of a pattern rewriter.
  auto forOp = scf::ForOp::create(
      b, loc, lb, ub, i32(1), inits,
      [&](OpBuilder &, Location, Value iv, ValueRange carried) {
        SmallVector<Value> next = body(iv, carried);
        scf::YieldOp::create(b, loc, next);
      });
  return SmallVector<Value>(forOp.getResults());
}

SmallVector<Value> KernelEmitter::whileLoop(
    ValueRange inits, const std::function<Value(ValueRange)> &cond,
    const std::function<SmallVector<Value>(ValueRange)> &body) {
  SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  auto whileOp = scf::WhileOp::create(
      b, loc, types, inits,
      [&](OpBuilder &, Location, ValueRange carried) {
        scf::ConditionOp::create(b, loc, cond(carried), carried);
      },
      [&](OpBuilder &, Location, ValueRange carried) {
        scf::YieldOp::create(b, loc, body(carried));
      });
  return SmallVector<Value>(whileOp.getResults());
}

//===----------------------------------------------------------------------===//
// Indices and warp-level operations
//===----------------------------------------------------------------------===//

Value KernelEmitter::threadIdx() {
  return NVVM::ThreadIdXOp::create(b, loc, i32T);
}
Value KernelEmitter::blockIdx(int dim) {
  switch (dim) {
  case 0:
    return NVVM::BlockIdXOp::create(b, loc, i32T);
  case 1:
    return NVVM::BlockIdYOp::create(b, loc, i32T);
  default:
    return NVVM::BlockIdZOp::create(b, loc, i32T);
  }
}
Value KernelEmitter::gridDimX() { return gridDim(0); }

Value KernelEmitter::gridDim(int dim) {
  switch (dim) {
  case 0:
    return NVVM::GridDimXOp::create(b, loc, i32T);
  case 1:
    return NVVM::GridDimYOp::create(b, loc, i32T);
  default:
    return NVVM::GridDimZOp::create(b, loc, i32T);
  }
}

Value KernelEmitter::warpIndexUniform(Value tid) {
  Value warp = divu(tid, i32(32));
  // shfl.sync.idx from lane 0 makes the value warp-uniform for the backend.
  return NVVM::ShflOp::create(b, loc, i32T, i32(-1), warp, i32(0), i32(0x1f),
                              NVVM::ShflKind::idx, UnitAttr())
      .getResult();
}

Value KernelEmitter::electOne() {
  return NVVM::ElectSyncOp::create(b, loc, i1T, Value()).getPred();
}

Value KernelEmitter::shuffleXor(Value v, int laneMask) {
  return NVVM::ShflOp::create(b, loc, v.getType(), i32(-1), v, i32(laneMask),
                              i32(0x1f), NVVM::ShflKind::bfly, UnitAttr())
      .getResult();
}

Value KernelEmitter::voteAny(Value pred) {
  return NVVM::VoteSyncOp::create(b, loc, b.getI1Type(), i32(-1), pred,
                                  NVVM::VoteSyncKind::any)
      .getResult();
}

void KernelEmitter::syncWarp() { NVVM::SyncWarpOp::create(b, loc, i32(-1)); }

Value KernelEmitter::atomicAddGlobal(Value ptr, Value value) {
  return LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::add, ptr, value,
                                   LLVM::AtomicOrdering::monotonic,
                                   /*syncscope=*/"device");
}

Value KernelEmitter::atomicAddGlobalAcqRel(Value ptr, Value value) {
  // The NVPTX backend drops an acq_rel atomicrmw's ordering (it emits a
  // plain atom): explicit fence.acq_rel.gpu on both sides instead.
  LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acq_rel, "device");
  Value old = atomicAddGlobal(ptr, value);
  LLVM::FenceOp::create(b, loc, LLVM::AtomicOrdering::acq_rel, "device");
  return old;
}

void KernelEmitter::atomicStoreGlobal(Value value, Value ptr) {
  LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::xchg, ptr, value,
                            LLVM::AtomicOrdering::monotonic,
                            /*syncscope=*/"device");
}

Value KernelEmitter::globalI32At(Value base, int index) {
  if (index == 0)
    return base;
  return LLVM::GEPOp::create(b, loc, globalPtrT, b.getI32Type(), base,
                             ArrayRef<LLVM::GEPArg>{index});
}

void KernelEmitter::storeShared(Value value, Value ptr) {
  LLVM::StoreOp::create(b, loc, value, ptr);
}

Value KernelEmitter::loadShared(Type type, Value ptr) {
  return LLVM::LoadOp::create(b, loc, type, ptr);
}

void KernelEmitter::barrierAll() { NVVM::Barrier0Op::create(b, loc); }

Value KernelEmitter::clusterCtaRank() {
  return NVVM::ClusterId::create(b, loc, i32T);
}

void KernelEmitter::clusterSync() {
  NVVM::ClusterArriveOp::create(b, loc, /*aligned=*/UnitAttr());
  NVVM::ClusterWaitOp::create(b, loc, /*aligned=*/UnitAttr());
}

void KernelEmitter::gridDependencyWait() {
  NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
}

void KernelEmitter::launchDependents() {
  NVVM::GriddepcontrolOp::create(b, loc,
                                 NVVM::GridDepActionKind::launch_dependents);
}

void KernelEmitter::barrierSync(Value id, int threads) {
  NVVM::BarrierOp::create(b, loc, TypeRange{}, id, i32(threads),
                          /*reductionOp=*/{}, /*reductionPredicate=*/Value());
}

void KernelEmitter::barrierArrive(Value id, int threads) {
  NVVM::BarrierArriveOp::create(b, loc, id, i32(threads));
}

SmallVector<Value> KernelEmitter::fenceOperands(ValueRange values) {
  // CUTLASS's warpgroup_fence_operand: asm volatile("" : "+f"(x) :: "memory").
  if (values.empty())
    return {};
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> types;
  std::string constraints;
  for (size_t i = 0; i < values.size(); ++i) {
    types.push_back(values[i].getType());
    constraints += std::string(i ? "," : "") + "=f";
  }
  for (size_t i = 0; i < values.size(); ++i)
    constraints += "," + std::to_string(i);
  Type resultT = types.size() == 1
                     ? types.front()
                     : LLVM::LLVMStructType::getLiteral(ctx, types);
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, resultT, values, "", constraints, /*has_side_effects=*/true,
      /*is_align_stack=*/false, LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/ArrayAttr());
  if (types.size() == 1)
    return {asmOp.getResult(0)};
  SmallVector<Value> out;
  for (size_t i = 0; i < values.size(); ++i)
    out.push_back(LLVM::ExtractValueOp::create(
        b, loc, asmOp.getResult(0), ArrayRef<int64_t>{int64_t(i)}));
  return out;
}

void KernelEmitter::setMaxRegisters(int count, bool increase) {
  NVVM::SetMaxRegisterOp::create(b, loc, count,
                                 increase
                                     ? NVVM::SetMaxRegisterAction::increase
                                     : NVVM::SetMaxRegisterAction::decrease);
}

//===----------------------------------------------------------------------===//
// Shared memory
//===----------------------------------------------------------------------===//

void KernelEmitter::declareSharedMemory(OpBuilder &moduleBuilder,
                                        Location loc) {
  MLIRContext *ctx = moduleBuilder.getContext();
  auto arrayT =
      LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), /*numElements=*/0);
  LLVM::GlobalOp::create(moduleBuilder, loc, arrayT, /*isConstant=*/false,
                         LLVM::Linkage::External, kSmemSymbol, Attribute(),
                         /*alignment=*/kSmemAlignment, /*addrSpace=*/3);
}

Value KernelEmitter::alignedSmemBase() {
  Value base = LLVM::AddressOfOp::create(b, loc, smemPtrT, kSmemSymbol);
  // Round the window address up to kSmemAlignment; the kernel is launched
  // with enough slack (KernelGeometry::smem.dynamicSmemBytes).
  Value addr = smemAddress(base);
  Value aligned =
      andi(add(addr, i32(kSmemAlignment - 1)), i32(~(kSmemAlignment - 1)));
  return smemAt(base, sub(aligned, addr));
}

Value KernelEmitter::smemAt(Value base, Value byteOffset) {
  return LLVM::GEPOp::create(b, loc, smemPtrT, b.getI8Type(), base,
                             ValueRange{byteOffset});
}

Value KernelEmitter::smemAt(Value base, int64_t byteOffset) {
  if (byteOffset == 0)
    return base;
  return LLVM::GEPOp::create(b, loc, smemPtrT, b.getI8Type(), base,
                             ArrayRef<LLVM::GEPArg>{
                                 static_cast<int32_t>(byteOffset)});
}

Value KernelEmitter::smemAddress(Value ptr) {
  return LLVM::PtrToIntOp::create(b, loc, i32T, ptr);
}

} // namespace flashcore
