//===- CacheEntry.cpp - The bytes of one disk-cache entry -----------------===//

#include "runtime/CacheEntry.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace flashcore {

namespace {

constexpr const char *kMagic = "flashcore-cache-entry";
constexpr const char *kHeaderSumField = "header-sha256 ";

struct Section {
  const char *name;
  const std::string *data;
};

std::string joinLines(const std::vector<std::string> &lines) {
  std::string out;
  for (const std::string &l : lines)
    out += l + "\n";
  return out;
}

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::string formatMs(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

bool parseUnsigned(const std::string &s, uint64_t &out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos ||
      s.size() > 18)
    return false;
  out = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

bool isHex64(const std::string &s) {
  return s.size() == 64 &&
         s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

} // namespace

std::string serializeCacheEntry(const CacheKey &key,
                                const CompiledKernel &kernel, int64_t created) {
  std::string warnings = joinLines(kernel.warnings);
  const ResourceUsage &r = kernel.resources;
  const CompileTimings &t = kernel.timings;
  std::string header =
      std::string(kMagic) + " " + std::to_string(kCacheKeyFormat) + "\n";
  header += "key-sha256 " + key.hex + "\n";
  header += "flashcore-version " + std::string(flashcoreVersionString()) + "\n";
  header += "created " + std::to_string(created) + "\n";
  header += "assembler " + kernel.assembler + "\n";
  header += "resources " + std::to_string(r.registers) + " " +
            std::to_string(r.sharedBytes) + " " +
            std::to_string(r.stackFrameBytes) + " " +
            std::to_string(r.spillStoreBytes) + " " +
            std::to_string(r.spillLoadBytes) + " " +
            std::to_string(r.barriers) + "\n";
  header += "timings " + formatMs(t.generateMs) + " " + formatMs(t.assembleMs) +
            " " + formatMs(t.buildMs) + " " + formatMs(t.lowerMs) + " " +
            formatMs(t.translateMs) + " " + formatMs(t.codegenMs) + "\n";
  const Section sections[] = {{"key", &key.text},
                              {"ptx", &kernel.ptx},
                              {"cubin", &kernel.cubin},
                              {"ptxas-log", &kernel.ptxasLog},
                              {"warnings", &warnings}};
  std::string body;
  for (const Section &s : sections) {
    header += std::string("section ") + s.name + " " +
              std::to_string(s.data->size()) + " " + sha256Hex(*s.data) + "\n";
    body += *s.data;
  }
  header += kHeaderSumField + sha256Hex(header) + "\n";
  return header + body;
}

bool parseCacheEntry(const std::string &data, CacheEntryHeader &header,
                     std::string &keyText, CompiledKernel &kernel,
                     std::string &reason) {
  header = CacheEntryHeader();
  // Step 1. Magic, then the header and its checksum.
  std::string magic = std::string(kMagic) + " ";
  if (data.compare(0, magic.size(), magic) != 0) {
    reason = data.empty() ? "the file is empty"
                          : "not a flashcore cache entry (bad magic)";
    return false;
  }
  size_t sumAt = data.find(std::string("\n") + kHeaderSumField);
  if (sumAt == std::string::npos) {
    reason = "truncated: no header-sha256 line";
    return false;
  }
  size_t sumBegin = sumAt + 1 + std::string(kHeaderSumField).size();
  size_t headerEnd = data.find('\n', sumBegin);
  if (headerEnd == std::string::npos) {
    reason = "truncated inside the header-sha256 line";
    return false;
  }
  std::string headerText = data.substr(0, sumAt + 1);
  if (data.substr(sumBegin, headerEnd - sumBegin) != sha256Hex(headerText)) {
    reason = "header checksum mismatch";
    return false;
  }

  // Step 2. Header fields.
  struct Declared {
    std::string name;
    uint64_t bytes;
    std::string sha;
  };
  std::vector<Declared> declared;
  for (const std::string &line : splitLines(headerText)) {
    size_t space = line.find(' ');
    std::string field = line.substr(0, space);
    std::string value =
        space == std::string::npos ? "" : line.substr(space + 1);
    if (field == kMagic) {
      header.format = std::atoi(value.c_str());
    } else if (field == "key-sha256") {
      header.keyHex = value;
    } else if (field == "flashcore-version") {
      header.flashcoreVersion = value;
    } else if (field == "created") {
      header.created = std::atoll(value.c_str());
    } else if (field == "assembler") {
      header.assembler = value;
    } else if (field == "resources") {
      ResourceUsage &r = kernel.resources;
      std::istringstream in(value);
      in >> r.registers >> r.sharedBytes >> r.stackFrameBytes >>
          r.spillStoreBytes >> r.spillLoadBytes >> r.barriers;
    } else if (field == "timings") {
      CompileTimings &t = kernel.timings;
      std::istringstream in(value);
      in >> t.generateMs >> t.assembleMs >> t.buildMs >> t.lowerMs >>
          t.translateMs >> t.codegenMs;
    } else if (field == "section") {
      std::istringstream in(value);
      Declared d;
      std::string bytes;
      in >> d.name >> bytes >> d.sha;
      if (!parseUnsigned(bytes, d.bytes) || !isHex64(d.sha)) {
        reason = "malformed section line: " + line;
        return false;
      }
      declared.push_back(d);
    }
  }
  if (header.format != kCacheKeyFormat) {
    reason = "entry format " + std::to_string(header.format) +
             ", this library reads format " + std::to_string(kCacheKeyFormat);
    return false;
  }
  const char *expected[] = {"key", "ptx", "cubin", "ptxas-log", "warnings"};
  if (declared.size() != 5) {
    reason = "expected 5 sections, found " + std::to_string(declared.size());
    return false;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < declared.size(); ++i) {
    if (declared[i].name != expected[i]) {
      reason = "section " + std::to_string(i) + " must be " + expected[i] +
               ", got: " + declared[i].name;
      return false;
    }
    total += declared[i].bytes;
  }

  // Step 3. The body: exact length, then each section's checksum.
  size_t bodyBegin = headerEnd + 1;
  uint64_t bodyBytes = data.size() - bodyBegin;
  if (bodyBytes != total) {
    reason = (bodyBytes < total ? "truncated: body is " : "body is ") +
             std::to_string(bodyBytes) + " bytes, the header declares " +
             std::to_string(total);
    return false;
  }
  std::string parts[5];
  size_t at = bodyBegin;
  for (size_t i = 0; i < 5; ++i) {
    parts[i] = data.substr(at, declared[i].bytes);
    at += declared[i].bytes;
    if (sha256Hex(parts[i]) != declared[i].sha) {
      reason = "section " + declared[i].name + " checksum mismatch";
      return false;
    }
  }
  keyText = std::move(parts[0]);
  kernel.ptx = std::move(parts[1]);
  kernel.cubin = std::move(parts[2]);
  kernel.ptxasLog = std::move(parts[3]);
  kernel.warnings = splitLines(parts[4]);
  kernel.assembler = header.assembler;
  header.ptxBytes = kernel.ptx.size();
  header.cubinBytes = kernel.cubin.size();
  if (sha256Hex(keyText) != header.keyHex) {
    reason = "key-sha256 does not match the stored key text";
    return false;
  }
  return true;
}

std::string specTextOfKey(const std::string &keyText) {
  size_t at = keyText.find("\nspec:\n");
  return at == std::string::npos ? "" : keyText.substr(at + 7);
}

} // namespace flashcore
