//===- RuntimeCacheKeyTest.cpp - Kernel cache keys: stable, complete ------===//
//
// Same inputs give the same key (within a process and across processes: the
// key text is pinned below); changing any one field gives a new key.
//
//===----------------------------------------------------------------------===//

#include "runtime/CacheKey.h"
#include "runtime/Subprocess.h"

#include "ScopedEnv.h"

#include "RuntimeCacheTestUtil.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

using namespace flashcore;
using flashcore::testing::specFor;
using flashcore::testing::ScopedEnv;

namespace {


CacheKeyInputs baseInputs() {
  CacheKeyInputs in;
  in.flashcoreVersion = "0.1.0";
  in.generatorHash = std::string(64, 'a');
  in.arch = "sm_90a";
  in.shapeClass = "any";
  in.ptxFeature = "+ptx86";
  in.assembler = "ptxas 13.0.88 /usr/local/cuda/bin/ptxas size=1 mtime=2";
  in.ptxasFlags = {"-arch=sm_90a", "-O3", "-v"};
  in.canonicalSpec = printSpec(specFor(128));
  return in;
}


TEST(CacheKey, SameInputsGiveTheSameKey) {
  CacheKey a = makeCacheKey(baseInputs());
  CacheKey b = makeCacheKey(baseInputs());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.hex, b.hex);
  EXPECT_EQ(a.hex.size(), 64u);
  EXPECT_EQ(a.hex, sha256Hex(a.text));
}

