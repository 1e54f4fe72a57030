//===- DiskCache.cpp - Compiled kernels on disk, shared by processes ------===//

#include "runtime/DiskCache.h"
#include "runtime/CacheEntry.h"
#include "runtime/Log.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

namespace flashcore {

namespace {

constexpr const char *kEntrySuffix = ".fckernel";
constexpr const char *kLockSuffix = ".lock";
constexpr const char *kTempPrefix = ".tmp-";
/// How long a process waits for another one's compile of the same key before
/// compiling itself (the other process may be stuck; both results are good).
constexpr int kLockWaitSeconds = 600;
/// Entries are tens of kilobytes; a file far larger than any kernel is not
/// read into memory at all.
constexpr long long kMaxEntryBytes = 256ll << 20;

std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string errnoText(int err) { return std::strerror(err); }

/// mkdir -p; false with the errno of the failing component.
bool makeDirectories(const std::string &path, int &err) {
  std::string partial;
  size_t at = 0;
  while (at != std::string::npos) {
    at = path.find('/', at + 1);
    partial = path.substr(0, at);
    if (partial.empty())
      continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      err = errno;
      return false;
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    err = errno;
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    err = ENOTDIR;
    return false;
  }
  return true;
}

bool readWholeFile(const std::string &path, std::string &data, int &err) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    err = errno;
    close(fd);
    return false;
  }
  if (st.st_size > kMaxEntryBytes) {
    err = EFBIG;
    close(fd);
    return false;
  }
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = read(fd, &data[got], data.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  close(fd);
  return true;
}

std::string summarize(const std::string &specText) {
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (specText.empty() || !parseSpec(specText, "key", spec, diag))
    return "(spec does not parse)";
  const ProblemSpec &p = spec.problem;
  const ScheduleSpec &s = spec.schedule;
  std::string out = std::string(dtypeName(p.dtype)) + " head_dim " +
                    std::to_string(p.headDim);
  for (auto [on, name] : {std::pair{p.causal, " causal"},
                          {p.local, " local"},
                          {p.softcap, " softcap"},
                          {p.varlen, " varlen"}})
    if (on)
      out += name;
  out += "; block_m " + std::to_string(s.blockM) + " block_n " +
         std::to_string(s.blockN) + " stages " + std::to_string(s.stages) +
         " swizzle " + std::to_string(s.swizzle) + " consumers " +
         std::to_string(s.consumerWarpgroups) + " regs " +
         std::to_string(s.producerRegisters) + "/" +
         std::to_string(s.consumerRegisters);
  return out;
}

} // namespace

DiskCache::DiskCache(std::string directory, std::string origin)
    : dir(std::move(directory)), from(std::move(origin)) {
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
}

std::string DiskCache::directoryFromEnvironment(std::string &origin) {
  std::string off = env("FLASHCORE_DISK_CACHE");
  if (off == "0" || off == "off") {
    origin = "FLASHCORE_DISK_CACHE=" + off;
    return "";
  }
  if (std::string d = env("FLASHCORE_CACHE_DIR"); !d.empty()) {
    origin = "FLASHCORE_CACHE_DIR";
    return d;
  }
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty() && x[0] == '/') {
    origin = "XDG_CACHE_HOME";
    return x + "/flashcore";
  }
  std::string home = env("HOME");
  if (home.empty()) {
    if (passwd *pw = getpwuid(getuid()); pw && pw->pw_dir)
      home = pw->pw_dir;
  }
  if (home.empty()) {
    origin = "no FLASHCORE_CACHE_DIR, XDG_CACHE_HOME or home directory";
    return "";
  }
  origin = "HOME";
  return home + "/.cache/flashcore";
}

std::shared_ptr<DiskCache> DiskCache::fromEnvironment() {
  std::string origin;
  std::string d = directoryFromEnvironment(origin);
  return std::make_shared<DiskCache>(d, origin);
}

std::string DiskCache::entryPath(const std::string &hex) const {
  return dir + "/" + hex + kEntrySuffix;
}

std::string DiskCache::lockPath(const std::string &hex) const {
  return dir + "/" + hex + kLockSuffix;
}

