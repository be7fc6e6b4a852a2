"""`shmchunk pack` of pd.ArrowDtype columns (issue 15): df.to_pickle(p) -> pack -> the
Python reader gives back df (pd.testing.assert_frame_equal, default options), raw and
zstd, next to numpy columns; pandas 3.1 (.venv) and 2.2 (.venv-old). Nested Arrow types
and malformed Arrow arrays are refused in one line naming the column."""
import decimal
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from .conftest import ROOT

pa = pytest.importorskip("pyarrow")
shmchunk = pytest.importorskip("shmchunk")

GOLDEN = ROOT / "tests" / "data" / "pickles"
HOSTILE = ROOT / "tests" / "regressions" / "pickle_read"
TAG = "pd%s%s" % tuple(pd.__version__.split(".")[:2])


def _a(values, typ):
    return pd.arrays.ArrowExtensionArray(pa.array(values, type=typ))


def arrow_frame(n: int = 11) -> pd.DataFrame:
    """Every Arrow type pack stores natively, nulls at every fourth row, numpy columns."""
    nul = [None if i % 4 == 1 else i for i in range(n)]

    def m(f):
        return [None if v is None else f(v) for v in nul]
    cols = {t: _a(m(lambda v: v - 5), getattr(pa, t)()) for t in ("int8", "int16", "int32", "int64")}
    cols.update({t: _a(nul, getattr(pa, t)()) for t in ("uint8", "uint16", "uint32", "uint64")})
    cols["float16"] = _a(np.array([np.nan if v is None else v / 2 for v in nul], np.float16),
                         pa.float16())
    cols["float32"] = _a(m(lambda v: v / 4), pa.float32())
    cols["float64"] = _a(m(lambda v: v / 3), pa.float64())
    cols["bool"] = _a(m(lambda v: v % 3 == 0), pa.bool_())
    for unit in ("s", "ms", "us", "ns"):
        cols["ts_" + unit] = _a(m(lambda v: v * 10**6), pa.timestamp(unit))
        cols["tz_" + unit] = _a(m(lambda v: v * 10**6), pa.timestamp(unit, "Europe/Paris"))
        cols["du_" + unit] = _a(m(lambda v: v * 7), pa.duration(unit))
    cols["date32"] = _a(nul, pa.date32())
    cols["date64"] = _a(m(lambda v: v * 86400000), pa.date64())
    cols["time32"] = _a(nul, pa.time32("s"))
    cols["time64"] = _a(nul, pa.time64("ns"))
    cols["dec128"] = _a(m(lambda v: decimal.Decimal(v * 125).scaleb(-2)), pa.decimal128(10, 2))
    cols["dec256"] = _a(m(lambda v: decimal.Decimal(v * 125).scaleb(-2)), pa.decimal256(40, 5))
    strs = m(lambda v: "s%d-\u00e9" % v * (v % 3))
    cols["string"] = _a(strs, pa.string())
    cols["large_string"] = _a(strs, pa.large_string())
    cols["binary"] = _a(m(lambda v: b"\xff%d" % v), pa.binary())
    cols["large_binary"] = _a(m(lambda v: b"\x00%d" % v), pa.large_binary())
    cols["fsb"] = _a(m(lambda v: bytes([v, 255 - v, 7])), pa.binary(3))
    cols["dict32"] = pd.arrays.ArrowExtensionArray(pa.array(m(lambda v: "abc"[v % 3]))
                                                   .dictionary_encode())
    cols["dict8o"] = pd.arrays.ArrowExtensionArray(pa.DictionaryArray.from_arrays(
        pa.array(m(lambda v: v % 2), pa.int8()), pa.array(["lo", "hi"]), ordered=True))
    cols["np_f64"] = np.arange(n) * 0.5
    cols["np_i32"] = np.arange(n, dtype="int32")
    return pd.DataFrame(cols)


def pack_read(cli, tmp_path, df, protocol, zstd, name="a"):
    src = tmp_path / f"{name}.pkl"
    if protocol is None:
        df.to_pickle(src)
    else:
        with open(src, "wb") as f:
            pickle.dump(df, f, protocol=protocol)
    seg = tmp_path / f"{name}.shmc"
    cli("pack", src, seg, "--rows-per-chunk", "4", *(["--zstd"] if zstd else []), check=0)
    return seg, shmchunk.attach(str(seg)).read()


@pytest.mark.parametrize("zstd", [False, True], ids=["raw", "zstd"])
@pytest.mark.parametrize("protocol", [None, 2, 4], ids=["to_pickle", "p2", "p4"])
def test_pack_arrow_round_trip(cli, tmp_path, protocol, zstd):
    df = arrow_frame()
    seg, got = pack_read(cli, tmp_path, df, protocol, zstd)
    pd.testing.assert_frame_equal(got, df)
    info = json.loads(cli("info", seg, "--json", check=0).stdout)
    kinds = {c["label"]: c["kind"] for c in info["columns"] if c["role"] != "dictionary"}
    assert {k for c, k in kinds.items() if not c.startswith("np_")} == {"arrow"}
    assert kinds["np_f64"] == "float64"


