//===- TemplateKernel.cpp - The pre-Hopper fallback (nvrtc) ---------------===//

#include "runtime/TemplateKernel.h"
#include "runtime/CacheKey.h"
#include "runtime/EmbeddedFile.h"
#include "runtime/Nvrtc.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace flashcore {

namespace {

const EmbeddedFile kTemplates[] = {
#include "flashcore_generated/EmbeddedTemplates.inc"
};

const char *embedded(const char *name) {
  const EmbeddedFile *f = findEmbedded(kTemplates, name);
  return f ? f->text : "";
}

/// Tiles per head dim, measured on an H200 against FA2 (SDPA's flash
/// backend) with FLASHCORE_TEMPLATE_TILES (docs/PERFORMANCE.md): up to head
/// dim 128, 4 warps of two m16 tiles each (FA2's shape: every K/V fragment
/// read from shared memory feeds 32 rows, half the ldmatrix traffic of one
/// tile per warp, which ran at 0.61-0.75x FA2), with the widest key block
/// that ptxas 13 keeps free of spills (d64: 96 keys, 252 registers; d128: 48,
/// 255; 64 keys spilled 4 bytes there). Above 128, 8 warps of one tile, and
/// 64-row tiles where shared memory is 99 KB. A KV-cache problem (decode:
/// a few query rows against a long cache) takes 64-row tiles of one m16 tile
/// per warp: half the idle rows, and registers to spare for its masks.
using Tiles = TemplateTiles;
Tiles defaultTiles(int headDim, bool largeSmem, bool cacheSeqlens) {
  if (cacheSeqlens && headDim <= 128)
    return {64, 64, 4};
  if (headDim <= 64)
    return {128, 96, 4};
  if (headDim <= 96)
    return {128, 64, 4};
  if (headDim <= 128)
    return {128, 48, 4};
  if (headDim <= 192)
    return largeSmem ? Tiles{128, 64, 8} : Tiles{64, 64, 4};
  return largeSmem ? Tiles{128, 32, 8} : Tiles{64, 32, 4};
}

} // namespace

std::string TemplateConfig::str() const {
  if (combine)
    return "sm_" + std::to_string(arch) + " d" + std::to_string(headDim) +
           " combine w" + std::to_string(warps) + (bf16 ? " bf16" : " fp16");
  std::string s = "sm_" + std::to_string(arch) + " d" +
                  std::to_string(headDim) + " m" + std::to_string(blockM) +
                  " n" + std::to_string(blockN) + " w" +
                  std::to_string(warps) + (bf16 ? " bf16" : " fp16");
  if (window)
    s += " window";
  if (varlen)
    s += " varlen";
  if (softcap)
    s += " softcap";
  if (cacheSeqlens)
    s += " cache_seqlens";
  if (split)
    s += " split";
  return s;
}

int templateSmemLimit(int arch) {
  // CUDA C Programming Guide, "Features and Technical Specifications":
  // 163 KB per block on 8.0 and 8.7, 99 KB on 8.6 and 8.9, 227 KB on 9.0.
  switch (arch) {
  case 80:
  case 87:
    return 163 * 1024;
  case 90:
    return 227 * 1024;
  default:
    return 99 * 1024;
  }
}

bool parseTemplateTiles(const std::string &text, TemplateTiles &tiles,
                        std::string &message) {
  auto fail = [&](const std::string &what) {
    message = "FLASHCORE_TEMPLATE_TILES must be BLOCK_MxBLOCK_NxWARPS " + what +
              ", got: " + text;
    return false;
  };
  int values[3] = {0, 0, 0};
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    size_t end = pos;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9' &&
           end - pos < 4)
      ++end;
    if (end == pos || (i < 2 && (end >= text.size() || text[end] != 'x')) ||
        (i == 2 && end != text.size()))
      return fail("(three numbers joined by 'x', e.g. 128x64x4)");
    values[i] = std::atoi(text.substr(pos, end - pos).c_str());
    pos = end + 1;
  }
  TemplateTiles t{values[0], values[1], values[2]};
  if (t.warps != 1 && t.warps != 2 && t.warps != 4 && t.warps != 8)
    return fail("with 1, 2, 4 or 8 warps");
  if (t.blockM != 16 * t.warps && t.blockM != 32 * t.warps)
    return fail("with BLOCK_M = 16 or 32 rows per warp");
  if (t.blockN % 16 != 0 || t.blockN < 16 || t.blockN > 256)
    return fail("with BLOCK_N a multiple of 16 in [16, 256]");
  tiles = t;
  return true;
}

