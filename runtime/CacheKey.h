//===- CacheKey.h - SHA-256 identity of a compiled kernel -------*- C++ -*-===//
//
// A kernel's cache key is a canonical text naming everything that decides
// the bytes of its PTX and cubin, and the SHA-256 of that text:
//
//   flashcore-kernel-key 1
//   flashcore: 0.1.0                      library version
//   generator: <sha256>                   compiler/ + dialect/ sources and the
//                                         LLVM version, hashed at build time
//   arch: sm_90a
//   shape_class: any                      shape facts baked into the kernel
//   ptx_feature: +ptx86
//   assembler: ptxas 13.0.88 /usr/local/cuda/bin/ptxas size=... mtime=...
//   ptxas_flags: -arch=sm_90a -O3 -v
//   spec:
//   <printSpec(spec)>
//
// The assembler line is the ptxas binary that $FLASHCORE_PTXAS, $CUDA_HOME,
// the configured toolkit and $PATH resolve to (these variables change the
// binary only through it), or "driver-jit" when there is none. Options that
// do not change the bytes (MLIR verification, FLASHCORE_DUMP, FLASHCORE_LOG)
// are deliberately left out. The hex digest names the disk-cache entry; the
// full text is stored in the entry and compared on every read.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_CACHEKEY_H
#define FLASHCORE_RUNTIME_CACHEKEY_H

#include "flashcore/Compile.h"

#include <string>
#include <vector>

namespace flashcore {

/// The target every key names.
inline constexpr const char *kTargetArch = "sm_90a";

/// Version of the key text format (and of the disk entry format).
inline constexpr int kCacheKeyFormat = 1;

/// Every field of a key. Production code fills it with keyInputsFor; tests
/// change one field at a time.
struct CacheKeyInputs {
  std::string flashcoreVersion;
  std::string generatorHash;
  std::string arch = kTargetArch;
  std::string shapeClass = "any";
  std::string ptxFeature;
  std::string assembler;
  std::vector<std::string> ptxasFlags;
  std::string canonicalSpec;
};

struct CacheKey {
  std::string text;
  /// Lower-case SHA-256 of `text` (64 digits).
  std::string hex;
};

CacheKey makeCacheKey(const CacheKeyInputs &inputs);

/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(const std::string &data);

/// The ptxas binary kernels are assembled with, as resolved from the
/// environment; memoized per (FLASHCORE_PTXAS, CUDA_HOME, PATH).
struct Toolchain {
  /// Empty: no ptxas, the driver JIT-compiles the PTX at load time.
  std::string ptxasPath;
  std::string ptxasVersion;
  /// The `assembler` field of keys.
  std::string identity;
  /// Why there is no ptxas (a warning for the driver-JIT path).
  std::string missingReason;
};

/// False with `error` only when $FLASHCORE_PTXAS names something that is not
/// an executable ptxas (an explicit choice that cannot be honoured).
bool currentToolchain(Toolchain &toolchain, std::string &error);

/// "ptxas 13.0.88 <path> size=<bytes> mtime=<seconds>" or "driver-jit".
std::string assemblerIdentity(const std::string &ptxasPath,
                              const std::string &ptxasVersion);

/// Build-time hash of the generator sources (GeneratorHash.cmake).
const char *generatorHash();
/// FLASHCORE_VERSION_STRING.
const char *flashcoreVersionString();

/// The shape facts a spec bakes into its kernel. Every FlashCore kernel takes
/// batch, sequence lengths, heads and strides as arguments, so this is "any";
/// the field exists so that a future shape-specialized kernel gets its own
/// key (docs/RUNTIME.md).
std::string bakedShapeClass(const AttentionSpec &spec);

CacheKeyInputs keyInputsFor(const AttentionSpec &spec,
                            const CompileOptions &options,
                            const Toolchain &toolchain);

/// keyInputsFor with the current toolchain, then makeCacheKey.
bool kernelCacheKey(const AttentionSpec &spec, const CompileOptions &options,
                    CacheKey &key, std::string &error);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_CACHEKEY_H
