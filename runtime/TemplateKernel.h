//===- TemplateKernel.h - The pre-Hopper fallback (nvrtc) -------*- C++ -*-===//
//
// GPUs of compute capability 8.x run FlashAttention-2-style CUDA C++ kernels
// from templates/, instantiated per problem and compiled at run time with
// nvrtc for the device's architecture. $FLASHCORE_BACKEND=templates forces
// them on any GPU of capability >= 8.0 (tests run them on an H200).
//
//   problem + arch --templateConfig--> TemplateConfig (tiles, warps, flags)
//                  --templateSource--> CUDA C++ (macros + templates/*.cuh)
//                  --nvrtc-----------> cubin, cached like the generated
//                                      kernels (memory, then disk) under a
//                                      key of nvrtc's version, the arch, the
//                                      templates' SHA-256 and the spec.
//
// Everything but the compile and the launch is pure and unit-tested.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_TEMPLATEKERNEL_H
#define FLASHCORE_RUNTIME_TEMPLATEKERNEL_H

#include "compiler/Spec.h"
#include "runtime/ArgValidation.h"
#include "runtime/KernelCache.h"
#include "templates/fwd_params.h"

#include <string>

namespace flashcore {

/// Warps (each one (row, head)) per CTA of the split-KV combine.
inline constexpr int kTemplateCombineWarps = 4;

/// One instantiation of templates/flash_fwd_sm80.cuh, or (combine) of
/// templates/combine_sm80.cuh.
struct TemplateConfig {
  int arch = 80; // compute capability x 10
  int headDim = 0, blockM = 0, blockN = 0, warps = 0;
  bool bf16 = true, window = false, varlen = false, softcap = false,
       cacheSeqlens = false, split = false, combine = false;

  int threads() const { return 32 * warps; }
  /// Q, K and V tiles of (head_dim + 8)-element rows (the combine: none).
  int smemBytes() const {
    return combine ? 0 : (blockM + 2 * blockN) * (headDim + 8) * 2;
  }
  /// "sm_86 d128 m128 n64 w4 bf16 window", "sm_80 d128 combine w4 bf16"
  /// (logs, keys, test names).
  std::string str() const;
};

/// The dynamic shared memory one CTA may use on sm_<arch> (the opt-in limit).
int templateSmemLimit(int arch);

/// Tiles of one instantiation: query rows and keys per block, warps.
struct TemplateTiles {
  int blockM = 0, blockN = 0, warps = 0;
};

/// Parses "BLOCK_MxBLOCK_NxWARPS" (e.g. "128x64x4"): warps 1, 2, 4 or 8, each
/// owning one or two m16 tiles (block_m = 16 x warps or 32 x warps), block_n
/// a multiple of 16 in [16, 256]. False with "... must be ..., got: ...".
bool parseTemplateTiles(const std::string &text, TemplateTiles &tiles,
                        std::string &message);

/// $FLASHCORE_TEMPLATE_TILES (tile research and tuning: the tiles of every
/// fallback instantiation), read on the first call of the process; null
/// when unset, or when malformed with `error` set.
const TemplateTiles *templateTilesOverride(std::string &error);

/// The instantiation for `problem` on sm_<arch>: tiles after FA2's choices
/// per head dim, shrunk to the arch's shared memory, or `tiles` when given.
/// False with `message` ("... must be ..., got: ...") for what the fallback
/// does not run.
bool templateConfig(const ProblemSpec &problem, int arch, TemplateConfig &c,
                    std::string &message, const TemplateTiles *tiles = nullptr);

/// The CUDA C++ nvrtc compiles for `c`: its macros, templates/fwd_params.h
/// and templates/flash_fwd_sm80.cuh (embedded in the library).
std::string templateSource(const TemplateConfig &c);

/// SHA-256 of the embedded templates (part of the cache key).
const std::string &templateHash();

/// The kernel's parameter for a validated call.
FcFwdParams templateParams(const AttentionCall &call);

/// Grid of a call: (query blocks x splits, heads_q, batch); the combine's:
/// a warp per (row, head).
void templateGrid(const TemplateConfig &c, const AttentionCall &call,
                  unsigned grid[3]);

/// The combine's parameter for a split call whose workspace (of
/// workspaceBytes(call)) is at `workspace`.
FcCombineParams templateCombineParams(const AttentionCall &call,
                                      void *workspace);

/// Compiles (or finds in the cache) the kernel of `c`. Null with `message`
/// (nvrtc's log on a compile error).
std::shared_ptr<const CompiledKernel>
templateKernel(const AttentionSpec &spec, const TemplateConfig &c,
               std::string &message);

/// Whether $FLASHCORE_BACKEND asks for the templates on every GPU;
/// `message` set when the variable holds something else than "templates"
/// or "generated". Read on the first call of the process.
bool forceTemplates(std::string &message);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_TEMPLATEKERNEL_H