const TemplateTiles *templateTilesOverride(std::string &error) {
  struct Override {
    bool set = false;
    TemplateTiles tiles;
    std::string error;
  };
  static const Override o = [] {
    Override r;
    const char *v = std::getenv("FLASHCORE_TEMPLATE_TILES");
    if (v && *v)
      r.set = parseTemplateTiles(v, r.tiles, r.error);
    return r;
  }();
  if (!o.error.empty())
    error = o.error;
  return o.set ? &o.tiles : nullptr;
}

bool templateConfig(const ProblemSpec &p, int arch, TemplateConfig &c,
                    std::string &message, const TemplateTiles *tiles) {
  if (arch < 80) {
    message = "the GPU must have compute capability >= 8.0 for FlashCore's "
              "fallback kernels (mma.sync bf16, cp.async), got: " +
              std::to_string(arch / 10) + "." + std::to_string(arch % 10);
    return false;
  }
  if (p.headDim % 16 != 0 || p.headDim < 16 || p.headDim > 256) {
    message = "head_dim must be a multiple of 16 in [16, 256] on the "
              "pre-Hopper fallback, got: " +
              std::to_string(p.headDim);
    return false;
  }
  if (p.pagedKv) {
    message = "paged_kv must be false on the pre-Hopper fallback (no paged "
              "K/V loads there yet), got: true";
    return false;
  }
  c = TemplateConfig();
  c.arch = arch;
  c.headDim = p.headDim;
  c.bf16 = p.dtype == DType::BF16;
  if (p.kind == KernelKind::Combine) {
    c.combine = true;
    c.warps = kTemplateCombineWarps;
    return true;
  }
  Tiles t = tiles ? *tiles
                  : defaultTiles(p.headDim, templateSmemLimit(arch) > 100 * 1024,
                                 p.cacheSeqlens);
  c.blockM = t.blockM;
  c.blockN = t.blockN;
  c.warps = t.warps;
  c.window = p.causal || p.local;
  c.varlen = p.varlen;
  c.softcap = p.softcap;
  c.cacheSeqlens = p.cacheSeqlens;
  // Split-KV as on Hopper (the call's splits, the same workspace, then the
  // combine kernel); pack_gqa changes how the Hopper kernels cut the work,
  // not the result: the fallback runs such problems unpacked.
  c.split = p.splitKv;
  if (c.smemBytes() > templateSmemLimit(arch)) {
    message = std::string(tiles ? "FLASHCORE_TEMPLATE_TILES" : "internal error") +
              ": the fallback's tiles for " + c.str() +
              " need " + std::to_string(c.smemBytes()) +
              " bytes of shared memory, more than sm_" +
              std::to_string(arch) + "'s " +
              std::to_string(templateSmemLimit(arch));
    return false;
  }
  return true;
}

std::string templateSource(const TemplateConfig &c) {
  std::string s = "// FlashCore pre-Hopper fallback: " + c.str() + "\n";
  auto define = [&](const char *name, int value) {
    s += std::string("#define ") + name + " " + std::to_string(value) + "\n";
  };
  if (c.combine) {
    define("FC_HEAD_DIM", c.headDim);
    define("FC_WARPS", c.warps);
    define("FC_BF16", c.bf16);
    s += embedded("fwd_params.h");
    s += embedded("fc_math.cuh");
    s += embedded("combine_sm80.cuh");
    return s;
  }
  define("FC_HEAD_DIM", c.headDim);
  define("FC_BLOCK_M", c.blockM);
  define("FC_BLOCK_N", c.blockN);
  define("FC_WARPS", c.warps);
  define("FC_BF16", c.bf16);
  define("FC_WINDOW", c.window);
  define("FC_VARLEN", c.varlen);
  define("FC_SOFTCAP", c.softcap);
  define("FC_CACHE_SEQLENS", c.cacheSeqlens);
  define("FC_SPLIT", c.split);
  s += embedded("fwd_params.h");
  s += embedded("fc_math.cuh");
  s += embedded("flash_fwd_sm80.cuh");
  return s;
}

