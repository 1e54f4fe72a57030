//===- flashcore-gen.cpp - The FlashCore command line ---------------------===//
//
//   flashcore-gen emit-spec  SPEC [-o FILE]   canonical spec (defaults filled)
//   flashcore-gen emit-mlir  SPEC [-o FILE]   flashcore dialect
//   flashcore-gen emit-nvvm  SPEC [-o FILE]   after fc-lower-to-nvvm
//   flashcore-gen emit-llvm  SPEC [-o FILE]   LLVM IR after the LLVM pipeline
//   flashcore-gen emit-ptx   SPEC [-o FILE]   PTX for sm_90a
//   flashcore-gen emit-cubin SPEC [-o FILE]   cubin (ptxas) + resource usage
//   flashcore-gen run        SPEC [shape]     run on the GPU, check, time
//   flashcore-gen bench      SPEC [shape]     FA3-protocol timing sweep
//   flashcore-gen tune       SPEC [options]   the schedule search (TuneCommand.cpp)
//   flashcore-gen cache      info|list|clear  the on-disk kernel cache
//   flashcore-gen spec-fields                 the spec field table (docs)
//
// --schedule field=value,... overrides schedule fields of the spec file.
//
// Exit codes: 0 success, 1 invalid input (spec, flags), 2 a later failure
// (compile, GPU).
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "compiler/Spec.h"
#include "tools/flashcore-gen/Commands.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <fstream>
#include <iostream>

using namespace llvm;

namespace {

cl::SubCommand emitSpecCmd("emit-spec", "Print the canonical spec (every field)");
cl::SubCommand emitMlirCmd("emit-mlir", "Print the flashcore dialect IR");
cl::SubCommand emitNvvmCmd("emit-nvvm",
                           "Print the IR after fc-lower-to-nvvm (nvvm/arith/scf)");
cl::SubCommand emitLlvmCmd("emit-llvm", "Print the LLVM IR after the LLVM pipeline");
cl::SubCommand emitPtxCmd("emit-ptx", "Print the PTX for sm_90a");
cl::SubCommand emitCubinCmd("emit-cubin",
                            "Assemble the PTX with ptxas; write the cubin and "
                            "print registers, shared memory and spills");
cl::SubCommand runCmd("run", "Run the kernel on the GPU on one shape, check it "
                             "against an fp64 reference, print error and TFLOPS");
cl::SubCommand benchCmd("bench", "Time the kernel with the FA3 protocol "
                                 "(batch = 16384 / S, heads = 2048 / head_dim)");

cl::SubCommand tuneCmd(
    "tune",
    "Search the schedule space of the spec's problem: every combination of "
    "block_n (64..192 by 16), consumer_warpgroups (1-3), stages (2, 3), overlap, "
    "scheduler, epilogue, pingpong, tile_order, lazy_rescale, ctas_per_sm and cluster_m "
    "that validates, "
    "compiled in "
    "parallel without "
    "spills; on a GPU each is checked against the fp64 reference (600 rows, "
    "partial tiles) and timed on FA3-protocol rows (--seqlens, default "
    "2048,8192), ranked by mean TFLOPS; --write-table puts the winner first in "
    "a dispatch table. Then every refinement row (FA3's producer fields, "
    "early_finish, defer_rescale, late_k_release, edge_turns, L2 policies, key_order) is "
    "tried on top of the --refine best and ranked with them. A new dimension is "
    "one row of space(), a new refinement one row of refinements(), in "
    "tools/flashcore-gen/TuneCommand.cpp");
cl::opt<int> tuneJobs("jobs", cl::desc("Compile threads (tune; default: the host's cores)"),
                      cl::init(0), cl::sub(tuneCmd));
cl::opt<int> tuneTop("top", cl::desc("Ranked candidates printed (tune)"), cl::init(10),
                     cl::sub(tuneCmd));
cl::opt<int> tuneRefine(
    "refine",
    cl::desc("Try every refinement row (FA3's producer fields, early_finish, "
             "the rescale order, L2 policies: refinements() in TuneCommand.cpp) "
             "on top of this many best candidates (tune; 0: none)"),
    cl::init(3), cl::sub(tuneCmd));
cl::opt<bool> tuneDryRun("dry-run",
                         cl::desc("Validate and compile the space, print it, "
                                  "touch no GPU (tune)"),
                         cl::sub(tuneCmd));
cl::list<std::string> tuneRestrict(
    "restrict",
    cl::desc("field=v1/v2/...: try only these values of one dimension "
             "(tune; repeatable)"),
    cl::sub(tuneCmd));
cl::opt<std::string> tuneTable(
    "write-table",
    cl::desc("Dispatch table file to put the winner in, as its first entry "
             "(tune; e.g. specs/dispatch/table.yaml)"),
    cl::value_desc("file"), cl::sub(tuneCmd));
cl::opt<std::string> tuneEntry(
    "entry",
    cl::desc("With --write-table: write this schedule (field=value,...) as the "
             "problem's entry, no search (tune)"),
    cl::value_desc("fields"), cl::sub(tuneCmd));

cl::SubCommand specFieldsCmd("spec-fields",
                             "Print the spec field table (every problem and "
                             "schedule field: type, default, meaning)");
cl::SubCommand cacheCmd("cache", "Show or manage the on-disk kernel cache: "
                                 "info (directory, size), list (every entry, "
                                 "verified), clear (remove every entry)");
cl::opt<std::string> cacheAction(cl::Positional, cl::desc("<info|list|clear>"),
                                 cl::Required, cl::sub(cacheCmd));

cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.yaml>"),
                              cl::Required, cl::sub(emitSpecCmd),
                              cl::sub(emitMlirCmd), cl::sub(emitNvvmCmd),
                              cl::sub(emitLlvmCmd), cl::sub(emitPtxCmd),
                              cl::sub(emitCubinCmd), cl::sub(runCmd),
                              cl::sub(benchCmd), cl::sub(tuneCmd));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout; "
                                              "emit-cubin: <spec>.cubin)"),
                                cl::value_desc("file"), cl::sub(emitSpecCmd),
                                cl::sub(emitMlirCmd), cl::sub(emitNvvmCmd),
                                cl::sub(emitLlvmCmd), cl::sub(emitPtxCmd),
                                cl::sub(emitCubinCmd));
