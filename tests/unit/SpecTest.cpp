//===- SpecTest.cpp - Spec parsing, defaults and validation ---------------===//
//
// One failing case for every rule of docs/SPEC.md, each checking the field,
// the message and the line:column it points at.
//
//===----------------------------------------------------------------------===//

#include "compiler/KernelABI.h"
#include "compiler/Spec.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace flashcore;

namespace {

const char *kMinimal = "problem:\n"
                       "  dtype: bf16\n"
                       "  head_dim: 128\n";

SpecDiagnostic parseFailure(const std::string &text) {
  AttentionSpec spec;
  SpecDiagnostic diag;
  EXPECT_FALSE(parseSpec(text, "t.yaml", spec, diag)) << text;
  return diag;
}

AttentionSpec parseOk(const std::string &text) {
  AttentionSpec spec;
  SpecDiagnostic diag;
  EXPECT_TRUE(parseSpec(text, "t.yaml", spec, diag)) << diag.str();
  return spec;
}

std::string withSchedule(const std::string &line) {
  return std::string(kMinimal) + "schedule:\n  " + line + "\n";
}

TEST(SpecParse, MinimalSpecIsThreeLinesAndGetsDefaults) {
  AttentionSpec spec = parseOk(kMinimal);
  EXPECT_EQ(spec.problem.dtype, DType::BF16);
  EXPECT_EQ(spec.problem.headDim, 128);
  EXPECT_FALSE(spec.problem.causal);
  EXPECT_FALSE(spec.problem.softmaxScale.has_value());
  EXPECT_DOUBLE_EQ(spec.problem.effectiveSoftmaxScale(), 1.0 / std::sqrt(128.0));
  EXPECT_EQ(spec.schedule.blockM, 128);
  EXPECT_EQ(spec.schedule.blockN, 128);
  EXPECT_EQ(spec.schedule.stages, 2);
  EXPECT_EQ(spec.schedule.swizzle, 128);
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 2);
  EXPECT_EQ(spec.schedule.producerWarps, 1);
  EXPECT_EQ(spec.schedule.producerRegisters, 24);
  EXPECT_EQ(spec.schedule.consumerRegisters, 240);
}

TEST(SpecParse, ReadsEveryField) {
  AttentionSpec spec = parseOk("problem:\n"
                               "  dtype: fp16\n"
                               "  head_dim: 64\n"
                               "  causal: true\n"
                               "  softmax_scale: 0.5\n"
                               "schedule:\n"
                               "  block_m: 192\n"
                               "  block_n: 96\n"
                               "  stages: 3\n"
                               "  swizzle: 64\n"
                               "  consumer_warpgroups: 3\n"
                               "  producer_warps: 2\n"
                               "  producer_registers: 32\n"
                               "  consumer_registers: 160\n");
  EXPECT_EQ(spec.problem.dtype, DType::FP16);
  EXPECT_EQ(spec.problem.headDim, 64);
  EXPECT_TRUE(spec.problem.causal);
  EXPECT_DOUBLE_EQ(*spec.problem.softmaxScale, 0.5);
  EXPECT_EQ(spec.schedule.blockM, 192);
  EXPECT_EQ(spec.schedule.blockN, 96);
  EXPECT_EQ(spec.schedule.stages, 3);
  EXPECT_EQ(spec.schedule.swizzle, 64);
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 3);
  EXPECT_EQ(spec.schedule.producerWarps, 2);
  EXPECT_EQ(spec.schedule.producerRegisters, 32);
  EXPECT_EQ(spec.schedule.consumerRegisters, 160);
}

TEST(SpecParse, BlockMImpliesConsumerWarpgroupsAndRegisters) {
  AttentionSpec spec = parseOk(withSchedule("block_m: 192"));
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 3);
  EXPECT_EQ(spec.schedule.producerRegisters, 32);
  EXPECT_EQ(spec.schedule.consumerRegisters, 160);
  spec = parseOk(withSchedule("consumer_warpgroups: 1"));
  EXPECT_EQ(spec.schedule.blockM, 64);
  EXPECT_EQ(spec.schedule.consumerRegisters, 248);
}

// The consumers' default share is what is left of the CTA's register pool
// (threads * entry cap), never of the whole register file.
TEST(SpecParse, ConsumerRegistersFitThePool) {
  struct Row {
    const char *headDim, *schedule;
    int producer, consumer;
  };
  for (Row r : {Row{"128", "producer_registers: 24", 24, 240},
                Row{"128", "producer_registers: 32", 32, 232},
                Row{"128", "producer_registers: 56", 56, 224},
                Row{"128", "block_m: 192", 32, 160},
                // 640 threads start with 96: (5 * 96 - 32) / 4 = 112 (the
                // whole file's share, (512 - 32) / 4 = 120, would hang).
                Row{"64", "block_m: 256\n  block_n: 64", 32, 112},
                // Two CTAs per SM: 256 threads start with 128 (65536 / 512),
                // (2 * 128 - 24) / 1 = 232.
                Row{"128", "consumer_warpgroups: 1\n  block_n: 64\n  ctas_per_sm: 2",
                    24, 232}}) {
    SCOPED_TRACE(r.schedule);
    AttentionSpec spec =
        parseOk(std::string("problem:\n  dtype: bf16\n  head_dim: ") + r.headDim +
                "\nschedule:\n  " + r.schedule + "\n");
    EXPECT_EQ(spec.schedule.producerRegisters, r.producer);
    EXPECT_EQ(spec.schedule.consumerRegisters, r.consumer);
    int threads = kThreadsPerWarpgroup * (1 + spec.schedule.consumerWarpgroups) *
                  spec.schedule.ctasPerSm;
    EXPECT_LE(r.producer + spec.schedule.consumerWarpgroups * r.consumer,
              (1 + spec.schedule.consumerWarpgroups) * entryRegisterCap(threads));
  }
}

