//===- Subprocess.h - Run a program without a shell -------------*- C++ -*-===//
//
// posix_spawn with stdout and stderr redirected to files in a private (0700)
// temporary directory, so a chatty child can never dead-lock on a pipe.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_SUBPROCESS_H
#define FLASHCORE_RUNTIME_SUBPROCESS_H

#include <string>
#include <vector>

namespace flashcore {

/// A directory made with mkdtemp, removed with the files in it (one level)
/// when the object dies unless keep() was called.
class TempDir {
public:
  TempDir() = default;
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir();

  /// Creates "<$TMPDIR or /tmp>/<prefix>XXXXXX".
  bool create(const std::string &prefix, std::string &error);
  const std::string &path() const { return dir; }
  std::string file(const std::string &name) const { return dir + "/" + name; }
  void keep() { kept = true; }

private:
  std::string dir;
  bool kept = false;
};

struct ProcessResult {
  /// Exit status, or -1 when the child was killed by `signal`.
  int exitCode = -1;
  int signal = 0;
  std::string out;
  std::string err;
};

/// Runs argv[0] (an absolute path) with argv, the current environment and no
/// shell; waits for it and captures its output. Returns false only when the
/// child could not be run at all (a non-zero exit is reported in `result`).
bool runProcess(const std::vector<std::string> &argv, ProcessResult &result,
                std::string &error);

/// True when `path` is a regular file this process may execute.
bool isExecutableFile(const std::string &path);

bool writeFile(const std::string &path, const std::string &data,
               std::string &error);
bool readFile(const std::string &path, std::string &data, std::string &error);

/// Quotes one argument for a POSIX shell when it needs it (for printing
/// repro commands; nothing is ever run through a shell).
std::string shellQuote(const std::string &arg);
std::string shellJoin(const std::vector<std::string> &argv);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_SUBPROCESS_H
