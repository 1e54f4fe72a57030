//===- Commands.h - flashcore-gen commands that use the runtime -*- C++ -*-===//

#ifndef FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H
#define FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H

#include "compiler/Spec.h"
#include "flashcore/Device.h"
#include "flashcore/flashcore.h"

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
  /// run / bench: the window of a local spec (FlashAttention's window_size,
  /// -1 = unbounded) and the softcap of a softcap spec.
  int windowLeft = -1, windowRight = -1;
  double softcap = 0;
  std::vector<int> benchSeqlens;
  int repeats = 30;
  unsigned seed = 0;
  /// run: no output but errors; the exit code says pass or fail.
  bool quiet = false;
  // tune
  int jobs = 0; // 0: the host's cores
  int top = 10;
  int refine = 3; // refinement rows on top of this many best (0: none)
  bool dryRun = false;
  std::vector<std::string> restrict;
  std::string tablePath;
  std::string entry;
};

/// emit-cubin: PTX -> cubin with ptxas; prints resource usage.
int emitCubin(const AttentionSpec &spec, const CommandOptions &options);
/// run: one shape on the GPU, checked against an fp64 CPU reference.
int run(const AttentionSpec &spec, const CommandOptions &options);
/// bench: the FA3 protocol over sequence lengths.
int bench(const AttentionSpec &spec, const CommandOptions &options);
/// cache info|list|clear: the on-disk kernel cache.
int cache(const std::string &action);
/// tune: the schedule space of the spec's problem, validated, compiled in
/// parallel, then on a GPU checked and timed; the winner optionally written
/// into a dispatch table (TuneCommand.cpp).
int tune(const AttentionSpec &spec, const CommandOptions &options);

/// Shared by the commands: prints the GPU (unless quiet); false without one.
bool openDevice(device::DeviceInfo &info, bool quiet = false);
/// A C API handle that uses `spec` for every call; null (after
/// flashcore_last_error() says why) when the spec is refused.
flashcore_handle_t handleFor(const AttentionSpec &spec);
/// One FA3-protocol row (batch 16384 / S, heads 2048 / head_dim) of `spec`
/// through `handle` (which has the spec set): median ms and TFLOPS.
bool timeProtocolRow(flashcore_handle_t handle, const AttentionSpec &spec,
                     int seqlen, const CommandOptions &options, double &ms,
                     double &tflops);

} // namespace flashcore::tools

#endif // FLASHCORE_TOOLS_FLASHCOREGEN_COMMANDS_H
