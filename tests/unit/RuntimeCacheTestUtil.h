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

#include <atomic>
#include <cstdlib>
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


} // namespace flashcore::testing

#endif // FLASHCORE_TESTS_UNIT_RUNTIMECACHETESTUTIL_H
