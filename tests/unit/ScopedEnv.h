//===- ScopedEnv.h - Environment variables set for one test -----*- C++ -*-===//

#ifndef FLASHCORE_TESTS_UNIT_SCOPEDENV_H
#define FLASHCORE_TESTS_UNIT_SCOPEDENV_H

#include <cstdlib>
#include <optional>
#include <string>

namespace flashcore::testing {

/// Sets (or, with null, unsets) an environment variable for the life of the
/// object.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name(name) {
    if (const char *old = std::getenv(name))
      saved = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (saved)
      setenv(name, saved->c_str(), 1);
    else
      unsetenv(name);
  }

private:
  const char *name;
  std::optional<std::string> saved;
};

} // namespace flashcore::testing

#endif // FLASHCORE_TESTS_UNIT_SCOPEDENV_H