@pytest.mark.parametrize("zstd", [False, True], ids=["raw", "zstd"])
def test_pack_arrow_sliced_and_empty(cli, tmp_path, zstd):
    df = arrow_frame(13)
    for name, part in (("sliced", df.iloc[3:]), ("empty", df.iloc[:0])):
        _, got = pack_read(cli, tmp_path, part, None, zstd, name)
        pd.testing.assert_frame_equal(got, part)


def arrow_fixtures():
    return sorted(GOLDEN.glob(f"{TAG}_arrow_*_p*.pkl"))


@pytest.mark.parametrize("path", arrow_fixtures(), ids=lambda p: p.name)
def test_pack_arrow_golden(cli, tmp_path, path):
    seg = tmp_path / "g.shmc"
    cli("pack", path, seg, "--rows-per-chunk", "2", check=0)
    cli("verify", seg, check=0)
    pd.testing.assert_frame_equal(shmchunk.attach(str(seg)).read(), pd.read_pickle(path))


def test_arrow_fixtures_exist():
    assert len(arrow_fixtures()) >= 24 or TAG not in ("pd22", "pd31")


def test_pack_arrow_nested_refused(cli, tmp_path):
    df = pd.DataFrame({"ok": pd.array([1, 2], dtype="int64[pyarrow]"),
                       "lst": _a([[1, 2], None], pa.list_(pa.int64()))})
    src = tmp_path / "n.pkl"
    df.to_pickle(src)
    proc = cli("pack", src, tmp_path / "n.shmc", check=1)
    line = proc.err.strip()
    assert line.startswith(f"shmchunk: pack: {src}: column 1 'lst': pickle byte "), line
    assert "nested Arrow type (list, struct, map, union)" in line
    assert not (tmp_path / "n.shmc").exists()


@pytest.mark.parametrize("path", sorted(p for p in HOSTILE.glob("arrow-*")
                                        if "one-chunk" not in p.name
                                        and "two-columns" not in p.name),
                         ids=lambda p: p.name)
def test_pack_arrow_hostile_refused(cli, tmp_path, path):
    proc = cli("pack", path, tmp_path / "h.shmc", check=1)
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1 and "column 0 'a': pickle byte " in lines[0], proc.err
    assert not (tmp_path / "h.shmc").exists()


def test_pack_arrow_index(cli, tmp_path):
    """An Index over an ArrowExtensionArray is an Arrow index column."""
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0]},
                      index=pd.Index(pd.array([10, None, 30], dtype="int64[pyarrow]"), name="k"))
    _, got = pack_read(cli, tmp_path, df, None, False)
    pd.testing.assert_frame_equal(got, df)


@pytest.mark.parametrize("case", ["multiindex_level", "categories"])
def test_pack_arrow_where_not_read(cli, tmp_path, case):
    """Arrow MultiIndex levels and Arrow categories are refused by name, not misread."""
    if case == "multiindex_level":
        df = pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_arrays(
            [pd.array([1, 2], dtype="int64[pyarrow]"), ["a", "b"]]))
        want = "as a MultiIndex level (categorical and Arrow levels are not read)"
    else:
        cats = pd.Index(pd.array(["x", "y"], dtype=pd.ArrowDtype(pa.string())))
        df = pd.DataFrame({"c": pd.Categorical.from_codes([0, 1], dtype=pd.CategoricalDtype(cats))})
        want = "categories of a categorical (categorical, interval or Arrow categories)"
    src = tmp_path / "w.pkl"
    df.to_pickle(src)
    proc = cli("pack", src, tmp_path / "w.shmc", check=1)
    assert want in proc.err and len(proc.err.strip().splitlines()) == 1, proc.err


@pytest.mark.parametrize("zstd", [False, True], ids=["raw", "zstd"])
@pytest.mark.parametrize("protocol", [None, 2], ids=["to_pickle", "p2"])
def test_pack_unpack_arrow_round_trip(cli, tmp_path, protocol, zstd):
    """to_pickle -> pack (C reader) -> unpack (C writer) -> read_pickle gives the frame back,
    whole and by rows / columns, next to a freq'd index and attrs: no Python in between."""
    df = arrow_frame(11)
    df.index = pd.date_range("2020-01-01", periods=len(df), freq="D", name="day")
    df.attrs = {"source": "arrow", "n": 11}
    seg, _ = pack_read(cli, tmp_path, df, protocol, zstd)
    out = tmp_path / "out.pkl"
    cli("unpack", seg, out, check=0)
    got = pd.read_pickle(out)
    pd.testing.assert_frame_equal(got, df)
    assert got.attrs == df.attrs
    cli("unpack", seg, out, "--rows", "3:9", "--columns", "string,dict8o,dec256,ts_ns", check=0)
    pd.testing.assert_frame_equal(pd.read_pickle(out),
                                  df.iloc[3:9][["string", "dict8o", "dec256", "ts_ns"]])
