"""Installs the flashcore package: pip install --no-build-isolation ./python

Run after the CMake build (bash tools/setup.sh run), which made
build/lib/libflashcore.so; FLASHCORE_BUILD_DIR names another build directory.
Compiles flashcore._C (src/module.cpp, pybind11) for the installing
interpreter against the C API header and copies libflashcore.so beside it
(found through RPATH $ORIGIN), so `import flashcore` works from any directory
with no environment variables. Needs pybind11 (the pip package, or Debian's
pybind11-dev headers) and the CUDA headers (cuda.h) at FLASHCORE_CUDA_HOME or
/usr/local/cuda.
"""
import os
import re
import shutil

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(os.environ.get("FLASHCORE_BUILD_DIR", os.path.join(ROOT, "build")))
LIBRARY = os.path.join(BUILD, "lib", "libflashcore.so")
CUDA = os.environ.get("FLASHCORE_CUDA_HOME", "/usr/local/cuda")


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(FlashCore VERSION ([0-9.]+)", f.read()).group(1)


def pybind11_include():
    try:
        import pybind11
        return pybind11.get_include()
    except ImportError:
        return "/usr/include"  # Debian's pybind11-dev


class BuildExt(build_ext):
    def run(self):
        if not os.path.exists(LIBRARY):
            raise SystemExit("error: %s not found: build FlashCore first (bash tools/setup.sh run) "
                             "or set FLASHCORE_BUILD_DIR" % LIBRARY)
        if not os.path.exists(os.path.join(CUDA, "include", "cuda.h")):
            raise SystemExit("error: %s/include/cuda.h not found: set FLASHCORE_CUDA_HOME" % CUDA)
        super().run()
        target = os.path.join(self.build_lib, "flashcore", "libflashcore.so")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(LIBRARY, target)


# Keep setuptools' build and egg-info folders out of the source tree.
WORK = os.path.join(BUILD, "python-setup")
os.makedirs(WORK, exist_ok=True)

setup(
    name="flashcore",
    version=project_version(),
    description="Generated FlashAttention-style attention kernels for NVIDIA Hopper",
    packages=["flashcore", "flashcore.integrations"],
    package_dir={"": "."},
    ext_modules=[Extension(
        "flashcore._C", ["src/module.cpp"],
        include_dirs=[pybind11_include(), os.path.join(ROOT, "runtime", "include"),
                      os.path.join(CUDA, "include")],
        library_dirs=[os.path.dirname(LIBRARY)], libraries=["flashcore"],
        runtime_library_dirs=["$ORIGIN"],
        extra_compile_args=["-std=c++17", "-O2", "-fvisibility=hidden"],
        language="c++")],
    cmdclass={"build_ext": BuildExt},
    options={"build": {"build_base": WORK}, "egg_info": {"egg_base": WORK}},
    python_requires=">=3.8",
    zip_safe=False,
)
