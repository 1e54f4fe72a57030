// RUN: flashcore-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{dtype must be bf16 or fp16, got: fp8}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = fp8, head_dim = 128>

// -----

// expected-error @+1 {{unknown spec field 'blok_n'}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, blok_n = 64>

// -----

// expected-error @+1 {{spec needs dtype and head_dim}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16>

// -----

// expected-error @+1 {{block_n must be a multiple of 16 in [16, 256], got: 300}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, block_n = 300>

// -----

// expected-error @+1 {{head_dim must be a multiple of 16 in [16, 256], got: 100}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 100>

// -----

// expected-error @+1 {{block_m must be 64 * consumer_warpgroups = 192, got: 128}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, block_m = 128, consumer_warpgroups = 3>

// -----

// expected-error @+1 {{swizzle must be a divisor of the row width head_dim * 2 = 192 bytes, got: 128}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 96, swizzle = 128>

// -----

// expected-error @+1 {{stages must be small enough that Q + stages * (K + V) fits in 232448 bytes}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, stages = 4>

// -----

// expected-error @+1 {{producer_registers must be a multiple of 8 in [24, 256], got: 20}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, producer_registers = 20>

// -----

// expected-error @+1 {{causal must be true or false, got: yes}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, causal = yes>

// -----

// expected-error @+1 {{kernel name must be a PTX identifier}}
flashcore.attention_kernel @"bad-name" spec = #flashcore.spec<dtype = bf16, head_dim = 128>

// -----

// expected-error @+1 {{local must be false when causal is true (causal is the window (-1, 0)), got: true}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, causal = true, local = true>

// -----

// expected-error @+1 {{varlen must be true or false, got: maybe}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, varlen = maybe>

// -----

// expected-error @+1 {{scheduler must be single_tile, static_persistent or dynamic_persistent, got: dynamic}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, scheduler = dynamic>

// -----

// expected-error @+1 {{epilogue must be registers or tma, got: smem}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, epilogue = smem>

// -----

// expected-error @+1 {{kind must be forward or combine, got: backward}}
flashcore.attention_kernel @k spec = #flashcore.spec<kind = backward, dtype = bf16, head_dim = 128>

// -----

// Overlap keeps a second S accumulator and P live.
// expected-error @+1 {{overlap must be false unless head_dim/2 + 3*block_n/4 + 32 <= consumer_registers}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 256, block_n = 128, consumer_registers = 240, overlap = true>

// -----

// expected-error @+1 {{causal must be false for a combine kernel}}
flashcore.attention_kernel @k spec = #flashcore.spec<kind = combine, dtype = bf16, head_dim = 128, causal = true>

// -----

// expected-error @+1 {{epilogue must be registers when split_kv is true}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, split_kv = true, epilogue = tma>

// -----

// expected-error @+1 {{cache_seqlens must be false when varlen is true}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, varlen = true, cache_seqlens = true>

// -----

// expected-error @+1 {{paged_kv must be false when varlen is true}}
flashcore.attention_kernel @k spec = #flashcore.spec<dtype = bf16, head_dim = 128, varlen = true, paged_kv = true>
