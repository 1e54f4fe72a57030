//===- SpecFieldTableTest.cpp - The one table of spec fields --------------===//
//
// Every field of FLASHCORE_PROBLEM_FIELDS / FLASHCORE_SCHEDULE_FIELDS is
// documented in docs/SPEC.md, printed by printSpec, read back by parseSpec and
// accepted by the FLASHCORE_SCHEDULE / --schedule override syntax.
//
//===----------------------------------------------------------------------===//

#include "compiler/Spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace flashcore;

namespace {

std::string readSpecDoc() {
  std::ifstream f(std::string(FLASHCORE_SOURCE_DIR) + "/docs/SPEC.md");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(SpecFieldTable, SpecMdDocumentsEveryFieldInItsSection) {
  std::string doc = readSpecDoc();
  ASSERT_FALSE(doc.empty()) << "docs/SPEC.md not found";
  size_t problem = doc.find("\n## problem");
  size_t schedule = doc.find("\n## schedule");
  ASSERT_NE(problem, std::string::npos);
  ASSERT_NE(schedule, std::string::npos);
  size_t count = 0;
  const FieldInfo *fields = specFields(count);
  ASSERT_GT(count, 10u);
  for (size_t i = 0; i < count; ++i) {
    std::string row = std::string("\n| `") + fields[i].name + "` |";
    bool isProblem = std::string(fields[i].section) == "problem";
    size_t begin = isProblem ? problem : schedule;
    size_t end = isProblem ? schedule : doc.find("\n## ", schedule + 1);
    size_t at = doc.find(row, begin);
    EXPECT_TRUE(at != std::string::npos && at < end)
        << "docs/SPEC.md has no row for " << fields[i].section << "."
        << fields[i].name << " in its section";
  }
}

TEST(SpecFieldTable, PrintSpecWritesEveryFieldAndReadsBack) {
  AttentionSpec spec;
  spec.problem.dtype = DType::FP16;
  spec.problem.headDim = 64;
  spec.problem.causal = true;
  spec.problem.softmaxScale = 0.3;
  spec.schedule = defaultSchedule(spec.problem);
  spec.schedule.scheduler = SchedulerKind::StaticPersistent;
  spec.schedule.epilogue = EpilogueKind::Tma;
  spec.schedule.overlap = true;
  ASSERT_FALSE(validateSpec(spec).has_value());
  std::string text = printSpec(spec);
  size_t count = 0;
  const FieldInfo *fields = specFields(count);
  for (size_t i = 0; i < count; ++i)
    EXPECT_NE(text.find(std::string("  ") + fields[i].name + ": "),
              std::string::npos)
        << fields[i].name << " missing from\n" << text;
  AttentionSpec back;
  SpecDiagnostic diag;
  ASSERT_TRUE(parseSpec(text, "printed", back, diag)) << diag.str();
  EXPECT_EQ(back, spec);
  EXPECT_EQ(hashSpec(back), hashSpec(spec));
  back.schedule.overlap = false;
  EXPECT_NE(back, spec);
}

TEST(SpecFieldTable, EnumFieldsNameTheirValuesWhenWrong) {
  const std::string base = "problem:\n  dtype: bf16\n  head_dim: 128\n";
  struct Case {
    const char *line, *field, *message;
  } cases[] = {
      {"schedule:\n  scheduler: dynamic",
       "schedule.scheduler",
       "scheduler must be single_tile, static_persistent or dynamic_persistent, got: dynamic"},
      {"schedule:\n  epilogue: smem", "schedule.epilogue",
       "epilogue must be registers or tma, got: smem"},
      {"schedule:\n  overlap: 1", "schedule.overlap",
       "overlap must be true or false, got: 1"},
      {"schedule:\n  stages: two", "schedule.stages",
       "stages must be an integer, got: two"},
  };
  for (const Case &c : cases) {
    AttentionSpec spec;
    SpecDiagnostic diag;
    EXPECT_FALSE(parseSpec(base + c.line + "\n", "t.yaml", spec, diag));
    EXPECT_EQ(diag.field, c.field);
    EXPECT_EQ(diag.message, c.message);
    EXPECT_EQ(diag.line, 5);
  }
  AttentionSpec spec;
  SpecDiagnostic diag;
  EXPECT_FALSE(parseSpec("problem:\n  kind: backward\n  dtype: bf16\n"
                         "  head_dim: 128\n",
                         "t.yaml", spec, diag));
  EXPECT_EQ(diag.message, "kind must be forward or combine, got: backward");
  EXPECT_EQ(diag.line, 2);
}

TEST(SpecFieldTable, ScheduleOverridesParseEveryScheduleField) {
  ScheduleOverrides o;
  std::string error;
  ASSERT_TRUE(parseScheduleOverrides(
      "scheduler=static_persistent, epilogue=tma,overlap=true,block_n=96", o,
      error))
      << error;
  EXPECT_EQ(o.scheduler, SchedulerKind::StaticPersistent);
  EXPECT_EQ(o.epilogue, EpilogueKind::Tma);
  EXPECT_EQ(o.overlap, true);
  EXPECT_EQ(o.blockN, 96);
  EXPECT_FALSE(o.stages.has_value());
  ScheduleSpec s = defaultSchedule(ProblemSpec());
  applyOverrides(s, o);
  EXPECT_EQ(s.blockN, 96);
  EXPECT_EQ(s.scheduler, SchedulerKind::StaticPersistent);

  EXPECT_FALSE(parseScheduleOverrides("head_dim=64", o, error));
  EXPECT_EQ(error, "schedule override names no schedule field, got: head_dim");
  EXPECT_FALSE(parseScheduleOverrides("epilogue=fast", o, error));
  EXPECT_EQ(error, "epilogue must be registers or tma, got: fast");
  EXPECT_FALSE(parseScheduleOverrides("stages", o, error));
  EXPECT_EQ(error, "schedule override must be field=value, got: stages");
  ASSERT_TRUE(parseScheduleOverrides("", o, error));
}

TEST(SpecFieldTable, ValidatedSpecOnlyFromAValidSpec) {
  AttentionSpec spec;
  spec.schedule = defaultSchedule(spec.problem);
  std::optional<ValidatedSpec> v = ValidatedSpec::check(spec);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->spec(), spec);
  spec.schedule.blockN = 300;
  SpecDiagnostic diag;
  EXPECT_FALSE(ValidatedSpec::check(spec, &diag).has_value());
  EXPECT_EQ(diag.field, "schedule.block_n");
}

TEST(SpecFieldTable, SameProblemIgnoresOnlyTheScale) {
  ProblemSpec a, b;
  b.softmaxScale = 0.5;
  EXPECT_TRUE(sameProblem(a, b));
  b.varlen = true;
  EXPECT_FALSE(sameProblem(a, b));
}

} // namespace
