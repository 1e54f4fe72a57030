//===- RuntimeDiskCacheTest.cpp - The disk level of the kernel cache ------===//
//
// Entries survive a "new process" (a fresh KernelCache on the same
// directory); truncated, garbage and mismatched entries are rejected, logged
// once and rebuilt; a directory that cannot be written (a file in the way,
// injected EROFS / ENOSPC, a real read-only directory when not root)
// degrades to memory-only with one warning; 16 threads on same and different
// keys compile each key once.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCacheTestUtil.h"
#include "runtime/CacheEntry.h"
#include "runtime/DiskCache.h"
#include "runtime/Subprocess.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

using namespace flashcore;
using namespace flashcore::testing;

namespace {

class DiskCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(tmp.create("flashcore-disk-", error)) << error;
    dir = tmp.file("cache");
    disk = std::make_shared<DiskCache>(dir, "test");
  }
  void TearDown() override {
    std::string error;
    size_t removed = 0;
    DiskCache(dir).clear(removed, error);
    rmdir(dir.c_str());
  }

  /// A fresh memory level over the same directory: what a new process sees.
  std::unique_ptr<KernelCache> newProcess() {
    return std::make_unique<KernelCache>(compiler.function(),
                                         std::make_shared<DiskCache>(dir));
  }

  CacheKey keyOf(const AttentionSpec &spec) {
    CacheKey key;
    std::string error;
    EXPECT_TRUE(kernelCacheKey(spec, CompileOptions(), key, error)) << error;
    return key;
  }

  std::string entryFor(const AttentionSpec &spec) {
    return disk->entryPath(keyOf(spec).hex);
  }

  /// Names in the cache directory.
  std::vector<std::string> files() {
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
      while (dirent *e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
          names.push_back(e->d_name);
      closedir(d);
    }
    return names;
  }

  TempDir tmp;
  std::string dir;
  std::shared_ptr<DiskCache> disk;
  CountingCompiler compiler;
};

std::string readAll(const std::string &path) {
  std::string data, error;
  EXPECT_TRUE(readFile(path, data, error)) << error;
  return data;
}

void writeAll(const std::string &path, const std::string &data) {
  std::string error;
  ASSERT_TRUE(writeFile(path, data, error)) << error;
}

TEST(CacheEntry, RoundTripsEveryStoredField) {
  CacheKey key = makeCacheKey(CacheKeyInputs{"0.1.0", std::string(64, 'a')});
  CompiledKernel k;
  k.ptx = "// ptx\n";
  k.cubin = std::string("\0\1\2\n\nheader-sha256 x\n", 20);
  k.resources = ResourceUsage{168, 4, 8, 12, 16, 1};
  k.ptxasLog = "ptxas info : Used 168 registers\n";
  k.warnings = {"w1", "w2"};
  k.assembler = "ptxas 13.0.88 (/usr/local/cuda/bin/ptxas)";
  k.timings.generateMs = 48.125;
  k.timings.assembleMs = 139.5;
  std::string bytes = serializeCacheEntry(key, k, 1700000000);

  CacheEntryHeader header;
  std::string keyText, reason;
  CompiledKernel back;
  ASSERT_TRUE(parseCacheEntry(bytes, header, keyText, back, reason)) << reason;
  EXPECT_EQ(keyText, key.text);
  EXPECT_EQ(header.keyHex, key.hex);
  EXPECT_EQ(header.created, 1700000000);
  EXPECT_EQ(back.ptx, k.ptx);
  EXPECT_EQ(back.cubin, k.cubin);
  EXPECT_EQ(back.resources.registers, 168);
  EXPECT_EQ(back.resources.spillLoadBytes, 16);
  EXPECT_EQ(back.ptxasLog, k.ptxasLog);
  EXPECT_EQ(back.warnings, k.warnings);
  EXPECT_EQ(back.assembler, k.assembler);
  EXPECT_DOUBLE_EQ(back.timings.generateMs, 48.125);
}

TEST(CacheEntry, EveryTruncationAndEveryFlippedByteIsRejected) {
  CacheKey key = makeCacheKey(CacheKeyInputs{"0.1.0", std::string(64, 'a')});
  CompiledKernel k;
  k.ptx = "// ptx\n";
  k.cubin = "cubin";
  std::string bytes = serializeCacheEntry(key, k, 1);
  CacheEntryHeader header;
  std::string keyText, reason;
  CompiledKernel out;
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(
        parseCacheEntry(bytes.substr(0, n), header, keyText, out, reason))
        << "truncated to " << n << " bytes";
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] ^= 0x20;
    EXPECT_FALSE(parseCacheEntry(altered, header, keyText, out, reason))
        << "byte " << i << " flipped";
  }
  EXPECT_FALSE(parseCacheEntry(bytes + "x", header, keyText, out, reason));
}