cl::opt<std::string> ptxFeature("ptx-feature",
                                cl::desc("PTX ISA version for the NVPTX backend "
                                         "(+ptx86 or newer)"),
                                cl::init("+ptx86"), cl::sub(emitLlvmCmd),
                                cl::sub(emitPtxCmd), cl::sub(emitCubinCmd));
cl::opt<std::string> scheduleOpt(
    "schedule",
    cl::desc("Schedule fields to override, field=value,... (e.g. "
             "scheduler=static_persistent,epilogue=tma); the result is "
             "validated like a spec file"),
    cl::value_desc("fields"), cl::sub(emitSpecCmd), cl::sub(emitMlirCmd),
    cl::sub(emitNvvmCmd), cl::sub(emitLlvmCmd), cl::sub(emitPtxCmd),
    cl::sub(emitCubinCmd), cl::sub(runCmd), cl::sub(benchCmd), cl::sub(tuneCmd));
cl::opt<bool> printTimings("time", cl::desc("Print the time of each stage"),
                           cl::sub(emitPtxCmd), cl::sub(emitCubinCmd));

// run / bench shape.
cl::opt<int> batchOpt("batch", cl::desc("Batch size (run; default 2)"),
                      cl::init(2), cl::sub(runCmd));
cl::opt<int> headsOpt("heads", cl::desc("Query heads (run; default 16)"),
                      cl::init(16), cl::sub(runCmd));
cl::opt<int> kvHeadsOpt("kv-heads",
                        cl::desc("Key/value heads (run; default = heads)"),
                        cl::init(0), cl::sub(runCmd));
cl::opt<int> seqlenOpt("seqlen", cl::desc("Sequence length (run; default 1024)"),
                       cl::init(1024), cl::sub(runCmd));
cl::opt<int> seqlenKOpt("seqlen-k",
                        cl::desc("Key sequence length (run; default = seqlen)"),
                        cl::init(0), cl::sub(runCmd));
cl::opt<int> checkRows("check-rows",
                       cl::desc("Query rows per (batch, head) checked against "
                                "the fp64 CPU reference (run; 0 = all)"),
                       cl::init(64), cl::sub(runCmd));
cl::opt<int> windowLeftOpt(
    "window-left",
    cl::desc("Local specs: keys up to this many before the diagonal (-1 = "
             "unbounded; run, bench)"),
    cl::init(-1), cl::sub(runCmd), cl::sub(benchCmd));
cl::opt<int> windowRightOpt(
    "window-right",
    cl::desc("Local specs: keys up to this many after the diagonal (-1 = "
             "unbounded; run, bench)"),
    cl::init(-1), cl::sub(runCmd), cl::sub(benchCmd));
cl::opt<double> softcapOpt(
    "softcap",
    cl::desc("Softcap specs: scores become c * tanh(scale * q.k / c) (run, "
             "bench; default 30 for a softcap spec)"),
    cl::init(0), cl::sub(runCmd), cl::sub(benchCmd));
cl::list<int> benchSeqlens("seqlens", cl::desc("Sequence lengths (bench, tune)"),
                           cl::CommaSeparated, cl::sub(benchCmd), cl::sub(tuneCmd));
cl::opt<int> repeats("repeats", cl::desc("Timed launches per measurement"),
                     cl::init(30), cl::sub(runCmd), cl::sub(benchCmd),
                     cl::sub(tuneCmd));
cl::opt<unsigned> seedOpt("seed", cl::desc("Random seed (default: time)"),
                          cl::init(0), cl::sub(runCmd), cl::sub(benchCmd));

bool writeOutput(const std::string &path, const std::string &data,
                 bool binary) {
  if (path.empty() || path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    return true;
  }
  std::ofstream f(path, binary ? std::ios::binary : std::ios::out);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) {
    std::cerr << "error: cannot write " << path << "\n";
    return false;
  }
  return true;
}

