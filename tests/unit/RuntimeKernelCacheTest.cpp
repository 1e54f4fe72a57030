//===- RuntimeKernelCacheTest.cpp - One compile per key, with a fake ------===//
//
// The compile function is a fake that counts calls and can hold the first
// caller until the other threads are known (through the cache's wait
// observer) to be waiting for it, so the concurrency claims are checked
// deterministically, without sleeps or timing assertions.
//
//===----------------------------------------------------------------------===//

#include "runtime/KernelCache.h"

#include "RuntimeCacheTestUtil.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace flashcore;
using flashcore::testing::specFor;

namespace {


/// Counts compiles; optionally holds them until `waiters` threads wait.
class FakeCompiler {
public:
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  int holdUntilWaiters = 0;

  CompileFunction function() {
    return [this](const CompileRequest &request, CompiledKernel &kernel,
                  std::string &error) {
      ++calls;
      {
        // Bounded only so that a cache bug (a second compile, which would
        // never see the waiters arrive) fails the test instead of hanging it.
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait_for(lock, std::chrono::seconds(30),
                    [&] { return waiting >= holdUntilWaiters; });
      }
      if (fail) {
        error = "fake compile failed for head_dim " +
                std::to_string(request.spec.problem.headDim);
        return false;
      }
      kernel.ptx = "// ptx for " + request.key.hex;
      kernel.cubin = "cubin";
      kernel.geometry = computeGeometry(request.spec);
      return true;
    };
  }

  std::function<void(const std::string &)> observer() {
    return [this](const std::string &) {
      std::lock_guard<std::mutex> lock(mutex);
      ++waiting;
      cv.notify_all();
    };
  }

private:
  std::mutex mutex;
  std::condition_variable cv;
  int waiting = 0;
};

CacheKey keyOf(const AttentionSpec &spec,
               const CompileOptions &options = CompileOptions()) {
  CacheKey key;
  std::string error;
  EXPECT_TRUE(kernelCacheKey(spec, options, key, error)) << error;
  return key;
}

TEST(KernelCache, KeyHoldsArchPtxFeatureFlagsAndCanonicalSpec) {
  AttentionSpec spec = specFor(128);
  CompileOptions options;
  options.extraPtxasFlags = {"--warn-on-spills"};
  std::string key = keyOf(spec, options).text;
  EXPECT_NE(key.find("arch: sm_90a\n"), std::string::npos) << key;
  EXPECT_NE(key.find("ptx_feature: +ptx86\n"), std::string::npos) << key;
  EXPECT_NE(key.find(" --warn-on-spills\n"), std::string::npos) << key;
  EXPECT_NE(key.find(printSpec(spec)), std::string::npos) << key;
}

TEST(KernelCache, SixteenThreadsAskingForOneKeyCompileOnce) {
  FakeCompiler fake;
  fake.holdUntilWaiters = 15; // the compile finishes only once all wait
  KernelCache cache(fake.function());
  cache.setWaitObserver(fake.observer());

  constexpr int kThreads = 16;
  std::vector<std::shared_ptr<const CompiledKernel>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      results[i] = cache.get(specFor(128), CompileOptions(), errors[i]);
    });
  for (std::thread &t : threads)
    t.join();

  EXPECT_EQ(fake.calls, 1);
  ASSERT_NE(results[0], nullptr) << errors[0];
  for (int i = 0; i < kThreads; ++i)
    EXPECT_EQ(results[i], results[0]) << "thread " << i << ": " << errors[i];
  EXPECT_EQ(results[0]->spec, specFor(128));
  EXPECT_EQ(results[0]->key, keyOf(specFor(128)).text);
  EXPECT_EQ(results[0]->keyHex, keyOf(specFor(128)).hex);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(KernelCache, SecondLookupIsServedFromTheCache) {
  FakeCompiler fake;
  KernelCache cache(fake.function());
  std::string error;
  KernelSource source = KernelSource::Memory;
  auto first = cache.get(specFor(64), CompileOptions(), error, &source);
  EXPECT_EQ(source, KernelSource::Compiled);
  auto second = cache.get(specFor(64), CompileOptions(), error, &source);
  EXPECT_EQ(source, KernelSource::Memory);
  EXPECT_EQ(cache.stats().memoryHits, 1u);
  EXPECT_EQ(cache.stats().compiles, 1u);
  EXPECT_EQ(first, second);
  EXPECT_EQ(fake.calls, 1);
}