// ctas_per_sm: the geometry's register cap and shared-memory budget are the
// SM's over n; the kernel is launched with what it declares.
TEST(SpecParse, TwoCtasPerSmHalveTheBudgets) {
  AttentionSpec spec = parseOk(withSchedule(
      "consumer_warpgroups: 1\n  block_n: 64\n  ctas_per_sm: 2"));
  KernelGeometry g = computeGeometry(spec);
  EXPECT_EQ(g.threadsPerCta, 256);
  EXPECT_EQ(g.entryRegisterCap, 128);
  EXPECT_LE(2 * (g.smem.dynamicSmemBytes + kSmemReservedPerCta), kSmemPerSm);
  EXPECT_EQ(smemBudgetPerCta(1), kMaxSmemPerCta);
  EXPECT_EQ(smemBudgetPerCta(2), 228 * 1024 / 2 - 1024);
  auto expectInvalid = [](const std::string &text, const std::string &field,
                          const std::string &part) {
    SpecDiagnostic d = parseFailure(text);
    EXPECT_EQ(d.field, field) << d.str();
    EXPECT_NE(d.message.find(part), std::string::npos) << d.str();
  };
  // The default schedule's two warpgroups cannot fit twice.
  expectInvalid(withSchedule("ctas_per_sm: 2"), "schedule.block_n",
                "consumer_registers = 104");
  expectInvalid(withSchedule("ctas_per_sm: 3"), "schedule.ctas_per_sm",
                "ctas_per_sm must be 1 or 2, got: 3");
  expectInvalid(withSchedule("consumer_warpgroups: 1\n  block_n: 96\n  ctas_per_sm: 2"),
                "schedule.stages", "each of 2 CTAs per SM");
}

// Forced fields (FLASHCORE_SCHEDULE) on a resolved schedule re-derive what
// follows from them and keep everything else.
TEST(SpecParse, ForcedFieldsRederiveWhatFollowsFromThem) {
  AttentionSpec spec = parseOk(withSchedule("block_m: 192\n  block_n: 96"));
  ScheduleOverrides forced;
  forced.consumerWarpgroups = 1;
  forced.ctasPerSm = 2;
  ScheduleSpec s = forceSchedule(spec.problem, spec.schedule, forced);
  EXPECT_EQ(s.blockM, 64);
  EXPECT_EQ(s.blockN, 96); // kept
  EXPECT_EQ(s.producerRegisters, 24);
  EXPECT_EQ(s.consumerRegisters, 232);
  // Forcing an unrelated field keeps the 192-row tile and its registers.
  ScheduleOverrides overlap;
  overlap.overlap = true;
  s = forceSchedule(spec.problem, spec.schedule, overlap);
  EXPECT_EQ(s.blockM, 192);
  EXPECT_EQ(s.consumerWarpgroups, 3);
  EXPECT_EQ(s.consumerRegisters, 160);
  EXPECT_TRUE(s.overlap);
  // An explicit register target is kept when nothing it follows from moves.
  AttentionSpec pinned = parseOk(withSchedule("consumer_registers: 232"));
  s = forceSchedule(pinned.problem, pinned.schedule, overlap);
  EXPECT_EQ(s.consumerRegisters, 232);
}

