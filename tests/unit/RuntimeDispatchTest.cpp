//===- RuntimeDispatchTest.cpp - Spec choice and launch planning ----------===//

#include "flashcore/Runtime.h"
#include "runtime/Dispatch.h"
#include "runtime/Launcher.h"
#include "runtime/Subprocess.h"

#include "ScopedEnv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

using namespace flashcore;
using flashcore::testing::ScopedEnv;

namespace {

ProblemSpec problem(int headDim, DType dtype = DType::BF16,
                    bool causal = false) {
  ProblemSpec p;
  p.headDim = headDim;
  p.dtype = dtype;
  p.causal = causal;
  return p;
}

const char *kSpec64 = "problem:\n"
                      "  dtype: bf16\n"
                      "  head_dim: 64\n"
                      "  softmax_scale: 0.5\n"
                      "schedule:\n"
                      "  block_n: 64\n"
                      "  stages: 3\n";

/// Sets an environment variable for the life of the object.

TEST(Dispatch, UsesTheDefaultScheduleWithoutOverride) {
  Dispatcher d;
  AttentionSpec spec;
  std::string error;
  ASSERT_EQ(d.choose(problem(128), spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.problem.headDim, 128);
  EXPECT_EQ(spec.schedule.blockN, defaultSchedule(problem(128)).blockN);
  EXPECT_FALSE(spec.problem.softmaxScale.has_value());
}

TEST(Dispatch, UsesAnApiOverrideForItsProblem) {
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error)) << error;
  AttentionSpec spec;
  ASSERT_EQ(d.choose(problem(64), spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.blockN, 64);
  EXPECT_EQ(spec.schedule.stages, 3);
  // The scale is a kernel argument: an override's scale is dropped.
  EXPECT_FALSE(spec.problem.softmaxScale.has_value());
}

TEST(Dispatch, RejectsACallWhoseProblemDiffersFromTheOverride) {
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error)) << error;
  AttentionSpec spec;
  EXPECT_EQ(d.choose(problem(128, DType::FP16, true), spec, error),
            DispatchStatus::SpecMismatch);
  EXPECT_EQ(error, "the spec override test.yaml is for problem {dtype: bf16, "
                   "head_dim: 64, causal: false, local: false, softcap: "
                   "false, varlen: false}, but the call is {dtype: fp16, "
                   "head_dim: 128, causal: true, local: false, softcap: "
                   "false, varlen: false}");
}

TEST(Dispatch, RejectsACallThatAddsAFeatureTheOverrideLacks) {
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error)) << error;
  AttentionSpec spec;
  ProblemSpec p = problem(64, DType::BF16, false);
  p.softcap = true;
  EXPECT_EQ(d.choose(p, spec, error), DispatchStatus::SpecMismatch);
  EXPECT_NE(error.find("softcap: true"), std::string::npos) << error;
}

TEST(Dispatch, ClearingTheOverrideRestoresTheDefault) {
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error));
  d.clearOverride();
  AttentionSpec spec;
  EXPECT_EQ(d.choose(problem(128), spec, error), DispatchStatus::Ok) << error;
}

TEST(Dispatch, RejectsOverrideTextThatDoesNotParse) {
  Dispatcher d;
  std::string error;
  EXPECT_FALSE(d.setOverrideText("problem:\n  head_dim: 100\n", "bad.yaml",
                                 error));
  EXPECT_NE(error.find("bad.yaml"), std::string::npos) << error;
}

TEST(Dispatch, LoadsTheFlashcoreSpecEnvironmentFile) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(dir.create("flashcore-test-", error)) << error;
  std::string path = dir.file("spec.yaml");
  ASSERT_TRUE(writeFile(path, kSpec64, error)) << error;
  ScopedEnv env("FLASHCORE_SPEC", path.c_str());
  Dispatcher d;
  ASSERT_TRUE(d.loadEnvironmentOverride(error)) << error;
  AttentionSpec spec;
  ASSERT_EQ(d.choose(problem(64), spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.stages, 3);
  EXPECT_EQ(d.choose(problem(128), spec, error), DispatchStatus::SpecMismatch);
  EXPECT_NE(error.find("FLASHCORE_SPEC=" + path), std::string::npos) << error;
}

TEST(Dispatch, ApiOverrideWinsOverTheEnvironment) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(dir.create("flashcore-test-", error)) << error;
  std::string path = dir.file("spec.yaml");
  ASSERT_TRUE(writeFile(path, kSpec64, error)) << error;
  ScopedEnv env("FLASHCORE_SPEC", path.c_str());
  Dispatcher d;
  ASSERT_TRUE(d.loadEnvironmentOverride(error)) << error;
  ASSERT_TRUE(d.setOverrideText("problem:\n  dtype: bf16\n  head_dim: 128\n",
                                "api", error))
      << error;
  AttentionSpec spec;
  EXPECT_EQ(d.choose(problem(128), spec, error), DispatchStatus::Ok) << error;
}

