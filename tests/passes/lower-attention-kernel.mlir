// RUN: flashcore-opt %s -split-input-file -fc-lower-attention-kernel | FileCheck %s
// RUN: flashcore-opt %s -split-input-file -fc-lower-to-nvvm -fc-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// The kernel signature of compiler/KernelABI.h and the launch attributes.
// CHECK: llvm.mlir.global external @flashcore_smem() {addr_space = 3 : i32, alignment = 1024 : i64}
// CHECK-LABEL: llvm.func @fwd(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}
// CHECK-SAME: %{{.*}}: !llvm.ptr<1> {llvm.noalias}, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: f32, %{{.*}}: i64
// CHECK-SAME: nvvm.kernel, nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// Barrier set-up by one thread, then the whole CTA syncs.
// CHECK: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: nvvm.barrier0
// Producer warpgroup: fewer registers, TMA into shared::cta.
// CHECK: nvvm.setmaxregister decrease 24
// CHECK: nvvm.elect.sync
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} {isCTAOnly = true
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// Consumers: more registers, S = Q K^T from shared memory, O += P V from registers.
// CHECK: nvvm.setmaxregister increase 240
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// CHECK: llvm.store
// LLVM-LABEL: llvm.func @fwd(
// LLVM-NOT: scf.
// LLVM-NOT: arith.
// LLVM: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
flashcore.attention_kernel @fwd spec = #flashcore.spec<dtype = bf16, head_dim = 128>

// -----

// fp16, three consumer warpgroups, two producer warps, 64-byte swizzle.
// CHECK-LABEL: llvm.func @fwd16(
// CHECK-SAME: nvvm.maxntid = array<i32: 512, 1, 1>
// CHECK: nvvm.setmaxregister decrease 32
// CHECK: nvvm.setmaxregister increase 160
// CHECK: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<f16>
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
flashcore.attention_kernel @fwd16 spec = #flashcore.spec<dtype = fp16, head_dim = 64, causal = true, block_m = 192, block_n = 64, swizzle = 64, producer_warps = 2>
