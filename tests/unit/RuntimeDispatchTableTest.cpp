//===- RuntimeDispatchTableTest.cpp - The shipped dispatch table ----------===//
//
// The embedded specs/dispatch/table.yaml loads, every entry gives a valid
// spec for every problem it can match, lookups pick the expected entries;
// the table format's rules each have a failing case; the Dispatcher's
// per-class cache and the lock-free map under it behave.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCacheTestUtil.h"
#include "runtime/Dispatch.h"
#include "runtime/DispatchTable.h"
#include "runtime/FastTable.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace flashcore;
using namespace flashcore::testing;

namespace {

DispatchQuery query(DType dtype, int headDim, bool causal = false,
                    int64_t seqlenK = 4096, int64_t gqa = 1) {
  DispatchQuery q;
  q.problem.dtype = dtype;
  q.problem.headDim = headDim;
  q.problem.causal = causal;
  q.seqlenQ = seqlenK;
  q.seqlenK = seqlenK;
  q.gqaRatio = gqa;
  return q;
}

const DispatchTable &shipped() { return *DispatchTable::active(); }

TEST(DispatchTable, TheShippedTableLoads) {
  const DispatchTable &t = shipped();
  EXPECT_EQ(t.source(), "specs/dispatch/table.yaml");
  ASSERT_EQ(t.seqlenClasses().size(), 4u);
  EXPECT_EQ(t.seqlenClasses()[0].name, "short");
  EXPECT_EQ(t.seqlenClasses()[0].max, 1024);
  EXPECT_EQ(t.seqlenClasses()[1].name, "medium");
  EXPECT_EQ(t.seqlenClasses()[1].max, 4096);
  EXPECT_EQ(t.seqlenClasses()[2].name, "long");
  EXPECT_EQ(t.seqlenClasses()[2].max, 8192);
  EXPECT_FALSE(t.seqlenClasses()[3].max.has_value());
  EXPECT_GE(t.entries().size(), 5u);
}

TEST(DispatchTable, EveryShippedSpecFileIsEmbeddedAndValid) {
  int specs = 0;
  for (const std::string &name : DispatchTable::embeddedFileNames()) {
    if (name.rfind("dispatch/", 0) == 0)
      continue;
    std::string text;
    ASSERT_TRUE(DispatchTable::embeddedFile(name, text));
    AttentionSpec spec;
    SpecDiagnostic diag;
    EXPECT_TRUE(parseSpec(text, name, spec, diag)) << diag.str();
    ++specs;
  }
  EXPECT_GE(specs, 5);
}

TEST(DispatchTable, EveryEntryIsValidForEveryProblemItMatches) {
  const DispatchTable &t = shipped();
  std::set<std::string> reached;
  int problems = 0;
  for (DType dtype : {DType::BF16, DType::FP16})
    for (int d = 16; d <= 256; d += 16)
      for (int flags = 0; flags < 256; ++flags)
        for (int64_t gqa : {1, 2, 8})
          for (int64_t seqlenK : {128, 1024, 1025, 65536}) {
            DispatchQuery q = query(dtype, d, flags & 1, seqlenK, gqa);
            q.problem.local = flags & 2;
            q.problem.softcap = flags & 4;
            q.problem.varlen = flags & 8;
            // The kernel shape the runtime picks per call (decode, paging).
            q.problem.cacheSeqlens = flags & 16;
            q.problem.splitKv = flags & 32;
            q.problem.packGqa = flags & 64;
            q.problem.pagedKv = flags & 128;
            if (q.problem.local && q.problem.causal)
              continue; // not a problem (causal is a window)
            const DispatchEntry *e = t.match(q);
            if (!e)
              continue;
            reached.insert(e->name);
            ++problems;
            AttentionSpec heuristic;
            heuristic.problem = q.problem;
            heuristic.schedule = defaultSchedule(q.problem);
            bool heuristicValid = !validateSpec(heuristic).has_value();
            AttentionSpec spec;
            std::string error;
            bool valid = DispatchTable::specFor(*e, q.problem, spec, error);
            if (e->spec || heuristicValid) {
              EXPECT_TRUE(valid) << error;
            }
            if (valid) {
              EXPECT_EQ(spec.problem.headDim, d);
              EXPECT_EQ(spec.problem.dtype, dtype);
            }
          }
  EXPECT_GT(problems, 1000);
  for (const DispatchEntry &e : t.entries())
    EXPECT_TRUE(reached.count(e.name))
        << "entry '" << e.name << "' matches no problem";
}

TEST(DispatchTable, LookupPicksTheExpectedEntry) {
  const DispatchTable &t = shipped();
  auto picked = [&](DispatchQuery q) {
    const DispatchEntry *e = t.match(q);
    return e ? e->name : std::string("(none)");
  };
  // Dense prefill: the measured schedules, by head dim, causal and length.
  EXPECT_EQ(picked(query(DType::BF16, 128)), "dense-d128-noncausal-short-medium");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 8192)), "dense-d128-noncausal");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 1024)), "dense-d128-noncausal-short-medium");
  EXPECT_EQ(picked(query(DType::BF16, 128, true)), "dense-d128-causal-medium-long");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 1024)), "dense-d128-causal-short");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 2048)), "dense-d128-causal-medium-long");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 8192)), "dense-d128-causal-medium-long");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 8193)), "dense-d128-causal");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 16384)), "dense-d128-causal");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 16384)), "dense-d128-noncausal");
  EXPECT_EQ(picked(query(DType::BF16, 64, true, 16384)), "dense-d64-causal");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 2048)), "dense-d128-noncausal-short-medium");
  EXPECT_EQ(picked(query(DType::BF16, 64, true, 2048)), "dense-d64-causal-medium");
  EXPECT_EQ(picked(query(DType::BF16, 64, true, 4096)), "dense-d64-causal-medium");
  EXPECT_EQ(picked(query(DType::BF16, 64, true, 4097)), "dense-d64-causal");
  EXPECT_EQ(picked(query(DType::FP16, 128)), "dense-d128-noncausal-short-medium");
  EXPECT_EQ(picked(query(DType::FP16, 128, true, 512, 4)), "dense-d128-causal-short");
  EXPECT_EQ(picked(query(DType::BF16, 64)), "dense-d64-noncausal");
  EXPECT_EQ(picked(query(DType::BF16, 64, false, 512)), "dense-d64-noncausal-short");
  EXPECT_EQ(picked(query(DType::BF16, 64, true)), "dense-d64-causal-medium");
  EXPECT_EQ(picked(query(DType::BF16, 64, true, 512)), "dense-d64-causal-short");
  EXPECT_EQ(picked(query(DType::FP16, 256, true)), "dense-d256-short-long");
  EXPECT_EQ(picked(query(DType::BF16, 256, false, 512)), "dense-d256-short-long");
  EXPECT_EQ(picked(query(DType::FP16, 256, true, 16384)), "dense-d256");
  EXPECT_EQ(picked(query(DType::BF16, 96)), "heuristics");
  // A KV-cache call keeps the heuristics' schedule.
  DispatchQuery decode = query(DType::BF16, 128, false, 8192, 4);
  decode.problem.cacheSeqlens = true;
  decode.problem.splitKv = true;
  EXPECT_EQ(picked(decode), "heuristics");
  decode.problem.causal = true;
  decode.problem.splitKv = false;
  decode.problem.packGqa = true;
  EXPECT_EQ(picked(decode), "heuristics");
  DispatchQuery softcap = query(DType::BF16, 128);
  softcap.problem.softcap = true;
  EXPECT_EQ(picked(softcap), "heuristics");
  DispatchQuery varlen = query(DType::FP16, 128, true);
  varlen.problem.varlen = true;
  EXPECT_EQ(picked(varlen), "heuristics");
  DispatchQuery otherArch = query(DType::BF16, 128);
  otherArch.arch = "sm_100a";
  EXPECT_EQ(picked(otherArch), "(none)");
}

