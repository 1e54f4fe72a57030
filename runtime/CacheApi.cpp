//===- CacheApi.cpp - flashcore/Cache.h over DiskCache --------------------===//

#include "flashcore/Cache.h"
#include "runtime/CacheKey.h"
#include "runtime/DiskCache.h"

#include <sys/stat.h>
#include <unistd.h>

namespace flashcore {

bool diskCacheInfo(CacheDirectoryInfo &info, std::string &error) {
  info = CacheDirectoryInfo();
  info.directory = DiskCache::directoryFromEnvironment(info.origin);
  info.flashcoreVersion = flashcoreVersionString();
  info.generatorHash = generatorHash();
  Toolchain toolchain;
  std::string toolchainError;
  info.assembler = currentToolchain(toolchain, toolchainError)
                       ? toolchain.identity
                       : "(" + toolchainError + ")";
  if (info.directory.empty())
    return true;
  struct stat st;
  info.exists = stat(info.directory.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  info.writable = info.exists && access(info.directory.c_str(), W_OK) == 0;
  DiskCache disk(info.directory, info.origin);
  std::vector<CacheEntryInfo> entries;
  if (!disk.list(entries, error))
    return false;
  for (const CacheEntryInfo &e : entries) {
    ++info.entries;
    info.invalidEntries += !e.valid;
    info.totalBytes += e.fileBytes;
  }
  return true;
}

bool listDiskCache(std::vector<CacheEntryInfo> &entries, std::string &error) {
  std::string origin;
  std::string dir = DiskCache::directoryFromEnvironment(origin);
  return DiskCache(dir, origin).list(entries, error);
}

bool clearDiskCache(size_t &removed, std::string &error) {
  std::string origin;
  std::string dir = DiskCache::directoryFromEnvironment(origin);
  return DiskCache(dir, origin).clear(removed, error);
}

} // namespace flashcore
