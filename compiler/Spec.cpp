//===- Spec.cpp - Spec defaults, validation and canonical printing --------===//
//
// The rules enforced here are listed, with their reasons, in docs/SPEC.md.
// Every message has the form "<field> must be <rule>, got: <value>".
//
//===----------------------------------------------------------------------===//

#include "compiler/Spec.h"
#include "compiler/KernelABI.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace flashcore {

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return "bf16";
  case DType::FP16:
    return "fp16";
  }
  return "?";
}

int dtypeBytes(DType) { return 2; }

double ProblemSpec::effectiveSoftmaxScale() const {
  if (softmaxScale)
    return *softmaxScale;
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

std::string SpecDiagnostic::str() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) {
      out += ":" + std::to_string(line);
      if (column > 0)
        out += ":" + std::to_string(column);
    }
    out += ": ";
  }
  out += "error: " + message;
  return out;
}

//===----------------------------------------------------------------------===//
// Defaults
//===----------------------------------------------------------------------===//

/// Key/value rows per stage by head dimension: the accumulators of one
/// consumer thread (head_dim/2 for O, block_n/2 for S) must stay well inside
/// 240 registers, and Q + 2 stages of K and V inside 227 KB.
static int defaultBlockN(int headDim) {
  if (headDim <= 128)
    return 128;
  if (headDim <= 192)
    return 96;
  return 80;
}

/// The widest swizzle that divides a row of head_dim elements.
static int defaultSwizzle(const ProblemSpec &p) {
  int rowBytes = p.headDim * dtypeBytes(p.dtype);
  for (int swizzle : {128, 64, 32})
    if (rowBytes % swizzle == 0)
      return swizzle;
  return 128;
}

