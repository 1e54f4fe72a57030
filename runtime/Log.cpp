//===- Log.cpp - FLASHCORE_LOG lines and once-only warnings ---------------===//

#include "runtime/Log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace flashcore {
namespace log {

namespace {

struct State {
  std::mutex mutex;
  Sink sink;
  std::set<std::string> warned;
};

State &state() {
  static State s;
  return s;
}

bool envEnabled() {
  static const bool enabled = [] {
    const char *v = std::getenv("FLASHCORE_LOG");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

void emit(State &s, Level level, const std::string &message) {
  if (s.sink) {
    s.sink(level, message);
    return;
  }
  std::string line =
      level == Level::Warning ? "flashcore: warning: " : "flashcore: ";
  line += message;
  line += "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace

bool infoEnabled() {
  if (envEnabled())
    return true;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return static_cast<bool>(s.sink);
}

void info(const std::string &message) {
  State &s = state();
  if (!envEnabled()) {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.sink)
      s.sink(Level::Info, message);
    return;
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  emit(s, Level::Info, message);
}

bool warnOnce(const std::string &onceKey, const std::string &message) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.warned.insert(onceKey).second)
    return false;
  emit(s, Level::Warning, message);
  return true;
}

void setSinkForTesting(Sink sink) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.sink = std::move(sink);
  s.warned.clear();
}

} // namespace log
} // namespace flashcore
