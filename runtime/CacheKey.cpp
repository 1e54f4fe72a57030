//===- CacheKey.cpp - SHA-256 identity of a compiled kernel ---------------===//

#include "runtime/CacheKey.h"
#include "runtime/PtxAssembler.h"

#include "flashcore_generated/GeneratorHash.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <sys/stat.h>

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
    if (!ptxasVersionOf(t.ptxasPath, t.ptxasVersion, versionError)) {
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