// A forced field that turns another off drops the fields that apply only
// under it (the dispatch table's dynamic entries carry late_tile_claim and
// friends; FLASHCORE_SCHEDULE=scheduler=static_persistent must still give a
// valid spec); a field the override names itself is kept and rejected.
TEST(SpecParse, ForcedFieldsDropWhatOnlyAppliesUnderWhatTheyTurnOff) {
  AttentionSpec spec = parseOk(withSchedule(
      "scheduler: dynamic_persistent\n  pingpong: true\n  overlap: true\n"
      "  prefetch_q: true\n  late_tile_claim: true\n"
      "  producer_decodes_tiles: true\n  early_finish: true\n"
      "  edge_turns: false\n  leader_waits: true"));
  ScheduleOverrides toStatic;
  toStatic.scheduler = SchedulerKind::StaticPersistent;
  AttentionSpec s = spec;
  s.schedule = forceSchedule(spec.problem, spec.schedule, toStatic);
  EXPECT_TRUE(s.schedule.prefetchQ); // static persistent loops over tiles
  EXPECT_FALSE(s.schedule.lateTileClaim);
  EXPECT_FALSE(s.schedule.producerDecodesTiles);
  EXPECT_TRUE(s.schedule.earlyFinish);
  EXPECT_FALSE(validateSpec(s).has_value());
  ScheduleOverrides toSingle;
  toSingle.scheduler = SchedulerKind::SingleTile;
  s.schedule = forceSchedule(spec.problem, spec.schedule, toSingle);
  EXPECT_FALSE(s.schedule.prefetchQ);
  EXPECT_FALSE(validateSpec(s).has_value());
  ScheduleOverrides noOverlap;
  noOverlap.overlap = false;
  s.schedule = forceSchedule(spec.problem, spec.schedule, noOverlap);
  EXPECT_FALSE(s.schedule.earlyFinish);
  EXPECT_TRUE(s.schedule.edgeTurns);
  EXPECT_FALSE(s.schedule.leaderWaits);
  EXPECT_TRUE(s.schedule.lateTileClaim); // still dynamic
  EXPECT_FALSE(validateSpec(s).has_value());
  // late_k_release too follows overlap.
  AttentionSpec lateK = parseOk(withSchedule(
      "pingpong: true\n  overlap: true\n  late_k_release: true"));
  ASSERT_NE(lateK.schedule.lateKRelease, KRelease::Early);
  s = lateK;
  s.schedule = forceSchedule(lateK.problem, lateK.schedule, noOverlap);
  EXPECT_EQ(s.schedule.lateKRelease, KRelease::Early);
  EXPECT_FALSE(validateSpec(s).has_value());
  // Turning ping-pong off keeps overlap and drops what needs the turns.
  ScheduleOverrides noPingpong;
  noPingpong.pingpong = false;
  s.schedule = forceSchedule(spec.problem, spec.schedule, noPingpong);
  EXPECT_TRUE(s.schedule.overlap);
  EXPECT_TRUE(s.schedule.earlyFinish);
  EXPECT_TRUE(s.schedule.edgeTurns);
  EXPECT_FALSE(s.schedule.leaderWaits);
  EXPECT_FALSE(validateSpec(s).has_value());
  // One warpgroup cannot take turns: ping-pong goes, and with it the
  // fields that need the turns.
  ScheduleOverrides oneGroup;
  oneGroup.consumerWarpgroups = 1;
  s.schedule = forceSchedule(spec.problem, spec.schedule, oneGroup);
  EXPECT_EQ(s.schedule.blockM, 64);
  EXPECT_FALSE(s.schedule.pingpong);
  EXPECT_TRUE(s.schedule.edgeTurns);
  EXPECT_FALSE(s.schedule.leaderWaits);
  EXPECT_FALSE(validateSpec(s).has_value());
  // k_ahead needs one producer warp: a second one drops it.
  AttentionSpec kAhead = parseOk(withSchedule("k_ahead: true"));
  ScheduleOverrides twoWarps;
  twoWarps.producerWarps = 2;
  s = kAhead;
  s.schedule = forceSchedule(kAhead.problem, kAhead.schedule, twoWarps);
  EXPECT_FALSE(s.schedule.kAhead);
  EXPECT_FALSE(validateSpec(s).has_value());
  // Every field a rule ties to another, with everything it needs forced
  // off: each is dropped and the result is valid (forceSchedule and
  // validateSpec read one table of these rules).
  ScheduleOverrides offAll = oneGroup;
  offAll.scheduler = SchedulerKind::SingleTile;
  offAll.overlap = false;
  offAll.producerWarps = 2;
  const char *every = "scheduler: dynamic_persistent\n  pingpong: true\n"
                      "  overlap: true\n  prefetch_q: true\n"
                      "  late_tile_claim: true\n  producer_decodes_tiles: true\n"
                      "  early_finish: true\n  edge_turns: false\n"
                      "  leader_waits: true\n  late_k_release: true\n"
                      "  k_ahead: true";
  AttentionSpec all = parseOk(withSchedule(every));
  s = all;
  s.schedule = forceSchedule(all.problem, all.schedule, offAll);
  EXPECT_FALSE(validateSpec(s).has_value()) << validateSpec(s)->str();
  const ScheduleSpec plain;
  EXPECT_EQ(s.schedule.pingpong, plain.pingpong);
  EXPECT_EQ(s.schedule.kAhead, plain.kAhead);
  EXPECT_EQ(s.schedule.lateKRelease, plain.lateKRelease);
  EXPECT_EQ(s.schedule.leaderWaits, plain.leaderWaits);
  EXPECT_EQ(s.schedule.prefetchQ, plain.prefetchQ);
  EXPECT_EQ(s.schedule.lateTileClaim, plain.lateTileClaim);
  EXPECT_EQ(s.schedule.producerDecodesTiles, plain.producerDecodesTiles);
  EXPECT_EQ(s.schedule.earlyFinish, plain.earlyFinish);
  EXPECT_EQ(s.schedule.edgeTurns, plain.edgeTurns);
  // Named fields are kept even where the result is invalid.
  ScheduleOverrides named = toSingle;
  named.prefetchQ = true;
  s.schedule = forceSchedule(spec.problem, spec.schedule, named);
  EXPECT_TRUE(s.schedule.prefetchQ);
  ScheduleOverrides namedFinish = noOverlap;
  namedFinish.earlyFinish = true;
  namedFinish.edgeTurns = false;
  s.schedule = forceSchedule(spec.problem, spec.schedule, namedFinish);
  EXPECT_TRUE(s.schedule.earlyFinish);
  EXPECT_FALSE(s.schedule.edgeTurns);
  ScheduleOverrides namedPingpong = oneGroup;
  namedPingpong.pingpong = true;
  s.schedule = forceSchedule(spec.problem, spec.schedule, namedPingpong);
  EXPECT_TRUE(s.schedule.pingpong);
  // Named together with what it needs turned off: kept, and rejected.
  toStatic.lateTileClaim = true;
  s.schedule = forceSchedule(spec.problem, spec.schedule, toStatic);
  EXPECT_TRUE(s.schedule.lateTileClaim);
  std::optional<SpecDiagnostic> d = validateSpec(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->field, "schedule.late_tile_claim");
}

TEST(SpecParse, DefaultsDependOnHeadDim) {
  EXPECT_EQ(parseOk("problem: {dtype: bf16, head_dim: 256}\n").schedule.blockN, 80);
  EXPECT_EQ(parseOk("problem: {dtype: bf16, head_dim: 192}\n").schedule.blockN, 96);
  // 96 * 2 = 192 bytes per row: 128B swizzle does not divide it.
  EXPECT_EQ(parseOk("problem: {dtype: bf16, head_dim: 96}\n").schedule.swizzle, 64);
}