TEST(CacheKey, TextIsPinned) {
  // The text is the identity of an entry on disk: changing its format must
  // be deliberate (and bump kCacheKeyFormat).
  CacheKeyInputs in = baseInputs();
  in.canonicalSpec = "problem: {}\n";
  EXPECT_EQ(makeCacheKey(in).text,
            "flashcore-kernel-key 1\n"
            "flashcore: 0.1.0\n"
            "generator: " +
                std::string(64, 'a') +
                "\n"
                "arch: sm_90a\n"
                "shape_class: any\n"
                "ptx_feature: +ptx86\n"
                "assembler: ptxas 13.0.88 /usr/local/cuda/bin/ptxas size=1 "
                "mtime=2\n"
                "ptxas_flags: -arch=sm_90a -O3 -v\n"
                "spec:\n"
                "problem: {}\n");
  EXPECT_EQ(sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CacheKey, EveryFieldChangesTheKey) {
  const std::string base = makeCacheKey(baseInputs()).hex;
  std::vector<std::pair<const char *, std::function<void(CacheKeyInputs &)>>>
      changes = {
          {"flashcore version",
           [](auto &in) { in.flashcoreVersion = "0.2.0"; }},
          {"generator hash", [](auto &in) { in.generatorHash[0] = 'b'; }},
          {"arch", [](auto &in) { in.arch = "sm_100a"; }},
          {"shape class", [](auto &in) { in.shapeClass = "seqlen<=1024"; }},
          {"ptx feature", [](auto &in) { in.ptxFeature = "+ptx87"; }},
          {"ptxas version", [](auto &in) { in.assembler[8] = '1'; }},
          {"ptxas path", [](auto &in) { in.assembler += "x"; }},
          {"driver jit", [](auto &in) { in.assembler = "driver-jit"; }},
          {"ptxas flag",
           [](auto &in) { in.ptxasFlags.push_back("-lineinfo"); }},
          {"ptxas flag order",
           [](auto &in) { std::swap(in.ptxasFlags[1], in.ptxasFlags[2]); }},
          {"spec", [](auto &in) { in.canonicalSpec = printSpec(specFor(64)); }},
      };
  std::set<std::string> seen = {base};
  for (auto &[what, change] : changes) {
    CacheKeyInputs in = baseInputs();
    change(in);
    std::string hex = makeCacheKey(in).hex;
    EXPECT_TRUE(seen.insert(hex).second) << what << " did not change the key";
  }
}

TEST(CacheKey, EverySpecFieldChangesTheKey) {
  std::vector<std::function<void(AttentionSpec &)>> changes = {
      [](AttentionSpec &s) { s.problem.dtype = DType::FP16; },
      [](AttentionSpec &s) { s.problem.headDim = 64; },
      [](AttentionSpec &s) { s.problem.causal = true; },
      [](AttentionSpec &s) { s.problem.softcap = true; },
      [](AttentionSpec &s) { s.problem.varlen = true; },
      [](AttentionSpec &s) { s.schedule.blockN = 64; },
      [](AttentionSpec &s) { s.schedule.stages = 3; },
      [](AttentionSpec &s) { s.schedule.swizzle = 64; },
      [](AttentionSpec &s) { s.schedule.producerWarps = 2; },
      [](AttentionSpec &s) { s.schedule.consumerRegisters = 232; },
  };
  Toolchain toolchain;
  toolchain.identity = "driver-jit";
  std::set<std::string> seen = {
      makeCacheKey(keyInputsFor(specFor(128), CompileOptions(), toolchain))
          .hex};
  for (size_t i = 0; i < changes.size(); ++i) {
    AttentionSpec spec = specFor(128);
    changes[i](spec);
    std::string hex =
        makeCacheKey(keyInputsFor(spec, CompileOptions(), toolchain)).hex;
    EXPECT_TRUE(seen.insert(hex).second) << "spec change " << i;
  }
}

TEST(CacheKey, OptionsThatChangeTheBinaryChangeTheKey) {
  Toolchain ptxas;
  ptxas.ptxasPath = "/usr/local/cuda/bin/ptxas";
  ptxas.ptxasVersion = "13.0.88";
  ptxas.identity = "ptxas 13.0.88 /usr/local/cuda/bin/ptxas";
  CompileOptions plain, feature, flags, unverified;
  feature.ptxFeature = "+ptx87";
  flags.extraPtxasFlags = {"--maxrregcount=128"};
  unverified.verifyEachPass = false;
  auto hex = [&](const CompileOptions &o) {
    return makeCacheKey(keyInputsFor(specFor(128), o, ptxas)).hex;
  };
  EXPECT_NE(hex(plain), hex(feature));
  EXPECT_NE(hex(plain), hex(flags));
  EXPECT_EQ(hex(plain), hex(unverified)); // verification never changes bytes
}

TEST(CacheKey, KeyInputsNameTheBuildAndTheToolchain) {
  Toolchain toolchain;
  toolchain.identity = "driver-jit";
  CacheKeyInputs in = keyInputsFor(specFor(128), CompileOptions(), toolchain);
  EXPECT_EQ(in.generatorHash, generatorHash());
  EXPECT_EQ(std::string(generatorHash()).size(), 64u);
  EXPECT_EQ(in.flashcoreVersion, flashcoreVersionString());
  EXPECT_EQ(in.arch, "sm_90a");
  EXPECT_EQ(in.shapeClass, "any");
  EXPECT_TRUE(in.ptxasFlags.empty()); // the driver JIT takes no ptxas flags
}

TEST(CacheKey, FlashcorePtxasSelectsTheAssemblerOfTheKey) {
  // A fake ptxas: a script that prints a version.
  TempDir dir;
  std::string error;
  ASSERT_TRUE(dir.create("flashcore-key-", error)) << error;
  std::string fake = dir.file("ptxas");
  ASSERT_TRUE(writeFile(fake,
                        "#!/bin/sh\necho 'Cuda compilation tools, release "
                        "99.1, V99.1.7'\n",
                        error))
      << error;
  chmod(fake.c_str(), 0755);
  CacheKey withFake, other;
  {
    ScopedEnv env("FLASHCORE_PTXAS", fake.c_str());
    ASSERT_TRUE(kernelCacheKey(specFor(128), CompileOptions(), withFake, error))
        << error;
    CacheKey again;
    ASSERT_TRUE(kernelCacheKey(specFor(128), CompileOptions(), again, error));
    EXPECT_EQ(again.hex, withFake.hex);
  }
  EXPECT_NE(withFake.text.find("assembler: ptxas 99.1.7 " + fake),
            std::string::npos)
      << withFake.text;
  ASSERT_TRUE(kernelCacheKey(specFor(128), CompileOptions(), other, error));
  EXPECT_NE(other.hex, withFake.hex);
}

TEST(CacheKey, AWrongFlashcorePtxasIsAnError) {
  ScopedEnv env("FLASHCORE_PTXAS", "/nonexistent/ptxas");
  CacheKey key;
  std::string error;
  EXPECT_FALSE(kernelCacheKey(specFor(128), CompileOptions(), key, error));
  EXPECT_NE(error.find("FLASHCORE_PTXAS must name an executable ptxas"),
            std::string::npos)
      << error;
}

TEST(CacheKey, NoPtxasMeansTheDriverJit) {
  EXPECT_EQ(assemblerIdentity("", ""), "driver-jit");
  std::string id = assemblerIdentity("/bin/sh", "1.2.3");
  EXPECT_EQ(id.rfind("ptxas 1.2.3 /bin/sh size=", 0), 0u) << id;
  EXPECT_NE(id.find(" mtime="), std::string::npos) << id;
}

} // namespace