TEST_F(DiskCacheTest, ANewProcessGetsADiskHit) {
  std::string error;
  KernelSource source = KernelSource::Memory;
  auto first =
      newProcess()->get(specFor(128), CompileOptions(), error, &source);
  ASSERT_NE(first, nullptr) << error;
  EXPECT_EQ(source, KernelSource::Compiled);
  std::unique_ptr<KernelCache> second = newProcess();
  auto loaded = second->get(specFor(128), CompileOptions(), error, &source);
  ASSERT_NE(loaded, nullptr) << error;
  EXPECT_EQ(source, KernelSource::Disk);
  EXPECT_EQ(compiler.calls, 1);
  EXPECT_EQ(loaded->cubin, first->cubin);
  EXPECT_EQ(loaded->ptx, first->ptx);
  EXPECT_EQ(loaded->key, first->key);
  EXPECT_EQ(loaded->spec, specFor(128));
  EXPECT_EQ(loaded->geometry.threadsPerCta, first->geometry.threadsPerCta);
  EXPECT_EQ(loaded->warnings, first->warnings);
  EXPECT_EQ(second->stats().diskHits, 1u);
  EXPECT_EQ(second->stats().compiles, 0u);
  // Written atomically: the entry and its lock file, no temporary left.
  std::vector<std::string> names = files();
  EXPECT_EQ(names.size(), 2u);
  for (const std::string &n : names)
    EXPECT_NE(n.rfind(".tmp-", 0), 0u) << n;
}

TEST_F(DiskCacheTest, TruncatedEntryIsLoggedOnceAndRebuilt) {
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error), nullptr);
  const std::string path = entryFor(specFor(128));
  const std::string good = readAll(path);
  for (size_t cut : {size_t(0), size_t(10), good.size() / 3, good.size() - 1}) {
    CapturedLog log;
    writeAll(path, good.substr(0, cut));
    int before = compiler.calls;
    auto kernel = newProcess()->get(specFor(128), CompileOptions(), error);
    ASSERT_NE(kernel, nullptr) << error;
    EXPECT_EQ(compiler.calls, before + 1) << "cut at " << cut;
    ASSERT_EQ(log.warnings().size(), 1u) << "cut at " << cut;
    EXPECT_NE(log.warnings()[0].find(path + " is unusable"), std::string::npos)
        << log.warnings()[0];
    EXPECT_EQ(readAll(path), good) << "the entry was rebuilt";
  }
}

TEST_F(DiskCacheTest, GarbageEntryIsRejectedAndRebuilt) {
  CapturedLog log;
  const std::string path = entryFor(specFor(64));
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::mt19937 rng(7);
  std::string garbage(4096, '\0');
  for (char &c : garbage)
    c = char(rng());
  writeAll(path, garbage);
  std::string error;
  KernelSource source = KernelSource::Memory;
  auto kernel =
      newProcess()->get(specFor(64), CompileOptions(), error, &source);
  ASSERT_NE(kernel, nullptr) << error;
  EXPECT_EQ(source, KernelSource::Compiled);
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find("bad magic"), std::string::npos)
      << log.warnings()[0];
  // Rebuilt: the next process reads it.
  ASSERT_NE(newProcess()->get(specFor(64), CompileOptions(), error, &source),
            nullptr)
      << error;
  EXPECT_EQ(source, KernelSource::Disk);
}

TEST_F(DiskCacheTest, AlteredCubinIsRejected) {
  CapturedLog log;
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error), nullptr);
  const std::string path = entryFor(specFor(128));
  std::string data = readAll(path);
  size_t at = data.find("cubin for ");
  ASSERT_NE(at, std::string::npos);
  data[at] = 'C';
  writeAll(path, data);
  KernelSource source = KernelSource::Memory;
  ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error, &source),
            nullptr);
  EXPECT_EQ(source, KernelSource::Compiled);
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find("section cubin checksum mismatch"),
            std::string::npos)
      << log.warnings()[0];
}

TEST_F(DiskCacheTest, EntryOfAnotherKeyIsRejected) {
  CapturedLog log;
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(64), CompileOptions(), error), nullptr);
  // A valid entry, under the name of another key.
  writeAll(entryFor(specFor(128)), readAll(entryFor(specFor(64))));
  KernelSource source = KernelSource::Memory;
  auto kernel =
      newProcess()->get(specFor(128), CompileOptions(), error, &source);
  ASSERT_NE(kernel, nullptr) << error;
  EXPECT_EQ(source, KernelSource::Compiled);
  EXPECT_EQ(kernel->spec, specFor(128));
  EXPECT_EQ(kernel->cubin, fakeCubin(keyOf(specFor(128)).hex));
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find("the entry is for another key"),
            std::string::npos)
      << log.warnings()[0];
}