TEST(DispatchTable, SeqlenClassesSplitAt1024And4096And8192) {
  EXPECT_EQ(shipped().seqlenClassOf(1), 0);
  EXPECT_EQ(shipped().seqlenClassOf(1024), 0);
  EXPECT_EQ(shipped().seqlenClassOf(1025), 1);
  EXPECT_EQ(shipped().seqlenClassOf(4096), 1);
  EXPECT_EQ(shipped().seqlenClassOf(4097), 2);
  EXPECT_EQ(shipped().seqlenClassOf(8192), 2);
  EXPECT_EQ(shipped().seqlenClassOf(8193), 3);
  EXPECT_EQ(shipped().seqlenClassOf(int64_t(1) << 31), 3);
}

const char *kTable = R"(version: 1
seqlen_classes:
  - {name: short, max: 1024}
  - {name: medium, max: 8192}
  - {name: long}
entries:
  - name: gqa-short
    match: {dtype: bf16, head_dim: 128, gqa: [4, 8], seqlen: [short]}
    schedule: {block_n: 64, stages: 3}
  - name: d128-spec
    match: {seqlen: [medium, long]}
    spec: default.yaml
  - name: rest
    schedule: {}
)";

DispatchTable parsed(const std::string &text, std::string &error) {
  DispatchTable t;
  EXPECT_TRUE(DispatchTable::parse(text, "t.yaml",
                                   DispatchTable::embeddedResolver(), t, error))
      << error;
  return t;
}

