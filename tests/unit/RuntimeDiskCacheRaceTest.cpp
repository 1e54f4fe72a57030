//===- RuntimeDiskCacheRaceTest.cpp - Processes racing on one key ---------===//
//
// Eight processes (this test binary, re-executed to run the disabled child
// test) are released at once through a pipe and all ask for the same kernel
// with an empty cache directory. Every one must succeed with the same bytes,
// exactly one valid entry and no temporary file must remain, and, thanks to
// the per-key lock, exactly one of them compiles.
//
//===----------------------------------------------------------------------===//

#include "RuntimeCacheTestUtil.h"
#include "runtime/DiskCache.h"
#include "runtime/Subprocess.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace flashcore;
using namespace flashcore::testing;

namespace {

constexpr int kProcesses = 8;

TEST(DiskCacheRace, EightProcessesOnOneKeyCompileOnceAndLeaveOneEntry) {
  TempDir tmp;
  std::string error;
  ASSERT_TRUE(tmp.create("flashcore-race-", error)) << error;
  const std::string dir = tmp.file("cache");
  ChildProcesses children(kProcesses, "DiskCacheRace.DISABLED_Child", [&](int i) {
    setenv("FLASHCORE_RACE_DIR", dir.c_str(), 1);
    setenv("FLASHCORE_RACE_RESULT", tmp.file("result" + std::to_string(i)).c_str(), 1);
  });
  ASSERT_EQ(children.size(), size_t(kProcesses));
  children.release();

  int compiled = 0;
  std::string firstBytes;
  for (int i = 0; i < kProcesses; ++i) {
    int status = 0;
    EXPECT_TRUE(children.wait(i, status)) << "child " << i << " status " << status;
    std::string result;
    ASSERT_TRUE(readFile(tmp.file("result" + std::to_string(i)), result, error))
        << error;
    std::string source = result.substr(0, result.find(' '));
    compiled += source == "compiled";
    std::string bytes = result.substr(result.find(' ') + 1);
    if (i == 0)
      firstBytes = bytes;
    EXPECT_EQ(bytes, firstBytes) << "child " << i << " (" << source << ")";
    unlink(tmp.file("result" + std::to_string(i)).c_str());
  }
  EXPECT_EQ(compiled, 1);

  // One entry, valid; its lock file; nothing temporary.
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.' || std::string(e->d_name).rfind(".tmp-", 0) == 0)
        names.push_back(e->d_name);
    closedir(d);
  }
  int entries = 0;
  for (const std::string &n : names) {
    EXPECT_NE(n.rfind(".tmp-", 0), 0u) << n;
    entries += n.find(".fckernel") != std::string::npos;
  }
  EXPECT_EQ(entries, 1);
  DiskCache disk(dir);
  CacheKey key;
  ASSERT_TRUE(kernelCacheKey(specFor(128), CompileOptions(), key, error));
  CompiledKernel kernel;
  std::string reason;
  EXPECT_EQ(disk.load(key, kernel, reason), DiskLookup::Hit) << reason;
  EXPECT_EQ(kernel.cubin, fakeCubin(key.hex));
  size_t removed = 0;
  disk.clear(removed, error);
  rmdir(dir.c_str());
}

/// One racing process (run only by the test above).
TEST(DiskCacheRace, DISABLED_Child) {
  const char *dir = std::getenv("FLASHCORE_RACE_DIR");
  const char *result = std::getenv("FLASHCORE_RACE_RESULT");
  ASSERT_TRUE(dir && result && ChildProcesses::awaitRelease())
      << "run by EightProcesses... only";
  CountingCompiler counting;
  CompileFunction fast = counting.function();
  // A compile that takes a while, so the others arrive while it runs.
  CompileFunction slow = [&](const CompileRequest &r, CompiledKernel &k,
                             std::string &e) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return fast(r, k, e);
  };
  KernelCache cache(slow, std::make_shared<DiskCache>(dir));
  std::string error;
  KernelSource source = KernelSource::Memory;
  auto kernel = cache.get(specFor(128), CompileOptions(), error, &source);
  ASSERT_NE(kernel, nullptr) << error;
  ASSERT_TRUE(writeFile(
      result, std::string(kernelSourceName(source)) + " " + kernel->cubin,
      error))
      << error;
}

} // namespace
