//===- RuntimeDispatchTest.cpp - Spec choice and launch planning ----------===//

#include "flashcore/Runtime.h"
#include "runtime/Dispatch.h"
#include "runtime/Launcher.h"
#include "runtime/Subprocess.h"
#include "compiler/TileSchedule.h"

#include "ScopedEnv.h"

#include <algorithm>
#include <functional>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

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

TEST(Dispatch, UsesTheHeuristicsWithoutOverrideOrTableEntry) {
  Dispatcher d(std::make_shared<DispatchTable>());
  AttentionSpec spec;
  std::string error;
  ASSERT_EQ(d.choose(problem(128), spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.problem.headDim, 128);
  AttentionSpec heuristic = spec;
  heuristic.schedule = defaultSchedule(problem(128));
  EXPECT_EQ(spec, heuristic);
  EXPECT_FALSE(spec.problem.softmaxScale.has_value());
}

TEST(Dispatch, UsesTheShippedTableForDenseProblems) {
  Dispatcher d;
  AttentionSpec spec;
  std::string error;
  DispatchQuery q;
  q.problem = problem(128);
  q.seqlenQ = q.seqlenK = 8192;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  // Long rows: FA3's 176 keys on the dynamic scheduler with its producer
  // fields (session 23).
  EXPECT_EQ(spec.schedule.blockN, 176);
  EXPECT_TRUE(spec.schedule.pingpong);
  EXPECT_TRUE(spec.schedule.overlap);
  EXPECT_EQ(spec.schedule.epilogue, EpilogueKind::Tma);
  EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::DynamicPersistent);
  EXPECT_TRUE(spec.schedule.prefetchQ);
  EXPECT_TRUE(spec.schedule.lateTileClaim);
  EXPECT_TRUE(spec.schedule.producerDecodesTiles);
  EXPECT_TRUE(spec.schedule.earlyFinish);
  // Short and medium rows keep 128-key blocks on the dynamic scheduler.
  for (int64_t s : {1024, 4096}) {
    q.seqlenQ = q.seqlenK = s;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.blockN, 128);
    EXPECT_TRUE(spec.schedule.pingpong);
    EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::DynamicPersistent);
  }
  // Causal: medium and long rows take the dynamic scheduler in FA3's
  // longest-first order, the longest rows the 160-key single-tile grid.
  q.problem.causal = true;
  for (int64_t s : {2048, 8192}) {
    q.seqlenQ = q.seqlenK = s;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::DynamicPersistent);
    EXPECT_EQ(spec.schedule.tileOrder, TileOrder::LongestFirst);
  }
  q.seqlenQ = q.seqlenK = 16384;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.blockN, 160);
  EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::SingleTile);
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
                   "false, varlen: false}, where they differ in dtype (bf16 "
                   "there, fp16 in the call), head_dim (64 there, 128 in the "
                   "call), causal (false there, true in the call)");
}

TEST(Dispatch, NamesAMismatchInAFieldTheSummaryOmits) {
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error)) << error;
  AttentionSpec spec;
  ProblemSpec p = problem(64, DType::BF16, false);
  p.splitKv = true;
  EXPECT_EQ(d.choose(p, spec, error), DispatchStatus::SpecMismatch);
  EXPECT_NE(error.find("where they differ in split_kv (false there, true in "
                       "the call)"),
            std::string::npos)
      << error;
}