TEST(KernelCache, DifferentKeysCompileIndependently) {
  FakeCompiler fake;
  KernelCache cache(fake.function());
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<const CompiledKernel>> results(4);
  std::string errors[4];
  const AttentionSpec specs[4] = {specFor(64), specFor(128), specFor(64, true),
                                  specFor(256)};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      results[i] = cache.get(specs[i], CompileOptions(), errors[i]);
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(fake.calls, 4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(results[i], nullptr) << errors[i];
    EXPECT_EQ(results[i]->spec, specs[i]);
  }
  EXPECT_EQ(cache.size(), 4u);
}

TEST(KernelCache, CompileOptionsArePartOfTheKey) {
  FakeCompiler fake;
  KernelCache cache(fake.function());
  std::string error;
  CompileOptions ptx87;
  ptx87.ptxFeature = "+ptx87";
  auto a = cache.get(specFor(128), CompileOptions(), error);
  auto b = cache.get(specFor(128), ptx87, error);
  EXPECT_EQ(fake.calls, 2);
  EXPECT_NE(a, b);
}

TEST(KernelCache, FailureReachesEveryWaiterAndIsRetriedLater) {
  FakeCompiler fake;
  fake.fail = true;
  fake.holdUntilWaiters = 15;
  KernelCache cache(fake.function());
  cache.setWaitObserver(fake.observer());

  constexpr int kThreads = 16;
  std::vector<std::shared_ptr<const CompiledKernel>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      results[i] = cache.get(specFor(128), CompileOptions(), errors[i]);
    });
  for (std::thread &t : threads)
    t.join();

  EXPECT_EQ(fake.calls, 1);
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(results[i], nullptr);
    EXPECT_EQ(errors[i], "fake compile failed for head_dim 128");
  }
  EXPECT_EQ(cache.size(), 0u);

  // The failure was not cached: the next call compiles again.
  fake.fail = false;
  std::string error;
  auto retried = cache.get(specFor(128), CompileOptions(), error);
  ASSERT_NE(retried, nullptr) << error;
  EXPECT_EQ(fake.calls, 2);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(KernelCache, VerificationIsNotPartOfTheKey) {
  CompileOptions verified, unverified;
  verified.verifyEachPass = true;
  unverified.verifyEachPass = false;
  EXPECT_EQ(keyOf(specFor(128), verified).hex,
            keyOf(specFor(128), unverified).hex);
}

TEST(KernelCache, ProductionCompileWithoutTheGeneratorFailsCleanly) {
  // runtime_tests link no generator: the weak reference is null.
  CompiledKernel kernel;
  std::string error;
  EXPECT_FALSE(productionCompile(
      CompileRequest{specFor(128), CompileOptions(), keyOf(specFor(128))},
      kernel, error));
  EXPECT_NE(error.find("not linked into this binary"), std::string::npos)
      << error;
}

TEST(KernelCache, ThrowingCompileIsReportedNotPropagated) {
  KernelCache cache([](const CompileRequest &, CompiledKernel &,
                       std::string &) -> bool {
    throw std::runtime_error("boom");
  });
  std::string error;
  EXPECT_EQ(cache.get(specFor(128), CompileOptions(), error), nullptr);
  EXPECT_EQ(error, "kernel compile threw: boom");
}

TEST(KernelCache, ClearForgetsCompiledKernels) {
  FakeCompiler fake;
  KernelCache cache(fake.function());
  std::string error;
  cache.get(specFor(128), CompileOptions(), error);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  cache.get(specFor(128), CompileOptions(), error);
  EXPECT_EQ(fake.calls, 2);
}

TEST(KernelCache, ProductionCompileRejectsAnInvalidSpec) {
  AttentionSpec spec = specFor(128);
  spec.schedule.blockN = 300;
  CompiledKernel kernel;
  std::string error;
  EXPECT_FALSE(productionCompile(
      CompileRequest{spec, CompileOptions(), CacheKey{"k", "00"}}, kernel,
      error));
  EXPECT_NE(error.find("block_n must be"), std::string::npos) << error;
}

} // namespace
