//===- RuntimeCacheTestUtil.h - Helpers of the cache tests ------*- C++ -*-===//
//
// A fake compile function that counts calls and produces deterministic
// bytes per key (binary zeros included), a captured log, specs per head_dim
// and a scoped environment variable.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_TESTS_UNIT_RUNTIMECACHETESTUTIL_H
#define FLASHCORE_TESTS_UNIT_RUNTIMECACHETESTUTIL_H

#include "ScopedEnv.h"
#include "runtime/KernelCache.h"
#include "runtime/Log.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace flashcore::testing {

inline AttentionSpec specFor(int headDim, bool causal = false) {
  AttentionSpec spec;
  spec.problem.headDim = headDim;
  spec.problem.causal = causal;
  spec.schedule = defaultSchedule(spec.problem);
  return spec;
}

/// The bytes the fake compiler produces for a key.
inline std::string fakeCubin(const std::string &hex) {
  static const char kHead[] = {'\x7f', 'E', 'L', 'F', '\0', '\0'};
  return std::string(kHead, sizeof kHead) + "cubin for " + hex +
         std::string(1, '\0');
}

/// Counts compiles and fills every field a disk entry stores.
struct CountingCompiler {
  std::atomic<int> calls{0};

  CompileFunction function() {
    return [this](const CompileRequest &request, CompiledKernel &kernel,
                  std::string &) {
      ++calls;
      kernel.ptx = "// ptx for " + request.key.hex + "\n";
      kernel.cubin = fakeCubin(request.key.hex);
      kernel.resources.registers = 168;
      kernel.resources.barriers = 1;
      kernel.ptxasLog = "ptxas info    : Used 168 registers\n";
      kernel.warnings = {"ptxas warning : fake"};
      kernel.assembler = "fake assembler";
      kernel.timings.generateMs = 12.5;
      kernel.timings.assembleMs = 100.25;
      return true;
    };
  }
};

/// Captures log lines for the life of the object.
class CapturedLog {
public:
  CapturedLog() {
    log::setSinkForTesting([this](log::Level level, const std::string &m) {
      std::lock_guard<std::mutex> lock(mutex);
      (level == log::Level::Warning ? warningLines : infoLines).push_back(m);
    });
  }
  ~CapturedLog() { log::setSinkForTesting(nullptr); }
  std::vector<std::string> warnings() {
    std::lock_guard<std::mutex> lock(mutex);
    return warningLines;
  }
  std::vector<std::string> infos() {
    std::lock_guard<std::mutex> lock(mutex);
    return infoLines;
  }

private:
  std::mutex mutex;
  std::vector<std::string> warningLines, infoLines;
};

/// Processes racing on the cache: `count` copies of this test binary, each
/// running only the (disabled) test `childTest` after `setup(i)` (run in
/// the child before exec: environment, limits). They wait on a pipe until
/// release() lets them all go at once; wait(i) reaps child i.
class ChildProcesses {
public:
  ChildProcesses(int count, const std::string &childTest,
                 const std::function<void(int)> &setup) {
    if (pipe(go) != 0)
      return;
    for (int i = 0; i < count; ++i) {
      pid_t pid = fork();
      if (pid < 0)
        break;
      if (pid == 0) {
        close(go[1]);
        setenv("FLASHCORE_CHILD_GO_FD", std::to_string(go[0]).c_str(), 1);
        setup(i);
        std::string filter = "--gtest_filter=" + childTest;
        execl("/proc/self/exe", "/proc/self/exe",
              "--gtest_also_run_disabled_tests", filter.c_str(),
              (char *)nullptr);
        _exit(127);
      }
      pids.push_back(pid);
    }
  }
  size_t size() const { return pids.size(); }
  /// Closing the write end releases every child at once (read sees EOF).
  void release() {
    close(go[0]);
    close(go[1]);
  }
  /// Whether child i exited with status 0.
  bool wait(int i, int &status) {
    status = 0;
    return waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
  }
  /// In a child: blocks until the parent's release(); false when not run
  /// as a child.
  static bool awaitRelease() {
    const char *fd = std::getenv("FLASHCORE_CHILD_GO_FD");
    if (!fd)
      return false;
    char byte;
    while (read(std::atoi(fd), &byte, 1) > 0) {
    }
    return true;
  }

private:
  int go[2] = {-1, -1};
  std::vector<pid_t> pids;
};

} // namespace flashcore::testing

#endif // FLASHCORE_TESTS_UNIT_RUNTIMECACHETESTUTIL_H
