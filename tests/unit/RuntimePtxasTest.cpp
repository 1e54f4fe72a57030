//===- RuntimePtxasTest.cpp - ptxas discovery, -v parsing, error path -----===//
//
// The parser is table-tested on real `ptxas -v` output (CUDA 13.0 and the
// older 12.x layout). Discovery and assembly run against fake ptxas scripts
// (hermetic) and, where one is installed, the real ptxas.
//
//===----------------------------------------------------------------------===//

#include "runtime/PtxAssembler.h"
#include "runtime/Subprocess.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

using namespace flashcore;

namespace {

//===----------------------------------------------------------------------===//
// ptxas -v parser
//===----------------------------------------------------------------------===//

struct LogCase {
  const char *name;
  const char *log;
  const char *kernel;
  bool found;
  ResourceUsage expected;
  size_t warnings;
};

void PrintTo(const LogCase &c, std::ostream *os) { *os << c.name; }

// CUDA 13.0, sm_90a, two entries; the last line has no newline (as ptxas
// prints it).
const char *kTwoEntries =
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'spiller' for 'sm_90a'\n"
    "ptxas info    : Function properties for spiller\n"
    "    1200 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 32 registers, used 0 barriers, 1200 bytes "
    "cumulative stack size\n"
    "ptxas info    : Compile time = 8.829 ms\n"
    "ptxas info    : Compiling entry function 'flashcore_attention_fwd' for "
    "'sm_90a'\n"
    "ptxas info    : Function properties for flashcore_attention_fwd\n"
    "    256 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 168 registers, used 1 barriers, 256 bytes "
    "cumulative stack size, 1024 bytes smem\n"
    "ptxas info    : Compile time = 47.148 ms";

// CUDA 13.0 with --warn-on-spills and -maxrregcount=32.
const char *kSpills =
    "ptxas info    : Overriding maximum register limit 256 for 'spill2' with  "
    "32 of maxrregcount option\n"
    "ptxas warning : Registers are spilled to local memory in function "
    "'spill2', 1440 bytes spill stores, 1452 bytes spill loads\n"
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'spill2' for 'sm_90a'\n"
    "ptxas info    : Function properties for spill2\n"
    "    720 bytes stack frame, 1440 bytes spill stores, 1452 bytes spill "
    "loads\n"
    "ptxas info    : Used 32 registers, used 0 barriers, 720 bytes cumulative "
    "stack size\n"
    "ptxas info    : Compile time = 80.580 ms\n";

// CUDA 13.0: setmaxnreg without a known entry register count is reported as
// an *info* line with a performance code.
const char *kSetmaxnregIgnored =
    "ptxas info    : (C7508) Potential Performance Loss: 'setmaxnreg' "
    "ignored; unable to determine register count at entry.\n"
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'flashcore_attention_fwd' for "
    "'sm_90a'\n"
    "ptxas info    : Function properties for flashcore_attention_fwd\n"
    "    256 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 38 registers, used 1 barriers, 256 bytes "
    "cumulative stack size, 1024 bytes smem\n"
    "ptxas info    : Compile time = 35.408 ms\n";

// CUDA 12.x layout: no barrier item, cmem listed, a device function.
const char *kCuda12 =
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Function properties for helper\n"
    "    16 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads\n"
    "ptxas info    : Compiling entry function 'flashcore_attention_fwd' for "
    "'sm_90a'\n"
    "ptxas info    : Function properties for flashcore_attention_fwd\n"
    "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 128 registers, 2048 bytes smem, 536 bytes cmem[0]\n";

// Entry under another name: the only entry is reported.
const char *kOtherName =
    "ptxas info    : Compiling entry function 'my_kernel' for 'sm_90a'\n"
    "ptxas info    : Function properties for my_kernel\n"
    "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 90 registers, used 1 barriers, 32 bytes smem, 400 "
    "bytes cmem[0]\n";

class PtxasLog : public ::testing::TestWithParam<LogCase> {};

TEST_P(PtxasLog, ReportsTheKernelsUsageAndWarnings) {
  const LogCase &c = GetParam();
  std::vector<std::string> warnings;
  std::vector<PtxasFunctionUsage> functions = parsePtxasLog(c.log, &warnings);
  ResourceUsage u;
  ASSERT_EQ(findResourceUsage(functions, c.kernel, u), c.found);
  EXPECT_EQ(warnings.size(), c.warnings);
  if (!c.found)
    return;
  EXPECT_EQ(u.registers, c.expected.registers);
  EXPECT_EQ(u.sharedBytes, c.expected.sharedBytes);
  EXPECT_EQ(u.stackFrameBytes, c.expected.stackFrameBytes);
  EXPECT_EQ(u.spillStoreBytes, c.expected.spillStoreBytes);
  EXPECT_EQ(u.spillLoadBytes, c.expected.spillLoadBytes);
  EXPECT_EQ(u.barriers, c.expected.barriers);
}

ResourceUsage usage(int regs, int smem, int stack, int st, int ld, int bar) {
  ResourceUsage u;
  u.registers = regs;
  u.sharedBytes = smem;
  u.stackFrameBytes = stack;
  u.spillStoreBytes = st;
  u.spillLoadBytes = ld;
  u.barriers = bar;
  return u;
}

INSTANTIATE_TEST_SUITE_P(
    RuntimePtxas, PtxasLog,
    ::testing::Values(
        LogCase{"Cuda13KernelAmongTwoEntries", kTwoEntries,
                "flashcore_attention_fwd", true,
                usage(168, 1024, 256, 0, 0, 1), 0},
        LogCase{"Cuda13OtherEntryByName", kTwoEntries, "spiller", true,
                usage(32, 0, 1200, 0, 0, 0), 0},
        LogCase{"Cuda13SpillsAndSpillWarning", kSpills, "spill2", true,
                usage(32, 0, 720, 1440, 1452, 0), 1},
        LogCase{"Cuda13SetmaxnregIgnoredIsAWarning", kSetmaxnregIgnored,
                "flashcore_attention_fwd", true,
                usage(38, 1024, 256, 0, 0, 1), 1},
        LogCase{"Cuda12LayoutWithDeviceFunction", kCuda12,
                "flashcore_attention_fwd", true,
                usage(128, 2048, 0, 0, 0, 0), 0},
        LogCase{"OnlyEntryUnderAnotherName", kOtherName,
                "flashcore_attention_fwd", true, usage(90, 32, 0, 0, 0, 1),
                0},
        LogCase{"TwoOtherEntriesNameNone", kTwoEntries, "absent", false, {},
                0},
        LogCase{"EmptyLog", "", "flashcore_attention_fwd", false, {}, 0}),
    [](const ::testing::TestParamInfo<LogCase> &info) {
      return std::string(info.param.name);
    });

TEST(RuntimePtxas, ParsesVersionFromPtxasVersionText) {
  EXPECT_EQ(parsePtxasVersion(
                "ptxas: NVIDIA (R) Ptx optimizing assembler\n"
                "Copyright (c) 2005-2025 NVIDIA Corporation\n"
                "Built on Wed_Aug_20_01:55:12_PM_PDT_2025\n"
                "Cuda compilation tools, release 13.0, V13.0.88\n"
                "Build cuda_13.0.r13.0/compiler.36424714_0\n"),
            "13.0.88");
  EXPECT_EQ(parsePtxasVersion("garbage"), "");
}

TEST(RuntimePtxas, FormatsResourceUsage) {
  EXPECT_EQ(formatResourceUsage(usage(168, 0, 8, 4, 4, 1)),
            "168 registers, 0 bytes smem, 8 bytes stack, 4/4 bytes spill "
            "stores/loads, 1 barriers");
}

TEST(RuntimePtxas, QuotesReproArgumentsOnlyWhenNeeded) {
  EXPECT_EQ(shellQuote("-arch=sm_90a"), "-arch=sm_90a");
  EXPECT_EQ(shellQuote("/tmp/a b.ptx"), "'/tmp/a b.ptx'");
  EXPECT_EQ(shellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(shellQuote(""), "''");
}

//===----------------------------------------------------------------------===//
// Discovery and assembly with fake ptxas binaries
//===----------------------------------------------------------------------===//

class FakePtxas : public ::testing::Test {
protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(dir.create("flashcore-test-", error)) << error;
  }

  /// Writes an executable shell script `name` and returns its path.
  std::string script(const std::string &name, const std::string &body,
                     mode_t mode = 0755) {
    std::string path = dir.file(name);
    std::string error;
    EXPECT_TRUE(writeFile(path, "#!/bin/sh\n" + body, error)) << error;
    chmod(path.c_str(), mode);
    return path;
  }

  TempDir dir;
};

TEST_F(FakePtxas, FlashcorePtxasTakesPrecedence) {
  std::string fake = script("my-ptxas", "exit 0\n");
  PtxasSearch s;
  s.flashcorePtxas = fake;
  s.cudaHome = "/usr/local/cuda";
  std::string path, error;
  ASSERT_TRUE(findPtxasIn(s, path, error)) << error;
  EXPECT_EQ(path, fake);
}

TEST_F(FakePtxas, RejectsFlashcorePtxasThatIsNotExecutable) {
  std::string notExec = script("not-exec", "exit 0\n", 0644);
  PtxasSearch s;
  s.flashcorePtxas = notExec;
  s.systemPtxas = "/usr/local/cuda/bin/ptxas";
  std::string path, error;
  EXPECT_FALSE(findPtxasIn(s, path, error));
  EXPECT_EQ(error, "FLASHCORE_PTXAS must name an executable ptxas binary, "
                   "got: " + notExec);
}

TEST_F(FakePtxas, CudaHomeComesBeforeTheConfiguredPath) {
  ASSERT_EQ(mkdir(dir.file("bin").c_str(), 0755), 0);
  std::string fake = dir.path() + "/bin/ptxas";
  std::string error;
  ASSERT_TRUE(writeFile(fake, "#!/bin/sh\n", error));
  chmod(fake.c_str(), 0755);
  PtxasSearch s;
  s.cudaHome = dir.path();
  s.configuredPtxas = script("configured", "exit 0\n");
  std::string path;
  bool found = findPtxasIn(s, path, error);
  unlink(fake.c_str());
  rmdir(dir.file("bin").c_str());
  ASSERT_TRUE(found) << error;
  EXPECT_EQ(path, fake);
}

TEST_F(FakePtxas, FallsBackToPath) {
  std::string fake = script("ptxas", "exit 0\n");
  PtxasSearch s;
  s.systemPtxas = "";
  s.path = "/nonexistent-dir::" + dir.path();
  std::string path, error;
  ASSERT_TRUE(findPtxasIn(s, path, error)) << error;
  EXPECT_EQ(path, fake);
}

TEST_F(FakePtxas, NotFoundListsEveryPlaceTried) {
  PtxasSearch s;
  s.cudaHome = "/nonexistent-cuda";
  s.configuredPtxas = "/nonexistent-configured/ptxas";
  s.systemPtxas = "/nonexistent-system/ptxas";
  s.path = "/nonexistent-a:/nonexistent-b";
  std::string path, error;
  EXPECT_FALSE(findPtxasIn(s, path, error));
  for (const char *tried :
       {"/nonexistent-cuda/bin/ptxas", "/nonexistent-configured/ptxas",
        "/nonexistent-system/ptxas", "/nonexistent-a/ptxas",
        "/nonexistent-b/ptxas"})
    EXPECT_NE(error.find(tried), std::string::npos) << error;
}

/// A fake ptxas: prints a -v log to stderr and writes "CUBIN" to the -o file.
const char *kFakePtxasBody =
    "out=''; prev=''\n"
    "for a in \"$@\"; do\n"
    "  if [ \"$prev\" = '-o' ]; then out=\"$a\"; fi; prev=\"$a\"\n"
    "done\n"
    "echo \"args: $*\"\n"
    "echo \"ptxas info    : Compiling entry function "
    "'flashcore_attention_fwd' for 'sm_90a'\" >&2\n"
    "echo \"ptxas info    : Function properties for "
    "flashcore_attention_fwd\" >&2\n"
    "echo \"    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill "
    "loads\" >&2\n"
    "echo \"ptxas info    : Used 232 registers, used 1 barriers\" >&2\n"
    "printf CUBIN > \"$out\"\n";

TEST_F(FakePtxas, AssemblesAndParsesTheVerboseLog) {
  std::string ptxas = script("ptxas", kFakePtxasBody);
  AssembleOptions options;
  options.extraFlags = {"--warn-on-spills"};
  AssembleResult result;
  std::string error;
  ASSERT_TRUE(assemblePtxWith(ptxas, "// some ptx", options, result, error))
      << error;
  EXPECT_EQ(result.cubin, "CUBIN");
  EXPECT_EQ(result.resources.registers, 232);
  EXPECT_EQ(result.resources.barriers, 1);
  EXPECT_NE(result.command.find(" -arch=sm_90a -O3 -v --warn-on-spills "),
            std::string::npos)
      << result.command;
  // stdout is kept in the log too.
  EXPECT_NE(result.infoLog.find("args: -arch=sm_90a"), std::string::npos);
}

TEST_F(FakePtxas, FailureCarriesStderrAndAReproCommandWithKeptPtx) {
  std::string ptxas = script(
      "ptxas", "echo 'ptxas kernel.ptx, line 4; fatal   : Parsing error' >&2\n"
               "exit 255\n");
  AssembleOptions options;
  options.reproDir = dir.path();
  AssembleResult result;
  std::string error;
  ASSERT_FALSE(assemblePtxWith(ptxas, "garbage ptx\n", options, result, error));
  EXPECT_NE(error.find("ptxas failed (exit code 255)"), std::string::npos)
      << error;
  EXPECT_NE(error.find("line 4; fatal   : Parsing error"), std::string::npos);
  size_t repro = error.find("\nRepro command: " + ptxas + " -arch=sm_90a");
  ASSERT_NE(repro, std::string::npos) << error;

  // The kept PTX is the input named in the repro command.
  std::string line = error.substr(repro + 1);
  size_t ptxPos = line.find(dir.path() + "/flashcore-repro-");
  ASSERT_NE(ptxPos, std::string::npos) << line;
  std::string kept = line.substr(ptxPos, line.find(' ', ptxPos) - ptxPos);
  std::string text;
  ASSERT_TRUE(readFile(kept, text, error)) << error;
  EXPECT_EQ(text, "garbage ptx\n");
  unlink(kept.c_str());
  rmdir(kept.substr(0, kept.rfind('/')).c_str());
}

TEST_F(FakePtxas, ReportsAPtxasThatWritesNoCubin) {
  std::string ptxas = script("ptxas", "exit 0\n");
  AssembleOptions options;
  options.reproDir = dir.path();
  AssembleResult result;
  std::string error;
  EXPECT_FALSE(assemblePtxWith(ptxas, "x", options, result, error));
  EXPECT_NE(error.find("ptxas failed (no cubin written)"), std::string::npos)
      << error;
  // Remove the kept repro directory.
  size_t p = error.find(dir.path() + "/flashcore-repro-");
  ASSERT_NE(p, std::string::npos);
  std::string kept = error.substr(p, error.find(' ', p) - p);
  unlink(kept.c_str());
  rmdir(kept.substr(0, kept.rfind('/')).c_str());
}

//===----------------------------------------------------------------------===//
// The real ptxas
//===----------------------------------------------------------------------===//

TEST(RealPtxas, RejectsGarbagePtxWithStderrAndReproCommand) {
  std::string ptxas, error;
  if (!findPtxas(ptxas, error))
    GTEST_SKIP() << error;
  TempDir dir;
  ASSERT_TRUE(dir.create("flashcore-test-", error)) << error;
  const std::string garbage = ".version 8.6\n.target sm_90a\n"
                              ".address_size 64\nthis is not ptx\n";
  AssembleOptions options;
  options.reproDir = dir.path();
  AssembleResult result;
  ASSERT_FALSE(assemblePtxWith(ptxas, garbage, options, result, error));
  EXPECT_NE(error.find("ptxas failed (exit code"), std::string::npos) << error;
  EXPECT_NE(error.find("line 4"), std::string::npos) << error; // ptxas stderr
  size_t repro = error.find("\nRepro command: " + ptxas);
  ASSERT_NE(repro, std::string::npos) << error;

  // Running the repro command (no shell: the paths hold no spaces) fails the
  // same way on the kept file.
  std::istringstream words(error.substr(repro + 16));
  std::vector<std::string> argv;
  for (std::string w; words >> w;)
    argv.push_back(w);
  ProcessResult rerun;
  ASSERT_TRUE(runProcess(argv, rerun, error)) << error;
  EXPECT_NE(rerun.exitCode, 0);
  EXPECT_NE(rerun.err.find("line 4"), std::string::npos) << rerun.err;

  std::string kept;
  for (const std::string &a : argv)
    if (a.size() > 4 && a.compare(a.size() - 4, 4, ".ptx") == 0)
      kept = a;
  ASSERT_FALSE(kept.empty());
  unlink(kept.c_str());
  rmdir(kept.substr(0, kept.rfind('/')).c_str());
}

TEST(RealPtxas, AssemblesAnEmptyEntryAndReportsItsUsage) {
  std::string ptxas, error;
  if (!findPtxas(ptxas, error))
    GTEST_SKIP() << error;
  const std::string ptx = ".version 8.6\n.target sm_90a\n.address_size 64\n"
                          ".visible .entry flashcore_attention_fwd()\n"
                          "{\n  ret;\n}\n";
  AssembleResult result;
  ASSERT_TRUE(assemblePtxWith(ptxas, ptx, AssembleOptions(), result, error))
      << error;
  ASSERT_GE(result.cubin.size(), 4u);
  EXPECT_EQ(result.cubin.substr(0, 4), "\x7f" "ELF");
  EXPECT_NE(result.infoLog.find("flashcore_attention_fwd"), std::string::npos);
  EXPECT_TRUE(result.warnings.empty()) << result.warnings[0];
}

TEST(RealPtxas, ReportsItsVersion) {
  std::string ptxas, error, version;
  if (!findPtxas(ptxas, error))
    GTEST_SKIP() << error;
  ASSERT_TRUE(ptxasVersion(version, error)) << error;
  EXPECT_NE(version.find('.'), std::string::npos) << version;
}

} // namespace
