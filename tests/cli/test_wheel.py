"""Issue 17: the pip-installed package. `tools/dev.sh wheel-test` runs tests/py and tests/cli
against a wheel installed into a fresh venv (SHMCHUNK_TEST_INSTALLED=1, from a copy of
tests/ with no python/shmchunk and no build/ beside it); these tests check what only an
install has (the command on PATH, the man page, metadata, nothing but libc needed) and a
round trip through both the command and the package. In a checkout run the install-only
tests skip, and the build-from-source message is checked instead."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shmchunk

from .conftest import ROOT

INSTALLED = os.environ.get("SHMCHUNK_TEST_INSTALLED") == "1"
installed_only = pytest.mark.skipif(not INSTALLED, reason="checks a pip install "
                                    "(tools/dev.sh wheel-test sets SHMCHUNK_TEST_INSTALLED=1)")
BUNDLED = ("msgpack", "zstd", "xxhash")


def ldd(path) -> str:
    proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@installed_only
def test_the_package_and_command_under_test_are_the_installed_ones(cli_bin):
    prefix = Path(sys.prefix).resolve()
    pkg = Path(shmchunk.__file__).resolve().parent
    assert prefix in pkg.parents, f"imported {pkg}, not the venv's package"
    assert Path(shmchunk._lib.LIBRARY_PATH).resolve().parent == pkg
    assert Path(cli_bin).resolve() == prefix / "bin" / "shmchunk"
    assert Path(shutil.which("shmchunk")).resolve() == prefix / "bin" / "shmchunk"


@installed_only
def test_library_and_command_need_nothing_but_libc(cli_bin):
    for path in (shmchunk._lib.LIBRARY_PATH, cli_bin):
        out = ldd(path)
        assert not [d for d in BUNDLED if d in out.lower()], f"ldd {path}:\n{out}"
        dyn = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                             timeout=60).stdout
        assert "RPATH" not in dyn and "RUNPATH" not in dyn, dyn   # no build-machine paths
        needed = [ln for ln in dyn.splitlines() if "(NEEDED)" in ln]
        assert len(needed) == 1 and "[libc.so.6]" in needed[0], dyn   # the command carries the library


@installed_only
def test_metadata_man_page_and_versions_agree(cli):
    from importlib import metadata
    meta = metadata.metadata("shmchunk")
    assert meta["Version"] == shmchunk.__version__
    assert meta["License-Expression"] == "MIT" and meta["Requires-Python"] == ">=3.10"
    assert "dask" in meta.get_all("Provides-Extra")
    assert f"shmchunk {shmchunk.__version__} " in cli("--version", check=0).out
    man = Path(sys.prefix, "share", "man", "man1", "shmchunk.1")
    assert man.read_text().startswith(".TH SHMCHUNK 1 ")


def test_round_trip_through_the_command_and_the_package(cli, shm_name, tmp_path):
    df = pd.DataFrame({"i": np.arange(5000, dtype="int64"), "f": np.linspace(0, 1, 5000),
                       "s": pd.array([f"r{i}" if i % 7 else None for i in range(5000)],
                                     dtype="string[pyarrow]"),
                       "c": pd.Categorical(np.array(["a", "b", "c"])[np.arange(5000) % 3])})
    df.to_pickle(tmp_path / "in.pkl")
    cli("pack", tmp_path / "in.pkl", f"shm:{shm_name}", "--zstd", "--rows-per-chunk", "1000",
        check=0)
    cli("verify", f"shm:{shm_name}", check=0)
    sf = shmchunk.attach(shm_name)
    try:
        pd.testing.assert_frame_equal(sf.read(), df)
    finally:
        sf.close()
    cli("unpack", f"shm:{shm_name}", tmp_path / "out.pkl", check=0)
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "out.pkl"), df)


@pytest.mark.skipif(not (ROOT / "CMakeLists.txt").is_file() or not shutil.which("cmake"),
                    reason="builds from a checkout with cmake")
@pytest.mark.parametrize("hide", ["dev-packages", "pkg-config"])
def test_build_from_source_names_what_is_missing(hide, tmp_path):
    """pip install . on a machine without the -dev packages (or pkg-config): CMake stops
    and names each missing one with its Debian package."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(empty), PKG_CONFIG_PATH="")
    args = ["-DPKG_CONFIG_EXECUTABLE=/nonexistent/pkg-config"] if hide == "pkg-config" else []
    proc = subprocess.run(["cmake", "-S", str(ROOT), "-B", str(tmp_path / "b"), "-DSHMC_TESTS=OFF",
                           *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    msg = " ".join(proc.stderr.split())
    assert "shmchunk cannot be built, missing" in msg, proc.stderr
    if hide == "pkg-config":
        assert "pkg-config (Debian: pkg-config)" in msg, proc.stderr
    else:
        for what in ("msgpack-c development files (pkg-config module msgpack, Debian: libmsgpack-dev)",
                     "zstd development files (pkg-config module libzstd, Debian: libzstd-dev)",
                     "xxHash development files (pkg-config module libxxhash, Debian: libxxhash-dev)"):
            assert f"- {what}" in msg, proc.stderr
    assert "apt-get install build-essential cmake pkg-config libmsgpack-dev" in msg
