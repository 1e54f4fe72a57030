//===- PtxAssembler.cpp - PTX to cubin with ptxas or the driver JIT -------===//
//
// ptxas is run as a separate process (posix_spawn, no shell) on a PTX file in
// a private temporary directory. nvJitLink is deliberately not used: it drops
// setmaxnreg (warning C7504), which the warp-specialized kernels depend on.
//
//===----------------------------------------------------------------------===//

#include "runtime/PtxAssembler.h"
#include "runtime/Subprocess.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#ifndef FLASHCORE_DEFAULT_PTXAS
#define FLASHCORE_DEFAULT_PTXAS ""
#endif

namespace flashcore {

//===----------------------------------------------------------------------===//
// Discovery
//===----------------------------------------------------------------------===//

static std::string envOr(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

PtxasSearch PtxasSearch::fromEnvironment() {
  PtxasSearch s;
  s.flashcorePtxas = envOr("FLASHCORE_PTXAS");
  s.cudaHome = envOr("CUDA_HOME");
  s.configuredPtxas = FLASHCORE_DEFAULT_PTXAS;
  s.path = envOr("PATH");
  return s;
}

bool findPtxasIn(const PtxasSearch &search, std::string &path,
                 std::string &error) {
  if (!search.flashcorePtxas.empty()) {
    if (isExecutableFile(search.flashcorePtxas)) {
      path = search.flashcorePtxas;
      return true;
    }
    error = "FLASHCORE_PTXAS must name an executable ptxas binary, got: " +
            search.flashcorePtxas;
    return false;
  }
  std::vector<std::string> candidates;
  if (!search.cudaHome.empty())
    candidates.push_back(search.cudaHome + "/bin/ptxas");
  if (!search.configuredPtxas.empty())
    candidates.push_back(search.configuredPtxas);
  if (!search.systemPtxas.empty())
    candidates.push_back(search.systemPtxas);
  std::stringstream dirs(search.path);
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty())
      candidates.push_back(dir + "/ptxas");
  for (const std::string &c : candidates) {
    if (isExecutableFile(c)) {
      path = c;
      return true;
    }
  }
  error = "ptxas not found (set FLASHCORE_PTXAS or CUDA_HOME); tried:";
  for (const std::string &c : candidates)
    error += " " + c;
  if (candidates.empty())
    error += " nothing (no CUDA_HOME, no configured path, empty PATH)";
  return false;
}

bool findPtxas(std::string &path, std::string &error) {
  return findPtxasIn(PtxasSearch::fromEnvironment(), path, error);
}

std::string parsePtxasVersion(const std::string &text) {
  // "Cuda compilation tools, release 13.0, V13.0.88"
  size_t v = text.rfind(", V");
  if (v == std::string::npos)
    return "";
  size_t begin = v + 3, end = begin;
  while (end < text.size() && (std::isdigit((unsigned char)text[end]) ||
                               text[end] == '.'))
    ++end;
  return text.substr(begin, end - begin);
}

bool ptxasVersionOf(const std::string &ptxas, std::string &version,
                    std::string &error) {
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(ptxas);
  if (it != known.end()) {
    version = it->second;
    return true;
  }
  ProcessResult run;
  if (!runProcess({ptxas, "--version"}, run, error))
    return false;
  version = parsePtxasVersion(run.out + run.err);
  if (run.exitCode != 0 || version.empty()) {
    error = ptxas + " --version must print \"..., V<version>\", got (exit "
            "code " + std::to_string(run.exitCode) + "): " + run.out + run.err;
    return false;
  }
  known.emplace(ptxas, version);
  return true;
}

bool ptxasVersion(std::string &version, std::string &error) {
  std::string ptxas;
  return findPtxas(ptxas, error) && ptxasVersionOf(ptxas, version, error);
}

//===----------------------------------------------------------------------===//
// `ptxas -v` log
//===----------------------------------------------------------------------===//

static std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

static bool startsWith(const std::string &s, const char *prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// Applies "Used 168 registers", "used 1 barriers", "1024 bytes smem",
/// "256 bytes stack frame", "8 bytes spill stores", ... to `u`. Items it does
/// not know (cmem, gmem, cumulative stack size) are ignored.
static void applyUsageItems(const std::string &line, ResourceUsage &u) {
  std::stringstream items(line);
  for (std::string item; std::getline(items, item, ',');) {
    item = trim(item);
    size_t digit = item.find_first_of("0123456789");
    if (digit == std::string::npos)
      continue;
    size_t end = item.find_first_not_of("0123456789", digit);
    int value = std::atoi(item.substr(digit, end - digit).c_str());
    std::string label = trim(end == std::string::npos ? "" : item.substr(end));
    if (label == "registers")
      u.registers = value;
    else if (label == "barriers")
      u.barriers = value;
    else if (label == "bytes smem")
      u.sharedBytes = value;
    else if (label == "bytes stack frame")
      u.stackFrameBytes = value;
    else if (label == "bytes spill stores")
      u.spillStoreBytes = value;
    else if (label == "bytes spill loads")
      u.spillLoadBytes = value;
  }
}

/// The quoted name after `prefix` in "Compiling entry function 'x' for ...".
static std::string quotedName(const std::string &msg, size_t from) {
  size_t open = msg.find('\'', from);
  if (open == std::string::npos)
    return trim(msg.substr(from));
  size_t close = msg.find('\'', open + 1);
  return msg.substr(open + 1, close == std::string::npos
                                  ? std::string::npos
                                  : close - open - 1);
}

std::vector<PtxasFunctionUsage>
parsePtxasLog(const std::string &log, std::vector<std::string> *warnings) {
  std::vector<PtxasFunctionUsage> functions;
  PtxasFunctionUsage *current = nullptr;
  auto select = [&](const std::string &name) {
    for (PtxasFunctionUsage &f : functions)
      if (f.name == name)
        return &f;
    functions.push_back(PtxasFunctionUsage{name, false, {}});
    return &functions.back();
  };

  std::stringstream lines(log);
  for (std::string raw; std::getline(lines, raw);) {
    std::string line = trim(raw);
    if (line.empty())
      continue;
    bool isPtxasLine = startsWith(line, "ptxas");
    if (isPtxasLine && (startsWith(line, "ptxas warning") ||
                        line.find("; warning") != std::string::npos)) {
      if (warnings)
        warnings->push_back(line);
      continue;
    }
    std::string msg = line;
    if (startsWith(line, "ptxas info")) {
      size_t colon = line.find(':');
      msg = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
      // Performance notes such as "(C7508) Potential Performance Loss:
      // 'setmaxnreg' ignored" are printed as info but matter like warnings.
      if (startsWith(msg, "(C") && warnings)
        warnings->push_back(line);
    } else if (isPtxasLine) {
      continue; // errors, fatal lines: not usage
    }

    if (startsWith(msg, "Compiling entry function")) {
      current = select(quotedName(msg, 24));
      current->isEntry = true;
    } else if (startsWith(msg, "Function properties for")) {
      current = select(trim(msg.substr(23)));
    } else if (startsWith(msg, "Used ") ||
               msg.find("bytes stack frame") != std::string::npos) {
      if (!current)
        current = select("");
      applyUsageItems(msg, current->usage);
    }
  }
  return functions;
}

bool findResourceUsage(const std::vector<PtxasFunctionUsage> &functions,
                       const std::string &kernelName, ResourceUsage &usage) {
  for (const PtxasFunctionUsage &f : functions) {
    if (f.name == kernelName) {
      usage = f.usage;
      return true;
    }
  }
  const PtxasFunctionUsage *entry = nullptr;
  for (const PtxasFunctionUsage &f : functions) {
    if (!f.isEntry)
      continue;
    if (entry)
      return false; // several entries, none of them the kernel
    entry = &f;
  }
  if (!entry)
    return false;
  usage = entry->usage;
  return true;
}

std::string formatResourceUsage(const ResourceUsage &u) {
  std::ostringstream os;
  os << u.registers << " registers, " << u.sharedBytes << " bytes smem, "
     << u.stackFrameBytes << " bytes stack, " << u.spillStoreBytes << "/"
     << u.spillLoadBytes << " bytes spill stores/loads, " << u.barriers
     << " barriers";
  return os.str();
}

//===----------------------------------------------------------------------===//
// Assembly
//===----------------------------------------------------------------------===//

std::vector<std::string> ptxasFlags(const AssembleOptions &options) {
  std::vector<std::string> flags = {"-arch=" + options.arch, "-O3", "-v"};
  flags.insert(flags.end(), options.extraFlags.begin(),
               options.extraFlags.end());
  return flags;
}

static std::vector<std::string> ptxasCommand(const std::string &ptxas,
                                             const AssembleOptions &options,
                                             const std::string &input,
                                             const std::string &output) {
  std::vector<std::string> argv = {ptxas};
  std::vector<std::string> flags = ptxasFlags(options);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {input, "-o", output});
  return argv;
}

/// Keeps the PTX of a failed assembly and returns the "Repro command:" line.
static std::string keepRepro(const std::string &ptxas, const std::string &ptx,
                             const AssembleOptions &options) {
  std::string base = options.reproDir;
  if (base.empty())
    base = envOr("FLASHCORE_DUMP");
  std::string error;
  std::string dir;
  if (!base.empty()) {
    std::string pattern = base + "/flashcore-repro-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()))
      dir = buf.data();
  }
  if (dir.empty()) {
    TempDir tmp;
    if (tmp.create("flashcore-repro-", error)) {
      tmp.keep();
      dir = tmp.path();
    }
  }
  std::string input = dir + "/kernel.ptx";
  std::string line = "Repro command: " +
                     shellJoin(ptxasCommand(ptxas, options, input,
                                            dir + "/kernel.cubin"));
  if (dir.empty() || !writeFile(input, ptx, error))
    line += "\n(could not keep the PTX for the repro command: " + error + ")";
  return line;
}

bool assemblePtxWith(const std::string &ptxas, const std::string &ptx,
                     const AssembleOptions &options, AssembleResult &result,
                     std::string &error) {
  auto start = std::chrono::steady_clock::now();
  result = AssembleResult();
  TempDir dir;
  if (!dir.create("flashcore-ptxas-", error))
    return false;
  std::string input = dir.file("kernel.ptx"), output = dir.file("kernel.cubin");
  if (!writeFile(input, ptx, error))
    return false;
  std::vector<std::string> argv = ptxasCommand(ptxas, options, input, output);
  result.command = shellJoin(argv);

  ProcessResult run;
  if (!runProcess(argv, run, error))
    return false;
  result.infoLog = run.err + run.out;
  std::vector<PtxasFunctionUsage> functions =
      parsePtxasLog(result.infoLog, &result.warnings);

  std::string readError;
  bool haveCubin = run.exitCode == 0 && readFile(output, result.cubin,
                                                 readError) &&
                   !result.cubin.empty();
  if (!haveCubin) {
    std::string how = run.signal ? "killed by signal " +
                                       std::to_string(run.signal)
                                 : "exit code " + std::to_string(run.exitCode);
    if (run.exitCode == 0 && !run.signal)
      how = "no cubin written";
    error = "ptxas failed (" + how + ") assembling for " + options.arch +
            ":\n" + trim(result.infoLog) + "\n" +
            keepRepro(ptxas, ptx, options);
    return false;
  }
  if (!findResourceUsage(functions, options.kernelName, result.resources))
    result.warnings.push_back("ptxas -v output names no usage for kernel '" +
                              options.kernelName + "'");
  result.wallMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return true;
}

bool assemblePtx(const std::string &ptx, const AssembleOptions &options,
                 AssembleResult &result, std::string &error) {
  std::string ptxas;
  if (!findPtxas(ptxas, error))
    return false;
  return assemblePtxWith(ptxas, ptx, options, result, error);
}

//===----------------------------------------------------------------------===//
// Driver JIT
//===----------------------------------------------------------------------===//

bool jitLoadModule(const cuda::DriverApi &driver, const std::string &ptx,
                   CUmodule &module, std::string &infoLog, std::string &error) {
  constexpr size_t kLogBytes = 64 * 1024;
  std::vector<char> info(kLogBytes, '\0'), errors(kLogBytes, '\0');
  CUjit_option keys[] = {CU_JIT_INFO_LOG_BUFFER,
                         CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                         CU_JIT_ERROR_LOG_BUFFER,
                         CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                         CU_JIT_LOG_VERBOSE};
  void *values[] = {info.data(), reinterpret_cast<void *>(kLogBytes - 1),
                    errors.data(), reinterpret_cast<void *>(kLogBytes - 1),
                    reinterpret_cast<void *>(1)};
  CUresult rc = driver.cuModuleLoadDataExFn(&module, ptx.c_str(),
                                            sizeof(keys) / sizeof(keys[0]),
                                            keys, values);
  infoLog = info.data();
  if (rc != CUDA_SUCCESS) {
    error = cuda::callError(driver, "cuModuleLoadDataEx (driver JIT of PTX)",
                            rc) +
            ":\n" + trim(std::string(errors.data())) + "\n" + trim(infoLog);
    return false;
  }
  return true;
}

} // namespace flashcore
