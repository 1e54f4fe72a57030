//===- Dispatch.cpp - The spec used for a call ----------------------------===//

#include "runtime/Dispatch.h"

#include <cstdlib>
#include <mutex>

namespace flashcore {

std::string describeProblem(const ProblemSpec &p) {
  return std::string("{dtype: ") + dtypeName(p.dtype) +
         ", head_dim: " + std::to_string(p.headDim) +
         ", causal: " + (p.causal ? "true" : "false") +
         ", local: " + (p.local ? "true" : "false") +
         ", softcap: " + (p.softcap ? "true" : "false") +
         ", varlen: " + (p.varlen ? "true" : "false") + "}";
}

bool Dispatcher::loadEnvironmentOverride(std::string &error) {
  const char *path = std::getenv("FLASHCORE_SPEC");
  std::unique_lock<std::shared_mutex> lock(mutex);
  envOverride.reset();
  if (!path || !*path)
    return true;
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (!loadSpecFile(path, spec, diag)) {
    error = "FLASHCORE_SPEC=" + std::string(path) +
            " must name a valid spec file: " + diag.str();
    return false;
  }
  envOverride = Override{spec, std::string("FLASHCORE_SPEC=") + path};
  return true;
}

bool Dispatcher::setOverrideText(const std::string &yaml,
                                 const std::string &source,
                                 std::string &error) {
  AttentionSpec spec;
  SpecDiagnostic diag;
  if (!parseSpec(yaml, source, spec, diag)) {
    error = diag.str();
    return false;
  }
  setOverride(spec, source);
  return true;
}

void Dispatcher::setOverride(const AttentionSpec &spec,
                             const std::string &source) {
  std::unique_lock<std::shared_mutex> lock(mutex);
  apiOverride = Override{spec, source};
}

void Dispatcher::clearOverride() {
  std::unique_lock<std::shared_mutex> lock(mutex);
  apiOverride.reset();
}

DispatchStatus Dispatcher::choose(const ProblemSpec &problem,
                                  AttentionSpec &spec,
                                  std::string &error) const {
  std::optional<Override> chosen;
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    chosen = apiOverride ? apiOverride : envOverride;
  }
  if (chosen) {
    const ProblemSpec &p = chosen->spec.problem;
    if (p.dtype != problem.dtype || p.headDim != problem.headDim ||
        p.causal != problem.causal || p.local != problem.local ||
        p.softcap != problem.softcap || p.varlen != problem.varlen) {
      error = "the spec override " + chosen->source + " is for problem " +
              describeProblem(p) + ", but the call is " +
              describeProblem(problem);
      return DispatchStatus::SpecMismatch;
    }
    spec = chosen->spec;
    spec.problem.softmaxScale.reset();
    if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
      error = "the spec override " + chosen->source +
              " is invalid: " + diag->str();
      return DispatchStatus::InvalidSpec;
    }
    return DispatchStatus::Ok;
  }
  spec.problem = problem;
  spec.problem.softmaxScale.reset();
  spec.schedule = defaultSchedule(spec.problem);
  if (std::optional<SpecDiagnostic> diag = validateSpec(spec)) {
    error = "no valid schedule for " + describeProblem(problem) + ": " +
            diag->str();
    return DispatchStatus::Unsupported;
  }
  return DispatchStatus::Ok;
}

} // namespace flashcore