TEST_F(DiskCacheTest, ARejectedEntryIsLoggedOncePerKey) {
  CapturedLog log;
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error), nullptr);
  const std::string path = entryFor(specFor(128));
  for (int i = 0; i < 3; ++i) {
    writeAll(path, "flashcore-cache-entry 1\ntruncated");
    ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error),
              nullptr);
  }
  EXPECT_EQ(compiler.calls, 4);
  EXPECT_EQ(log.warnings().size(), 1u);
}

TEST_F(DiskCacheTest, AFileWhereTheDirectoryShouldBeMeansMemoryOnly) {
  CapturedLog log;
  writeAll(dir, "not a directory");
  auto cache = newProcess();
  std::string error;
  for (int d : {64, 128, 64}) {
    ASSERT_NE(cache->get(specFor(d), CompileOptions(), error), nullptr)
        << error;
  }
  EXPECT_EQ(compiler.calls, 2);
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find("kept in memory only"), std::string::npos)
      << log.warnings()[0];
  EXPECT_NE(log.warnings()[0].find("Not a directory"), std::string::npos)
      << log.warnings()[0];
  KernelCacheStats stats = cache->stats();
  EXPECT_FALSE(stats.diskEnabled);
  EXPECT_EQ(stats.disk.writes, 0u);
  EXPECT_EQ(stats.disk.writeFailures, 1u);
  EXPECT_EQ(stats.memoryHits, 1u);
  unlink(dir.c_str());
}

/// Injected failures: what a read-only or full directory does to writes.
struct InjectedFailure {
  const char *name;
  DiskCache::Faults faults;
  const char *message;
};

class DiskCacheFaultTest
    : public DiskCacheTest,
      public ::testing::WithParamInterface<InjectedFailure> {};

TEST_P(DiskCacheFaultTest, DegradesToMemoryOnlyWithOneWarning) {
  CapturedLog log;
  auto d = std::make_shared<DiskCache>(dir, "test");
  d->setFaultsForTesting(GetParam().faults);
  KernelCache cache(compiler.function(), d);
  std::string error;
  for (int hd : {64, 128, 64, 128})
    ASSERT_NE(cache.get(specFor(hd), CompileOptions(), error), nullptr)
        << error;
  EXPECT_EQ(compiler.calls, 2);
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find(GetParam().message), std::string::npos)
      << log.warnings()[0];
  EXPECT_FALSE(d->writable());
  // Nothing half-written is left behind.
  for (const std::string &n : files())
    EXPECT_EQ(n.find(".fckernel"), std::string::npos) << n;
  for (const std::string &n : files())
    EXPECT_NE(n.rfind(".tmp-", 0), 0u) << n;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, DiskCacheFaultTest,
    ::testing::Values(
        InjectedFailure{
            "ReadOnlyFileSystem", {0, EROFS, 0, -1}, "Read-only file system"},
        InjectedFailure{
            "PermissionDenied", {0, EACCES, 0, -1}, "Permission denied"},
        InjectedFailure{
            "MkdirDenied", {EACCES, 0, 0, -1}, "cannot create the directory"},
        InjectedFailure{
            "DiskFullMidWrite", {0, 0, 0, 100}, "No space left on device"},
        InjectedFailure{
            "RenameFails", {0, 0, EXDEV, -1}, "Invalid cross-device link"}),
    [](const auto &info) { return std::string(info.param.name); });

TEST_F(DiskCacheTest, AReadOnlyCacheStillServesItsEntries) {
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(128), CompileOptions(), error), nullptr);
  CapturedLog log;
  auto d = std::make_shared<DiskCache>(dir, "test");
  d->setFaultsForTesting({0, EROFS, 0, -1});
  KernelCache cache(compiler.function(), d);
  KernelSource source = KernelSource::Memory;
  ASSERT_NE(cache.get(specFor(128), CompileOptions(), error, &source), nullptr);
  EXPECT_EQ(source, KernelSource::Disk);
  EXPECT_EQ(compiler.calls, 1);
  EXPECT_TRUE(log.warnings().empty());
}

