# lit configuration for FlashCore: dialect (.mlir) and generator (.test)
# tests, run with the build's flashcore-opt / flashcore-gen, LLVM's
# FileCheck and the CUDA toolkit's ptxas.
import os
import lit.formats

config.name = "FlashCore"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.flashcore_obj_root, "tests")
config.excludes = ["unit", "gpu", "python", "Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]

config.environment["PATH"] = os.pathsep.join(
    [config.flashcore_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
# Kernels compiled by tests go to a cache inside the build tree, never to the
# user's ~/.cache/flashcore.
config.environment["FLASHCORE_CACHE_DIR"] = os.path.join(config.flashcore_obj_root, "tests", "cache")
config.substitutions.append(("%ptxas", config.ptxas))
config.substitutions.append(("%specs", os.path.join(config.flashcore_src_root, "specs")))
