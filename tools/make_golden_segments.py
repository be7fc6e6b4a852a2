"""Write the golden segments of tests/data/golden/ (read by tests/c/test_golden.c).

Why: segments written by an older build must keep opening. The committed files
were made by the e645094 build (hand-written msgpack index codec), before the
index moved onto msgpack-c; rerun this only to add a new golden generation, never
to refresh the old one:

    SHMCHUNK_BUILD=/path/to/old/build PYTHONPATH=python .venv/bin/python \
        tools/make_golden_segments.py tests/data/golden
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from shmchunk import _lib as L
from shmchunk._write import build_frame

NROWS, RPC = 100, 64   # two row groups, the second one short


def golden_frame() -> pd.DataFrame:
    r = np.arange(NROWS)
    df = pd.DataFrame({
        "b": r % 3 == 0,
        "i8": (r - 50).astype(np.int8), "i16": (r * -300).astype(np.int16),
        "i32": (r * 70000).astype(np.int32), "i64": r.astype(np.int64) * 10**12,
        "u8": r.astype(np.uint8), "u16": (r * 600).astype(np.uint16),
        "u32": (r * 40000000).astype(np.uint32), "u64": r.astype(np.uint64) * 2**57,
        "f32": (r / 4).astype(np.float32), "f64": r / 8,
        "dt": pd.date_range("2020-01-01", periods=NROWS, freq="h", tz="Europe/Paris"),
        "dts": pd.Series(pd.date_range("1999-12-31", periods=NROWS, freq="D")).astype("datetime64[s]"),
        "td": pd.to_timedelta(r, unit="ms").astype("timedelta64[ms]"),
        "cat": pd.Categorical([("lo", "mid", "hi")[i % 3] for i in r], categories=["lo", "mid", "hi"],
                              ordered=True),
        "s": pd.array([None if i % 7 == 0 else f"s{i}é" for i in r], dtype="string[pyarrow]"),
        "n": pd.array([None if i % 5 == 0 else int(i) for i in r], dtype="Int64"),
    })
    df[7] = r * 1.5                                  # int label
    df[("t", 1)] = [{"k": int(i)} for i in r]        # pickled label, object column
    df.attrs = {"source": "golden"}                  # meta
    return df


def write(df: pd.DataFrame, path: Path, codec: int) -> None:
    path.unlink(missing_ok=True)
    opts = L.write_opts(rows_per_chunk=RPC, codec=codec, level=3, shuffle=1, threads=1, flags=0)
    fb = build_frame(df, RPC)
    try:
        fb.write(str(path), opts)
    finally:
        fb.free()


def main(out: Path) -> None:
    df = golden_frame()
    df.index = pd.RangeIndex(10, 10 + 3 * NROWS, 3, name="rid")    # range index, str name
    write(df, out / "v1_raw.shmc", L.SHMC_CODEC_NONE)
    df.index = pd.Index([f"r{i}" for i in range(NROWS)], name=None)  # stored index, no name
    df.columns.name = 5                                                # int columns name
    write(df, out / "v1_zstd.shmc", L.SHMC_CODEC_ZSTD)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