void DiskCache::setFaultsForTesting(const Faults &f) {
  std::lock_guard<std::mutex> lock(faultMutex);
  faults = f;
}

DiskCacheStats DiskCache::stats() const {
  DiskCacheStats s;
  s.hits = nHits;
  s.misses = nMisses;
  s.rejected = nRejected;
  s.writes = nWrites;
  s.writeFailures = nWriteFailures;
  return s;
}

DiskLookup DiskCache::load(const CacheKey &key, CompiledKernel &kernel,
                           std::string &reason) {
  if (!enabled()) {
    ++nMisses;
    return DiskLookup::Missing;
  }
  std::string path = entryPath(key.hex), data;
  int err = 0;
  if (!readWholeFile(path, data, err)) {
    if (err != ENOENT && err != ENOTDIR) {
      reason = "cannot read " + path + ": " + errnoText(err);
      ++nRejected;
      return DiskLookup::Rejected;
    }
    ++nMisses;
    return DiskLookup::Missing;
  }
  CacheEntryHeader header;
  std::string keyText;
  CompiledKernel loaded;
  if (!parseCacheEntry(data, header, keyText, loaded, reason)) {
    ++nRejected;
    return DiskLookup::Rejected;
  }
  if (header.keyHex != key.hex || keyText != key.text) {
    reason = "the entry is for another key (key-sha256 " +
             header.keyHex.substr(0, 16) + "...)";
    ++nRejected;
    return DiskLookup::Rejected;
  }
  kernel.ptx = std::move(loaded.ptx);
  kernel.cubin = std::move(loaded.cubin);
  kernel.resources = loaded.resources;
  kernel.ptxasLog = std::move(loaded.ptxasLog);
  kernel.warnings = std::move(loaded.warnings);
  kernel.assembler = std::move(loaded.assembler);
  kernel.timings = loaded.timings;
  ++nHits;
  return DiskLookup::Hit;
}

bool DiskCache::ensureDirectory(std::string &error) {
  int injected;
  {
    std::lock_guard<std::mutex> lock(faultMutex);
    injected = faults.mkdirErrno;
  }
  int err = injected;
  if (!err && makeDirectories(dir, err))
    return true;
  error = "cannot create the directory " + dir + ": " + errnoText(err);
  return false;
}

void DiskCache::disableWrites(const std::string &why) {
  ++nWriteFailures;
  writesDisabled = true;
  log::warnOnce("disk-cache-unwritable:" + dir,
                "the kernel cache directory " + dir + " (" + from +
                    ") is not usable for writing: " + why +
                    "; kernels compiled from now on are kept in memory only");
}

