"""Builds libshmchunk with CMake and ships libshmchunk.so inside the package.

The C sources live one directory up (../lib, ../CMakeLists.txt); pip builds in
place (pip >= 21.3), so `pip install ./python` reaches them. SHMCHUNK_SOURCE_DIR
points elsewhere if needed. Build needs cmake, a C compiler, pkg-config and the
msgpack-c, zstd and xxhash development packages (tools/dev.sh setup installs them).
"""

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent


def _source_dir() -> Path:
    return Path(os.environ.get("SHMCHUNK_SOURCE_DIR", HERE.parent)).resolve()


def _version() -> tuple[int, int, int]:
    """include/shmchunk.h's SHMC_VERSION_*, read by shmchunk/_header.py (no library needed)."""
    spec = importlib.util.spec_from_file_location("_header", HERE / "shmchunk" / "_header.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.header_version(_source_dir() / "include" / "shmchunk.h")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        src = _source_dir()
        if not (src / "CMakeLists.txt").is_file() or not (src / "include" / "shmchunk.h").is_file():
            raise RuntimeError(f"libshmchunk sources not found at {src}; set SHMCHUNK_SOURCE_DIR")
        with tempfile.TemporaryDirectory(prefix="shmchunk-build-") as build:
            subprocess.check_call(["cmake", "-S", str(src), "-B", build,
                                   "-DCMAKE_BUILD_TYPE=Release", "-DSHMC_TESTS=OFF",
                                   "-DSHMC_FUZZ_REPLAY=OFF"])
            subprocess.check_call(["cmake", "--build", build, "--target", "shmchunk",
                                   "-j", str(min(2, os.cpu_count() or 1))])
            lib = Path(build, "lib", "libshmchunk.so").resolve()  # the real file, not the link
            dest = Path(self.build_lib, "shmchunk", "libshmchunk.so")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(lib, dest)
            (dest.parent / "_built_version.py").write_text(f"VERSION = {_version()!r}\n")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel: it carries a shared library
        return True


setup(version=".".join(map(str, _version())), cmdclass={"build_py": BuildWithLibrary},
      distclass=BinaryDistribution)
