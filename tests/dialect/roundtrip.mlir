// RUN: flashcore-opt %s | flashcore-opt | FileCheck %s

// Every field printed, defaults filled in from the problem.
// CHECK-LABEL: flashcore.attention_kernel @minimal
// CHECK-SAME: spec = <kind = forward, dtype = bf16, head_dim = 128, causal = false, local = false, softcap = false, varlen = false, cache_seqlens = false, split_kv = false, pack_gqa = false, paged_kv = false, block_m = 128, block_n = 128, stages = 2, swizzle = 128, consumer_warpgroups = 2, producer_warps = 1, producer_registers = 24, consumer_registers = 240, scheduler = single_tile, tile_order = m_fastest, epilogue = registers, overlap = false, pingpong = false, lazy_rescale = false, defer_rescale = true, trim_masked_blocks = true, k_ahead = false, late_k_release = false, edge_turns = true, leader_waits = false, prefetch_tensormaps = false, prefetch_q = false, late_tile_claim = false, producer_decodes_tiles = false, early_finish = false, suspend_waits = false, ctas_per_sm = 1, kv_cache_hint = normal, q_cache_hint = normal, kv_box_rows = 0, kv_l2_promotion = 128, cluster_m = 1, key_order = ascending>
flashcore.attention_kernel @minimal spec = #flashcore.spec<dtype = bf16, head_dim = 128>

// Fields in any order; explicit softmax_scale kept.
// CHECK-LABEL: flashcore.attention_kernel @explicit
// CHECK-SAME: dtype = fp16, head_dim = 64, causal = true, local = false, softcap = false, varlen = false, cache_seqlens = false, split_kv = false, pack_gqa = false, paged_kv = false, softmax_scale = 1.250000e-01, block_m = 192, block_n = 96, stages = 3, swizzle = 128, consumer_warpgroups = 3, producer_warps = 2, producer_registers = 32, consumer_registers = 160
flashcore.attention_kernel @explicit spec = #flashcore.spec<stages = 3, block_n = 96, head_dim = 64, dtype = fp16, causal = true, softmax_scale = 0.125, block_m = 192, producer_warps = 2>

// head_dim 96 rows are 192 bytes: the default swizzle is 64.
// CHECK-LABEL: flashcore.attention_kernel @hd96
// CHECK-SAME: swizzle = 64
flashcore.attention_kernel @hd96 spec = #flashcore.spec<dtype = bf16, head_dim = 96>

// head_dim 256 defaults to 80 key rows per stage.
// CHECK-LABEL: flashcore.attention_kernel @hd256
// CHECK-SAME: block_n = 80
flashcore.attention_kernel @hd256 spec = #flashcore.spec<dtype = bf16, head_dim = 256, causal = true>

// Feature flags.
// CHECK-LABEL: flashcore.attention_kernel @features
// CHECK-SAME: causal = false, local = true, softcap = true, varlen = true, cache_seqlens = false
flashcore.attention_kernel @features spec = #flashcore.spec<dtype = bf16, head_dim = 128, local = true, softcap = true, varlen = true>

// The scheduler, epilogue and overlap schedule fields (enums and a bool).
// CHECK-LABEL: flashcore.attention_kernel @schedule_kinds
// CHECK-SAME: scheduler = static_persistent, tile_order = m_fastest, epilogue = tma, overlap = true, pingpong = false, lazy_rescale = false, defer_rescale = true, trim_masked_blocks = true, k_ahead = false, late_k_release = false, edge_turns = true, leader_waits = false, prefetch_tensormaps = false, prefetch_q = false, late_tile_claim = false, producer_decodes_tiles = false, early_finish = false, suspend_waits = false, ctas_per_sm = 1, kv_cache_hint = normal, q_cache_hint = normal, kv_box_rows = 0, kv_l2_promotion = 128, cluster_m = 1, key_order = ascending>
flashcore.attention_kernel @schedule_kinds spec = #flashcore.spec<dtype = bf16, head_dim = 128, overlap = true, epilogue = tma, scheduler = static_persistent>

// Decode kernels: a KV cache, split-KV and pack-GQA; their combine kernel.
// CHECK-LABEL: flashcore.attention_kernel @decode
// CHECK-SAME: cache_seqlens = true, split_kv = true, pack_gqa = true
flashcore.attention_kernel @decode spec = #flashcore.spec<dtype = bf16, head_dim = 128, causal = true, cache_seqlens = true, split_kv = true, pack_gqa = true>
// CHECK-LABEL: flashcore.attention_kernel @combine
// CHECK-SAME: spec = <kind = combine, dtype = fp16, head_dim = 64
flashcore.attention_kernel @combine spec = #flashcore.spec<kind = combine, dtype = fp16, head_dim = 64>
// A paged KV cache.
// CHECK-LABEL: flashcore.attention_kernel @paged
// CHECK-SAME: cache_seqlens = true, split_kv = true, pack_gqa = true, paged_kv = true
flashcore.attention_kernel @paged spec = #flashcore.spec<dtype = bf16, head_dim = 128, causal = true, cache_seqlens = true, split_kv = true, pack_gqa = true, paged_kv = true>