const std::string &templateHash() {
  static const std::string hash = [] {
    std::string all;
    for (const EmbeddedFile &f : kTemplates)
      all += std::string(f.name) + '\0' + f.text + '\0';
    return sha256Hex(all);
  }();
  return hash;
}

FcFwdParams templateParams(const AttentionCall &call) {
  const flashcore_attention_args &a = call.args;
  const ProblemSpec &p = call.problem;
  FcFwdParams f;
  std::memset(&f, 0, sizeof f);
  f.q = a.q;
  f.k = a.k;
  f.v = a.v;
  f.o = a.o;
  f.lse = static_cast<float *>(a.lse);
  f.cu_seqlens_q = p.varlen ? a.cu_seqlens_q : nullptr;
  f.cu_seqlens_k = p.varlen ? a.cu_seqlens_k : nullptr;
  f.cache_seqlens = p.cacheSeqlens ? a.cache_seqlens : nullptr;
  f.q_batch_stride = p.varlen ? 0 : a.q_batch_stride;
  f.q_row_stride = a.q_seq_stride;
  f.q_head_stride = a.q_head_stride;
  f.k_batch_stride = p.varlen ? 0 : a.k_batch_stride;
  f.k_row_stride = a.k_seq_stride;
  f.k_head_stride = a.k_head_stride;
  f.v_batch_stride = p.varlen ? 0 : a.v_batch_stride;
  f.v_row_stride = a.v_seq_stride;
  f.v_head_stride = a.v_head_stride;
  f.o_batch_stride = p.varlen ? 0 : a.o_batch_stride;
  f.o_row_stride = a.o_seq_stride;
  f.o_head_stride = a.o_head_stride;
  f.lse_batch_stride = a.lse && !p.varlen ? a.lse_batch_stride : 0;
  f.lse_head_stride = a.lse ? a.lse_head_stride : 0;
  f.seqlen_q = int(a.seqlen_q);
  f.seqlen_k = int(a.seqlen_k);
  f.heads_q = int(a.heads_q);
  f.heads_per_kv_head = call.headsPerKvHead;
  // Causal is the window (-inf, 0]; a local window keeps its edges.
  f.window_left = p.local ? call.windowLeft : -1;
  f.window_right = p.causal ? 0 : p.local ? call.windowRight : -1;
  if (p.softcap) {
    f.scale_log2 = float(double(call.softcap) * M_LOG2E);
    f.softcap_scale = float(double(call.softmaxScale) / call.softcap);
  } else {
    f.scale_log2 = float(double(call.softmaxScale) * M_LOG2E);
    f.softcap_scale = 0.0f;
  }
  f.num_splits = p.splitKv ? call.numSplits : 1;
  f.accum_rows = p.splitKv ? int(accumRows(call)) : 0;
  return f;
}

void templateGrid(const TemplateConfig &c, const AttentionCall &call,
                  unsigned grid[3]) {
  const flashcore_attention_args &a = call.args;
  if (c.combine) {
    const int64_t items = accumRows(call) * a.heads_q;
    grid[0] = unsigned((items + c.warps - 1) / c.warps);
    grid[1] = grid[2] = 1;
    return;
  }
  grid[0] = unsigned((a.seqlen_q + c.blockM - 1) / c.blockM *
                     (c.split ? call.numSplits : 1));
  grid[1] = unsigned(a.heads_q);
  grid[2] = unsigned(a.batch);
}

FcCombineParams templateCombineParams(const AttentionCall &call,
                                      void *workspace) {
  const flashcore_attention_args &a = call.args;
  const bool varlen = call.problem.varlen;
  FcCombineParams c;
  std::memset(&c, 0, sizeof c);
  auto *bytes = static_cast<unsigned char *>(workspace);
  c.o_accum = reinterpret_cast<const float *>(bytes);
  c.lse_accum = reinterpret_cast<const float *>(bytes ? bytes + lseAccumOffset(call)
                                                      : nullptr);
  c.o = a.o;
  c.lse = static_cast<float *>(a.lse);
  c.o_batch_stride = varlen ? 0 : a.o_batch_stride;
  c.o_row_stride = a.o_seq_stride;
  c.o_head_stride = a.o_head_stride;
  c.lse_batch_stride = a.lse && !varlen ? a.lse_batch_stride : 0;
  c.lse_head_stride = a.lse ? a.lse_head_stride : 0;
  c.num_splits = call.numSplits;
  c.accum_rows = int(accumRows(call));
  c.seqlen_q = int(varlen ? accumRows(call) : a.seqlen_q);
  c.heads_q = int(a.heads_q);
  return c;
}