ScheduleSpec resolveSchedule(const ProblemSpec &problem,
                             const ScheduleOverrides &given) {
  ScheduleSpec s;
  // block_m and consumer_warpgroups imply each other (64 rows per warpgroup).
  if (given.consumerWarpgroups)
    s.consumerWarpgroups = *given.consumerWarpgroups;
  else if (given.blockM && *given.blockM % kWgmmaM == 0 &&
           *given.blockM >= kWgmmaM && *given.blockM <= 4 * kWgmmaM)
    s.consumerWarpgroups = *given.blockM / kWgmmaM;
  else
    s.consumerWarpgroups = 2;
  s.blockM = given.blockM.value_or(kWgmmaM * s.consumerWarpgroups);
  s.blockN = given.blockN.value_or(defaultBlockN(problem.headDim));
  s.stages = given.stages.value_or(2);
  s.swizzle = given.swizzle.value_or(defaultSwizzle(problem));
  s.producerWarps = given.producerWarps.value_or(1);

  // FlashAttention-3's split: 24/240 with two consumer warpgroups, 32/160
  // with three. In general the producer keeps the minimum and the consumers
  // share the rest of the 512 registers per thread slot, capped at 240.
  int c = s.consumerWarpgroups > 0 ? s.consumerWarpgroups : 1;
  s.producerRegisters = given.producerRegisters.value_or(c >= 3 ? 32 : 24);
  int share = (kRegistersPerSm / kThreadsPerWarpgroup - s.producerRegisters) / c;
  int consumer = std::min(240, share / 8 * 8);
  // setmaxnreg.inc may not lower the count below the entry cap.
  int threads = kThreadsPerWarpgroup * (1 + c);
  int entryCap = std::min(kMaxRegistersPerThread, kRegistersPerSm / threads) /
                 8 * 8;
  if (consumer < entryCap)
    consumer = entryCap;
  s.consumerRegisters = given.consumerRegisters.value_or(consumer);
  return s;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {
class Violation {
public:
  Violation(std::optional<SpecDiagnostic> &out, const char *field)
      : out(out), field(field) {}
  /// Records "<field short name> must be <rule>, got: <got>".
  void operator()(const std::string &rule, const std::string &got) {
    SpecDiagnostic d;
    d.field = field;
    std::string shortName = field.substr(field.find('.') + 1);
    d.message = shortName + " must be " + rule + ", got: " + got;
    out = d;
  }

private:
  std::optional<SpecDiagnostic> &out;
  std::string field;
};

std::string str(long long v) { return std::to_string(v); }
} // namespace

std::optional<SpecDiagnostic> validateSpec(const AttentionSpec &spec) {
  const ProblemSpec &p = spec.problem;
  const ScheduleSpec &s = spec.schedule;
  std::optional<SpecDiagnostic> result;
#define FC_FAIL(FIELD, RULE, GOT)                                              \
  do {                                                                         \
    Violation(result, FIELD)(RULE, GOT);                                       \
    return result;                                                             \
  } while (false)

  // Problem. head_dim is the K of S = Q Kᵀ (steps of 16) and the N of
  // O = P V (a multiple of 8, at most 256).
  if (p.headDim < 16 || p.headDim > 256 || p.headDim % 16 != 0)
    FC_FAIL("problem.head_dim", "a multiple of 16 in [16, 256]",
            str(p.headDim));
  if (p.local && p.causal)
    FC_FAIL("problem.local",
            "false when causal is true (causal is the window (-1, 0))",
            "true");
  if (p.softmaxScale &&
      (!std::isfinite(*p.softmaxScale) || *p.softmaxScale <= 0)) {
    std::ostringstream got;
    got << *p.softmaxScale;
    FC_FAIL("problem.softmax_scale", "a finite number > 0", got.str());
  }

  // Schedule: tile shapes (wgmma M = 64 per warpgroup; TMA boxes <= 256 rows).
  if (s.consumerWarpgroups < 1 || s.consumerWarpgroups > 4)
    FC_FAIL("schedule.consumer_warpgroups", "in [1, 4]",
            str(s.consumerWarpgroups));
  if (s.blockM < kWgmmaM || s.blockM > kMaxTmaBoxDim || s.blockM % kWgmmaM)
    FC_FAIL("schedule.block_m",
            "a multiple of 64 in [64, 256] (64 rows per consumer warpgroup, "
            "TMA box rows <= 256)",
            str(s.blockM));
  if (s.blockM != kWgmmaM * s.consumerWarpgroups)
    FC_FAIL("schedule.block_m",
            "64 * consumer_warpgroups = " +
                str(kWgmmaM * s.consumerWarpgroups),
            str(s.blockM));
  // block_n is the N of S = Q Kᵀ (multiple of 8, <= 256), the K of O = P V
  // (steps of 16) and the row count of the K/V TMA boxes (<= 256).
  if (s.blockN < 16 || s.blockN > kMaxTmaBoxDim || s.blockN % 16 != 0)
    FC_FAIL("schedule.block_n", "a multiple of 16 in [16, 256]",
            str(s.blockN));
  if (s.stages < 1 || s.stages > 8)
    FC_FAIL("schedule.stages", "in [1, 8]", str(s.stages));
  if (s.swizzle != 32 && s.swizzle != 64 && s.swizzle != 128)
    FC_FAIL("schedule.swizzle", "32, 64 or 128 (bytes)", str(s.swizzle));
  int rowBytes = p.headDim * dtypeBytes(p.dtype);
  if (rowBytes % s.swizzle != 0)
    FC_FAIL("schedule.swizzle",
            "a divisor of the row width head_dim * " +
                str(dtypeBytes(p.dtype)) + " = " + str(rowBytes) + " bytes",
            str(s.swizzle));
  if (s.producerWarps < 1 || s.producerWarps > 2)
    FC_FAIL("schedule.producer_warps", "1 or 2", str(s.producerWarps));

  // Registers: setmaxnreg takes multiples of 8 in [24, 256].
  if (s.producerRegisters < 24 || s.producerRegisters > 256 ||
      s.producerRegisters % 8)
    FC_FAIL("schedule.producer_registers", "a multiple of 8 in [24, 256]",
            str(s.producerRegisters));
  if (s.consumerRegisters < 24 || s.consumerRegisters > 256 ||
      s.consumerRegisters % 8)
    FC_FAIL("schedule.consumer_registers", "a multiple of 8 in [24, 256]",
            str(s.consumerRegisters));
  long long total =
      (long long)kThreadsPerWarpgroup *
      (s.producerRegisters + (long long)s.consumerWarpgroups * s.consumerRegisters);
  if (total > kRegistersPerSm)
    FC_FAIL("schedule.consumer_registers",
            "small enough that 128 * (producer_registers + "
            "consumer_warpgroups * consumer_registers) <= 65536 (this spec "
            "needs " + str(total) + ")",
            str(s.consumerRegisters));
  KernelGeometry g = computeGeometry(spec);
  if (s.producerRegisters > g.entryRegisterCap)
    FC_FAIL("schedule.producer_registers",
            "<= the entry register cap " + str(g.entryRegisterCap) +
                " (setmaxnreg.dec cannot raise it; " +
                str(g.threadsPerCta) + " threads per CTA)",
            str(s.producerRegisters));
  if (s.consumerRegisters < g.entryRegisterCap)
    FC_FAIL("schedule.consumer_registers",
            ">= the entry register cap " + str(g.entryRegisterCap) +
                " (setmaxnreg.inc cannot lower it; " +
                str(g.threadsPerCta) + " threads per CTA)",
            str(s.consumerRegisters));
  // A consumer thread holds the O accumulator (head_dim / 2 fp32), the S
  // accumulator (block_n / 2 fp32) and ~32 registers of addresses, row
  // statistics and loop state. More than consumer_registers would spill.
  int needed = p.headDim / 2 + s.blockN / 2 + 32;
  if (needed > s.consumerRegisters)
    FC_FAIL("schedule.block_n",
            "small enough that head_dim/2 + block_n/2 + 32 <= "
            "consumer_registers = " + str(s.consumerRegisters) +
                " (this spec needs " + str(needed) + ")",
            str(s.blockN));

  // Shared memory: Q + stages * (K + V) + barriers <= 227 KB.
  if (g.smem.dynamicSmemBytes > kMaxSmemPerCta)
    FC_FAIL("schedule.stages",
            "small enough that Q + stages * (K + V) fits in " +
                str(kMaxSmemPerCta) + " bytes of shared memory (this spec "
                "needs " + str(g.smem.dynamicSmemBytes) + ")",
            str(s.stages));
#undef FC_FAIL
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Printing and comparison
//===----------------------------------------------------------------------===//

std::string printSpec(const AttentionSpec &spec) {
  const ProblemSpec &p = spec.problem;
  const ScheduleSpec &s = spec.schedule;
  std::ostringstream os;
  os << "problem:\n";
  os << "  dtype: " << dtypeName(p.dtype) << "\n";
  os << "  head_dim: " << p.headDim << "\n";
  os << "  causal: " << (p.causal ? "true" : "false") << "\n";
  os << "  local: " << (p.local ? "true" : "false") << "\n";
  os << "  softcap: " << (p.softcap ? "true" : "false") << "\n";
  os << "  varlen: " << (p.varlen ? "true" : "false") << "\n";
  if (p.softmaxScale) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", *p.softmaxScale);
    os << "  softmax_scale: " << buf << "\n";
  }
  os << "schedule:\n";
#define FLASHCORE_PRINT_FIELD(member, name)                                    \
  os << "  " name ": " << s.member << "\n";
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_PRINT_FIELD)
#undef FLASHCORE_PRINT_FIELD
  return os.str();
}

bool operator==(const AttentionSpec &a, const AttentionSpec &b) {
  const ProblemSpec &p = a.problem, &q = b.problem;
  const ScheduleSpec &s = a.schedule, &t = b.schedule;
  bool same = p.dtype == q.dtype && p.headDim == q.headDim &&
              p.causal == q.causal && p.local == q.local &&
              p.softcap == q.softcap && p.varlen == q.varlen &&
              p.softmaxScale == q.softmaxScale;
#define FLASHCORE_SAME_FIELD(member, name) same = same && s.member == t.member;
  FLASHCORE_SCHEDULE_FIELDS(FLASHCORE_SAME_FIELD)
#undef FLASHCORE_SAME_FIELD
  return same;
}

} // namespace flashcore
