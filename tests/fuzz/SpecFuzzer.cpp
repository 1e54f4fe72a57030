//===- SpecFuzzer.cpp - libFuzzer target: spec text -> parse -> validate --===//
//
// Any text either fails with a located "file:line:col: error: ..." message
// or gives a valid spec whose canonical form parses back to the same spec
// and whose schedule overrides text parses too. A crash, a hang, a leak, a
// sanitizer report or a broken invariant (__builtin_trap) is a finding.
//
//===----------------------------------------------------------------------===//

#include "compiler/KernelABI.h"
#include "compiler/Spec.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace flashcore;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (!parseSpec(text, "fuzz.yaml", spec, diag)) {
    std::string message = diag.str();
    if (message.rfind("fuzz.yaml", 0) != 0 ||
        message.find("error: ") == std::string::npos)
      __builtin_trap(); // an error must be located
    return 0;
  }
  // The canonical text is a fixed point.
  std::string canonical = printSpec(spec);
  AttentionSpec again;
  SpecDiagnostic diag2;
  if (!parseSpec(canonical, "canonical.yaml", again, diag2) || !(again == spec) ||
      printSpec(again) != canonical)
    __builtin_trap();
  // A valid spec has a geometry within the hardware limits.
  KernelGeometry g = computeGeometry(spec);
  if (g.threadsPerCta <= 0 || g.threadsPerCta > 1024)
    __builtin_trap();
  // The same bytes as a FLASHCORE_SCHEDULE override list: parse or a message.
  ScheduleOverrides overrides;
  std::string error;
  if (!parseScheduleOverrides(text, overrides, error) && error.empty())
    __builtin_trap();
  return 0;
}
