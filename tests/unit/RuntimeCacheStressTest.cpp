//===- RuntimeCacheStressTest.cpp - Processes x threads x a vandal --------===//
//
// Four processes (this binary, re-executed to run the disabled child test)
// with four threads each ask for kernels of eight overlapping keys, with
// fresh KernelCache objects every few calls so that most answers come from
// the disk. One of the processes cannot write a byte (RLIMIT_FSIZE 256 bytes:
// the "full disk"; SIGXFSZ ignored). Meanwhile the parent truncates, garbles
// and deletes entries at random. Every call must return the right kernel
// (the bytes the fake compiler makes for that key) or a clear error -- none
// may error here, since compiling always works -- and afterwards the cache
// must be consistent: no temporary files, every entry either valid for its
// key or rejected (never a wrong kernel), and one more call per key leaves a
// valid entry for each.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCacheTestUtil.h"
#include "runtime/CacheEntry.h"
#include "runtime/DiskCache.h"
#include "runtime/Subprocess.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <random>
#include <thread>

using namespace flashcore;
using namespace flashcore::testing;

namespace {

constexpr int kProcesses = 4, kThreads = 4, kCallsPerThread = 1000;

std::vector<AttentionSpec> stressSpecs() {
  std::vector<AttentionSpec> specs;
  for (int d : {64, 96, 128, 256})
    for (bool causal : {false, true})
      specs.push_back(specFor(d, causal));
  return specs;
}

std::vector<std::string> entryFiles(const std::string &dir, bool temporaries) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string n = e->d_name;
      if (temporaries ? n.rfind(".tmp-", 0) == 0
                      : n.size() > 9 && n.find(".fckernel") == n.size() - 9)
        names.push_back(n);
    }
    closedir(d);
  }
  return names;
}