TEST(DispatchTable, FirstMatchWinsWithRangesAndClasses) {
  std::string error;
  DispatchTable t = parsed(kTable, error);
  auto picked = [&](DispatchQuery q) { return t.match(q)->name; };
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 1000, 4)), "gqa-short");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 1000, 8)), "gqa-short");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 1000, 16)), "rest");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 1000, 1)), "rest");
  EXPECT_EQ(picked(query(DType::BF16, 128, false, 2000, 4)), "d128-spec");
  EXPECT_EQ(picked(query(DType::BF16, 128, true, 2000, 4)), "rest");
  EXPECT_EQ(picked(query(DType::FP16, 128, false, 2000, 1)), "rest");
  EXPECT_EQ(t.seqlenClassOf(8192), 1);
  EXPECT_EQ(t.seqlenClassOf(8193), 2);
}

TEST(DispatchTable, ScheduleEntriesResolveTheRestFromDefaults) {
  std::string error;
  DispatchTable t = parsed(kTable, error);
  DispatchQuery q = query(DType::BF16, 128, false, 1000, 4);
  AttentionSpec spec;
  ASSERT_TRUE(DispatchTable::specFor(*t.match(q), q.problem, spec, error))
      << error;
  EXPECT_EQ(spec.schedule.blockN, 64);
  EXPECT_EQ(spec.schedule.stages, 3);
  EXPECT_EQ(spec.schedule.blockM, defaultSchedule(q.problem).blockM);
}

struct BadTable {
  const char *name;
  std::string text;
  const char *message;
};

class DispatchTableErrorTest : public ::testing::TestWithParam<BadTable> {};

TEST_P(DispatchTableErrorTest, IsRejectedWithAMessage) {
  DispatchTable t;
  std::string error;
  EXPECT_FALSE(DispatchTable::parse(
      GetParam().text, "t.yaml", DispatchTable::embeddedResolver(), t, error));
  EXPECT_NE(error.find(GetParam().message), std::string::npos) << error;
  EXPECT_EQ(error.rfind("t.yaml:", 0), 0u) << error;
}

const std::string kHead = "version: 1\nseqlen_classes:\n  - {name: short, "
                          "max: 1024}\n  - {name: long}\nentries:\n";

INSTANTIATE_TEST_SUITE_P(
    Rules, DispatchTableErrorTest,
    ::testing::Values(
        BadTable{"UnknownKey",
                 kHead + "  - {name: a, schedule: {}, colour: red}\n",
                 "unknown key 'colour'"},
        BadTable{"WrongVersion", "version: 2\nentries: []\n",
                 "version must be 1, got: 2"},
        BadTable{"SpecAndSchedule",
                 kHead + "  - {name: a, spec: default.yaml, schedule: {}}\n",
                 "entry 'a': must have exactly one of spec and schedule"},
        BadTable{"NeitherSpecNorSchedule", kHead + "  - {name: a}\n",
                 "must have exactly one of spec and schedule"},
        BadTable{"UnknownSpecFile", kHead + "  - {name: a, spec: nope.yaml}\n",
                 "no shipped spec file specs/nope.yaml"},
        BadTable{"MatchContradictsSpec",
                 kHead + "  - {name: a, match: {causal: true}, spec: "
                         "default.yaml}\n",
                 "match contradicts the problem of default.yaml"},
        BadTable{"UnknownSeqlenClass",
                 kHead +
                     "  - {name: a, match: {seqlen: [tiny]}, schedule: {}}\n",
                 "match.seqlen names no seqlen class, got: tiny"},
        BadTable{"BadGqaRange",
                 kHead + "  - {name: a, match: {gqa: [8, 4]}, schedule: {}}\n",
                 "match.gqa must be [min, max]"},
        BadTable{"BadDtype",
                 kHead + "  - {name: a, match: {dtype: fp8}, schedule: {}}\n",
                 "match.dtype must be bf16 or fp16, got: fp8"},
        BadTable{"LastClassHasAMax",
                 "version: 1\nseqlen_classes:\n  - {name: a, max: 10}\n"
                 "entries: []\n",
                 "must have no max (it is the last class)"},
        BadTable{"ClassesNotIncreasing",
                 "version: 1\nseqlen_classes:\n  - {name: a, max: 10}\n"
                 "  - {name: b, max: 5}\n  - {name: c}\nentries: []\n",
                 "max must be >= 1 and above the previous class's, got: 5"},
        BadTable{"NotAnInteger",
                 kHead + "  - {name: a, schedule: {block_n: big}}\n",
                 "schedule.block_n must be an integer, got: big"}),
    [](const auto &info) { return std::string(info.param.name); });