TEST_F(DiskCacheTest, ARealReadOnlyDirectoryMeansMemoryOnly) {
  if (geteuid() == 0)
    GTEST_SKIP() << "running as root: chmod does not deny writes here; the "
                    "injected EROFS/EACCES cases cover this path";
  ASSERT_EQ(mkdir(dir.c_str(), 0555), 0);
  CapturedLog log;
  auto cache = newProcess();
  std::string error;
  ASSERT_NE(cache->get(specFor(128), CompileOptions(), error), nullptr);
  ASSERT_EQ(log.warnings().size(), 1u);
  EXPECT_NE(log.warnings()[0].find("Permission denied"), std::string::npos);
  chmod(dir.c_str(), 0755);
}

TEST_F(DiskCacheTest, SixteenThreadsOnSameAndDifferentKeysCompileEachOnce) {
  const int dims[4] = {64, 128, 192, 256};
  auto run = [&](KernelCache &cache,
                 std::vector<std::shared_ptr<const CompiledKernel>> &out) {
    std::vector<std::thread> threads;
    std::vector<std::string> errors(16);
    for (int i = 0; i < 16; ++i)
      threads.emplace_back([&, i] {
        out[i] = cache.get(specFor(dims[i % 4]), CompileOptions(), errors[i]);
      });
    for (std::thread &t : threads)
      t.join();
    for (int i = 0; i < 16; ++i) {
      ASSERT_NE(out[i], nullptr) << errors[i];
      EXPECT_EQ(out[i], out[i % 4]) << "thread " << i;
      EXPECT_EQ(out[i]->spec, specFor(dims[i % 4]));
    }
  };
  std::vector<std::shared_ptr<const CompiledKernel>> first(16), second(16);
  auto cacheA = newProcess();
  run(*cacheA, first);
  EXPECT_EQ(compiler.calls, 4);
  EXPECT_EQ(cacheA->stats().compiles, 4u);
  // A new process: every key from disk, read once.
  auto cacheB = newProcess();
  run(*cacheB, second);
  EXPECT_EQ(compiler.calls, 4);
  EXPECT_EQ(cacheB->stats().diskHits, 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(second[i]->cubin, first[i]->cubin);
}

TEST_F(DiskCacheTest, ListAndClear) {
  std::string error;
  ASSERT_NE(newProcess()->get(specFor(64), CompileOptions(), error), nullptr);
  ASSERT_NE(newProcess()->get(specFor(128, true), CompileOptions(), error),
            nullptr);
  writeAll(dir + "/" + std::string(64, 'f') + ".fckernel", "garbage");
  writeAll(dir + "/.tmp-leftover", "x");
  std::vector<CacheEntryInfo> entries;
  ASSERT_TRUE(disk->list(entries, error)) << error;
  ASSERT_EQ(entries.size(), 3u);
  int valid = 0;
  for (const CacheEntryInfo &e : entries) {
    valid += e.valid;
    if (e.valid) {
      EXPECT_NE(e.summary.find("bf16 head_dim"), std::string::npos);
      EXPECT_GT(e.cubinBytes, 0u);
      EXPECT_GT(e.created, 0);
    } else {
      EXPECT_EQ(e.keyHex, std::string(64, 'f'));
      EXPECT_NE(e.reason, "");
    }
  }
  EXPECT_EQ(valid, 2);
  size_t removed = 0;
  ASSERT_TRUE(disk->clear(removed, error)) << error;
  EXPECT_EQ(removed, 3u);
  EXPECT_TRUE(files().empty());
}

TEST(DiskCacheDirectory, FollowsTheEnvironmentInOrder) {
  ScopedEnv off("FLASHCORE_DISK_CACHE", nullptr);
  ScopedEnv a("FLASHCORE_CACHE_DIR", "/a/fc");
  ScopedEnv b("XDG_CACHE_HOME", "/b");
  ScopedEnv c("HOME", "/c");
  std::string origin;
  EXPECT_EQ(DiskCache::directoryFromEnvironment(origin), "/a/fc");
  EXPECT_EQ(origin, "FLASHCORE_CACHE_DIR");
  {
    ScopedEnv unset("FLASHCORE_CACHE_DIR", nullptr);
    EXPECT_EQ(DiskCache::directoryFromEnvironment(origin), "/b/flashcore");
    EXPECT_EQ(origin, "XDG_CACHE_HOME");
    ScopedEnv unsetXdg("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(DiskCache::directoryFromEnvironment(origin),
              "/c/.cache/flashcore");
    EXPECT_EQ(origin, "HOME");
  }
  ScopedEnv disabled("FLASHCORE_DISK_CACHE", "0");
  EXPECT_EQ(DiskCache::directoryFromEnvironment(origin), "");
  EXPECT_FALSE(DiskCache::fromEnvironment()->enabled());
}

} // namespace