TEST(SpecParse, DefaultScheduleIsValidForEverySupportedHeadDim) {
  for (int headDim : {64, 96, 128, 192, 256})
    for (bool causal : {false, true})
      for (DType dtype : {DType::BF16, DType::FP16}) {
        AttentionSpec spec;
        spec.problem.dtype = dtype;
        spec.problem.headDim = headDim;
        spec.problem.causal = causal;
        spec.schedule = defaultSchedule(spec.problem);
        std::optional<SpecDiagnostic> d = validateSpec(spec);
        EXPECT_FALSE(d.has_value()) << headDim << ": " << (d ? d->message : "");
      }
}

TEST(SpecParse, CanonicalPrintRoundTrips) {
  for (const char *text :
       {kMinimal, "problem: {dtype: fp16, head_dim: 64, causal: true, "
                  "softmax_scale: 0.1}\nschedule: {stages: 3, block_n: 64}\n"}) {
    AttentionSpec spec = parseOk(text);
    std::string printed = printSpec(spec);
    AttentionSpec again = parseOk(printed);
    EXPECT_EQ(spec, again) << printed;
    EXPECT_EQ(printed, printSpec(again));
  }
}

TEST(SpecParse, CanonicalTextChangesWithEveryField) {
  AttentionSpec base = parseOk(kMinimal);
  std::string text = printSpec(base);
  AttentionSpec other = base;
  other.schedule.stages = 3;
  EXPECT_NE(printSpec(other), text);
  other = base;
  other.problem.softmaxScale = 0.125;
  EXPECT_NE(printSpec(other), text);
}

//===----------------------------------------------------------------------===//
// YAML-level errors, reported by YAML I/O with line and column.
//===----------------------------------------------------------------------===//

TEST(SpecErrors, ParseFailsOnEmptyFile) {
  SpecDiagnostic d = parseFailure("\n  \n");
  EXPECT_NE(d.message.find("empty"), std::string::npos);
}

TEST(SpecErrors, ParseFailsOnUnknownKeyWithItsLocation) {
  SpecDiagnostic d = parseFailure(withSchedule("blok_n: 64"));
  EXPECT_EQ(d.line, 5);
  EXPECT_EQ(d.column, 3);
  EXPECT_NE(d.message.find("blok_n"), std::string::npos);
  EXPECT_EQ(d.str().rfind("t.yaml:5:3: error: ", 0), 0u) << d.str();
}

TEST(SpecErrors, ParseFailsWhenHeadDimIsMissing) {
  SpecDiagnostic d = parseFailure("problem:\n  dtype: bf16\n");
  EXPECT_NE(d.message.find("head_dim"), std::string::npos);
}

TEST(SpecErrors, ParseFailsWhenProblemIsMissing) {
  SpecDiagnostic d = parseFailure("schedule:\n  stages: 2\n");
  EXPECT_NE(d.message.find("problem"), std::string::npos);
}

TEST(SpecErrors, ParseFailsOnNonIntegerField) {
  SpecDiagnostic d = parseFailure(withSchedule("block_n: big"));
  EXPECT_EQ(d.line, 5);
  EXPECT_NE(d.message.find("integer"), std::string::npos);
}

TEST(SpecErrors, ParseFailsOnNonBooleanCausal) {
  SpecDiagnostic d =
      parseFailure("problem:\n  dtype: bf16\n  head_dim: 128\n  causal: maybe\n");
  EXPECT_EQ(d.line, 4);
  EXPECT_NE(d.message.find("true or false"), std::string::npos);
}

TEST(SpecErrors, ParseFailsOnNonBooleanFeatureFlags) {
  for (const char *field : {"local", "softcap", "varlen"}) {
    SpecDiagnostic d = parseFailure(std::string("problem:\n  dtype: bf16\n"
                                                "  head_dim: 128\n  ") +
                                    field + ": 1\n");
    EXPECT_EQ(d.line, 4) << field;
    EXPECT_NE(d.message.find("true or false"), std::string::npos) << field;
  }
}

TEST(SpecParse, ReadsFeatureFlags) {
  AttentionSpec spec = parseOk("problem:\n  dtype: bf16\n  head_dim: 128\n"
                               "  local: true\n  softcap: true\n"
                               "  varlen: true\n");
  EXPECT_TRUE(spec.problem.local);
  EXPECT_TRUE(spec.problem.softcap);
  EXPECT_TRUE(spec.problem.varlen);
  EXPECT_FALSE(spec.problem.causal);
  EXPECT_EQ(parseOk(printSpec(spec)), spec);
  AttentionSpec other = spec;
  other.problem.varlen = false;
  EXPECT_NE(printSpec(other), printSpec(spec));
}

TEST(SpecErrors, ParseFailsOnMalformedYaml) {
  SpecDiagnostic d = parseFailure("problem: [dtype: bf16\n");
  EXPECT_GT(d.line, 0);
}