bool DiskCache::writeEntry(const std::string &hex, const std::string &bytes,
                           std::string &error) {
  Faults f;
  {
    std::lock_guard<std::mutex> lock(faultMutex);
    f = faults;
  }
  std::string temp = dir + "/" + kTempPrefix + hex.substr(0, 16) + "-" +
                     std::to_string(getpid()) + "-" +
                     std::to_string(nTemp.fetch_add(1));
  int fd = f.writeErrno ? -1
                        : open(temp.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = f.writeErrno ? f.writeErrno : errno;
    error = "cannot create " + temp + ": " + errnoText(err);
    return false;
  }
  size_t limit = f.shortWriteAt >= 0
                     ? std::min(bytes.size(), size_t(f.shortWriteAt))
                     : bytes.size();
  size_t done = 0;
  int err = 0;
  while (done < limit) {
    ssize_t n = write(fd, bytes.data() + done, limit - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!err && done < bytes.size())
    err = ENOSPC; // the injected short write
  if (close(fd) != 0 && !err)
    err = errno;
  if (!err && f.renameErrno)
    err = f.renameErrno;
  if (!err && rename(temp.c_str(), entryPath(hex).c_str()) != 0)
    err = errno;
  if (err) {
    unlink(temp.c_str());
    error = "cannot write " + entryPath(hex) + ": " + errnoText(err);
    return false;
  }
  return true;
}

bool DiskCache::store(const CacheKey &key, const CompiledKernel &kernel) {
  if (!writable())
    return false;
  std::string error;
  if (!ensureDirectory(error)) {
    disableWrites(error);
    return false;
  }
  std::string bytes = serializeCacheEntry(
      key, kernel, static_cast<int64_t>(std::time(nullptr)));
  if (!writeEntry(key.hex, bytes, error)) {
    disableWrites(error);
    return false;
  }
  ++nWrites;
  return true;
}

DiskCache::KeyLock &DiskCache::KeyLock::operator=(KeyLock &&other) noexcept {
  if (this != &other) {
    if (fd >= 0)
      close(fd);
    fd = other.fd;
    other.fd = -1;
  }
  return *this;
}

DiskCache::KeyLock::~KeyLock() {
  if (fd >= 0)
    close(fd); // releases the flock
}

DiskCache::KeyLock DiskCache::lockKey(const std::string &hex) {
  if (!writable())
    return KeyLock();
  std::string error;
  if (!ensureDirectory(error)) {
    disableWrites(error);
    return KeyLock();
  }
  int fd = open(lockPath(hex).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return KeyLock(); // e.g. read-only: compile without the lock
  // Poll rather than block, so that a stuck holder delays us boundedly.
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kLockWaitSeconds);
  auto pause = std::chrono::milliseconds(1);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) ||
        std::chrono::steady_clock::now() > deadline) {
      log::warnOnce("disk-cache-lock:" + hex,
                    "could not lock " + lockPath(hex) + " (" +
                        errnoText(errno) + "); compiling without it");
      close(fd);
      return KeyLock();
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return KeyLock(fd);
}

bool DiskCache::list(std::vector<CacheEntryInfo> &entries,
                     std::string &error) const {
  entries.clear();
  if (!enabled()) {
    error = "the disk cache is off (" + from + ")";
    return false;
  }
  DIR *d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT)
      return true; // nothing cached yet
    error = "cannot read the directory " + dir + ": " + errnoText(errno);
    return false;
  }
  std::vector<std::string> names;
  while (dirent *e = readdir(d))
    if (endsWith(e->d_name, kEntrySuffix))
      names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string &name : names) {
    CacheEntryInfo info;
    info.path = dir + "/" + name;
    info.keyHex = name.substr(0, name.size() - std::strlen(kEntrySuffix));
    std::string data, keyText;
    int err = 0;
    if (!readWholeFile(info.path, data, err)) {
      info.reason = "cannot read: " + errnoText(err);
      entries.push_back(info);
      continue;
    }
    info.fileBytes = data.size();
    CacheEntryHeader header;
    CompiledKernel kernel;
    info.valid = parseCacheEntry(data, header, keyText, kernel, info.reason);
    if (info.valid && header.keyHex != info.keyHex) {
      info.valid = false;
      info.reason = "the file name does not match its key-sha256";
    }
    info.created = header.created;
    info.ptxBytes = header.ptxBytes;
    info.cubinBytes = header.cubinBytes;
    info.flashcoreVersion = header.flashcoreVersion;
    info.assembler = header.assembler;
    if (info.valid)
      info.summary = summarize(specTextOfKey(keyText));
    entries.push_back(info);
  }
  return true;
}

bool DiskCache::clear(size_t &removed, std::string &error) const {
  removed = 0;
  if (!enabled()) {
    error = "the disk cache is off (" + from + ")";
    return false;
  }
  DIR *d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT)
      return true;
    error = "cannot read the directory " + dir + ": " + errnoText(errno);
    return false;
  }
  std::vector<std::string> names;
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (endsWith(name, kEntrySuffix) || endsWith(name, kLockSuffix) ||
        name.rfind(kTempPrefix, 0) == 0 ||
        (name.rfind("ptxas-", 0) == 0 && endsWith(name, ".version")))
      names.push_back(name);
  }
  closedir(d);
  for (const std::string &name : names) {
    std::string path = dir + "/" + name;
    if (unlink(path.c_str()) != 0) {
      error = "cannot remove " + path + ": " + errnoText(errno);
      return false;
    }
    removed += endsWith(name, kEntrySuffix);
  }
  return true;
}

} // namespace flashcore
