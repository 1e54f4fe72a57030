//===- CacheKey.cpp - SHA-256 identity of a compiled kernel ---------------===//

#include "runtime/CacheKey.h"
#include "runtime/DiskCache.h"
#include "runtime/PtxAssembler.h"
#include "runtime/Subprocess.h"

#include "flashcore_generated/GeneratorHash.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#ifndef FLASHCORE_VERSION_STRING
#define FLASHCORE_VERSION_STRING "0.0.0"
#endif

namespace flashcore {

std::string sha256Hex(const std::string &data) {
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(data));
  return llvm::toHex(digest, /*LowerCase=*/true);
}

CacheKey makeCacheKey(const CacheKeyInputs &in) {
  CacheKey key;
  std::string &t = key.text;
  t = "flashcore-kernel-key " + std::to_string(kCacheKeyFormat) + "\n";
  t += "flashcore: " + in.flashcoreVersion + "\n";
  t += "generator: " + in.generatorHash + "\n";
  t += "arch: " + in.arch + "\n";
  t += "shape_class: " + in.shapeClass + "\n";
  t += "ptx_feature: " + in.ptxFeature + "\n";
  t += "assembler: " + in.assembler + "\n";
  t += "ptxas_flags:";
  for (const std::string &flag : in.ptxasFlags)
    t += " " + flag;
  t += "\nspec:\n" + in.canonicalSpec;
  key.hex = sha256Hex(t);
  return key;
}

const char *generatorHash() { return FLASHCORE_GENERATOR_HASH; }
const char *flashcoreVersionString() { return FLASHCORE_VERSION_STRING; }

std::string assemblerIdentity(const std::string &path,
                              const std::string &version) {
  if (path.empty())
    return "driver-jit";
  std::string id = "ptxas " + version + " " + path;
  struct stat st;
  if (stat(path.c_str(), &st) == 0)
    id += " size=" + std::to_string(static_cast<long long>(st.st_size)) +
          " mtime=" + std::to_string(static_cast<long long>(st.st_mtime));
  return id;
}

/// `ptxas --version` costs a process (~4 ms), most of what a new process
/// that only reads the disk cache would spend. The version of one binary
/// (path, inode, size, mtime) is therefore memoized in the cache directory as
/// ptxas-<hash>.version, holding the binary's identity and its version; any
/// change to the binary changes the identity and the file name. Best effort:
/// without a usable directory ptxas is simply asked.
static bool memoizedPtxasVersion(const std::string &ptxas, std::string &version,
                                 std::string &error) {
  struct stat st;
  std::string origin;
  std::string dir = DiskCache::directoryFromEnvironment(origin);
  if (dir.empty() || stat(ptxas.c_str(), &st) != 0)
    return ptxasVersionOf(ptxas, version, error);
  std::string identity =
      ptxas + " ino=" + std::to_string((unsigned long long)st.st_ino) +
      " size=" + std::to_string((long long)st.st_size) +
      " mtime=" + std::to_string((long long)st.st_mtime) + "\n";
  std::string memo =
      dir + "/ptxas-" + sha256Hex(identity).substr(0, 16) + ".version";
  std::string text, ignored;
  if (readFile(memo, text, ignored) && text.rfind(identity, 0) == 0) {
    std::string stored = text.substr(identity.size());
    if (!stored.empty() && stored.back() == '\n')
      stored.pop_back();
    if (!stored.empty() &&
        stored.find_first_not_of("0123456789.") == std::string::npos) {
      version = stored;
      return true;
    }
  }
  if (!ptxasVersionOf(ptxas, version, error))
    return false;
  std::string temp = memo + ".tmp-" + std::to_string(getpid());
  if (writeFile(temp, identity + version + "\n", ignored))
    std::rename(temp.c_str(), memo.c_str());
  else
    unlink(temp.c_str());
  return true;
}

bool currentToolchain(Toolchain &toolchain, std::string &error) {
  PtxasSearch search = PtxasSearch::fromEnvironment();
  std::string memoKey =
      search.flashcorePtxas + '\0' + search.cudaHome + '\0' + search.path;
  static std::mutex mutex;
  static std::map<std::string, Toolchain> known;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(memoKey);
    if (it != known.end()) {
      toolchain = it->second;
      return true;
    }
  }
  Toolchain t;
  std::string findError;
  if (findPtxasIn(search, t.ptxasPath, findError)) {
    std::string versionError;
    if (!memoizedPtxasVersion(t.ptxasPath, t.ptxasVersion, versionError)) {
      error = versionError;
      return false;
    }
  } else {
    if (!search.flashcorePtxas.empty()) {
      error = findError; // an explicit FLASHCORE_PTXAS that is wrong
      return false;
    }
    t.ptxasPath.clear();
    t.missingReason = findError;
  }
  t.identity = assemblerIdentity(t.ptxasPath, t.ptxasVersion);
  std::lock_guard<std::mutex> lock(mutex);
  known.emplace(memoKey, t);
  toolchain = t;
  return true;
}

std::string bakedShapeClass(const AttentionSpec &) { return "any"; }

CacheKeyInputs keyInputsFor(const AttentionSpec &spec,
                            const CompileOptions &options,
                            const Toolchain &toolchain) {
  CacheKeyInputs in;
  in.flashcoreVersion = flashcoreVersionString();
  in.generatorHash = generatorHash();
  in.arch = kTargetArch;
  in.shapeClass = bakedShapeClass(spec);
  in.ptxFeature = options.ptxFeature;
  in.assembler = toolchain.identity;
  if (!toolchain.ptxasPath.empty()) {
    AssembleOptions asmOptions;
    asmOptions.arch = kTargetArch;
    asmOptions.extraFlags = options.extraPtxasFlags;
    in.ptxasFlags = ptxasFlags(asmOptions);
  }
  in.canonicalSpec = printSpec(spec);
  return in;
}

bool kernelCacheKey(const AttentionSpec &spec, const CompileOptions &options,
                    CacheKey &key, std::string &error) {
  Toolchain toolchain;
  if (!currentToolchain(toolchain, error))
    return false;
  key = makeCacheKey(keyInputsFor(spec, options, toolchain));
  return true;
}

} // namespace flashcore