namespace {

bool configOf(const AttentionSpec &spec, const CompileOptions &options,
              TemplateConfig &c, std::string &error) {
  const TemplateTiles *tiles = templateTilesOverride(error);
  return error.empty() &&
         templateConfig(spec.problem, options.templateArch, c, error, tiles);
}

/// The instantiation and nvrtc, or null with `error`.
const nvrtc::Library *prepare(const AttentionSpec &spec,
                              const CompileOptions &options, TemplateConfig &c,
                              std::string &error) {
  return configOf(spec, options, c, error) ? nvrtc::library(error) : nullptr;
}

bool templateKey(const AttentionSpec &spec, const CompileOptions &options,
                 CacheKey &key, std::string &error) {
  TemplateConfig c;
  const nvrtc::Library *lib = prepare(spec, options, c, error);
  if (!lib)
    return false;
  key.text = "flashcore-template-key: 1\nflashcore: " +
             std::string(FLASHCORE_VERSION_STRING) + "\nnvrtc: " +
             lib->version() + "\narch: sm_" + std::to_string(c.arch) +
             "\ntemplates-sha256: " + templateHash() + "\nconfig: " + c.str() +
             "\nspec:\n" + printSpec(spec);
  key.hex = sha256Hex(key.text);
  return true;
}

bool templateCompile(const CompileRequest &request, CompiledKernel &kernel,
                     std::string &error) {
  TemplateConfig c;
  const nvrtc::Library *lib = prepare(request.spec, request.options, c, error);
  if (!lib)
    return false;
  auto start = std::chrono::steady_clock::now();
  nvrtc::Output out;
  if (!lib->compile(templateSource(c), "flash_fwd_sm80.cu", c.arch,
                    {"--std=c++17", "-default-device"}, out, error))
    return false;
  kernel.cubin = std::move(out.cubin);
  kernel.ptxasLog = std::move(out.log);
  kernel.assembler = "nvrtc " + lib->version() + " (" + lib->path + ")";
  kernel.timings.assembleMs =
      std::chrono::duration<double, std::milli>(
          std::chrono::steady_clock::now() - start)
          .count();
  return true;
}

KernelGeometry templateGeometry(const AttentionSpec &spec,
                                const CompileOptions &options) {
  KernelGeometry g;
  TemplateConfig c;
  std::string ignored;
  if (!configOf(spec, options, c, ignored))
    return g;
  g.threadsPerCta = c.threads();
  g.smem.dynamicSmemBytes = c.smemBytes();
  return g;
}

KernelCache &templateKernelCache() {
  static KernelCache cache(templateCompile, DiskCache::fromEnvironment(),
                           templateKey, templateGeometry);
  return cache;
}

} // namespace

std::shared_ptr<const CompiledKernel>
templateKernel(const AttentionSpec &spec, const TemplateConfig &c,
               std::string &message) {
  CompileOptions options;
  options.templateArch = c.arch;
  return templateKernelCache().get(spec, options, message);
}

bool forceTemplates(std::string &message) {
  // Read once per process (every forward call asks): like the other
  // FLASHCORE_* variables, a change after the first call is not seen.
  struct Backend {
    bool forced = false;
    std::string error;
  };
  static const Backend backend = [] {
    Backend b;
    const char *v = std::getenv("FLASHCORE_BACKEND");
    if (v && std::strcmp(v, "templates") == 0)
      b.forced = true;
    else if (v && *v && std::strcmp(v, "generated") != 0)
      b.error = std::string("FLASHCORE_BACKEND must be templates or generated, "
                            "got: ") +
                v;
    return b;
  }();
  if (!backend.error.empty())
    message = backend.error;
  return backend.forced;
}

} // namespace flashcore
