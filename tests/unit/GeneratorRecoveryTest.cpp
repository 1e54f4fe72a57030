//===- GeneratorRecoveryTest.cpp - An LLVM fatal error is not the end -----===//
//
// Through libflashcore.so's C++ compile API, in one process: a compile that
// hits an LLVM fatal error (injected by FLASHCORE_TEST_FATAL_ERROR) returns
// an internal error; the next compiles, on this thread and on another, work
// and produce PTX that ptxas assembled.
//
//===----------------------------------------------------------------------===//

#include "compiler/Spec.h"
#include "flashcore/Compile.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

using namespace flashcore;

namespace {

AttentionSpec spec(int headDim, bool causal) {
  AttentionSpec s;
  std::string text = "problem:\n  dtype: bf16\n  head_dim: " + std::to_string(headDim) +
                     "\n  causal: " + (causal ? "true" : "false") + "\n";
  SpecDiagnostic diag;
  EXPECT_TRUE(parseSpec(text, "t.yaml", s, diag)) << diag.str();
  return s;
}

TEST(GeneratorRecovery, AFatalErrorIsAnErrorAndTheNextCompileWorks) {
  setenv("FLASHCORE_DISK_CACHE", "0", 1);
  CompileOptions options;
  std::shared_ptr<const CompiledKernel> kernel;
  std::string error;
  setenv("FLASHCORE_TEST_FATAL_ERROR", "unit", 1);
  EXPECT_FALSE(compileKernel(spec(128, false), options, kernel, error));
  EXPECT_NE(error.find("internal error: LLVM reported a fatal error"), std::string::npos)
      << error;
  EXPECT_NE(error.find("FLASHCORE_TEST_FATAL_ERROR=unit"), std::string::npos) << error;
  unsetenv("FLASHCORE_TEST_FATAL_ERROR");

  // The same spec again (a failure is not cached), then another one.
  for (const AttentionSpec &s : {spec(128, false), spec(64, true)}) {
    error.clear();
    ASSERT_TRUE(compileKernel(s, options, kernel, error)) << error;
    EXPECT_NE(kernel->ptx.find(".entry flashcore_attention_fwd"), std::string::npos);
    EXPECT_FALSE(kernel->cubin.empty());
  }
  // Another thread (its own MLIR context).
  bool ok = false;
  std::thread([&] {
    std::string e;
    std::shared_ptr<const CompiledKernel> k;
    ok = compileKernel(spec(96, true), options, k, e) && !k->cubin.empty();
  }).join();
  EXPECT_TRUE(ok);
}

} // namespace