//===----------------------------------------------------------------------===//
// Dispatcher over a table
//===----------------------------------------------------------------------===//

std::shared_ptr<const DispatchTable> table(const char *text) {
  auto t = std::make_shared<DispatchTable>();
  std::string error;
  EXPECT_TRUE(DispatchTable::parse(
      text, "t.yaml", DispatchTable::embeddedResolver(), *t, error))
      << error;
  return t;
}

TEST(Dispatcher, UsesTheTableThenTheHeuristics) {
  Dispatcher d(table(kTable));
  AttentionSpec spec;
  std::string error, source;
  ASSERT_EQ(
      d.choose(query(DType::BF16, 128, false, 512, 4), spec, error, &source),
      DispatchStatus::Ok)
      << error;
  EXPECT_EQ(spec.schedule.blockN, 64);
  EXPECT_EQ(source, "dispatch table entry 'gqa-short' (t.yaml)");
  Dispatcher empty(std::make_shared<DispatchTable>());
  ASSERT_EQ(empty.choose(query(DType::BF16, 128, false, 512, 4), spec, error,
                         &source),
            DispatchStatus::Ok);
  EXPECT_EQ(source, "heuristics");
  EXPECT_EQ(spec.schedule.blockN, defaultSchedule(spec.problem).blockN);
}

TEST(Dispatcher, ResolveCachesOneChoicePerDispatchClass) {
  Dispatcher d(table(kTable));
  DispatchStatus status;
  std::string error;
  KernelChoice *a =
      d.resolve(query(DType::BF16, 128, false, 512, 4), status, error);
  ASSERT_NE(a, nullptr) << error;
  EXPECT_EQ(a->spec.schedule.blockN, 64);
  EXPECT_EQ(a->geometry.threadsPerCta, computeGeometry(a->spec).threadsPerCta);
  // Same class (seqlen 900 is also short): the same choice object.
  EXPECT_EQ(d.resolve(query(DType::BF16, 128, false, 900, 4), status, error),
            a);
  KernelChoice *longer =
      d.resolve(query(DType::BF16, 128, false, 5000, 4), status, error);
  ASSERT_NE(longer, nullptr);
  EXPECT_NE(longer, a);
  EXPECT_EQ(longer->spec.schedule.blockN, 128);
  // A new override forgets the cached choices (old ones stay valid).
  ASSERT_TRUE(d.setOverrideText("problem:\n  dtype: bf16\n  head_dim: 128\n"
                                "schedule:\n  stages: 1\n",
                                "api", error));
  KernelChoice *overridden =
      d.resolve(query(DType::BF16, 128, false, 512, 4), status, error);
  ASSERT_NE(overridden, nullptr) << error;
  EXPECT_NE(overridden, a);
  EXPECT_EQ(overridden->spec.schedule.stages, 1);
  EXPECT_EQ(overridden->source, "api");
  EXPECT_EQ(a->spec.schedule.blockN, 64);
}

TEST(Dispatcher, FailuresAreNotCached) {
  Dispatcher d(table(kTable));
  std::string error;
  ASSERT_TRUE(d.setOverrideText("problem:\n  dtype: fp16\n  head_dim: 64\n",
                                "api", error));
  DispatchStatus status;
  EXPECT_EQ(d.resolve(query(DType::BF16, 128), status, error), nullptr);
  EXPECT_EQ(status, DispatchStatus::SpecMismatch);
  d.clearOverride();
  EXPECT_NE(d.resolve(query(DType::BF16, 128), status, error), nullptr);
}