TEST(Dispatch, ReportsAnEnvironmentSpecThatDoesNotLoad) {
  ScopedEnv env("FLASHCORE_SPEC", "/nonexistent/spec.yaml");
  Dispatcher d;
  std::string error;
  EXPECT_FALSE(d.loadEnvironmentOverride(error));
  EXPECT_NE(error.find("FLASHCORE_SPEC=/nonexistent/spec.yaml must name a "
                       "valid spec file"),
            std::string::npos)
      << error;
}

//===----------------------------------------------------------------------===//
// Launch planning
//===----------------------------------------------------------------------===//

void *fakePtr(uintptr_t address) { return reinterpret_cast<void *>(address); }

struct Planned {
  flashcore_status_t status;
  std::string message;
  LaunchPlan plan;
  AttentionSpec spec;
  KernelGeometry geometry;
};

Planned plan(const flashcore_attention_args &a) {
  Planned p;
  AttentionCall call;
  p.status = validateAttentionArgs(&a, call, p.message);
  if (p.status != FLASHCORE_STATUS_SUCCESS)
    return p;
  Dispatcher d;
  EXPECT_EQ(d.choose(call.problem, p.spec, p.message), DispatchStatus::Ok);
  p.geometry = computeGeometry(p.spec);
  p.status = planLaunch(a, call, p.spec, p.geometry, p.plan, p.message);
  return p;
}

flashcore_attention_args gqaArgs() {
  return contiguousArgs(fakePtr(0x10000), fakePtr(0x20000), fakePtr(0x30000),
                        fakePtr(0x40000), /*batch=*/3, /*seqlenQ=*/300,
                        /*seqlenK=*/200, /*headsQ=*/12, /*headsKv=*/4,
                        /*headDim=*/128, FLASHCORE_DTYPE_FP16,
                        /*causal=*/true, /*softmaxScale=*/0.25f);
}

TEST(LaunchPlan, GridCoversQueryBlocksHeadsAndBatch) {
  Planned p = plan(gqaArgs());
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  int64_t blockM = p.spec.schedule.blockM;
  EXPECT_EQ(p.plan.gridX, unsigned((300 + blockM - 1) / blockM));
  EXPECT_EQ(p.plan.gridY, 12u);
  EXPECT_EQ(p.plan.gridZ, 3u);
  EXPECT_EQ(p.plan.threadsPerCta, unsigned(p.geometry.threadsPerCta));
  EXPECT_EQ(p.plan.dynamicSmemBytes,
            unsigned(p.geometry.smem.dynamicSmemBytes));
}

TEST(LaunchPlan, ScalarParametersFollowTheKernelAbi) {
  Planned p = plan(gqaArgs());
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  EXPECT_EQ(p.plan.seqlenQ, 300);
  EXPECT_EQ(p.plan.seqlenK, 200);
  EXPECT_EQ(p.plan.headsPerKvHead, 3);
  EXPECT_FLOAT_EQ(p.plan.scaleLog2, float(0.25 * M_LOG2E));
  EXPECT_EQ(p.plan.oBatchStride, 300 * 12 * 128);
  EXPECT_EQ(p.plan.oRowStride, 12 * 128);
  EXPECT_EQ(p.plan.oHeadStride, 128);
  // No LSE: null pointer and zero strides.
  EXPECT_EQ(p.plan.lse, nullptr);
  EXPECT_EQ(p.plan.lseBatchStride, 0);
  EXPECT_EQ(p.plan.lseHeadStride, 0);
}

TEST(LaunchPlan, TensorMapsUseTheGeometryBoxes) {
  Planned p = plan(gqaArgs());
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  EXPECT_EQ(p.plan.q.boxRows, p.geometry.qBoxRows);
  EXPECT_EQ(p.plan.k.boxRows, p.geometry.kvBoxRows);
  EXPECT_EQ(p.plan.v.boxRows, p.geometry.kvBoxRows);
  EXPECT_EQ(p.plan.q.boxCols, p.geometry.boxCols);
  EXPECT_EQ(p.plan.k.heads, 4);
  EXPECT_EQ(p.plan.k.seqlen, 200);
  EXPECT_EQ(p.plan.q.heads, 12);
  EXPECT_EQ(p.plan.q.dtype, DType::FP16);
  EXPECT_EQ(p.plan.q.swizzleBytes, p.spec.schedule.swizzle);
}

TEST(LaunchPlan, PassesLseStridesWhenLseIsGiven) {
  flashcore_attention_args a = gqaArgs();
  a.lse = static_cast<float *>(fakePtr(0x50000));
  Planned p = plan(a);
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  EXPECT_EQ(p.plan.lse, a.lse);
  EXPECT_EQ(p.plan.lseHeadStride, 300);
  EXPECT_EQ(p.plan.lseBatchStride, 12 * 300);
}

} // namespace