int emitStage(const flashcore::AttentionSpec &spec, flashcore::EmitStage stage) {
  flashcore::GenerateOptions options;
  options.ptxFeature = ptxFeature;
  flashcore::GenerateTimings timings;
  std::string out, error;
  // loadSpecFile validated the spec.
  if (!flashcore::generate(flashcore::ValidatedSpec::assumeValid(spec), stage,
                           out, error, options, &timings)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  if (printTimings)
    std::cerr << "spec->mlir " << timings.buildMs << " ms, passes "
              << timings.lowerMs << " ms, llvm+O3 " << timings.translateMs
              << " ms, ptx " << timings.codegenMs << " ms\n";
  return writeOutput(outputPath, out, /*binary=*/false) ? 0 : 2;
}

} // namespace

int main(int argc, char **argv) {
  cl::SetVersionPrinter([](raw_ostream &os) { os << "flashcore-gen 0.1.0\n"; });
  if (!cl::ParseCommandLineOptions(
          argc, argv,
          "FlashCore: generate Hopper attention kernels from a spec\n\n"
          "  flashcore-gen <command> spec.yaml [options]\n"
          "  flashcore-gen cache info|list|clear\n"
          "  flashcore-gen <command> --help   for a command's options\n",
          &errs()))
    return 1;
  if (cacheCmd)
    return flashcore::tools::cache(cacheAction);
  if (specFieldsCmd) {
    size_t count = 0;
    const flashcore::FieldInfo *fields = flashcore::specFields(count);
    std::cout << "| section | field | type | default | meaning |\n"
                 "|---|---|---|---|---|\n";
    for (size_t i = 0; i < count; ++i)
      std::cout << "| " << fields[i].section << " | `" << fields[i].name
                << "` | " << fields[i].type << " | " << fields[i].defaultText
                << " | " << fields[i].doc << " |\n";
    return 0;
  }
  if (!emitSpecCmd && !emitMlirCmd && !emitNvvmCmd && !emitLlvmCmd &&
      !emitPtxCmd && !emitCubinCmd && !runCmd && !benchCmd && !tuneCmd) {
    errs() << "error: a command is required (emit-spec, emit-mlir, emit-nvvm, "
              "emit-llvm, emit-ptx, emit-cubin, run, bench, tune, cache, "
              "spec-fields); see --help\n";
    return 1;
  }

  // --schedule's fields go on top of the file's resolved schedule as
  // FLASHCORE_SCHEDULE does on a table entry (parseSpec, forceSchedule).
  flashcore::ScheduleOverrides given;
  if (!scheduleOpt.empty()) {
    std::string error;
    if (!flashcore::parseScheduleOverrides(scheduleOpt, given, error)) {
      std::cerr << "error: --schedule: " << error << "\n";
      return 1;
    }
  }
  flashcore::AttentionSpec spec;
  flashcore::SpecDiagnostic diag;
  if (!flashcore::loadSpecFile(specPath, spec, diag,
                               scheduleOpt.empty() ? nullptr : &given)) {
    if (!scheduleOpt.empty())
      std::cerr << "with --schedule=" << scheduleOpt << ": ";
    std::cerr << diag.str() << "\n";
    return 1;
  }

  if (emitSpecCmd)
    return writeOutput(outputPath, flashcore::printSpec(spec), false) ? 0 : 2;
  if (emitMlirCmd)
    return emitStage(spec, flashcore::EmitStage::FlashCoreMlir);
  if (emitNvvmCmd)
    return emitStage(spec, flashcore::EmitStage::NvvmMlir);
  if (emitLlvmCmd)
    return emitStage(spec, flashcore::EmitStage::LlvmIr);
  if (emitPtxCmd)
    return emitStage(spec, flashcore::EmitStage::Ptx);

  flashcore::tools::CommandOptions options;
  options.specPath = specPath;
  options.ptxFeature = ptxFeature;
  options.outputPath = outputPath;
  options.printTimings = printTimings;
  options.batch = batchOpt;
  options.heads = headsOpt;
  options.kvHeads = kvHeadsOpt;
  options.seqlen = seqlenOpt;
  options.seqlenK = seqlenKOpt;
  options.checkRows = checkRows;
  options.windowLeft = windowLeftOpt;
  options.windowRight = windowRightOpt;
  options.softcap = softcapOpt;
  options.benchSeqlens.assign(benchSeqlens.begin(), benchSeqlens.end());
  options.repeats = repeats;
  options.seed = seedOpt;
  options.jobs = tuneJobs;
  options.top = tuneTop;
  options.refine = tuneRefine;
  options.dryRun = tuneDryRun;
  options.restrict.assign(tuneRestrict.begin(), tuneRestrict.end());
  options.tablePath = tuneTable;
  options.entry = tuneEntry;
  if (tuneCmd)
    return flashcore::tools::tune(spec, options);
  if (emitCubinCmd)
    return flashcore::tools::emitCubin(spec, options);
  if (runCmd)
    return flashcore::tools::run(spec, options);
  return flashcore::tools::bench(spec, options);
}