TEST(SpecErrors, ParseFailsOnHugeInteger) {
  SpecDiagnostic d = parseFailure(withSchedule("block_n: 99999999999"));
  EXPECT_EQ(d.line, 5);
  EXPECT_NE(d.message.find("block_n"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Semantic rules: one failing case each, located at the offending value.
//===----------------------------------------------------------------------===//

struct RuleCase {
  const char *name;
  std::string text;
  const char *field;
  const char *messagePrefix;
  int line;
};

class SpecRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(SpecRuleTest, ParseFailsWithFieldMessageAndLocation) {
  const RuleCase &c = GetParam();
  SpecDiagnostic d = parseFailure(c.text);
  EXPECT_EQ(d.field, c.field);
  EXPECT_EQ(d.message.rfind(c.messagePrefix, 0), 0u) << d.message;
  EXPECT_NE(d.message.find(", got: "), std::string::npos) << d.message;
  EXPECT_EQ(d.line, c.line) << d.str();
  EXPECT_GT(d.column, 0);
}

std::string problem(const std::string &dtype, const std::string &headDim,
                    const std::string &extra = "") {
  return "problem:\n  dtype: " + dtype + "\n  head_dim: " + headDim + "\n" +
         extra;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, SpecRuleTest,
    ::testing::Values(
        RuleCase{"Dtype", problem("fp8", "128"), "problem.dtype",
                 "dtype must be bf16 or fp16", 2},
        RuleCase{"HeadDimNotMultipleOf16", problem("bf16", "100"),
                 "problem.head_dim", "head_dim must be a multiple of 16", 3},
        RuleCase{"HeadDimTooLarge", problem("bf16", "512"), "problem.head_dim",
                 "head_dim must be a multiple of 16", 3},
        RuleCase{"LocalWithCausal",
                 problem("bf16", "128", "  causal: true\n  local: true\n"),
                 "problem.local", "local must be false when causal is true", 5},
        RuleCase{"SoftmaxScaleNotPositive",
                 problem("bf16", "128", "  softmax_scale: -1\n"),
                 "problem.softmax_scale", "softmax_scale must be a finite", 4},
        RuleCase{"BlockMNotMultipleOf64", withSchedule("block_m: 100"),
                 "schedule.block_m", "block_m must be a multiple of 64", 5},
        RuleCase{"BlockMExceedsTmaBox", withSchedule("block_m: 320"),
                 "schedule.block_m", "block_m must be a multiple of 64 in [64, 256]", 5},
        RuleCase{"ConsumerWarpgroupsOutOfRange",
                 withSchedule("consumer_warpgroups: 5"),
                 "schedule.consumer_warpgroups", "consumer_warpgroups must be in [1, 4]", 5},
        RuleCase{"BlockMDisagreesWithWarpgroups",
                 std::string(kMinimal) +
                     "schedule:\n  block_m: 128\n  consumer_warpgroups: 3\n",
                 "schedule.block_m", "block_m must be 64 * consumer_warpgroups", 5},
        RuleCase{"BlockNNotMultipleOf16", withSchedule("block_n: 72"),
                 "schedule.block_n", "block_n must be a multiple of 16", 5},
        RuleCase{"BlockNExceedsWgmmaN", withSchedule("block_n: 300"),
                 "schedule.block_n", "block_n must be a multiple of 16 in [16, 256]", 5},
        RuleCase{"StagesZero", withSchedule("stages: 0"), "schedule.stages",
                 "stages must be in [1, 8]", 5},
        RuleCase{"SwizzleNotHardware", withSchedule("swizzle: 16"),
                 "schedule.swizzle", "swizzle must be 32, 64 or 128", 5},
        RuleCase{"SwizzleWiderThanRow",
                 problem("bf16", "96", "schedule:\n  swizzle: 128\n"),
                 "schedule.swizzle", "swizzle must be a divisor of the row width", 5},
        RuleCase{"ProducerWarps", withSchedule("producer_warps: 3"),
                 "schedule.producer_warps", "producer_warps must be 1 or 2", 5},
        RuleCase{"ProducerRegistersNotMultipleOf8",
                 withSchedule("producer_registers: 30"),
                 "schedule.producer_registers",
                 "producer_registers must be a multiple of 8 in [24, 256]", 5},
        RuleCase{"ConsumerRegistersTooMany", withSchedule("consumer_registers: 264"),
                 "schedule.consumer_registers",
                 "consumer_registers must be a multiple of 8 in [24, 256]", 5},
        RuleCase{"RegisterFileOverflow", withSchedule("consumer_registers: 256"),
                 "schedule.consumer_registers",
                 "consumer_registers must be small enough that producer_registers + "
                 "consumer_warpgroups * consumer_registers <= (1 + consumer_warpgroups) * "
                 "168 = 504 registers, the CTA's pool (setmaxnreg.inc would wait forever; "
                 "this spec asks for 536), got: 256", 5},
        // 32 + 2 * 240 = 512 fits the 65536-register file but not the 3 * 168
        // registers the CTA starts with: the consumers' setmaxnreg.inc hung.
        RuleCase{"RegisterPoolOverflow",
                 withSchedule("producer_registers: 32\n  consumer_registers: 240"),
                 "schedule.consumer_registers",
                 "consumer_registers must be small enough that producer_registers + "
                 "consumer_warpgroups * consumer_registers <= (1 + consumer_warpgroups) * "
                 "168 = 504 registers, the CTA's pool (setmaxnreg.inc would wait forever; "
                 "this spec asks for 512), got: 240", 6},
        RuleCase{"ProducerAboveEntryCap",
                 withSchedule("producer_registers: 176\n  consumer_registers: 168"),
                 "schedule.producer_registers",
                 "producer_registers must be <= the entry register cap 168", 5},
        RuleCase{"ConsumerBelowEntryCap", withSchedule("consumer_registers: 160"),
                 "schedule.consumer_registers",
                 "consumer_registers must be >= the entry register cap 168", 5},
        RuleCase{"AccumulatorsExceedRegisters",
                 problem("bf16", "256", "schedule:\n  block_n: 256\n"),
                 "schedule.block_n", "block_n must be small enough that head_dim/2", 5},
        RuleCase{"SharedMemoryExceeded", withSchedule("stages: 4"),
                 "schedule.stages", "stages must be small enough that Q + stages", 5},
        RuleCase{"PingpongNeedsTwoOrThreeWarpgroups",
                 problem("bf16", "64",
                         "schedule:\n  block_m: 64\n  pingpong: true\n"),
                 "schedule.pingpong",
                 "pingpong must be false unless consumer_warpgroups is 2 or 3 ("
                 "warpgroups take turns; this spec has 1), got: true",
                 6}),
    [](const ::testing::TestParamInfo<RuleCase> &info) { return info.param.name; });

TEST(SpecRules, DefaultedFieldErrorsPointAtTheStartOfTheFile) {
  // block_m 192 means three consumer warpgroups and 160 registers each; the
  // default block_n of head_dim 256 (80) then needs 128 + 40 + 32 = 200.
  SpecDiagnostic d = parseFailure(
      "problem: {dtype: bf16, head_dim: 256}\nschedule: {block_m: 192}\n");
  EXPECT_EQ(d.field, "schedule.block_n");
  EXPECT_EQ(d.line, 1);
  EXPECT_EQ(d.column, 1);
}

TEST(SpecRules, DynamicSchedulerRegisterMarginDependsOnHeadDim) {
  // Three warpgroups of 160 registers at 128 keys: 32 + 64 + 32 + 32 = 160.
  // The dynamic scheduler's 8 more apply above head_dim 64 only (ptxas: no
  // spills at head_dim 64, either tile order).
  AttentionSpec spec = parseOk(
      "problem: {dtype: bf16, head_dim: 64, causal: true}\n"
      "schedule: {block_m: 192, block_n: 128, pingpong: true, overlap: true,\n"
      "           scheduler: dynamic_persistent, tile_order: longest_first}\n");
  EXPECT_EQ(spec.schedule.consumerRegisters, 160);
  // head_dim 128 at 192 keys on 240 registers: 64 + 96 + 48 + 32 = 240 on
  // a dense problem in m-fastest order (session 23: no spills); the margin
  // of 8 stays for local windows, varlen and the longest-first order.
  parseOk("problem: {dtype: bf16, head_dim: 128}\n"
          "schedule: {block_n: 192, pingpong: true, overlap: true,\n"
          "           scheduler: dynamic_persistent}\n");
  for (const char *problem :
       {"{dtype: bf16, head_dim: 128, local: true}",
        "{dtype: bf16, head_dim: 128, causal: true, varlen: true}"}) {
    SpecDiagnostic d = parseFailure(
        std::string("problem: ") + problem +
        "\nschedule: {block_n: 192, pingpong: true, overlap: true,\n"
        "           scheduler: dynamic_persistent}\n");
    EXPECT_EQ(d.field, "schedule.overlap") << problem;
    EXPECT_NE(d.message.find("+ 8 (dynamic_persistent) <= consumer_registers "
                             "= 240 (this spec needs 248)"),
              std::string::npos)
        << d.message;
  }
  SpecDiagnostic lf = parseFailure(
      "problem: {dtype: bf16, head_dim: 128, causal: true}\n"
      "schedule: {block_n: 192, pingpong: true, overlap: true,\n"
      "           scheduler: dynamic_persistent, tile_order: longest_first}\n");
  EXPECT_EQ(lf.field, "schedule.overlap");
  // head_dim 256 at FA3's 80 keys: 128 + 40 + 20 + 32 = 220, and the 24 of
  // a persistent loop only off the dense dynamic case.
  parseOk("problem: {dtype: bf16, head_dim: 256, causal: true}\n"
          "schedule: {block_n: 80, overlap: true, scheduler: dynamic_persistent}\n");
  SpecDiagnostic st = parseFailure(
      "problem: {dtype: bf16, head_dim: 256}\n"
      "schedule: {block_n: 80, overlap: true, scheduler: static_persistent}\n");
  EXPECT_NE(st.message.find("+ 24 (static_persistent)"), std::string::npos)
      << st.message;
  // The dense dynamic loop above head_dim 128 keeps 16: 128 + 40 + 20 + 32 +
  // 16 = 236 at 80 keys, 128 + 48 + 24 + 32 + 16 = 248 at 96 (spilled with
  // stages 1 and no margin).
  SpecDiagnostic d96 = parseFailure(
      "problem: {dtype: bf16, head_dim: 256}\n"
      "schedule: {block_n: 96, stages: 1, overlap: true,\n"
      "           scheduler: dynamic_persistent}\n");
  EXPECT_NE(d96.message.find("+ 16 (dynamic_persistent) <= consumer_registers "
                             "= 240 (this spec needs 248)"),
            std::string::npos)
      << d96.message;
  // At head_dim 128 block_n 192 both persistent schedulers keep 8 with
  // late_k_release, a local window or a KV cache (each spilled 4-24 bytes).
  struct Case {
    const char *problem, *schedule;
  } cases[] = {
      {"{dtype: bf16, head_dim: 128, causal: true}",
       "scheduler: dynamic_persistent, late_k_release: true"},
      {"{dtype: bf16, head_dim: 128, causal: true}",
       "scheduler: static_persistent, late_k_release: true"},
      {"{dtype: bf16, head_dim: 128, local: true}",
       "scheduler: static_persistent"},
      {"{dtype: bf16, head_dim: 128, causal: true, cache_seqlens: true}",
       "scheduler: static_persistent"},
      {"{dtype: bf16, head_dim: 128, causal: true}",
       "scheduler: static_persistent, tile_order: longest_first"},
  };
  for (const Case &c : cases) {
    SpecDiagnostic e = parseFailure(
        std::string("problem: ") + c.problem +
        "\nschedule: {block_n: 192, pingpong: true, overlap: true, " +
        c.schedule + "}\n");
    EXPECT_EQ(e.field, "schedule.overlap") << c.problem << " " << c.schedule;
    EXPECT_NE(e.message.find("+ 8 ("), std::string::npos) << e.message;
  }
  parseOk("problem: {dtype: bf16, head_dim: 128, causal: true}\n"
          "schedule: {block_n: 192, pingpong: true, overlap: true,\n"
          "           scheduler: static_persistent}\n");
}

TEST(SpecRules, ValidateReportsFieldWithoutLocation) {
  AttentionSpec spec;
  spec.schedule = defaultSchedule(spec.problem);
  spec.schedule.stages = 9;
  std::optional<SpecDiagnostic> d = validateSpec(spec);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->field, "schedule.stages");
  EXPECT_EQ(d->message, "stages must be in [1, 8], got: 9");
  EXPECT_EQ(d->line, 0);
}

TEST(SpecRules, SharedMemoryBudgetMatchesTheGeometry) {
  AttentionSpec spec = parseOk(kMinimal);
  KernelGeometry g = computeGeometry(spec);
  // Q 32 KB + 2 stages x (K 32 KB + V 32 KB) + 10 barriers (Q full/empty,
  // 4 per stage) + alignment slack; no O staging with the register epilogue.
  EXPECT_EQ(g.smem.qBytes, 128 * 128 * 2);
  EXPECT_EQ(g.smem.kOffset, 32768);
  EXPECT_EQ(g.smem.vOffset, 32768 + 2 * 32768);
  EXPECT_EQ(g.smem.barrierOffset, 32768 + 4 * 32768);
  EXPECT_EQ(g.smem.oBytes, 0);
  EXPECT_EQ(g.smem.numBarriers, 10);
  EXPECT_EQ(g.smem.dynamicSmemBytes, 32768 * 5 + 10 * 8 + 1024 - 16);
  EXPECT_LE(g.smem.dynamicSmemBytes, kMaxSmemPerCta);
  EXPECT_EQ(g.threadsPerCta, 384);
  EXPECT_EQ(g.entryRegisterCap, 168);
  EXPECT_EQ(g.boxCols, 64);
  EXPECT_EQ(g.columnBlocks, 2);
}

TEST(SpecRules, TmaEpilogueStagesOWhereItFits) {
  AttentionSpec spec = parseOk(kMinimal);
  spec.schedule.epilogue = EpilogueKind::Tma;
  spec.schedule.pingpong = true;
  spec.schedule.overlap = true;
  // 128 keys: Q 32 KB + 4 x 32 KB + a separate 32 KB O tile fit 227 KB.
  KernelGeometry g = computeGeometry(spec);
  EXPECT_FALSE(g.smem.oAliasesQ);
  EXPECT_FALSE(g.smem.oAliasesV);
  EXPECT_EQ(g.smem.oOffset, 32768 * 5);
  EXPECT_EQ(g.smem.oBytes, 32768);
  // 176 keys: Q 32 KB + 4 x 44 KB leave no room; a single tile stages O in
  // the Q tile.
  spec.schedule.blockN = 176;
  g = computeGeometry(spec);
  EXPECT_TRUE(g.smem.oAliasesQ);
  EXPECT_FALSE(g.smem.oAliasesV);
  EXPECT_EQ(g.smem.oOffset, 0);
  EXPECT_EQ(g.smem.numBarriers, 10);
  EXPECT_FALSE(validateSpec(spec).has_value());
  // A persistent CTA stages it over the V ring (the next tile's Q loads
  // while the store reads O) with an o_empty barrier after the ring's.
  for (SchedulerKind k :
       {SchedulerKind::StaticPersistent, SchedulerKind::DynamicPersistent}) {
    spec.schedule.scheduler = k;
    g = computeGeometry(spec);
    EXPECT_FALSE(g.smem.oAliasesQ);
    EXPECT_TRUE(g.smem.oAliasesV);
    EXPECT_EQ(g.smem.oOffset, g.smem.vOffset);
    EXPECT_EQ(g.smem.oBytes, 0);
    EXPECT_EQ(g.smem.numBarriers, 11);
    EXPECT_EQ(g.smem.oEmptyBarrier(2), g.smem.barrierOffset + 10 * 8);
    EXPECT_EQ(g.smem.barrierOffset, 32768 + 4 * 176 * 128 * 2);
    EXPECT_LE(g.smem.dynamicSmemBytes, kMaxSmemPerCta);
    EXPECT_FALSE(validateSpec(spec).has_value());
  }
}

TEST(SpecDiagnosticTest, FormatsWhatIsKnown) {
  SpecDiagnostic d;
  d.message = "x must be y, got: z";
  EXPECT_EQ(d.str(), "error: x must be y, got: z");
  d.file = "a.yaml";
  EXPECT_EQ(d.str(), "a.yaml: error: x must be y, got: z");
  d.line = 3;
  d.column = 7;
  EXPECT_EQ(d.str(), "a.yaml:3:7: error: x must be y, got: z");
}

TEST(SpecFile, LoadReportsMissingFile) {
  AttentionSpec spec;
  SpecDiagnostic d;
  EXPECT_FALSE(loadSpecFile("/nonexistent/spec.yaml", spec, d));
  EXPECT_NE(d.str().find("/nonexistent/spec.yaml"), std::string::npos);
}

} // namespace

TEST(SpecFile, ExtraScheduleFieldsResolveWithTheFilesFields) {
  // --schedule=consumer_warpgroups=3 on a file that names block_n: block_m
  // and the register targets follow three warpgroups, block_n stays.
  ScheduleOverrides extra;
  extra.consumerWarpgroups = 3;
  AttentionSpec spec;
  SpecDiagnostic diag;
  ASSERT_TRUE(parseSpec("problem: {dtype: bf16, head_dim: 64}\n"
                        "schedule: {block_n: 112, consumer_warpgroups: 2}\n",
                        "t.yaml", spec, diag, &extra))
      << diag.str();
  EXPECT_EQ(spec.schedule.consumerWarpgroups, 3);
  EXPECT_EQ(spec.schedule.blockM, 192);
  EXPECT_EQ(spec.schedule.blockN, 112);
  EXPECT_EQ(spec.schedule.producerRegisters, 32);
  EXPECT_EQ(spec.schedule.consumerRegisters, 160);
  // The file's block_m and register targets follow the forced warpgroup
  // count too (they used to be merged with it and rejected: block_m 128
  // with three warpgroups).
  ASSERT_TRUE(parseSpec("problem: {dtype: bf16, head_dim: 64}\n"
                        "schedule: {block_m: 128, consumer_registers: 240}\n",
                        "t.yaml", spec, diag, &extra))
      << diag.str();
  EXPECT_EQ(spec.schedule.blockM, 192);
  EXPECT_EQ(spec.schedule.consumerRegisters, 160);
  // An extra field the rules reject is reported like the file's own.
  extra.blockN = 100;
  EXPECT_FALSE(parseSpec("problem: {dtype: bf16, head_dim: 64}\n", "t.yaml",
                         spec, diag, &extra));
  EXPECT_NE(diag.message.find("block_n must be"), std::string::npos)
      << diag.str();
}

TEST(SpecRules, PingpongIsReportedBeforeTheRegisterRules) {
  // The fields that apply only under others are checked together, before
  // the register and shared-memory rules: four warpgroups with ping-pong
  // name pingpong, not the register budget four warpgroups break.
  AttentionSpec spec;
  SpecDiagnostic diag;
  EXPECT_FALSE(parseSpec("problem: {dtype: bf16, head_dim: 128}\n"
                         "schedule: {consumer_warpgroups: 4, pingpong: true}\n",
                         "t.yaml", spec, diag));
  EXPECT_EQ(diag.field, "schedule.pingpong") << diag.str();
  EXPECT_NE(diag.message.find("this spec has 4"), std::string::npos)
      << diag.str();
}

TEST(SpecFile, ExtraScheduleFieldsGoOnTopLikeTheRuntimeOverride) {
  // --schedule=scheduler=static_persistent on a file written for the
  // dynamic scheduler: the fields that apply only under it return to their
  // defaults, as FLASHCORE_SCHEDULE does on a table entry (forceSchedule).
  const char *text = "problem: {dtype: bf16, head_dim: 128}\n"
                     "schedule: {scheduler: dynamic_persistent, overlap: true,\n"
                     "           late_tile_claim: true, early_finish: true,\n"
                     "           producer_decodes_tiles: true}\n";
  ScheduleOverrides toStatic;
  toStatic.scheduler = SchedulerKind::StaticPersistent;
  AttentionSpec spec;
  SpecDiagnostic diag;
  ASSERT_TRUE(parseSpec(text, "t.yaml", spec, diag, &toStatic)) << diag.str();
  EXPECT_EQ(spec.schedule.scheduler, SchedulerKind::StaticPersistent);
  EXPECT_FALSE(spec.schedule.lateTileClaim);
  EXPECT_FALSE(spec.schedule.producerDecodesTiles);
  EXPECT_TRUE(spec.schedule.earlyFinish);
  // The same as the runtime's path: the file's schedule, then forceSchedule.
  AttentionSpec fromFile;
  ASSERT_TRUE(parseSpec(text, "t.yaml", fromFile, diag)) << diag.str();
  AttentionSpec expected = fromFile;
  expected.schedule =
      forceSchedule(fromFile.problem, fromFile.schedule, toStatic);
  EXPECT_TRUE(spec == expected);
  // A field the override names is kept and reported by the rules, at no
  // position in the file (the file's value is not the one rejected).
  toStatic.lateTileClaim = true;
  EXPECT_FALSE(parseSpec(text, "t.yaml", spec, diag, &toStatic));
  EXPECT_EQ(diag.field, "schedule.late_tile_claim") << diag.str();
  EXPECT_EQ(diag.line, 1) << diag.str();
  // An unrelated override does not repair a file that is invalid on its
  // own: its field is kept and reported where the file wrote it.
  ScheduleOverrides stages;
  stages.stages = 2;
  const char *invalid = "problem: {dtype: bf16, head_dim: 128}\n"
                        "schedule: {scheduler: static_persistent,\n"
                        "           late_tile_claim: true}\n";
  EXPECT_FALSE(parseSpec(invalid, "t.yaml", spec, diag, &stages));
  EXPECT_EQ(diag.field, "schedule.late_tile_claim") << diag.str();
  EXPECT_EQ(diag.line, 3) << diag.str();
  EXPECT_FALSE(parseSpec("problem: {dtype: bf16, head_dim: 128}\n"
                         "schedule: {consumer_warpgroups: 1, pingpong: true}\n",
                         "t.yaml", spec, diag, &stages));
  EXPECT_EQ(diag.field, "schedule.pingpong") << diag.str();
  // Overrides may also complete a file that is not valid on its own.
  ScheduleOverrides toDynamic;
  toDynamic.scheduler = SchedulerKind::DynamicPersistent;
  ASSERT_TRUE(parseSpec("problem: {dtype: bf16, head_dim: 128}\n"
                        "schedule: {late_tile_claim: true}\n",
                        "t.yaml", spec, diag, &toDynamic))
      << diag.str();
  EXPECT_TRUE(spec.schedule.lateTileClaim);
}
