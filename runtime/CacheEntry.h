//===- CacheEntry.h - The bytes of one disk-cache entry ---------*- C++ -*-===//
//
// One file per kernel key holds the key text, the PTX, the cubin and ptxas's
// report. A text header names each section with its size and SHA-256 and
// ends with the SHA-256 of the header itself, so every byte of the file is
// covered by a checksum:
//
//   flashcore-cache-entry 1
//   key-sha256 <64 hex>
//   flashcore-version 0.1.0
//   created <unix seconds>
//   assembler ptxas 13.0.88 (/usr/local/cuda/bin/ptxas)
//   resources <registers> <smem> <stack> <spill st> <spill ld> <barriers>
//   timings <generate ms> <assemble ms> <build> <lower> <translate> <codegen>
//   section key <bytes> <sha256>
//   section ptx <bytes> <sha256>
//   section cubin <bytes> <sha256>
//   section ptxas-log <bytes> <sha256>
//   section warnings <bytes> <sha256>
//   header-sha256 <sha256 of every header byte above this line>
//   <key bytes><ptx bytes><cubin bytes><ptxas-log bytes><warnings bytes>
//
// Parsing checks the magic, the format, the header checksum, that the body
// is exactly as long as its sections, and every section checksum; a
// truncated, padded or altered file is rejected with the reason.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_CACHEENTRY_H
#define FLASHCORE_RUNTIME_CACHEENTRY_H

#include "flashcore/Compile.h"
#include "runtime/CacheKey.h"

#include <cstdint>
#include <string>

namespace flashcore {

/// The header fields of a parsed entry.
struct CacheEntryHeader {
  int format = 0;
  std::string keyHex;
  std::string flashcoreVersion;
  int64_t created = 0;
  std::string assembler;
  uint64_t ptxBytes = 0, cubinBytes = 0;
};

/// The file contents for `kernel` (its ptx, cubin, resources, ptxasLog,
/// warnings, assembler and timings) under `key`.
std::string serializeCacheEntry(const CacheKey &key,
                                const CompiledKernel &kernel,
                                int64_t createdUnixSeconds);

/// Verifies and parses an entry. Fills `keyText` and the fields of `kernel`
/// that serializeCacheEntry stores (not spec, key or geometry). False with
/// `reason` ("header checksum mismatch", ...) when the bytes are not an
/// intact entry.
bool parseCacheEntry(const std::string &data, CacheEntryHeader &header,
                     std::string &keyText, CompiledKernel &kernel,
                     std::string &reason);

/// The canonical spec text inside a key text ("" when absent).
std::string specTextOfKey(const std::string &keyText);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_CACHEENTRY_H