/// Truncates, garbles or deletes a random entry until `stop`.
void vandal(const std::string &dir, std::atomic<bool> &stop,
            std::atomic<int> &acts) {
  std::mt19937 rng(12345);
  while (!stop) {
    std::vector<std::string> names = entryFiles(dir, false);
    if (names.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    std::string path = dir + "/" + names[rng() % names.size()];
    switch (rng() % 3) {
    case 0: // truncate
      if (truncate(path.c_str(), rng() % 400) == 0)
        ++acts;
      break;
    case 1: { // flip bytes in place
      int fd = open(path.c_str(), O_WRONLY);
      if (fd >= 0) {
        char junk[8];
        for (char &c : junk)
          c = char(rng());
        if (pwrite(fd, junk, sizeof junk, off_t(rng() % 300)) > 0)
          ++acts;
        close(fd);
      }
      break;
    }
    default: // delete (a reader may hold it open)
      if (unlink(path.c_str()) == 0)
        ++acts;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

TEST(CacheStress, ProcessesThreadsAndAVandalNeverGetAWrongKernel) {
  TempDir tmp;
  std::string error;
  ASSERT_TRUE(tmp.create("flashcore-stress-", error)) << error;
  const std::string dir = tmp.file("cache");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ChildProcesses children(kProcesses, "CacheStress.DISABLED_Child", [&](int i) {
    if (i == kProcesses - 1) {
      // The full disk: every write past 256 bytes fails (EFBIG); an entry
      // is ~1.2 KB.
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit limit = {256, RLIM_INFINITY}; // soft: raised again later
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    setenv("FLASHCORE_STRESS_DIR", dir.c_str(), 1);
    setenv("FLASHCORE_STRESS_RESULT", tmp.file("result" + std::to_string(i)).c_str(), 1);
  });
  ASSERT_EQ(children.size(), size_t(kProcesses));
  std::atomic<bool> stop{false};
  std::atomic<int> acts{0};
  std::thread vandalThread(vandal, dir, std::ref(stop), std::ref(acts));
  children.release();

  for (int i = 0; i < kProcesses; ++i) {
    int status = 0;
    EXPECT_TRUE(children.wait(i, status)) << "child " << i << " status " << status;
    std::string result;
    ASSERT_TRUE(readFile(tmp.file("result" + std::to_string(i)), result, error))
        << "child " << i << ": " << error;
    EXPECT_EQ(result.rfind("ok ", 0), 0u) << "child " << i << ": " << result;
    std::printf("child %d%s: %s\n", i, i == kProcesses - 1 ? " (full disk)" : "",
                result.c_str());
    unlink(tmp.file("result" + std::to_string(i)).c_str());
  }
  stop = true;
  vandalThread.join();
  std::printf("vandal: %d truncations, garbled writes and deletions\n", acts.load());
  EXPECT_GT(acts.load(), 0);

  // Consistent: nothing temporary; every entry a valid one of its key or
  // rejected; one more call per key leaves a valid entry for each.
  EXPECT_TRUE(entryFiles(dir, true).empty());
  CapturedLog log; // the vandal's last damage is rejected, with a warning
  auto disk = std::make_shared<DiskCache>(dir);
  for (const AttentionSpec &spec : stressSpecs()) {
    CacheKey key;
    ASSERT_TRUE(kernelCacheKey(spec, CompileOptions(), key, error)) << error;
    CompiledKernel kernel;
    std::string reason;
    DiskLookup found = disk->load(key, kernel, reason);
    if (found == DiskLookup::Hit) {
      EXPECT_EQ(kernel.cubin, fakeCubin(key.hex));
    }
    CountingCompiler counting;
    KernelCache cache(counting.function(), disk);
    auto k = cache.get(spec, CompileOptions(), error);
    ASSERT_NE(k, nullptr) << error;
    EXPECT_EQ(k->cubin, fakeCubin(key.hex));
    CompiledKernel after;
    EXPECT_EQ(disk->load(key, after, reason), DiskLookup::Hit) << reason;
    EXPECT_EQ(after.cubin, fakeCubin(key.hex));
  }
  size_t removed = 0;
  disk->clear(removed, error);
  rmdir(dir.c_str());
}

/// One stressing process (run only by the test above): kThreads threads,
/// kCallsPerThread calls each over the stress keys, a fresh cache object
/// every 5 calls. Writes "ok <calls> calls, <compiles> compiles" or what
/// went wrong.
/// A tmpfs of `options` mounted on a fresh directory, unmounted and removed
/// on scope exit; ok() is false where mounting is not permitted.
class TmpfsMount {
public:
  explicit TmpfsMount(const char *options) {
    char tmpl[] = "/tmp/flashcore-tmpfs-XXXXXX";
    if (!mkdtemp(tmpl))
      return;
    dir = tmpl;
    if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options) == 0)
      mounted = true;
    else
      why = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted)
      umount2(dir.c_str(), MNT_DETACH);
    if (!dir.empty())
      rmdir(dir.c_str());
  }
  bool ok() const { return mounted; }
  bool remountReadOnly() {
    return mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY,
                 nullptr) == 0;
  }
  std::string dir, why = "mkdtemp failed";

private:
  bool mounted = false;
};

/// Calls for every key from `threads` threads, each with its own KernelCache
/// on `dir`; counts the wrong kernels and the errors.
void callEveryKey(const std::string &dir, int threads, int rounds,
                  CountingCompiler &compiler, std::atomic<int> &wrong,
                  std::atomic<int> &errors) {
  const std::vector<AttentionSpec> specs = stressSpecs();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        KernelCache cache(compiler.function(), std::make_shared<DiskCache>(dir));
        for (const AttentionSpec &spec : specs) {
          CacheKey key;
          std::string error;
          kernelCacheKey(spec, CompileOptions(), key, error);
          auto k = cache.get(spec, CompileOptions(), error);
          if (!k)
            ++errors;
          else if (k->cubin != fakeCubin(key.hex))
            ++wrong;
        }
      }
    });
  for (std::thread &t : pool)
    t.join();
}

