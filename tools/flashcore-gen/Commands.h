//===- Commands.h - flashcore-gen commands that use the runtime -*- C++ -*-===//

#ifndef FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H
#define FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H

#include "compiler/Spec.h"

#include <string>
#include <vector>

namespace flashcore::tools {

struct CommandOptions {
  std::string specPath;
  std::string ptxFeature;
  std::string outputPath;
  bool printTimings = false;
  int batch = 2, heads = 16, kvHeads = 0, seqlen = 1024, seqlenK = 0;
  int checkRows = 64;
  std::vector<int> benchSeqlens;
  int repeats = 30;
  unsigned seed = 0;
};

/// emit-cubin: PTX -> cubin with ptxas; prints resource usage.
int emitCubin(const AttentionSpec &spec, const CommandOptions &options);
/// run: one shape on the GPU, checked against an fp64 CPU reference.
int run(const AttentionSpec &spec, const CommandOptions &options);
/// bench: the FA3 protocol over sequence lengths.
int bench(const AttentionSpec &spec, const CommandOptions &options);
/// cache info|list|clear: the on-disk kernel cache.
int cache(const std::string &action);

} // namespace flashcore::tools

#endif // FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H
