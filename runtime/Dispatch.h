//===- Dispatch.h - The spec used for a call --------------------*- C++ -*-===//
//
// Chooses the AttentionSpec for a problem (dtype, head_dim, causal), in
// order: an override set through the API (flashcore_set_spec), the spec file
// named by $FLASHCORE_SPEC, then the built-in choice. The built-in choice is
// defaultSchedule(problem) for now; a tuned table per shape comes later.
//
// An override fixes the schedule only for the problem it was written for: a
// call whose dtype, head_dim or causal differ is an error, not a silent
// fallback. softmax_scale in an override is ignored (the runtime passes the
// caller's scale as a kernel argument).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_DISPATCH_H
#define FLASHCORE_RUNTIME_DISPATCH_H

#include "compiler/Spec.h"

#include <optional>
#include <shared_mutex>
#include <string>

namespace flashcore {

enum class DispatchStatus { Ok, InvalidSpec, SpecMismatch, Unsupported };

class Dispatcher {
public:
  /// Loads $FLASHCORE_SPEC when it is set. Returns false with `error` (the
  /// parser's located message) when the file does not load.
  bool loadEnvironmentOverride(std::string &error);

  /// Parses spec YAML text (`source` names it in messages) and makes it the
  /// API override.
  bool setOverrideText(const std::string &yaml, const std::string &source,
                       std::string &error);
  void setOverride(const AttentionSpec &spec, const std::string &source);
  /// Drops the API override (the environment override stays).
  void clearOverride();

  /// The spec for `problem` (its softmaxScale is ignored).
  DispatchStatus choose(const ProblemSpec &problem, AttentionSpec &spec,
                        std::string &error) const;

private:
  struct Override {
    AttentionSpec spec;
    std::string source;
  };
  mutable std::shared_mutex mutex;
  std::optional<Override> apiOverride, envOverride;
};

/// "{dtype: bf16, head_dim: 128, causal: false}".
std::string describeProblem(const ProblemSpec &problem);

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_DISPATCH_H