TEST(CacheStress, RealFullAndReadOnlyFilesystems) {
  if (geteuid() != 0)
    GTEST_SKIP() << "mounting a tmpfs needs root; the injected ENOSPC / EROFS "
                    "cases of DiskCacheTest cover these paths";
  CapturedLog log;
  CountingCompiler compiler;
  std::atomic<int> wrong{0}, errors{0};
  {
    // A full filesystem: 16 KB, filled to the last byte before the calls.
    TmpfsMount full("size=16k");
    if (!full.ok())
      GTEST_SKIP() << "mount(tmpfs) not permitted here: " << full.why;
    int fd = open((full.dir + "/filler").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    char block[512] = {};
    while (write(fd, block, sizeof block) > 0) {
    }
    close(fd);
    callEveryKey(full.dir, 4, 5, compiler, wrong, errors);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(errors, 0);
    EXPECT_TRUE(entryFiles(full.dir, true).empty()) << "temporaries left";
    EXPECT_TRUE(entryFiles(full.dir, false).empty()) << "a partial entry published";
    bool sawFull = false;
    for (const std::string &w : log.warnings())
      sawFull |= w.find("No space left on device") != std::string::npos;
    EXPECT_TRUE(sawFull) << "the full disk went unnoticed";
  }
  {
    // A read-only filesystem (EROFS even for root): entries written before
    // are served, the rest compile in memory.
    TmpfsMount ro("size=1m");
    ASSERT_TRUE(ro.ok()) << ro.why;
    const int before = compiler.calls;
    callEveryKey(ro.dir, 1, 1, compiler, wrong, errors); // writes the entries
    ASSERT_EQ(compiler.calls - before, int(stressSpecs().size()));
    const size_t entries = entryFiles(ro.dir, false).size();
    ASSERT_EQ(entries, stressSpecs().size());
    ASSERT_TRUE(ro.remountReadOnly()) << std::strerror(errno);
    const int written = compiler.calls;
    callEveryKey(ro.dir, 4, 5, compiler, wrong, errors);
    EXPECT_EQ(compiler.calls, written) << "entries on a read-only disk not read";
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(entryFiles(ro.dir, false).size(), entries);
  }
}

TEST(CacheStress, DISABLED_Child) {
  const char *dir = std::getenv("FLASHCORE_STRESS_DIR");
  const char *result = std::getenv("FLASHCORE_STRESS_RESULT");
  ASSERT_TRUE(dir && result && ChildProcesses::awaitRelease())
      << "run by ProcessesThreadsAndAVandal... only";
  CapturedLog log; // rejected entries, the full disk: counted, not printed
  const std::vector<AttentionSpec> specs = stressSpecs();
  std::vector<std::string> hex;
  for (const AttentionSpec &s : specs) {
    CacheKey key;
    std::string error;
    ASSERT_TRUE(kernelCacheKey(s, CompileOptions(), key, error)) << error;
    hex.push_back(key.hex);
  }
  CountingCompiler counting;
  std::atomic<int> wrong{0}, errors{0}, calls{0};
  std::mutex firstMutex;
  std::string first;
  auto worker = [&](int t) {
    std::mt19937 rng(unsigned(getpid() * 31 + t));
    std::unique_ptr<KernelCache> cache;
    for (int c = 0; c < kCallsPerThread; ++c) {
      if (c % 5 == 0)
        cache = std::make_unique<KernelCache>(counting.function(),
                                              std::make_shared<DiskCache>(dir));
      size_t i = rng() % specs.size();
      std::string error;
      auto k = cache->get(specs[i], CompileOptions(), error);
      ++calls;
      if (!k) {
        ++errors;
        std::lock_guard<std::mutex> lock(firstMutex);
        if (first.empty())
          first = "error: " + error;
      } else if (k->cubin != fakeCubin(hex[i])) {
        ++wrong;
        std::lock_guard<std::mutex> lock(firstMutex);
        if (first.empty())
          first = "wrong kernel for key " + hex[i];
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back(worker, t);
  for (std::thread &t : threads)
    t.join();
  std::string text =
      (wrong == 0 && errors == 0 ? "ok " : "FAILED " + first + ": ") +
      std::to_string(calls.load()) + " calls, " +
      std::to_string(counting.calls.load()) + " compiles, " +
      std::to_string(wrong.load()) + " wrong, " + std::to_string(errors.load()) +
      " errors, " + std::to_string(log.warnings().size()) + " warnings";
  for (const std::string &w : log.warnings())
    if (w.find("File too large") != std::string::npos) {
      text += " (writes refused: File too large)";
      break;
    }
  std::string error;
  // The full-disk child cannot write its result either: lift the limit.
  struct rlimit none = {RLIM_INFINITY, RLIM_INFINITY};
  setrlimit(RLIMIT_FSIZE, &none);
  ASSERT_TRUE(writeFile(result, text, error)) << error;
}

} // namespace
