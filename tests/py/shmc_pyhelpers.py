"""Helpers of the Python binding tests (imported by name, not through conftest:
tests/cli has a conftest.py too, and spawn workers re-import test modules)."""
import itertools
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "python") not in sys.path:  # run without PYTHONPATH too
    sys.path.insert(0, str(ROOT / "python"))
if "SHMCHUNK_BUILD" not in os.environ and not os.environ.get("SHMCHUNK_LIBRARY"):
    if (ROOT / "build" / "lib" / "libshmchunk.so").exists():
        os.environ["SHMCHUNK_BUILD"] = str(ROOT / "build")

PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def cli_path() -> Path:
    """The shmchunk command under test: $SHMCHUNK_CLI (an installed wheel's), else the build's."""
    if os.environ.get("SHMCHUNK_CLI"):
        return Path(os.environ["SHMCHUNK_CLI"])
    return Path(os.environ.get("SHMCHUNK_BUILD", ROOT / "build")) / "tools" / "shmchunk"
_counter = itertools.count()


def unique_name(tag: str = "t") -> str:
    return f"shmc-pytest-{os.getpid()}-{tag}-{next(_counter)}"


def shm_exists(name: str) -> bool:
    """Does /dev/shm/NAME exist? (NAME or "shm:NAME", as sf.name prints it)"""
    return Path("/dev/shm", name.removeprefix("shm:")).exists()


def mapped(name: str) -> bool:
    """Is /dev/shm/NAME mapped in this process? (NAME or "shm:NAME")"""
    name = name.removeprefix("shm:")
    with open("/proc/self/maps") as f:
        return any(f"/dev/shm/{name}" in line for line in f)


def frame_all_dtypes(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Every dtype share() stores natively, with missing values where they exist."""
    rng = np.random.default_rng(seed)
    miss = rng.random(n) < 0.15
    words = np.array(["", "a", "bb", "héllo", "€uro", "x" * 40], dtype=object)
    strs = words[rng.integers(0, len(words), n)]
    strs_none = np.where(miss, None, strs)
    cols = {
        "bool": rng.random(n) < 0.5,
        "i8": rng.integers(-128, 127, n).astype(np.int8),
        "i16": rng.integers(-999, 999, n).astype(np.int16),
        "i32": rng.integers(-10**9, 10**9, n).astype(np.int32),
        "i64": rng.integers(-10**18, 10**18, n),
        "u8": rng.integers(0, 255, n).astype(np.uint8),
        "u16": rng.integers(0, 65535, n).astype(np.uint16),
        "u32": rng.integers(0, 2**32 - 1, n).astype(np.uint32),
        "u64": rng.integers(0, 2**63, n).astype(np.uint64),
        "f32": rng.standard_normal(n).astype(np.float32),
        "f64": np.where(miss, np.nan, rng.standard_normal(n)),
        "dt_ns": pd.Series(pd.date_range("2001-01-01", periods=n, freq="17min")).where(~miss),
        "dt_s": pd.Series(pd.date_range("1970-01-01", periods=n, freq="D", unit="s")),
        "dt_us_tz": pd.Series(pd.date_range("2021-03-27", periods=n, freq="37min", unit="us",
                                            tz="Europe/Paris")),
        "dt_utc": pd.Series(pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC")).where(~miss),
        "td": pd.Series(pd.to_timedelta(rng.integers(-10**12, 10**12, n))).where(~miss),
        "cat_str": pd.Categorical(np.where(miss, None, rng.choice(["lo", "mid", "hi"], n))),
        "cat_ord_int": pd.Categorical(rng.choice([30, 10, 20], n), categories=[30, 10, 20],
                                      ordered=True),
        "Int64": pd.array(np.where(miss, None, rng.integers(-5, 5, n)), dtype="Int64"),
        "UInt8": pd.array(np.where(miss, None, rng.integers(0, 200, n)), dtype="UInt8"),
        "Float32": pd.array(np.where(miss, None, rng.random(n)), dtype="Float32"),
        "boolean": pd.array(np.where(miss, None, rng.random(n) < 0.5), dtype="boolean"),
        "string_pa": pd.array(strs_none, dtype="string[pyarrow]"),
        "string_py": pd.array(strs_none, dtype="string[python]"),
        "obj_str": pd.Series(strs_none, dtype=object),
        "obj_mixed": pd.Series([(i, "t") if i % 3 else {"k": i} for i in range(n)], dtype=object),
        "complex": rng.standard_normal(n) + 1j,
    }
    df = pd.DataFrame(cols)
    if PANDAS3:
        df["str"] = pd.Series(strs_none, dtype="str")
        df["str_py"] = pd.Series(strs_none, dtype=pd.StringDtype("python", na_value=np.nan))
    return df
