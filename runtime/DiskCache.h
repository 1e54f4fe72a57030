//===- DiskCache.h - Compiled kernels on disk, across processes -*- C++ -*-===//
//
// One file per kernel key, <dir>/<sha256 hex>.fckernel (format in
// CacheEntry.h), in $FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore,
// else ~/.cache/flashcore ($FLASHCORE_DISK_CACHE=0 turns the disk cache off).
//
//  * Writes go to a private temporary file in the same directory, renamed
//    into place: readers see a complete old entry or a complete new one.
//  * Reads verify every checksum and compare the stored key text with the
//    requested one; a truncated, garbage or mismatched entry is "rejected"
//    and the caller rebuilds it (and logs it once).
//  * A per-key lock file (flock) lets concurrent processes compile a key
//    once; correctness never depends on it (the rename is atomic).
//  * A directory that cannot be created or written (read-only, full, a file
//    in the way) turns writing off for the rest of the process with one
//    warning: kernels are then kept in memory only. Entries that exist are
//    still read.
//
// Failures can be injected (setFaultsForTesting) so the degraded paths are
// tested even when running as root, where chmod does not deny access.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_DISKCACHE_H
#define FLASHCORE_RUNTIME_DISKCACHE_H

#include "flashcore/Cache.h"
#include "flashcore/Compile.h"
#include "runtime/CacheKey.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flashcore {

struct DiskCacheStats {
  uint64_t hits = 0, misses = 0, rejected = 0, writes = 0, writeFailures = 0;
};

enum class DiskLookup { Hit, Missing, Rejected };

class DiskCache {
public:
  /// A cache in `directory` (created on first write); "" disables it.
  /// `origin` says where the directory came from, for messages.
  explicit DiskCache(std::string directory, std::string origin = "");

  /// The directory the environment selects and the variable that chose it
  /// ("FLASHCORE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"); "" with `origin`
  /// saying why when the disk cache is off or no home directory is known.
  static std::string directoryFromEnvironment(std::string &origin);
  static std::shared_ptr<DiskCache> fromEnvironment();

  bool enabled() const { return !dir.empty(); }
  /// False once a write failed (memory-only from then on).
  bool writable() const { return enabled() && !writesDisabled.load(); }
  const std::string &directory() const { return dir; }
  const std::string &origin() const { return from; }
  std::string entryPath(const std::string &hex) const;
  std::string lockPath(const std::string &hex) const;

  /// Reads the entry of `key`. On Hit, fills what serializeCacheEntry stores
  /// (not spec, key or geometry); on Rejected, `reason` says what is wrong.
  DiskLookup load(const CacheKey &key, CompiledKernel &kernel,
                  std::string &reason);

  /// Writes the entry atomically. On failure warns once, turns writing off
  /// and returns false (the kernel is still good in memory).
  bool store(const CacheKey &key, const CompiledKernel &kernel);

  /// An exclusive lock on one key across processes, held until destroyed.
  /// Holds nothing when no lock file can be made (e.g. read-only).
  class KeyLock {
  public:
    KeyLock() = default;
    explicit KeyLock(int fd) : fd(fd) {}
    KeyLock(KeyLock &&other) noexcept : fd(other.fd) { other.fd = -1; }
    KeyLock &operator=(KeyLock &&other) noexcept;
    KeyLock(const KeyLock &) = delete;
    KeyLock &operator=(const KeyLock &) = delete;
    ~KeyLock();
    bool held() const { return fd >= 0; }

  private:
    int fd = -1;
  };
  KeyLock lockKey(const std::string &hex);

  DiskCacheStats stats() const;

  /// Every *.fckernel file, verified (sorted by path).
  bool list(std::vector<CacheEntryInfo> &entries, std::string &error) const;
  /// Removes entries, lock files, stale temporary files and the memoized
  /// ptxas versions (CacheKey.cpp).
  bool clear(size_t &removed, std::string &error) const;

  /// Errno values to fail operations with, as if the system call had.
  struct Faults {
    int mkdirErrno = 0;
    int writeErrno = 0;
    int renameErrno = 0;
    /// Stop writing after this many bytes (a full disk mid-write), -1: off.
    long long shortWriteAt = -1;
  };
  void setFaultsForTesting(const Faults &faults);

private:
  bool ensureDirectory(std::string &error);
  bool writeEntry(const std::string &hex, const std::string &bytes,
                  std::string &error);
  void disableWrites(const std::string &why);

  std::string dir, from;
  std::atomic<bool> writesDisabled{false};
  std::mutex faultMutex;
  Faults faults;
  std::atomic<uint64_t> nHits{0}, nMisses{0}, nRejected{0}, nWrites{0},
      nWriteFailures{0}, nTemp{0};
};

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_DISKCACHE_H
