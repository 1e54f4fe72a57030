//===- CacheFuzzer.cpp - libFuzzer target: disk-cache entry and dispatch --===//
//
// The two readers of files FlashCore did not just write: a disk-cache entry
// (parseCacheEntry) and a dispatch table (DispatchTable::parse, specs
// resolved against the embedded ones). The first byte picks the reader.
// Either the input is rejected with a reason, or what was read is
// consistent: an entry's key text hashes to its key, a table's every entry
// names a valid spec.
//
//===----------------------------------------------------------------------===//

#include "runtime/CacheEntry.h"
#include "runtime/DispatchTable.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace flashcore;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string text(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CacheEntryHeader header;
    std::string keyText, reason;
    CompiledKernel kernel;
    if (!parseCacheEntry(text, header, keyText, kernel, reason)) {
      if (reason.empty())
        __builtin_trap(); // a rejection says why
      return 0;
    }
    if (sha256Hex(keyText) != header.keyHex ||
        header.cubinBytes != kernel.cubin.size() ||
        header.ptxBytes != kernel.ptx.size())
      __builtin_trap();
    // What was read writes back to an entry that reads the same.
    CacheKey key{keyText, header.keyHex};
    std::string again = serializeCacheEntry(key, kernel, header.created);
    CacheEntryHeader h2;
    std::string k2, r2;
    CompiledKernel kernel2;
    if (!parseCacheEntry(again, h2, k2, kernel2, r2) || k2 != keyText ||
        kernel2.cubin != kernel.cubin || kernel2.ptx != kernel.ptx)
      __builtin_trap();
    return 0;
  }
  DispatchTable table;
  std::string error;
  if (!DispatchTable::parse(text, "table.yaml", DispatchTable::embeddedResolver(),
                            table, error) &&
      error.empty())
    __builtin_trap();
  return 0;
}
