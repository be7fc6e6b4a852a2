"""Fixtures for the shmchunk CLI tests: the binary, a runner, unique segment names
that are always removed, and frames that cover every supported dtype."""
import itertools
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli_path() -> Path:
    if os.environ.get("SHMCHUNK_CLI"):
        return Path(os.environ["SHMCHUNK_CLI"])
    if os.environ.get("SHMCHUNK_BUILD"):
        return Path(os.environ["SHMCHUNK_BUILD"]) / "tools" / "shmchunk"
    return ROOT / "build" / "tools" / "shmchunk"


@pytest.fixture(scope="session")
def cli_bin() -> Path:
    path = cli_path()
    assert path.is_file() and os.access(path, os.X_OK), (
        f"shmchunk CLI not found at {path}; build it or set SHMCHUNK_CLI / SHMCHUNK_BUILD")
    return path


class Runner:
    """Runs the CLI; returns CompletedProcess with bytes stdout and text stderr."""

    def __init__(self, binary: Path):
        self.binary = binary

    def __call__(self, *args, input=None, check=None, cwd=None):
        proc = subprocess.run([str(self.binary), *map(str, args)], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, cwd=cwd)
        proc.out = proc.stdout.decode("utf-8", "replace")
        proc.err = proc.stderr.decode("utf-8", "replace")
        if check is not None:
            assert proc.returncode == check, (
                f"shmchunk {' '.join(map(str, args))} exited {proc.returncode}, wanted {check}\n"
                f"stdout: {proc.out[:2000]}\nstderr: {proc.err}")
        return proc


@pytest.fixture(scope="session")
def cli(cli_bin):
    return Runner(cli_bin)


_counter = itertools.count()
PREFIX = f"shmc-clitest-{os.getpid()}-"


def _shm_exists(name: str) -> bool:
    return Path("/dev/shm", name).exists()


@pytest.fixture
def shm_names(cli):
    """Factory of unique shared-memory names (with this test's pid); every one is
    removed after the test whether or not the test created it."""
    made = []

    def make(tag="seg"):
        name = f"{PREFIX}{tag}-{next(_counter)}"
        made.append(name)
        return name

    yield make
    for name in made:
        if _shm_exists(name):
            cli("rm", f"shm:{name}")
        if _shm_exists(name):   # not a segment (a test planted it): rm rightly refuses
            os.unlink(Path("/dev/shm", name))


@pytest.fixture
def shm_name(shm_names):
    return shm_names()


@pytest.fixture(scope="session", autouse=True)
def no_leaked_segments():
    """After the whole session, nothing with our prefix may remain in /dev/shm."""
    yield
    leaked = [p.name for p in Path("/dev/shm").glob(PREFIX + "*")]
    for name in leaked:
        os.unlink(Path("/dev/shm", name))
    assert not leaked, f"tests leaked shared-memory segments: {leaked}"


def every_dtype_frame(n: int = 11) -> pd.DataFrame:
    """One column of every dtype the pickle reader maps, with missing values where the
    dtype has them and a row count that is not a multiple of the chunk sizes used."""
    rng = np.random.default_rng(12345)
    strs = [None if i % 4 == 3 else f"s{i}-é" * (i % 3) for i in range(n)]
    ints = np.arange(n) - n // 2
    dt = pd.date_range("2024-03-30", periods=n, freq="7h", unit="ns")
    df = pd.DataFrame({
        "bool": rng.random(n) > 0.5,
        "int8": ints.astype("int8"),
        "int16": (ints * 300).astype("int16"),
        "int32": (ints * 70000).astype("int32"),
        "int64": ints.astype("int64") * 10**12,
        "uint8": np.arange(n, dtype="uint8"),
        "uint16": np.arange(n, dtype="uint16") * 1000,
        "uint32": np.arange(n, dtype="uint32") * 100000,
        "uint64": np.arange(n, dtype="uint64") * np.uint64(2**40),
        "float32": rng.standard_normal(n).astype("float32"),
        "float64": np.where(np.arange(n) % 4 == 1, np.nan, rng.standard_normal(n)),
        "dt_ns": dt.where(np.arange(n) % 5 != 2),
        "dt_tz": dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT"),
        "dt_s": dt.values.astype("datetime64[s]"),
        "dt_ms_utc": dt.tz_localize("UTC").as_unit("ms"),
        "td": pd.to_timedelta(ints, unit="s"),
        "cat": pd.Categorical([["lo", "mid", "hi"][i % 3] if i % 6 else None for i in range(n)]),
        "cat_ord": pd.Categorical([i % 4 for i in range(n)], categories=[3, 2, 1, 0], ordered=True),
        "Int64": pd.array([None if i % 3 == 0 else i for i in range(n)], dtype="Int64"),
        "boolean": pd.array([None if i % 4 == 0 else i % 2 == 0 for i in range(n)], dtype="boolean"),
        "Float64": pd.array([None if i % 5 == 0 else i / 3 for i in range(n)], dtype="Float64"),
        "str": pd.array(strs, dtype=pd.StringDtype("pyarrow")),
        "str_py": pd.array(strs, dtype=pd.StringDtype("python")),
        "str_obj": pd.Series(strs, dtype=object),
        "str_default": strs,   # pandas 3: the "str" dtype; pandas 2: object
    })
    return df
