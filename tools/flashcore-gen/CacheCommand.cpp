//===- CacheCommand.cpp - flashcore-gen cache info|list|clear -------------===//
//
// Shows and manages the on-disk kernel cache of the environment
// ($FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore, else
// ~/.cache/flashcore) through the exported flashcore/Cache.h.
//
//===----------------------------------------------------------------------===//

#include "tools/flashcore-gen/Commands.h"

#include "flashcore/Cache.h"

#include <cstdio>
#include <ctime>
#include <iostream>

namespace flashcore::tools {

namespace {

std::string when(int64_t unixSeconds) {
  if (unixSeconds <= 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string bytes(uint64_t n) {
  char buf[32];
  if (n >= (1u << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
  else if (n >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)n);
  return buf;
}

int info() {
  CacheDirectoryInfo info;
  std::string error;
  if (!diskCacheInfo(info, error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  if (info.directory.empty()) {
    std::cout << "directory: none, the disk cache is off (" << info.origin
              << ")\n";
  } else {
    std::cout << "directory: " << info.directory << " (from " << info.origin
              << ")\n"
              << "state: "
              << (!info.exists    ? "not created yet"
                  : info.writable ? "exists, writable"
                                  : "exists, NOT writable (memory-only)")
              << "\n"
              << "entries: " << info.entries << " (" << info.invalidEntries
              << " invalid), " << bytes(info.totalBytes) << "\n";
  }
  std::cout << "keys of this build: flashcore " << info.flashcoreVersion
            << ", generator " << info.generatorHash.substr(0, 16)
            << ", assembler " << info.assembler << "\n";
  return 0;
}

int list() {
  std::vector<CacheEntryInfo> entries;
  std::string error;
  if (!listDiskCache(entries, error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  std::printf("%-16s  %-19s  %9s  %9s  %s\n", "KEY", "CREATED", "PTX", "CUBIN",
              "KERNEL");
  for (const CacheEntryInfo &e : entries) {
    if (!e.valid) {
      std::printf("%-16s  %-19s  %9s  %9s  INVALID (%s; rebuilt on use)\n",
                  e.keyHex.substr(0, 16).c_str(), when(e.created).c_str(), "-",
                  "-", e.reason.c_str());
      continue;
    }
    std::printf("%-16s  %-19s  %9s  %9s  %s\n", e.keyHex.substr(0, 16).c_str(),
                when(e.created).c_str(), bytes(e.ptxBytes).c_str(),
                bytes(e.cubinBytes).c_str(), e.summary.c_str());
  }
  std::printf("%zu entries\n", entries.size());
  return 0;
}

int clear() {
  size_t removed = 0;
  std::string error;
  CacheDirectoryInfo info;
  diskCacheInfo(info, error);
  if (!clearDiskCache(removed, error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  std::cout << "removed " << removed << " entries from " << info.directory
            << "\n";
  return 0;
}

} // namespace

int cache(const std::string &action) {
  if (action == "info")
    return info();
  if (action == "list")
    return list();
  if (action == "clear")
    return clear();
  std::cerr << "error: cache action must be info, list or clear, got: "
            << action << "\n";
  return 1;
}

} // namespace flashcore::tools
