//===- Cache.h - The on-disk kernel cache, for tools ------------*- C++ -*-===//
//
// Exported C++ (std types only) behind `flashcore-gen cache info|list|clear`.
// Every function acts on the directory the environment selects now
// ($FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore, else
// ~/.cache/flashcore), not on the cache of running processes. Layout and
// entry format: docs/RUNTIME.md.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_CACHE_H
#define FLASHCORE_CACHE_H

#include "compiler/Spec.h" // FLASHCORE_API

#include <cstdint>
#include <string>
#include <vector>

namespace flashcore {

/// One entry file, verified.
struct CacheEntryInfo {
  std::string path;
  std::string keyHex;
  uint64_t fileBytes = 0;
  bool valid = false;
  /// Why the entry is not valid (it would be rebuilt on use).
  std::string reason;
  /// Unix seconds.
  int64_t created = 0;
  uint64_t ptxBytes = 0, cubinBytes = 0;
  std::string flashcoreVersion, assembler;
  /// "bf16 head_dim 128 causal; block_m 128 block_n 128 stages 2 ...".
  std::string summary;
};

struct CacheDirectoryInfo {
  /// "" when the disk cache is off.
  std::string directory;
  /// The variable that chose it ("FLASHCORE_CACHE_DIR", "XDG_CACHE_HOME",
  /// "HOME") or why there is none.
  std::string origin;
  bool exists = false;
  /// A file can be created there now.
  bool writable = false;
  size_t entries = 0, invalidEntries = 0;
  uint64_t totalBytes = 0;
  /// What new keys are made of in this process.
  std::string flashcoreVersion, generatorHash, assembler;
};

FLASHCORE_API bool diskCacheInfo(CacheDirectoryInfo &info, std::string &error);
FLASHCORE_API bool listDiskCache(std::vector<CacheEntryInfo> &entries,
                                 std::string &error);
/// Removes every entry, lock file and leftover temporary file.
FLASHCORE_API bool clearDiskCache(size_t &removed, std::string &error);

} // namespace flashcore

#endif // FLASHCORE_CACHE_H