TEST(Dispatcher, ClassKeysSeparateEveryDispatchField) {
  Dispatcher d(table(kTable));
  std::set<uint64_t> keys;
  DispatchQuery base = query(DType::BF16, 128, false, 512, 1);
  std::vector<DispatchQuery> variants(9, base);
  variants[1].problem.dtype = DType::FP16;
  variants[2].problem.headDim = 64;
  variants[3].problem.causal = true;
  variants[4].problem.local = true;
  variants[5].problem.softcap = true;
  variants[6].problem.varlen = true;
  variants[7].seqlenK = 2000;
  variants[8].gqaRatio = 4;
  for (const DispatchQuery &q : variants) {
    uint64_t k = d.classKey(q);
    EXPECT_NE(k, 0u);
    EXPECT_TRUE(keys.insert(k).second);
  }
  DispatchQuery sameClass = base;
  sameClass.seqlenK = 1000;
  sameClass.seqlenQ = 65; // still more rows than one warpgroup's 64
  EXPECT_EQ(d.classKey(sameClass), d.classKey(base));
}

TEST(Dispatcher, ATableClusterEntryRunsOddBlockCountsWithoutIt) {
  Dispatcher d(table(R"(version: 1
entries:
  - name: clustered
    match: {head_dim: 128, causal: false}
    schedule: {cluster_m: 2}
)"));
  DispatchQuery q = query(DType::BF16, 128, false, 4096);
  AttentionSpec spec;
  std::string error;
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.clusterM, 2); // 32 query blocks of 128
  const uint64_t evenKey = d.classKey(q);
  q.seqlenQ = 3072; // 24 blocks (and even counts of 64, 192, 256 rows)
  EXPECT_EQ(d.classKey(q), evenKey);
  q.seqlenQ = 4096 - 128; // 31 blocks
  ASSERT_EQ(d.choose(q, spec, error), DispatchStatus::Ok) << error;
  EXPECT_EQ(spec.schedule.clusterM, 1);
  EXPECT_NE(d.classKey(q), evenKey);
}

TEST(KernelChoice, BindsOneFunctionPerContextFirstOneWins) {
  KernelChoice choice;
  auto fn = [](uintptr_t v) { return reinterpret_cast<CUfunction>(v); };
  EXPECT_EQ(choice.boundIn(1), nullptr);
  BoundKernel *a = choice.bind(1, BoundKernel{fn(0x10), nullptr, 0, 132, nullptr, nullptr});
  BoundKernel *b = choice.bind(2, BoundKernel{fn(0x20), nullptr, 1, 132, nullptr, nullptr});
  EXPECT_EQ(choice.boundIn(1), a);
  EXPECT_EQ(choice.boundIn(2), b);
  EXPECT_EQ(choice.boundIn(2)->function, fn(0x20));
  EXPECT_EQ(choice.boundIn(2)->device, 1);
  // A racing second load in the same context keeps the first function.
  EXPECT_EQ(choice.bind(1, BoundKernel{fn(0x30), nullptr, 0, 132, nullptr, nullptr}), a);
  EXPECT_EQ(choice.boundIn(1)->function, fn(0x10));
  EXPECT_EQ(choice.boundIn(3), nullptr);
}

TEST(InsertOnlyMap, GrowsAndKeepsEveryKey) {
  InsertOnlyMap<int> map(8);
  std::vector<int> values(1000);
  for (int i = 0; i < 1000; ++i) {
    values[i] = i;
    EXPECT_EQ(map.insert(uint64_t(i) + 1, &values[i]), &values[i]);
  }
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(map.find(uint64_t(i) + 1), &values[i]);
  EXPECT_EQ(map.find(5000), nullptr);
  int other = 0;
  EXPECT_EQ(map.insert(1, &other), &values[0]); // the first insert wins
  EXPECT_EQ(map.size(), 1000u);
  map.clear();
  EXPECT_EQ(map.find(1), nullptr);
}

TEST(InsertOnlyMap, ReadersRunningDuringInsertsSeeOnlyCompleteEntries) {
  InsertOnlyMap<int> map(8);
  constexpr int kKeys = 4000;
  std::vector<int> values(kKeys);
  for (int i = 0; i < kKeys; ++i)
    values[i] = i;
  std::atomic<bool> done{false};
  std::atomic<long> wrong{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      while (!done)
        for (int i = 0; i < kKeys; i += 7)
          if (int *v = map.find(uint64_t(i) + 1); v && *v != i)
            ++wrong;
    });
  for (int i = 0; i < kKeys; ++i)
    map.insert(uint64_t(i) + 1, &values[i]);
  done = true;
  for (std::thread &t : readers)
    t.join();
  EXPECT_EQ(wrong, 0);
  for (int i = 0; i < kKeys; ++i)
    ASSERT_EQ(map.find(uint64_t(i) + 1), &values[i]);
}

} // namespace
