// RUN: flashcore-opt %s -fc-lower-attention-kernel=stages=3 | FileCheck %s
// RUN: not flashcore-opt %s -fc-lower-attention-kernel=stages=5 2>&1 | FileCheck %s --check-prefix=BAD

// Three stages: 1 + 4 * 3 = 13 barriers initialised.
// CHECK-LABEL: llvm.func @fwd(
// CHECK-COUNT-13: nvvm.mbarrier.init
// BAD: error: 'flashcore.attention_kernel' op stages must be small enough that Q + stages * (K + V) fits in 232448 bytes of shared memory
flashcore.attention_kernel @fwd spec = #flashcore.spec<dtype = bf16, head_dim = 128>
