//===- Log.h - FLASHCORE_LOG lines and once-only warnings -------*- C++ -*-===//
//
// The runtime reports on stderr, prefixed "flashcore: ":
//
//  * info lines (cache hits, compiles, disk writes) only when $FLASHCORE_LOG
//    is set to something other than "" or "0";
//  * warnings (a corrupt disk-cache entry, an unwritable cache directory)
//    always, each at most once per process for a given `onceKey`.
//
// Tests replace the sink to capture what would be printed.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_LOG_H
#define FLASHCORE_RUNTIME_LOG_H

#include <functional>
#include <string>

namespace flashcore {
namespace log {

enum class Level { Info, Warning };

/// True when $FLASHCORE_LOG asks for info lines (read once per process,
/// unless a test sink is installed, which sees every line).
bool infoEnabled();

/// "flashcore: <message>" when infoEnabled().
void info(const std::string &message);

/// "flashcore: warning: <message>" unless a warning with the same
/// `onceKey` was printed already. Returns true when it printed.
bool warnOnce(const std::string &onceKey, const std::string &message);

/// Replaces the stderr sink (null restores it) and forgets which warnings
/// were printed. For tests.
using Sink = std::function<void(Level, const std::string &)>;
void setSinkForTesting(Sink sink);

} // namespace log
} // namespace flashcore

#endif // FLASHCORE_RUNTIME_LOG_H