TEST(Dispatch, OverrideProblemFollowsSetAndClear) {
  Dispatcher d;
  std::string error;
  EXPECT_FALSE(d.overrideProblem());
  ASSERT_TRUE(d.setOverrideText(kSpec64, "test.yaml", error)) << error;
  ASSERT_TRUE(d.overrideProblem());
  EXPECT_EQ(d.overrideProblem()->headDim, 64);
  d.clearOverride();
  EXPECT_FALSE(d.overrideProblem());
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

/// A GQA decode call (bf16 d128 causal, KV cache, split-KV, pack-GQA 4:1,
/// 32k keys) with `seqlenQ` query tokens.
DispatchQuery gqaDecodeQuery(int64_t seqlenQ) {
  DispatchQuery q;
  q.problem = problem(128, DType::BF16, /*causal=*/true);
  q.problem.cacheSeqlens = q.problem.splitKv = q.problem.packGqa = true;
  q.seqlenK = 32768;
  q.gqaRatio = 4;
  q.seqlenQ = seqlenQ;
  return q;
}

TEST(Dispatch, TilesOfAtMost64RowsRunOneWarpgroup) {
  Dispatcher d;
  DispatchQuery q = gqaDecodeQuery(16);
  AttentionSpec one, two;
  std::string error;
  // 16 queries: 64 packed rows
  ASSERT_EQ(d.choose(q, one, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(one.schedule.consumerWarpgroups, 1);
  EXPECT_EQ(one.schedule.blockM, 64);
  EXPECT_EQ(one.schedule.blockN, 64); // head_dim 128: 64-key blocks
  EXPECT_FALSE(validateSpec(one).has_value());
  const uint64_t oneKey = d.classKey(q);
  q.seqlenQ = 17; // 68 rows: the default two warpgroups
  ASSERT_EQ(d.choose(q, two, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(two.schedule.consumerWarpgroups, 2);
  EXPECT_EQ(two.schedule.blockM, 128);
  EXPECT_EQ(two.schedule.blockN, 128);
  EXPECT_NE(d.classKey(q), oneKey);
  // Without pack-GQA a tile's rows are one head's seqlen_q: MHA decode
  // (seqlen_q 1) and prompts of up to 64 tokens run one warpgroup too, the
  // GQA ratio does not count.
  q.problem.packGqa = false;
  q.gqaRatio = 32;
  AttentionSpec mha;
  for (int64_t rows : {1, 64}) {
    q.seqlenQ = rows;
    ASSERT_EQ(d.choose(q, mha, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(mha.schedule.consumerWarpgroups, 1) << rows;
    EXPECT_EQ(mha.schedule.blockM, 64) << rows;
    EXPECT_FALSE(validateSpec(mha).has_value());
  }
  const uint64_t mhaKey = d.classKey(q);
  q.seqlenQ = 65;
  ASSERT_EQ(d.choose(q, two, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(two.schedule.consumerWarpgroups, 2);
  EXPECT_NE(d.classKey(q), mhaKey);
  // The 64-key blocks are for head_dim 128 alone (64 and 256 lost or
  // moved nothing), and a block_n named by an override stays.
  for (int hd : {64, 256}) {
    q.problem.headDim = hd;
    q.seqlenQ = 1;
    AttentionSpec other;
    ASSERT_EQ(d.choose(q, other, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(other.schedule.consumerWarpgroups, 1) << hd;
    EXPECT_EQ(other.schedule.blockN, defaultSchedule(other.problem).blockN)
        << hd;
  }
}

TEST(Dispatch, ASmallDenseCallOnTwoWarpgroupsKeepsItsBlocks) {
  // Dense d128 with 64 query rows matches a ping-pong table entry, which
  // keeps two warpgroups: its 128-key blocks stay too (the 64-key fit is
  // for the one-warpgroup tile only).
  Dispatcher d;
  DispatchQuery q;
  q.problem = problem(128);
  q.seqlenQ = 64;
  q.seqlenK = 1024;
  AttentionSpec spec;
  std::string error;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  ASSERT_TRUE(spec.schedule.pingpong);
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 2);
  EXPECT_EQ(spec.schedule.blockN, 128);
}

TEST(Dispatch, PagedDecodeTakesThreeStages) {
  Dispatcher d;
  std::string error;
  DispatchQuery q = gqaDecodeQuery(1);
  q.problem.pagedKv = true;
  AttentionSpec paged, contiguous;
  ASSERT_EQ(d.choose(q, paged, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(paged.schedule.consumerWarpgroups, 1);
  EXPECT_EQ(paged.schedule.stages, kPagedDecodeStages);
  EXPECT_EQ(paged.schedule.ctasPerSm, 1);
  EXPECT_FALSE(validateSpec(paged).has_value());
  // A contiguous cache keeps two stages; so does a paged tile of two
  // warpgroups (not decode).
  q.problem.pagedKv = false;
  ASSERT_EQ(d.choose(q, contiguous, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(contiguous.schedule.stages, 2);
  q.problem.pagedKv = true;
  q.seqlenQ = 17;
  ASSERT_EQ(d.choose(q, paged, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(paged.schedule.consumerWarpgroups, 2);
  EXPECT_EQ(paged.schedule.stages, 2);
}

TEST(Dispatch, ShortCacheDecodeRunsTwoCtasPerSm) {
  Dispatcher d;
  std::string error;
  DispatchQuery q = gqaDecodeQuery(1);
  q.problem.splitKv = false;
  AttentionSpec spec;
  for (int64_t keys : {1, 1024, 4096}) {
    q.seqlenK = keys;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.ctasPerSm, 2) << keys;
    EXPECT_EQ(spec.schedule.consumerWarpgroups, 1) << keys;
    EXPECT_EQ(spec.schedule.blockN, 64) << keys;
    EXPECT_FALSE(validateSpec(spec).has_value()) << keys;
  }
  const uint64_t shortKey = d.classKey(q);
  // Longer caches, split calls, paged caches and calls without a KV cache
  // keep one CTA per SM.
  for (int64_t keys : {4097, 8192, 131072}) {
    q.seqlenK = keys;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.ctasPerSm, 1) << keys;
    EXPECT_NE(d.classKey(q), shortKey) << keys;
  }
  q.seqlenK = 1024;
  for (int variant = 0; variant < 3; ++variant) {
    DispatchQuery other = q;
    if (variant == 0)
      other.problem.splitKv = true;
    else if (variant == 1)
      other.problem.pagedKv = true;
    else
      other.problem.cacheSeqlens = false;
    ASSERT_EQ(d.choose(other, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.ctasPerSm, 1) << variant;
  }
  // The key tells 4096 from 4097 keys whatever the table's classes.
  Dispatcher oneClass(std::make_shared<DispatchTable>());
  q.seqlenK = 4096;
  const uint64_t at = oneClass.classKey(q);
  q.seqlenK = 4097;
  EXPECT_NE(oneClass.classKey(q), at);
}

TEST(Dispatch, ATableEntrysStagesAndCtasStayOnDecode) {
  auto table = std::make_shared<DispatchTable>();
  std::string error;
  ASSERT_TRUE(DispatchTable::parse(
      "version: 1\nentries:\n  - name: named\n"
      "    schedule: {stages: 2, ctas_per_sm: 1}\n",
      "t.yaml", DispatchTable::embeddedResolver(), *table, error))
      << error;
  Dispatcher d(table);
  DispatchQuery q = gqaDecodeQuery(1);
  q.problem.pagedKv = true;
  AttentionSpec spec;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 1);
  EXPECT_EQ(spec.schedule.stages, 2);
  q.problem.pagedKv = q.problem.splitKv = false;
  q.seqlenK = 1024;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.ctasPerSm, 1);
}

TEST(Dispatch, ASmallTilesNamedBlockNStays) {
  ScopedEnv env("FLASHCORE_SCHEDULE", "block_n=96");
  Dispatcher d;
  std::string error;
  ASSERT_TRUE(d.loadEnvironmentOverride(error)) << error;
  DispatchQuery q = gqaDecodeQuery(1);
  AttentionSpec spec;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.blockN, 96);
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 1);
}

TEST(Dispatch, AnOddQueryBlockCountRunsWithoutTheCluster) {
  ScopedEnv env("FLASHCORE_SCHEDULE",
                "cluster_m=2,scheduler=single_tile,tile_order=m_fastest");
  Dispatcher d(std::make_shared<DispatchTable>());
  std::string error;
  ASSERT_TRUE(d.loadEnvironmentOverride(error)) << error;
  DispatchQuery q;
  q.problem = problem(128);
  q.seqlenK = 4096;
  AttentionSpec spec;
  // block_m 128: 4 blocks pair up; 3 and 5 (and 1) do not.
  for (int64_t rows : {512, 4096, 1000}) {
    q.seqlenQ = rows;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.blockM, 128);
    EXPECT_EQ(spec.schedule.clusterM, 2) << rows;
  }
  const uint64_t evenKey = d.classKey(q);
  for (int64_t rows : {100, 384, 600}) {
    q.seqlenQ = rows;
    ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
    EXPECT_EQ(spec.schedule.clusterM, 1) << rows;
    EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::SingleTile) << rows;
    EXPECT_FALSE(validateSpec(spec).has_value());
    // The cached choice of an even count is not reused.
    EXPECT_NE(d.classKey(q), evenKey) << rows;
  }
  // Without a cluster in the table or the override, the parity is no part
  // of the class.
  Dispatcher plain(std::make_shared<DispatchTable>());
  q.seqlenQ = 384;
  const uint64_t oddKey = plain.classKey(q);
  q.seqlenQ = 512;
  EXPECT_EQ(plain.classKey(q), oddKey);
  // seqlen_q unknown: the schedule as forced.
  q.seqlenQ = 0;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.clusterM, 2);
  // A causal problem never clusters: its class ignores the parity.
  q.problem.causal = true;
  q.seqlenQ = 384;
  const uint64_t causalOdd = d.classKey(q);
  q.seqlenQ = 512;
  EXPECT_EQ(d.classKey(q), causalOdd);
}

TEST(Dispatch, ResolvedClusterChoicesFollowTheBlockCountOf192Rows) {
  ScopedEnv env("FLASHCORE_SCHEDULE",
                "cluster_m=2,scheduler=single_tile,tile_order=m_fastest,"
                "block_m=192,consumer_warpgroups=3");
  Dispatcher d(std::make_shared<DispatchTable>());
  std::string error;
  ASSERT_TRUE(d.loadEnvironmentOverride(error)) << error;
  DispatchQuery q;
  q.problem = problem(64);
  q.seqlenK = 4096;
  DispatchStatus status;
  // 384 rows: 2 blocks of 192; 500: 3; 1408: 8, with the parities of 384
  // for every block_m, so the first choice's class and cached choice.
  const int64_t rows[] = {384, 500, 1408};
  const int expected[] = {2, 1, 2};
  KernelChoice *choices[3];
  for (int i = 0; i < 3; ++i) {
    q.seqlenQ = rows[i];
    choices[i] = d.resolve(q, status, error);
    ASSERT_NE(choices[i], nullptr) << error;
    EXPECT_EQ(choices[i]->spec.schedule.blockM, 192);
    EXPECT_EQ(choices[i]->spec.schedule.clusterM, expected[i]) << rows[i];
  }
  EXPECT_NE(choices[1]->source.find("(cluster_m 1: odd query-block count)"),
            std::string::npos)
      << choices[1]->source;
  EXPECT_NE(choices[0], choices[1]);
  EXPECT_EQ(choices[2], choices[0]);
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

/// Validates, dispatches, lets `tweak` change the chosen schedule (it must
/// stay valid) and plans.
Planned plan(const flashcore_attention_args &a,
             const std::function<void(ScheduleSpec &)> &tweak = nullptr) {
  Planned p;
  AttentionCall call;
  p.status = validateAttentionArgs(&a, call, p.message);
  if (p.status != FLASHCORE_STATUS_SUCCESS)
    return p;
  Dispatcher d;
  EXPECT_EQ(d.choose(call.problem, p.spec, p.message), DispatchStatus::Ok);
  if (tweak) {
    tweak(p.spec.schedule);
    EXPECT_FALSE(validateSpec(p.spec).has_value());
  }
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

/// Sets the scheduler of a table's choice as FLASHCORE_SCHEDULE would
/// (forceSchedule drops the fields the new one does not allow: the table's
/// dynamic entries carry FA3's producer fields). Only the scheduler is
/// forced, so nothing is re-derived from the problem.
void setScheduler(ScheduleSpec &s, SchedulerKind kind) {
  ScheduleOverrides forced;
  forced.scheduler = kind;
  s = forceSchedule(ProblemSpec{}, s, forced);
}

/// The table's choice for gqaArgs' shape made single-tile (a short causal
/// d128 call gets the dynamic persistent scheduler from the table).
void singleTile(ScheduleSpec &s) { setScheduler(s, SchedulerKind::SingleTile); }

TEST(LaunchPlan, ClusterOfTwoRoundsQueryBlocksUpToEven) {
  // 300 query rows = 3 blocks of 128; clusters of two need grid.x = 4 (the
  // fourth CTA loads its half of K/V for the third and stores nothing).
  flashcore_attention_args a = gqaArgs();
  a.causal = 0;
  auto cluster = [](ScheduleSpec &s) {
    setScheduler(s, SchedulerKind::SingleTile);
    s.tileOrder = TileOrder::MFastest;
    s.blockM = 128;
    s.consumerWarpgroups = 2;
    s.clusterM = 2;
  };
  Planned p = plan(a, cluster);
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  ASSERT_EQ(p.plan.numLaunches, 1);
  EXPECT_EQ(p.plan.launches[0].grid[0], 4u);
  EXPECT_EQ(p.plan.launches[0].grid[1], 12u);
  EXPECT_EQ(p.geometry.kvBoxRows, p.spec.schedule.blockN / 2);
  Planned one = plan(a, [](ScheduleSpec &s) {
    setScheduler(s, SchedulerKind::SingleTile);
    s.tileOrder = TileOrder::MFastest;
    s.blockM = 128;
    s.consumerWarpgroups = 2;
  });
  ASSERT_EQ(one.status, FLASHCORE_STATUS_SUCCESS) << one.message;
  EXPECT_EQ(one.plan.launches[0].grid[0], 3u);
  EXPECT_EQ(one.geometry.kvBoxRows, one.spec.schedule.blockN);
}

TEST(LaunchPlan, GridCoversQueryBlocksHeadsAndBatch) {
  Planned p = plan(gqaArgs(), singleTile);
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  ASSERT_EQ(p.plan.numLaunches, 1);
  const KernelLaunch &l = p.plan.launches[0];
  int64_t blockM = p.spec.schedule.blockM;
  EXPECT_EQ(l.grid[0], unsigned((300 + blockM - 1) / blockM));
  EXPECT_EQ(l.grid[1], 12u);
  EXPECT_EQ(l.grid[2], 3u);
  EXPECT_EQ(l.persistentTiles, 0);
  EXPECT_EQ(l.threadsPerCta, unsigned(p.geometry.threadsPerCta));
  EXPECT_EQ(l.dynamicSmemBytes, unsigned(p.geometry.smem.dynamicSmemBytes));
  EXPECT_EQ(p.plan.workspaceBytes, 0u);
}

TEST(LaunchPlan, PersistentGridIsTilesCappedBySms) {
  Planned p = plan(gqaArgs(), [](ScheduleSpec &s) {
    setScheduler(s, SchedulerKind::StaticPersistent);
  });
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  KernelLaunch &l = p.plan.launches[0];
  int64_t blocks = (300 + p.spec.schedule.blockM - 1) / p.spec.schedule.blockM;
  EXPECT_EQ(l.persistentTiles, blocks * 12 * 3);
  p.plan.setPersistentGrid(/*smCount=*/132);
  EXPECT_EQ(l.grid[0], unsigned(std::min<int64_t>(132, blocks * 36)));
  EXPECT_EQ(l.grid[1], 1u);
  EXPECT_EQ(l.grid[2], 1u);
  p.plan.setPersistentGrid(/*smCount=*/8);
  EXPECT_EQ(l.grid[0], 8u);
}

// dynamic_persistent: the same grid as static, and a 16-byte workspace whose
// first word is the forward's tile counter (zeroed before the launch).
TEST(LaunchPlan, DynamicSchedulerGetsATileCounter) {
  Planned p = plan(gqaArgs(), [](ScheduleSpec &s) {
    setScheduler(s, SchedulerKind::DynamicPersistent);
  });
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  KernelLaunch &l = p.plan.launches[0];
  int64_t blocks = (300 + p.spec.schedule.blockM - 1) / p.spec.schedule.blockM;
  EXPECT_EQ(l.persistentTiles, blocks * 12 * 3);
  EXPECT_TRUE(p.plan.tileCounter);
  EXPECT_EQ(p.plan.workspaceBytes, LaunchPlan::kTileCounterBytes);
  EXPECT_EQ(l.args.pointer(kParamTileCounter), nullptr);
  alignas(16) static unsigned char workspace[16];
  p.plan.setWorkspace(workspace);
  EXPECT_EQ(l.args.pointer(kParamTileCounter), workspace);
  // Other schedulers pass a null counter and need no workspace.
  Planned single = plan(gqaArgs(), singleTile);
  EXPECT_FALSE(single.plan.tileCounter);
  EXPECT_EQ(single.plan.launches[0].args.pointer(kParamTileCounter), nullptr);
}

TEST(LaunchPlan, ScalarParametersFollowTheKernelAbi) {
  Planned p = plan(gqaArgs());
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  const KernelArgPack &args = p.plan.launches[0].args;
  std::string message;
  EXPECT_TRUE(args.complete(message)) << message;
  EXPECT_EQ(args.i32(kParamSeqlenQ), 300);
  EXPECT_EQ(args.i32(kParamSeqlenK), 200);
  EXPECT_EQ(args.i32(kParamHeadsQ), 12);
  EXPECT_EQ(args.i32(kParamBatch), 3);
  EXPECT_EQ(args.i32(kParamHeadsPerKvHead), 3);
  EXPECT_FLOAT_EQ(args.f32(kParamScaleLog2), float(0.25 * M_LOG2E));
  EXPECT_EQ(args.i64(kParamOutBatchStride), 300 * 12 * 128);
  EXPECT_EQ(args.i64(kParamOutRowStride), 12 * 128);
  EXPECT_EQ(args.i64(kParamOutHeadStride), 128);
  // No LSE: null pointer and zero strides.
  EXPECT_EQ(args.pointer(kParamLse), nullptr);
  EXPECT_EQ(args.i64(kParamLseBatchStride), 0);
  EXPECT_EQ(args.i64(kParamLseHeadStride), 0);
  // A parameter read as another type than its table's is 0.
  EXPECT_EQ(args.i64(kParamSeqlenQ), 0);
}

TEST(LaunchPlan, TensorMapsUseTheGeometryBoxes) {
  Planned p = plan(gqaArgs(),
                   [](ScheduleSpec &s) { s.epilogue = EpilogueKind::Registers; });
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  const KernelArgPack &args = p.plan.launches[0].args;
  const TensorMapDesc *q = args.tensorMap(kParamTmaQ);
  const TensorMapDesc *k = args.tensorMap(kParamTmaK);
  const TensorMapDesc *v = args.tensorMap(kParamTmaV);
  ASSERT_TRUE(q && k && v);
  EXPECT_EQ(q->boxRows, p.geometry.qBoxRows);
  EXPECT_EQ(k->boxRows, p.geometry.kvBoxRows);
  EXPECT_EQ(v->boxRows, p.geometry.kvBoxRows);
  EXPECT_EQ(q->boxCols, p.geometry.boxCols);
  EXPECT_EQ(k->heads, 4);
  EXPECT_EQ(k->seqlen, 200);
  EXPECT_EQ(q->heads, 12);
  EXPECT_EQ(q->dtype, DType::FP16);
  EXPECT_EQ(q->swizzleBytes, p.spec.schedule.swizzle);
  // K and V take the schedule's L2 promotion (default 128 bytes), Q keeps 256.
  EXPECT_EQ(k->l2PromotionBytes, 128);
  EXPECT_EQ(v->l2PromotionBytes, 128);
  EXPECT_EQ(q->l2PromotionBytes, 256);
  // The register epilogue reads no O map.
  EXPECT_EQ(args.tensorMap(kParamTmaO), nullptr);
  Planned none = plan(gqaArgs(), [](ScheduleSpec &s) {
    s.epilogue = EpilogueKind::Registers;
    s.kvL2Promotion = 0;
  });
  ASSERT_EQ(none.status, FLASHCORE_STATUS_SUCCESS) << none.message;
  EXPECT_EQ(none.plan.launches[0].args.tensorMap(kParamTmaK)->l2PromotionBytes,
            0);
  EXPECT_EQ(none.plan.launches[0].args.tensorMap(kParamTmaV)->l2PromotionBytes,
            0);
}

TEST(LaunchPlan, TmaEpilogueGetsAnOMapOf64RowBoxes) {
  flashcore_attention_args a = gqaArgs();
  Planned p =
      plan(a, [](ScheduleSpec &s) { s.epilogue = EpilogueKind::Tma; });
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  const TensorMapDesc *o = p.plan.launches[0].args.tensorMap(kParamTmaO);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->boxRows, 64);
  EXPECT_EQ(o->base, a.o);
  EXPECT_EQ(o->heads, 12);
  EXPECT_EQ(o->seqlen, 300);
  EXPECT_EQ(o->rowStride, 12 * 128);
}

TEST(LaunchPlan, PassesLseStridesWhenLseIsGiven) {
  flashcore_attention_args a = gqaArgs();
  a.lse = static_cast<float *>(fakePtr(0x50000));
  Planned p = plan(a);
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  const KernelArgPack &args = p.plan.launches[0].args;
  EXPECT_EQ(args.pointer(kParamLse), a.lse);
  EXPECT_EQ(args.i64(kParamLseHeadStride), 300);
  EXPECT_EQ(args.i64(kParamLseBatchStride), 12 * 300);
}

/// Decode against a paged cache: batch 2, one query token, 32 / 8 heads,
/// d128, pools of 40 pages of `pageSize` rows, tables of 10 columns.
flashcore_attention_args pagedArgs(int64_t pageSize) {
  const int64_t pages = 40, columns = 10;
  flashcore_attention_args a = contiguousArgs(
      fakePtr(0x10000), fakePtr(0x100000), fakePtr(0x900000),
      fakePtr(0x40000), /*batch=*/2, /*seqlenQ=*/1,
      /*seqlenK=*/columns * pageSize, /*headsQ=*/32, /*headsKv=*/8,
      /*headDim=*/128, FLASHCORE_DTYPE_BF16, /*causal=*/true, 0.0f);
  // (num_pages, page_size, heads_kv, d) pools.
  for (int64_t *s : {&a.k_batch_stride, &a.v_batch_stride})
    *s = pageSize * 8 * 128;
  a.cache_seqlens = static_cast<const int32_t *>(fakePtr(0x60000));
  a.page_table = static_cast<const int32_t *>(fakePtr(0x70000));
  a.page_table_batch_stride = columns;
  a.page_size = pageSize;
  a.num_pages = pages;
  return a;
}

TEST(LaunchPlan, PagedCacheMapsPagePoolsInChunksOfOnePage) {
  for (int64_t pageSize : {16, 64, 256}) {
    flashcore_attention_args a = pagedArgs(pageSize);
    Planned p = plan(a);
    ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
    EXPECT_TRUE(p.spec.problem.pagedKv);
    const KernelArgPack &args = p.plan.launches[0].args;
    const int chunk = pageChunkRows(pageSize, p.spec.schedule.blockN);
    EXPECT_EQ(chunk, std::min<int64_t>(pageSize, 128));
    for (int map : {int(kParamTmaK), int(kParamTmaV)}) {
      const TensorMapDesc *kv = args.tensorMap(map);
      ASSERT_NE(kv, nullptr);
      EXPECT_EQ(kv->seqlen, pageSize);
      EXPECT_EQ(kv->batch, 40);
      EXPECT_EQ(kv->batchStride, pageSize * 8 * 128);
      EXPECT_EQ(kv->boxRows, chunk);
    }
    // Q keeps the batch of sequences.
    EXPECT_EQ(args.tensorMap(kParamTmaQ)->batch, 2);
    EXPECT_EQ(args.pointer(kParamPageTable), a.page_table);
    EXPECT_EQ(args.i64(kParamPageTableStride), 10);
    EXPECT_EQ(args.i32(kParamPageSize), int32_t(pageSize));
    EXPECT_EQ(args.i32(kParamPageChunkRows), chunk);
    EXPECT_EQ(args.i32(kParamNumPages), 40);
    EXPECT_EQ(args.i32(kParamSeqlenK), int32_t(10 * pageSize));
  }
}

TEST(LaunchPlan, UnpagedCallsPassNoPageTable) {
  Planned p = plan(gqaArgs());
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  EXPECT_FALSE(p.spec.problem.pagedKv);
  const KernelArgPack &args = p.plan.launches[0].args;
  EXPECT_EQ(args.pointer(kParamPageTable), nullptr);
  EXPECT_EQ(args.i32(kParamPageChunkRows), 0);
}

TEST(LaunchPlan, PagedPoolStridesAreCheckedAgainstThePages) {
  // A page stride smaller than one page's rows overlaps pages.
  flashcore_attention_args a = pagedArgs(64);
  a.k_batch_stride = 63 * 8 * 128;
  AttentionCall call;
  std::string message;
  EXPECT_EQ(validateAttentionArgs(&a, call, message),
            FLASHCORE_STATUS_OVERLAPPING_STRIDES);
  EXPECT_EQ(message.rfind("k ", 0), 0u) << message;
}

//===----------------------------------------------------------------------===//
// Prepared launches: new tensors in a finalized plan
//===----------------------------------------------------------------------===//

/// A driver whose tensor maps hold their global address in the first 8
/// bytes (what the fakes below write), counting encodes and rebases.
int fakeEncodes = 0, fakeReplaces = 0;
CUresult fakeEncode(CUtensorMap *map, CUtensorMapDataType, cuuint32_t,
                    void *base, const cuuint64_t *, const cuuint64_t *,
                    const cuuint32_t *, const cuuint32_t *,
                    CUtensorMapInterleave, CUtensorMapSwizzle,
                    CUtensorMapL2promotion, CUtensorMapFloatOOBfill) {
  ++fakeEncodes;
  std::memset(map, 0, sizeof *map);
  std::memcpy(map, &base, sizeof base);
  return CUDA_SUCCESS;
}
CUresult fakeReplace(CUtensorMap *map, void *base) {
  ++fakeReplaces;
  std::memcpy(map, &base, sizeof base);
  return CUDA_SUCCESS;
}
const void *mapAddress(void **params, int index) {
  const void *base = nullptr;
  std::memcpy(&base, params[index], sizeof base);
  return base;
}
const void *pointerParam(void **params, int index) {
  const void *p = nullptr;
  std::memcpy(&p, params[index], sizeof p);
  return p;
}

TEST(LaunchPlan, SetTensorsRebasesEveryMapAndPointer) {
  for (bool replace : {true, false}) {
    cuda::DriverApi driver;
    driver.cuTensorMapEncodeTiledFn = &fakeEncode;
    driver.cuTensorMapReplaceAddressFn = replace ? &fakeReplace : nullptr;
    // Addresses of their own per pass: finalize's thread-local cache of
    // encoded maps must not answer for the second pass.
    const uintptr_t at = replace ? 0 : 0x1000000;
    flashcore_attention_args a = contiguousArgs(
        fakePtr(at + 0x10000), fakePtr(at + 0x20000), fakePtr(at + 0x30000),
        fakePtr(at + 0x40000), 3, 300, 200, 12, 4, 128, FLASHCORE_DTYPE_FP16,
        true, 0.25f);
    a.lse = static_cast<float *>(fakePtr(at + 0x50000));
    Planned p =
        plan(a, [](ScheduleSpec &s) { s.epilogue = EpilogueKind::Tma; });
    ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
    KernelArgPack &args = p.plan.launches[0].args;
    fakeEncodes = fakeReplaces = 0;
    std::string message;
    void **params = args.finalize(driver, message);
    ASSERT_NE(params, nullptr) << message;
    EXPECT_EQ(fakeEncodes, 4);
    EXPECT_EQ(mapAddress(params, kParamTmaQ), a.q);
    // Finalized again with nothing changed: no encode.
    ASSERT_NE(args.finalize(driver, message), nullptr);
    EXPECT_EQ(fakeEncodes, 4);
    // New q, v, o, lse; k unchanged (not rebased).
    void *q2 = fakePtr(at + 0x110000), *v2 = fakePtr(at + 0x130000),
         *o2 = fakePtr(at + 0x140000);
    auto *lse2 = static_cast<float *>(fakePtr(at + 0x150000));
    ASSERT_TRUE(p.plan.setTensors(driver, q2, a.k, v2, o2, lse2, message))
        << message;
    params = args.finalize(driver, message);
    ASSERT_NE(params, nullptr) << message;
    EXPECT_EQ(mapAddress(params, kParamTmaQ), q2);
    EXPECT_EQ(mapAddress(params, kParamTmaK), a.k);
    EXPECT_EQ(mapAddress(params, kParamTmaV), v2);
    EXPECT_EQ(mapAddress(params, kParamTmaO), o2);
    EXPECT_EQ(pointerParam(params, kParamOut), o2);
    EXPECT_EQ(pointerParam(params, kParamLse), lse2);
    EXPECT_EQ(replace ? fakeReplaces : fakeEncodes - 4, 3);
    EXPECT_EQ(replace ? fakeEncodes - 4 : fakeReplaces, 0);
    EXPECT_EQ(args.tensorMap(kParamTmaQ)->base, q2);
    // A moved plan's array points into the new object.
    LaunchPlan moved = p.plan;
    ASSERT_TRUE(moved.setTensors(driver, a.q, a.k, a.v, a.o, a.lse, message));
    params = moved.launches[0].args.finalize(driver, message);
    ASSERT_NE(params, nullptr);
    EXPECT_EQ(mapAddress(params, kParamTmaQ), a.q);
    EXPECT_EQ(pointerParam(params, kParamOut), a.o);
    EXPECT_EQ(mapAddress(p.plan.launches[0].args.finalize(driver, message),
                         kParamTmaQ),
              q2);
  }
}

TEST(LaunchPlan, SetTensorsReachesTheCombineLaunch) {
  flashcore_attention_args a = contiguousArgs(
      fakePtr(0x10000), fakePtr(0x100000), fakePtr(0x900000),
      fakePtr(0x40000), /*batch=*/2, /*seqlenQ=*/1, /*seqlenK=*/4096,
      /*headsQ=*/32, /*headsKv=*/8, /*headDim=*/128, FLASHCORE_DTYPE_BF16,
      /*causal=*/false, 0.0f);
  a.lse = static_cast<float *>(fakePtr(0x50000));
  a.num_splits = 4;
  Planned p = plan(a);
  ASSERT_EQ(p.status, FLASHCORE_STATUS_SUCCESS) << p.message;
  ASSERT_EQ(p.plan.numLaunches, 2);
  cuda::DriverApi driver;
  driver.cuTensorMapEncodeTiledFn = &fakeEncode;
  driver.cuTensorMapReplaceAddressFn = &fakeReplace;
  std::string message;
  void *o2 = fakePtr(0x240000);
  auto *lse2 = static_cast<float *>(fakePtr(0x250000));
  ASSERT_TRUE(p.plan.setTensors(driver, a.q, a.k, a.v, o2, lse2, message));
  const KernelArgPack &merge = p.plan.launches[1].args;
  EXPECT_EQ(merge.pointer(kCombineOut), o2);
  EXPECT_EQ(merge.pointer(kCombineLse), lse2);
  EXPECT_EQ(p.plan.launches[0].args.pointer(kParamOut), o2);
}

// streamTileCounter (FLASHCORE_TILE_COUNTER=stream), on a fake driver: one
// zeroed counter per (context, stream), made once and zeroed on that stream;
// none while the stream captures or without the driver's stream queries.
CUstreamCaptureStatus fakeCapture = CU_STREAM_CAPTURE_STATUS_NONE;
int fakeAllocs = 0, fakeMemsets = 0;
CUstream fakeMemsetStream = nullptr;
CUresult fakeIsCapturing(CUstream, CUstreamCaptureStatus *status) {
  *status = fakeCapture;
  return CUDA_SUCCESS;
}
CUresult fakeStreamId(CUstream stream, unsigned long long *id) {
  *id = static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(stream));
  return CUDA_SUCCESS;
}
CUresult fakeAllocAsync(CUdeviceptr *ptr, size_t bytes, CUstream) {
  *ptr = 0x7000000 + 0x1000 * static_cast<CUdeviceptr>(++fakeAllocs);
  return bytes >= 8 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
CUresult fakeMemsetAsync(CUdeviceptr, unsigned char value, size_t bytes,
                         CUstream stream) {
  ++fakeMemsets;
  fakeMemsetStream = stream;
  return value == 0 && bytes >= 8 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
CUresult fakeFreeAsync(CUdeviceptr, CUstream) { return CUDA_SUCCESS; }

TEST(LaunchPlan, StreamTileCounterIsOnePerStreamZeroedOnIt) {
  cuda::DriverApi driver;
  driver.cuMemAllocAsyncFn = &fakeAllocAsync;
  driver.cuMemsetD8AsyncFn = &fakeMemsetAsync;
  driver.cuMemFreeAsyncFn = &fakeFreeAsync;
  // Contexts of this run's own (the registry is process-wide and keeps its
  // counters: --gtest_repeat runs again with new ones).
  static uintptr_t run = 0;
  const uintptr_t at = 0x5a000000 + 0x20000 * ++run;
  auto *ctx = reinterpret_cast<CUcontext>(fakePtr(at));
  auto *s1 = reinterpret_cast<CUstream>(fakePtr(0x11));
  auto *s2 = reinterpret_cast<CUstream>(fakePtr(0x22));
  // Without the driver's stream queries: the per-call path.
  EXPECT_EQ(streamTileCounter(driver, ctx, s1), 0u);
  driver.cuStreamIsCapturingFn = &fakeIsCapturing;
  driver.cuStreamGetIdFn = &fakeStreamId;
  fakeAllocs = fakeMemsets = 0;
  // Capturing: a graph may replay anywhere, so no shared counter.
  fakeCapture = CU_STREAM_CAPTURE_STATUS_ACTIVE;
  EXPECT_EQ(streamTileCounter(driver, ctx, s1), 0u);
  EXPECT_EQ(fakeAllocs, 0);
  fakeCapture = CU_STREAM_CAPTURE_STATUS_NONE;
  CUdeviceptr c1 = streamTileCounter(driver, ctx, s1);
  ASSERT_NE(c1, 0u);
  EXPECT_EQ(fakeAllocs, 1);
  EXPECT_EQ(fakeMemsets, 1);
  EXPECT_EQ(fakeMemsetStream, s1);
  // The same stream again: the same counter, neither allocated nor zeroed.
  EXPECT_EQ(streamTileCounter(driver, ctx, s1), c1);
  EXPECT_EQ(fakeAllocs, 1);
  EXPECT_EQ(fakeMemsets, 1);
  // Another stream: its own, zeroed on it.
  CUdeviceptr c2 = streamTileCounter(driver, ctx, s2);
  ASSERT_NE(c2, 0u);
  EXPECT_NE(c2, c1);
  EXPECT_EQ(fakeMemsetStream, s2);
  // Another context, same stream id: its own.
  auto *ctx2 = reinterpret_cast<CUcontext>(fakePtr(at + 0x10000));
  CUdeviceptr c3 = streamTileCounter(driver, ctx2, s1);
  EXPECT_NE(c3, c1);
  EXPECT_NE(c3, c2);
}

TEST(LaunchPlan, StreamTileCountersAreOffByDefault) {
  // Read once per process: only meaningful where the variable is unset.
  if (std::getenv("FLASHCORE_TILE_COUNTER"))
    GTEST_SKIP() << "FLASHCORE_TILE_COUNTER is set";
  EXPECT_FALSE(streamTileCountersEnabled());
}

} // namespace
