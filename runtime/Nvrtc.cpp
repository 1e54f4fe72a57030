//===- Nvrtc.cpp - libnvrtc loaded at run time with dlopen ----------------===//

#include "runtime/Nvrtc.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace flashcore {
namespace nvrtc {

namespace {

std::string dirOf(const std::string &path) {
  size_t at = path.rfind('/');
  return at == std::string::npos ? "" : path.substr(0, at);
}

std::vector<std::string> candidates() {
  std::vector<std::string> c;
  if (const char *p = std::getenv("FLASHCORE_NVRTC"); p && *p) {
    c.push_back(p); // an explicit choice: nothing else is tried
    return c;
  }
  const char *names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  std::vector<std::string> dirs;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    dirs.push_back(std::string(home) + "/lib64");
  // The toolkit of the configured ptxas (<cuda>/bin/ptxas -> <cuda>/lib64).
  std::string configured = dirOf(dirOf(FLASHCORE_DEFAULT_PTXAS));
  if (!configured.empty())
    dirs.push_back(configured + "/lib64");
  for (const std::string &d : dirs)
    for (const char *n : names)
      c.push_back(d + "/" + n);
  for (const char *n : names)
    c.push_back(n); // the loader's search path
  return c;
}

template <typename F> bool resolve(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

} // namespace

const Library *library(std::string &error) {
  static std::once_flag once;
  static Library lib;
  static bool ok = false;
  static std::string loadError;
  std::call_once(once, [] {
    std::string tried;
    for (const std::string &path : candidates()) {
      void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char *why = dlerror();
        tried += "\n  " + path + ": " + (why ? why : "dlopen failed");
        continue;
      }
      bool all = resolve(h, "nvrtcCreateProgram", lib.createProgram) &&
                 resolve(h, "nvrtcCompileProgram", lib.compileProgram) &&
                 resolve(h, "nvrtcGetProgramLogSize", lib.getProgramLogSize) &&
                 resolve(h, "nvrtcGetProgramLog", lib.getProgramLog) &&
                 resolve(h, "nvrtcGetCUBINSize", lib.getCUBINSize) &&
                 resolve(h, "nvrtcGetCUBIN", lib.getCUBIN) &&
                 resolve(h, "nvrtcDestroyProgram", lib.destroyProgram) &&
                 resolve(h, "nvrtcGetErrorString", lib.getErrorString) &&
                 resolve(h, "nvrtcVersion", lib.getVersion);
      if (!all || lib.getVersion(&lib.major, &lib.minor) != 0) {
        tried += "\n  " + path + ": not a usable libnvrtc (missing symbols)";
        dlclose(h);
        continue;
      }
      lib.path = path;
      ok = true;
      return;
    }
    loadError = "libnvrtc not found (the pre-Hopper fallback compiles its "
                "kernels with nvrtc; set FLASHCORE_NVRTC or CUDA_HOME); tried:" +
                tried;
  });
  if (!ok) {
    error = loadError;
    return nullptr;
  }
  return &lib;
}

bool Library::compile(const std::string &source, const std::string &name,
                      int arch, const std::vector<std::string> &options,
                      Output &out, std::string &error) const {
  Program prog = nullptr;
  int rc = createProgram(&prog, source.c_str(), name.c_str(), 0, nullptr,
                         nullptr);
  if (rc != 0) {
    error = std::string("nvrtcCreateProgram: ") + getErrorString(rc);
    return false;
  }
  std::vector<std::string> all = {"--gpu-architecture=sm_" +
                                  std::to_string(arch)};
  all.insert(all.end(), options.begin(), options.end());
  std::vector<const char *> argv;
  for (const std::string &o : all)
    argv.push_back(o.c_str());
  rc = compileProgram(prog, int(argv.size()), argv.data());
  size_t logSize = 0;
  if (getProgramLogSize(prog, &logSize) == 0 && logSize > 1) {
    out.log.resize(logSize);
    getProgramLog(prog, out.log.data());
    out.log.resize(logSize - 1);
  }
  if (rc != 0) {
    error = "nvrtc " + version() + " failed to compile " + name + " for sm_" +
            std::to_string(arch) + " (" + getErrorString(rc) + "):\n" + out.log;
    destroyProgram(&prog);
    return false;
  }
  size_t bytes = 0;
  rc = getCUBINSize(prog, &bytes);
  if (rc == 0) {
    out.cubin.resize(bytes);
    rc = getCUBIN(prog, out.cubin.data());
  }
  destroyProgram(&prog);
  if (rc != 0 || out.cubin.empty()) {
    error = std::string("nvrtcGetCUBIN: ") + getErrorString(rc);
    return false;
  }
  return true;
}

} // namespace nvrtc
} // namespace flashcore
