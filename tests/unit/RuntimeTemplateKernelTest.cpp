//===- RuntimeTemplateKernelTest.cpp - The nvrtc fallback on the CPU ------===//
//
// The pre-Hopper fallback's pure parts (tiles per head dim and arch, the
// kernel parameter of a call) as tables, and every shipped instantiation
// compiled with nvrtc for sm_80, sm_86 and sm_89 (nvrtc needs no GPU). A
// compile failure prints nvrtc's log and names the instantiation.
//
//===----------------------------------------------------------------------===//

#include "runtime/Nvrtc.h"
#include "runtime/TemplateKernel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

using namespace flashcore;

namespace {

ProblemSpec problem(DType dtype, int headDim) {
  ProblemSpec p;
  p.dtype = dtype;
  p.headDim = headDim;
  return p;
}

TEST(TemplateConfig, TilesPerHeadDimFitEachArch) {
  struct Row {
    int arch, headDim, blockM, blockN, warps;
  };
  for (Row r : {Row{80, 64, 128, 96, 4}, Row{86, 64, 128, 96, 4},
                Row{80, 96, 128, 64, 4}, Row{89, 96, 128, 64, 4},
                Row{80, 128, 128, 48, 4}, Row{89, 128, 128, 48, 4},
                Row{80, 192, 128, 64, 8}, Row{86, 192, 64, 64, 4},
                Row{80, 256, 128, 32, 8}, Row{86, 256, 64, 32, 4},
                Row{89, 256, 64, 32, 4}, Row{90, 256, 128, 32, 8}}) {
    SCOPED_TRACE("sm_" + std::to_string(r.arch) + " d" + std::to_string(r.headDim));
    TemplateConfig c;
    std::string message;
    ASSERT_TRUE(templateConfig(problem(DType::BF16, r.headDim), r.arch, c, message))
        << message;
    EXPECT_EQ(c.blockM, r.blockM);
    EXPECT_EQ(c.blockN, r.blockN);
    EXPECT_EQ(c.warps, r.warps);
    EXPECT_EQ(c.blockM, (r.headDim <= 128 ? 32 : 16) * c.warps); // m16 tiles per warp
    EXPECT_LE(c.smemBytes(), templateSmemLimit(r.arch));
  }
  // KV-cache problems: 64-row tiles, one m16 tile per warp, up to head dim 128.
  for (int d : {64, 128}) {
    ProblemSpec p = problem(DType::BF16, d);
    p.cacheSeqlens = p.causal = true;
    TemplateConfig c;
    std::string message;
    ASSERT_TRUE(templateConfig(p, 80, c, message)) << message;
    EXPECT_EQ(c.str(), "sm_80 d" + std::to_string(d) + " m64 n64 w4 bf16 window cache_seqlens");
  }
}

TEST(TemplateTiles, ParsedAndCheckedThenUsed) {
  struct Row {
    const char *text;
    int blockM, blockN, warps; // 0: rejected
    const char *message;
  };
  for (Row r : {Row{"128x64x4", 128, 64, 4, ""}, Row{"64x32x4", 64, 32, 4, ""},
                Row{"256x64x8", 256, 64, 8, ""}, Row{"16x16x1", 16, 16, 1, ""},
                Row{"128x64", 0, 0, 0, "(three numbers joined by 'x'"},
                Row{"128x64x4x", 0, 0, 0, "(three numbers"},
                Row{"x64x4", 0, 0, 0, "(three numbers"},
                Row{"128 x64x4", 0, 0, 0, "(three numbers"},
                Row{"99999999x64x4", 0, 0, 0, "(three numbers"},
                Row{"128x64x3", 0, 0, 0, "with 1, 2, 4 or 8 warps"},
                Row{"96x64x4", 0, 0, 0, "with BLOCK_M = 16 or 32 rows per warp"},
                Row{"128x40x4", 0, 0, 0, "with BLOCK_N a multiple of 16"},
                Row{"128x272x4", 0, 0, 0, "with BLOCK_N a multiple of 16"}}) {
    SCOPED_TRACE(r.text);
    TemplateTiles t;
    std::string message;
    bool ok = parseTemplateTiles(r.text, t, message);
    EXPECT_EQ(ok, r.blockM != 0) << message;
    if (ok) {
      EXPECT_EQ(t.blockM, r.blockM);
      EXPECT_EQ(t.blockN, r.blockN);
      EXPECT_EQ(t.warps, r.warps);
    } else {
      EXPECT_EQ(message.rfind(std::string("FLASHCORE_TEMPLATE_TILES must be "
                                          "BLOCK_MxBLOCK_NxWARPS ") + r.message,
                              0),
                0u)
          << message;
      EXPECT_NE(message.find(std::string("got: ") + r.text), std::string::npos);
    }
  }
  // Given tiles replace the defaults; too large for the arch says so.
  TemplateTiles t{128, 64, 4};
  TemplateConfig c;
  std::string message;
  ASSERT_TRUE(templateConfig(problem(DType::BF16, 128), 86, c, message, &t)) << message;
  EXPECT_EQ(c.str(), "sm_86 d128 m128 n64 w4 bf16");
  t = TemplateTiles{256, 256, 8};
  EXPECT_FALSE(templateConfig(problem(DType::BF16, 256), 86, c, message, &t));
  EXPECT_EQ(message.rfind("FLASHCORE_TEMPLATE_TILES: the fallback's tiles for sm_86 "
                          "d256 m256 n256 w8 bf16 need ", 0), 0u) << message;
}

TEST(TemplateConfig, FlagsFollowTheProblem) {
  ProblemSpec p = problem(DType::FP16, 96);
  p.causal = true;
  p.varlen = true;
  p.softcap = true;
  TemplateConfig c;
  std::string message;
  ASSERT_TRUE(templateConfig(p, 86, c, message)) << message;
  EXPECT_FALSE(c.bf16);
  EXPECT_TRUE(c.window && c.varlen && c.softcap);
  EXPECT_FALSE(c.cacheSeqlens);
  EXPECT_EQ(c.str(), "sm_86 d96 m128 n64 w4 fp16 window varlen softcap");
  // split_kv: the split instantiation; pack_gqa runs unpacked.
  ProblemSpec decode = problem(DType::BF16, 128);
  decode.cacheSeqlens = decode.splitKv = decode.packGqa = true;
  ASSERT_TRUE(templateConfig(decode, 80, c, message)) << message;
  EXPECT_TRUE(c.cacheSeqlens && c.split);
  EXPECT_EQ(c.str(), "sm_80 d128 m64 n64 w4 bf16 cache_seqlens split");
  // The combine of a split call: a warp per (row, head), no shared memory.
  ProblemSpec merge = problem(DType::FP16, 256);
  merge.kind = KernelKind::Combine;
  ASSERT_TRUE(templateConfig(merge, 86, c, message)) << message;
  EXPECT_TRUE(c.combine);
  EXPECT_EQ(c.str(), "sm_86 d256 combine w4 fp16");
  EXPECT_EQ(c.smemBytes(), 0);
  EXPECT_EQ(templateSource(c).find("flashcore_attention_fwd"), std::string::npos);
  EXPECT_NE(templateSource(c).find("flashcore_attention_combine"), std::string::npos);
}

TEST(TemplateConfig, UnsupportedSaysWhat) {
  struct Row {
    ProblemSpec p;
    int arch;
    const char *message;
  };
  ProblemSpec paged = problem(DType::BF16, 128);
  paged.pagedKv = true;
  for (const Row &r :
       {Row{problem(DType::BF16, 128), 75,
            "the GPU must have compute capability >= 8.0 for FlashCore's fallback "
            "kernels (mma.sync bf16, cp.async), got: 7.5"},
        Row{problem(DType::BF16, 72), 80,
            "head_dim must be a multiple of 16 in [16, 256] on the pre-Hopper "
            "fallback, got: 72"},
        Row{paged, 86, "paged_kv must be false on the pre-Hopper fallback"}}) {
    TemplateConfig c;
    std::string message;
    EXPECT_FALSE(templateConfig(r.p, r.arch, c, message));
    EXPECT_EQ(message.rfind(r.message, 0), 0u) << message;
  }
}

TEST(TemplateParams, StridesWindowsAndScales) {
  AttentionCall call;
  call.problem = problem(DType::BF16, 128);
  call.problem.causal = true;
  call.softmaxScale = 0.125f;
  call.headsPerKvHead = 4;
  flashcore_attention_args &a = call.args;
  a.seqlen_q = 300;
  a.seqlen_k = 700;
  a.heads_q = 32;
  a.batch = 3;
  a.q_batch_stride = 300 * 32 * 128;
  a.q_seq_stride = 32 * 128;
  a.q_head_stride = 128;
  a.k_seq_stride = 8 * 128;
  a.k_head_stride = 128;
  FcFwdParams f = templateParams(call);
  EXPECT_EQ(f.q_batch_stride, 300 * 32 * 128);
  EXPECT_EQ(f.k_row_stride, 8 * 128);
  EXPECT_EQ(f.heads_per_kv_head, 4);
  EXPECT_EQ(f.window_left, -1);
  EXPECT_EQ(f.window_right, 0); // causal: keys up to the diagonal
  EXPECT_FLOAT_EQ(f.scale_log2, float(0.125 * M_LOG2E));
  EXPECT_EQ(f.softcap_scale, 0.0f);
  unsigned grid[3];
  TemplateConfig c;
  std::string message;
  ASSERT_TRUE(templateConfig(call.problem, 86, c, message));
  templateGrid(c, call, grid);
  EXPECT_EQ(grid[0], 3u); // ceil(300 / 128)
  EXPECT_EQ(grid[1], 32u);
  EXPECT_EQ(grid[2], 3u);

  call.problem.causal = false;
  call.problem.local = call.problem.softcap = call.problem.varlen = true;
  call.windowLeft = 64;
  call.windowRight = 16;
  call.softcap = 30.0f;
  f = templateParams(call);
  EXPECT_EQ(f.window_left, 64);
  EXPECT_EQ(f.window_right, 16);
  EXPECT_EQ(f.q_batch_stride, 0); // varlen: packed rows, no batch dimension
  EXPECT_FLOAT_EQ(f.scale_log2, float(30.0 * M_LOG2E));
  EXPECT_FLOAT_EQ(f.softcap_scale, 0.125f / 30.0f);
}

TEST(TemplateParams, SplitKvGridsAndWorkspace) {
  // A split decode call: 5 splits of the key blocks, then the combine.
  AttentionCall call;
  call.problem = problem(DType::BF16, 128);
  call.problem.cacheSeqlens = call.problem.splitKv = true;
  call.numSplits = 5;
  call.headsPerKvHead = 4;
  flashcore_attention_args &a = call.args;
  a.seqlen_q = 3;
  a.seqlen_k = 4096;
  a.heads_q = 32;
  a.head_dim = 128;
  a.batch = 2;
  a.o_batch_stride = 3 * 32 * 128;
  a.o_seq_stride = 32 * 128;
  a.o_head_stride = 128;
  float lseDummy = 0;
  a.lse = &lseDummy;
  a.lse_batch_stride = 32 * 3;
  a.lse_head_stride = 3;
  FcFwdParams f = templateParams(call);
  EXPECT_EQ(f.num_splits, 5);
  EXPECT_EQ(f.accum_rows, 2 * 3); // batch * seqlen_q
  TemplateConfig c, merge;
  std::string message;
  ASSERT_TRUE(templateConfig(call.problem, 80, c, message)) << message;
  EXPECT_TRUE(c.split);
  unsigned grid[3];
  templateGrid(c, call, grid);
  EXPECT_EQ(grid[0], 5u); // one 64-row block x 5 splits
  EXPECT_EQ(grid[1], 32u);
  EXPECT_EQ(grid[2], 2u);
  ProblemSpec combine = problem(DType::BF16, 128);
  combine.kind = KernelKind::Combine;
  ASSERT_TRUE(templateConfig(combine, 80, merge, message)) << message;
  templateGrid(merge, call, grid);
  EXPECT_EQ(grid[0], unsigned((2 * 3 * 32 + kTemplateCombineWarps - 1) /
                              kTemplateCombineWarps)); // a warp per (row, head)
  EXPECT_EQ(grid[1] * grid[2], 1u);
  // The workspace: O_accum (f32 [splits][rows][heads][d]), then LSE_accum.
  std::vector<unsigned char> workspace(workspaceBytes(call));
  FcCombineParams m = templateCombineParams(call, workspace.data());
  EXPECT_EQ(reinterpret_cast<const unsigned char *>(m.o_accum), workspace.data());
  EXPECT_EQ(reinterpret_cast<const unsigned char *>(m.lse_accum),
            workspace.data() + size_t(5) * 2 * 3 * 32 * 128 * 4);
  EXPECT_GE(workspace.size(), size_t(5) * 2 * 3 * 32 * (128 + 1) * 4);
  EXPECT_EQ(m.num_splits, 5);
  EXPECT_EQ(m.accum_rows, 6);
  EXPECT_EQ(m.seqlen_q, 3);
  EXPECT_EQ(m.o_batch_stride, 3 * 32 * 128);
  EXPECT_EQ(m.lse_batch_stride, 32 * 3);
  // Varlen: rows are the packed total, one "batch" of them.
  call.problem.cacheSeqlens = false;
  call.problem.varlen = true;
  a.total_q = 7;
  m = templateCombineParams(call, workspace.data());
  EXPECT_EQ(m.accum_rows, 7);
  EXPECT_EQ(m.seqlen_q, 7);
  EXPECT_EQ(m.o_batch_stride, 0);
  EXPECT_EQ(m.lse_batch_stride, 0);
}

TEST(TemplateSource, MacrosThenTheEmbeddedTemplates) {
  TemplateConfig c;
  std::string message;
  ASSERT_TRUE(templateConfig(problem(DType::FP16, 64), 89, c, message));
  std::string s = templateSource(c);
  EXPECT_NE(s.find("#define FC_HEAD_DIM 64\n"), std::string::npos);
  EXPECT_NE(s.find("#define FC_BF16 0\n"), std::string::npos);
  EXPECT_NE(s.find("struct FcFwdParams"), std::string::npos);
  EXPECT_NE(s.find("flashcore_attention_fwd(const FcFwdParams p)"), std::string::npos);
  EXPECT_NE(s.find("float exp2Approx"), std::string::npos); // fc_math.cuh
  EXPECT_NE(s.find("#define FC_SPLIT 0\n"), std::string::npos);
  EXPECT_EQ(s.find("#include"), std::string::npos); // nvrtc needs no headers
  EXPECT_EQ(templateHash().size(), 64u);
}

/// The instantiations the fallback ships: every head dim and dtype of the
/// Hopper path, plain and with each forward feature.
std::vector<ProblemSpec> shippedProblems() {
  std::vector<ProblemSpec> all;
  for (DType dtype : {DType::BF16, DType::FP16})
    for (int d : {64, 96, 128, 192, 256})
      for (int feature = 0; feature < 7; ++feature) {
        ProblemSpec p = problem(dtype, d);
        p.causal = feature == 1 || feature == 4 || feature == 5;
        p.varlen = feature == 2 || feature == 6;
        p.local = feature == 2;
        p.softcap = feature == 3;
        p.cacheSeqlens = feature == 4 || feature == 5;
        p.splitKv = feature == 5 || feature == 6; // split decode, split varlen
        all.push_back(p);
      }
  for (DType dtype : {DType::BF16, DType::FP16})
    for (int d : {64, 96, 128, 192, 256}) {
      ProblemSpec p = problem(dtype, d);
      p.kind = KernelKind::Combine;
      all.push_back(p);
    }
  return all;
}

class TemplateCompile : public ::testing::TestWithParam<int> {};

TEST_P(TemplateCompile, EveryShippedInstantiationCompiles) {
  const int arch = GetParam();
  std::string error;
  const nvrtc::Library *lib = nvrtc::library(error);
  ASSERT_NE(lib, nullptr) << error;
  int compiled = 0;
  double slowestMs = 0;
  for (const ProblemSpec &p : shippedProblems()) {
    TemplateConfig c;
    std::string message;
    ASSERT_TRUE(templateConfig(p, arch, c, message)) << message;
    auto start = std::chrono::steady_clock::now();
    nvrtc::Output out;
    bool ok = lib->compile(templateSource(c), "flash_fwd_sm80.cu", arch,
                           {"--std=c++17", "-default-device", "-Xptxas=-v"},
                           out, message);
    EXPECT_TRUE(ok) << c.str() << ": " << message;
    if (!ok)
      continue;
    slowestMs = std::max(
        slowestMs, std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count());
    EXPECT_GT(out.cubin.size(), 1000u) << c.str();
    // ptxas -v: no local memory (stack, spills) in any instantiation.
    EXPECT_NE(out.log.find("0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"),
              std::string::npos)
        << c.str() << ": " << out.log;
    if (compiled == 0)
      std::printf("%s: %s\n", c.str().c_str(), out.log.c_str());
    ++compiled;
  }
  std::printf("nvrtc %s: %d instantiations for sm_%d, slowest %.0f ms\n",
              lib->version().c_str(), compiled, arch, slowestMs);
}

INSTANTIATE_TEST_SUITE_P(Arch, TemplateCompile, ::testing::Values(80, 86, 89),
                         [](const auto &info) {
                           return "sm_" + std::to_string(info.param);
                         });

} // namespace
