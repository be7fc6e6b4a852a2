"""The whole pickle bridge, both directions, in C:

    DataFrame --pickle.dumps (pandas, protocol 2-5)--> shmc_frame_from_pickle (C reader)
      --> segment --> shmc_pickle_write (C writer) --> pickle.loads --> equal DataFrame

with hypothesis-generated frames of every supported dtype, selections by rows,
columns and chunk ids, raw and zstd segments, in-band and out-of-band buffers.
The writer is driven through ctypes directly (not SharedFrame.pickle_bytes) so
that what is checked is exactly what C emits. Runs on pandas 3.1 (.venv) and
pandas 2.2 (.venv-old); what pandas 2.2 cannot express is skipped there.
"""
from __future__ import annotations

import ctypes
import gc
import os
import pickle
import pickletools
import tempfile
import time
from ctypes import byref, c_size_t, c_uint32, c_void_p

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import shmchunk
from shmchunk import _lib as L

PANDAS3 = int(pd.__version__.split(".")[0]) >= 3
assert_frame_equal = pd.testing.assert_frame_equal
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
                max_examples=int(os.environ.get("SHMC_HYPOTHESIS_EXAMPLES", "60")))
if os.environ.get("SHMC_HYPOTHESIS_NO_SHRINK"):
    SETTINGS["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]


# --------------------------------------------------------------------------
# C plumbing: pickle -> frame -> segment file; segment -> pickle stream
# --------------------------------------------------------------------------
def segment_from_pickle(blob: bytes, path: str, rows_per_chunk: int, zstd: bool) -> None:
    frame = L.frame_create()
    try:
        L.lib.shmc_frame_from_pickle(frame, blob, len(blob), None, None, 0, None)
        opts = L.write_opts(rows_per_chunk=rows_per_chunk,
                            codec=L.SHMC_CODEC_ZSTD if zstd else L.SHMC_CODEC_NONE,
                            level=1, shuffle=1, threads=1, min_saving=0.0001)
        L.lib.shmc_frame_write(frame, path.encode(), byref(opts), None, 0)
    finally:
        L.lib.shmc_frame_free(frame)


class Seg:
    """An open segment and the read-only memoryview of its mapping."""

    def __init__(self, src: str):
        self.h = L.segment_open(src)
        base, size = c_void_p(), c_size_t()
        L.lib.shmc_segment_data(self.h, byref(base), byref(size))
        raw = (ctypes.c_char * size.value).from_address(base.value)
        self.view = memoryview(raw).cast("B").toreadonly()
        self.info = L.shmc_segment_info()
        L.lib.shmc_segment_info_get(self.h, byref(self.info))

    def column(self, i: int) -> L.shmc_column_info:
        ci = L.shmc_column_info()
        L.lib.shmc_segment_column_info(self.h, i, byref(ci))
        return ci

    def chunk(self, i: int) -> L.shmc_chunk_info:
        ck = L.shmc_chunk_info()
        L.lib.shmc_segment_chunk_info(self.h, i, byref(ck))
        return ck

    def write(self, columns=None, rows=None, chunks=None, oob=False, objects=False):
        """shmc_pickle_write -> (stream bytes, [buffers as Python hands them over])."""
        sel, keep = L.shmc_selection(), []
        if chunks is not None:
            arr = (c_uint32 * max(1, len(chunks)))(*chunks)
            keep.append(arr)
            sel.chunks, sel.nchunks = ctypes.cast(arr, ctypes.POINTER(c_uint32)), len(chunks)
        if columns is not None:
            arr = (c_uint32 * max(1, len(columns)))(*columns)
            keep.append(arr)
            sel.columns, sel.ncolumns = ctypes.cast(arr, ctypes.POINTER(c_uint32)), len(columns)
        if rows is not None:
            sel.row_start, sel.row_stop = rows
        flags = (L.SHMC_PICKLE_OOB if oob else 0) | (L.SHMC_PICKLE_OBJECTS if objects else 0)
        out = L.shmc_pickle_out()
        L.lib.shmc_pickle_write(self.h, byref(sel), flags, byref(out))
        try:
            stream = ctypes.string_at(out.bytes, out.len)
            bufs = [self.buffer(out.buffers[i]) for i in range(out.nbuffers)]
        finally:
            L.lib.shmc_pickle_out_free(byref(out))
        return stream, bufs

    def buffer(self, b):
        if b.kind == L.SHMC_OOB_SEGMENT:
            assert b.offset + b.len <= len(self.view)
            return self.view[b.offset:b.offset + b.len]
        ck = self.chunk(b.chunk)
        raw = np.empty(ck.raw_len, np.uint8)
        L.lib.shmc_segment_chunk_decode(self.h, b.chunk, raw.ctypes.data, raw.size)
        assert b.offset + b.len <= raw.size
        return memoryview(raw[b.offset:b.offset + b.len]).toreadonly()

    def close(self):
        self.view.release()
        L.lib.shmc_segment_free(self.h)


def label_of(ci) -> object:
    lab = ci.label
    if lab.type == L.SHMC_LABEL_STR:
        return ctypes.string_at(lab.str, lab.len).decode()
    if lab.type == L.SHMC_LABEL_INT:
        return lab.i
    if lab.type == L.SHMC_LABEL_NONE:
        return None
    return pickle.loads(ctypes.string_at(lab.str, lab.len))


def data_columns(seg: Seg) -> list[int]:
    return [i for i in range(seg.info.ncolumns)
            if not seg.column(i).flags & (L.SHMC_COL_INDEX | L.SHMC_COL_DICTIONARY)]


def load(stream: bytes, bufs) -> pd.DataFrame:
    return pickle.loads(stream, buffers=bufs) if bufs else pickle.loads(stream)


# --------------------------------------------------------------------------
# What pandas 2.2 cannot express
# --------------------------------------------------------------------------
def natural_on_this_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """The writer rebuilds "str" (pyarrow, NaN) columns with Index(list, "str"),
    which is str on pandas 3 and object on 2.x: on 2.x, pandas' own
    "pyarrow_numpy" columns (future.infer_string) come back as object."""
    if PANDAS3:
        return df
    out = df.copy()
    for i, dt in enumerate(out.dtypes):
        if isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow_numpy":
            out.isetitem(i, out.iloc[:, i].astype(object).where(out.iloc[:, i].notna(), None))
    return out


def assert_selection_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """assert_frame_equal for a selection. MultiIndex columns are rebuilt from their
    tuples, so the levels hold what the selection uses, where slicing keeps every
    original level value (and its dtype): labels are compared, not level dtypes. With
    no column selected nothing says the labels were tuples (an empty Index comes back):
    then the shape and the index are compared."""
    want = natural_on_this_pandas(want)
    multi = isinstance(want.columns, pd.MultiIndex)
    if multi and want.shape[1] == 0:
        assert got.shape == want.shape
        pd.testing.assert_index_equal(got.index, want.index, exact=index_check(want))
        return
    assert_frame_equal(got, want, check_index_type=index_check(want),
                       check_column_type=False if multi else "equiv")
    if multi:
        assert list(got.columns) == list(want.columns) and got.columns.names == want.columns.names


def index_check(want: pd.DataFrame):
    """check_index_type for want: the levels of an empty MultiIndex selection are
    pandas' choice (slicing keeps the unused levels, from_arrays makes empty ones,
    and pandas 2.2 tells those apart by inferred_type), so only rows are compared."""
    if isinstance(want.index, pd.MultiIndex) and len(want) == 0:
        return False
    return "equiv"


# --------------------------------------------------------------------------
# Strategies: DataFrames of every dtype the C reader understands
# --------------------------------------------------------------------------
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
INTS = {"int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1), "int32": (-2**31, 2**31 - 1),
        "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1),
        "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
NULLABLE = {"Int8": "int8", "Int16": "int16", "Int32": "int32", "Int64": "int64",
            "UInt8": "uint8", "UInt16": "uint16", "UInt32": "uint32", "UInt64": "uint64"}
TZS = ["UTC", "Europe/Paris", "US/Eastern", "Asia/Kolkata"]
NS_RANGE = (-2**62, 2**62)  # inside what datetime64[ns] can print


def string_dtypes() -> list[str]:
    out = ["object", "object[nan]", "string[python]", "string[pyarrow]"]
    if PANDAS3:
        out += ["str", "str[python]"]
    return out


def make_strings(values, dtype: str):
    if dtype == "object":
        return pd.Series(values, dtype=object).array
    if dtype == "object[nan]":  # an object column whose missing values are NaN
        return pd.Series([np.nan if v is None else v for v in values], dtype=object).array
    if dtype == "str[python]":
        return pd.array(values, dtype=pd.StringDtype("python", na_value=np.nan))
    return pd.array(values, dtype=dtype)


# Issue 15's kinds, stored natively (not as object pickles).
NEW_KINDS = ["period", "interval", "sparse", "arrow"]
NAT = np.iinfo(np.int64).min


@st.composite
def new_kind_column(draw, kind: str, n: int):
    if kind == "period":  # period[D] / period[M] ordinals, NaT among them
        freq = draw(st.sampled_from(["D", "M", "Q-DEC"]))
        vals = draw(st.lists(st.integers(-10**5, 10**5) | st.just(NAT), min_size=n, max_size=n))
        return pd.arrays.PeriodArray(np.array(vals, dtype="i8"), dtype=pd.PeriodDtype(freq))
    if kind == "interval":  # int64 / float64 with NaN / datetime64[ns] with NaT, any closed side
        closed = draw(st.sampled_from(["left", "right", "both", "neither"]))
        sub = draw(st.sampled_from(["int64", "float64", "datetime"]))
        lo = np.array(draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n)), dtype="i8")
        width = np.array(draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)), dtype="i8")
        missing = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        if sub == "int64":
            return pd.arrays.IntervalArray.from_arrays(lo, lo + width, closed)
        if sub == "float64":
            left = np.where(missing, np.nan, lo / 4)
            return pd.arrays.IntervalArray.from_arrays(left, left + width / 8, closed)
        left = np.where(missing, NAT, lo * 10**9).view("M8[ns]")
        right = np.where(missing, NAT, (lo + width) * 10**9).view("M8[ns]")
        return pd.arrays.IntervalArray.from_arrays(left, right, closed)
    if kind == "sparse":  # Sparse[float64, nan] / [float64, 0.0] / [int64, 0] / [bool, False]
        sub, fill = draw(st.sampled_from([("float64", np.nan), ("float64", 0.0), ("int64", 0),
                                          ("bool", False)]))
        if sub == "bool":
            vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        elif sub == "int64":
            vals = draw(st.lists(st.sampled_from([0, 0, 0, -7, 2**40]), min_size=n, max_size=n))
        else:
            vals = draw(st.lists(st.sampled_from([np.nan, np.nan, 0.0, 1.5, -2.0]), min_size=n, max_size=n))
        kind = draw(st.sampled_from(["integer", "block"]))  # block: expanded by the C reader
        return pd.arrays.SparseArray(np.array(vals, dtype=sub), fill_value=fill, kind=kind)
    if kind == "arrow":  # pd.ArrowDtype: fixed, bits, var-width and dictionary layouts
        return draw(arrow_column(n))
    raise AssertionError(kind)


@st.composite
def arrow_column(draw, n: int):
    import pyarrow as pa
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    typ = draw(st.sampled_from(["int8", "uint64", "float32", "bool", "ts_tz", "string",
                                "large_binary", "decimal", "dict"]))
    if typ in ("int8", "uint64"):
        lo, hi = (-128, 127) if typ == "int8" else (0, 2**64 - 1)
        return pd.arrays.ArrowExtensionArray(pa.array(
            draw(st.lists(maybe(st.integers(lo, hi)), min_size=n, max_size=n)), getattr(pa, typ)()))
    if typ == "float32":
        vals = draw(st.lists(maybe(st.floats(width=32, allow_nan=False)), min_size=n, max_size=n))
        return pd.arrays.ArrowExtensionArray(pa.array(vals, pa.float32()))
    if typ == "bool":
        vals = draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n))
        return pd.arrays.ArrowExtensionArray(pa.array(vals, pa.bool_()))
    if typ == "ts_tz":
        vals = draw(st.lists(maybe(st.integers(-10**15, 10**15)), min_size=n, max_size=n))
        return pd.arrays.ArrowExtensionArray(pa.array(vals, pa.timestamp("us", "Asia/Tokyo")))
    if typ == "decimal":
        vals = draw(st.lists(maybe(st.integers(-10**9, 10**9)), min_size=n, max_size=n))
        import decimal
        return pd.arrays.ArrowExtensionArray(pa.array(
            [None if v is None else decimal.Decimal(v).scaleb(-3) for v in vals], pa.decimal128(12, 3)))
    if typ == "large_binary":
        vals = draw(st.lists(maybe(st.binary(max_size=6)), min_size=n, max_size=n))
        return pd.arrays.ArrowExtensionArray(pa.array(vals, pa.large_binary()))
    vals = draw(st.lists(maybe(TEXT), min_size=n, max_size=n))
    arr = pa.array(vals, pa.string())
    return pd.arrays.ArrowExtensionArray(arr.dictionary_encode() if typ == "dict" else arr)


@st.composite
def column(draw, n: int):
    kind = draw(st.sampled_from(
        list(INTS) + ["float32", "float64", "bool", "datetime", "datetime_tz", "timedelta",
                      "category", "nullable_int", "Float64", "boolean", "string"] + NEW_KINDS))
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    if kind in INTS:
        lo, hi = INTS[kind]
        vals = draw(st.lists(st.sampled_from([lo, hi, 0]) | st.integers(lo, hi), min_size=n, max_size=n))
        return np.array(vals, dtype=kind)
    if kind in ("float32", "float64"):
        width = 32 if kind == "float32" else 64
        return np.array(draw(st.lists(st.floats(width=width), min_size=n, max_size=n)), dtype=kind)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind in ("datetime", "datetime_tz", "timedelta"):
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        vals = draw(st.lists(st.integers(*NS_RANGE) | st.just(np.iinfo(np.int64).min),
                             min_size=n, max_size=n))
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
        raw = np.array([v if v == np.iinfo(np.int64).min else v // scale for v in vals], "i8")
        if kind == "timedelta":
            return raw.view(f"m8[{unit}]")
        naive = raw.view(f"M8[{unit}]")
        if kind == "datetime":
            return naive
        tz = draw(st.sampled_from(TZS))
        return pd.Series(naive).dt.tz_localize("UTC").dt.tz_convert(tz).array
    if kind == "category":
        cats = draw(st.sampled_from([["lo", "mid", "hi"], [30, 10, 20], ["é", "", "x" * 300]]))
        codes = draw(st.lists(st.integers(-1, len(cats) - 1), min_size=n, max_size=n))
        return pd.Categorical.from_codes(codes, categories=cats, ordered=draw(st.booleans()))
    if kind == "nullable_int":
        dt = draw(st.sampled_from(list(NULLABLE)))
        lo, hi = INTS[NULLABLE[dt]]
        return pd.array(draw(st.lists(maybe(st.integers(lo, hi)), min_size=n, max_size=n)), dtype=dt)
    if kind == "Float64":
        return pd.array(draw(st.lists(maybe(st.floats(allow_nan=False)), min_size=n, max_size=n)),
                        dtype="Float64")
    if kind == "boolean":
        return pd.array(draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)), dtype="boolean")
    if kind in NEW_KINDS:
        return draw(new_kind_column(kind, n))
    dt = draw(st.sampled_from(string_dtypes()))
    return make_strings(draw(st.lists(maybe(TEXT | st.just("x" * 70000)), min_size=n, max_size=n)), dt)


@st.composite
def index(draw, n: int):
    name = draw(st.sampled_from([None, "idx", 7]))
    kind = draw(st.sampled_from(["range", "range", "int", "str", "datetime_tz", "multi", "period",
                                 "interval"]))
    if kind == "multi":
        return draw(multi_index(n))
    if kind in ("period", "interval"):  # a Period / Interval row index (issue 15)
        return pd.Index(draw(new_kind_column(kind, n)), name=name)
    if kind == "range":
        start, step = draw(st.integers(-1000, 1000)), draw(st.sampled_from([1, 2, -3, 7]))
        return pd.RangeIndex(start, start + step * n, step, name=name)
    if kind == "int":
        return pd.Index(np.array(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n,
                                               max_size=n)), dtype="i8"), name=name)
    if kind == "str":
        return pd.Index(draw(st.lists(TEXT, min_size=n, max_size=n)), name=name)
    # with or without its freq (kept since issue 15)
    idx = pd.date_range("2021-03-27", periods=n, freq="37min", tz="Europe/Paris", name=name)
    return idx if draw(st.booleans()) else pd.DatetimeIndex(idx, freq=None)


@st.composite
def multi_index(draw, n: int):
    arrays = [np.arange(n, dtype="i8") * 3, draw(st.lists(TEXT, min_size=n, max_size=n))]
    names = ["a", None]
    if draw(st.booleans()):  # a float level with missing labels (codes -1)
        arrays.append(draw(st.lists(st.sampled_from([0.5, -2.0, np.nan]), min_size=n, max_size=n)))
        names.append(7)
    return pd.MultiIndex.from_arrays(arrays, names=names)


@st.composite
def frames(draw, max_rows: int = 24):
    n = draw(st.integers(0, max_rows))
    ncols = draw(st.integers(1, 5))
    # all-str or all-int labels: the C reader does not read a mixed (object) axis
    labels = draw(st.lists(draw(st.sampled_from([TEXT, st.integers(-5, 5)])), min_size=ncols,
                           max_size=ncols, unique=True))
    df = pd.DataFrame({lab: draw(column(n)) for lab in labels}, index=draw(index(n)))
    df.attrs = draw(st.sampled_from([{}, {"src": "bridge", "n": [1, 2.5, None, ("t", True)]}]))
    if ncols > 1 and draw(st.booleans()):  # one label twice, as after a concat
        df = df.set_axis([*labels[:-1], labels[0]], axis=1)
    if draw(st.booleans()):
        df.columns.name = draw(st.sampled_from(["cols", 3]))
    elif draw(st.booleans()):  # MultiIndex column labels, as a pivot table has them
        second = draw(st.lists(st.sampled_from([0, -7, 2.5, "x", True]), min_size=ncols,
                               max_size=ncols))
        df.columns = pd.MultiIndex.from_arrays(
            [[str(lab) for lab in labels], second],
            names=draw(st.sampled_from([[None, None], ["top", None], [None, 4]])))
    return df


# --------------------------------------------------------------------------
# The round trips
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tmpdir_mod():
    with tempfile.TemporaryDirectory(prefix="shmc-bridge-") as d:
        yield d


_count = [0]


def fresh_segment(df: pd.DataFrame, protocol: int, rpc: int, zstd: bool, where: str) -> Seg:
    _count[0] += 1
    path = os.path.join(where, f"s{os.getpid()}-{_count[0]}.seg")
    segment_from_pickle(pickle.dumps(df, protocol=protocol), path, rpc, zstd)
    seg = Seg(path)
    os.unlink(path)  # the mapping stays valid
    return seg


@settings(**SETTINGS)
@given(df=frames(), protocol=st.integers(2, 5), rpc=st.sampled_from([1, 2, 4, 8, 1 << 20]),
       zstd=st.booleans(), oob=st.booleans(), data=st.data())
def test_round_trip_rows_and_columns(tmpdir_mod, df, protocol, rpc, zstd, oob, data):
    seg = fresh_segment(df, protocol, rpc, zstd, tmpdir_mod)
    try:
        n = len(df)
        a = data.draw(st.integers(0, n), label="row_start")
        b = data.draw(st.integers(a, n), label="row_stop")
        cols = data_columns(seg)
        assert [label_of(seg.column(c)) for c in cols] == list(df.columns)
        pick = data.draw(st.lists(st.sampled_from(range(len(cols))), unique=True) if cols
                         else st.just([]), label="columns")
        # whole frame
        got = load(*seg.write(oob=oob))
        assert_frame_equal(got, natural_on_this_pandas(df), check_index_type=index_check(df))
        assert got.attrs == df.attrs
        # rows cut anywhere (row_stop 0 means "to the end", so say n explicitly)
        if a < b or a == b == n:
            got = load(*seg.write(rows=(a, b if b else 0), oob=oob))
            assert_frame_equal(got, natural_on_this_pandas(df.iloc[a:b]),
                               check_index_type=index_check(df.iloc[a:b]))
        # a subset of columns in any order, over the rows
        if a < b:
            got = load(*seg.write(columns=[cols[i] for i in pick], rows=(a, b), oob=oob))
            assert_selection_equal(got, df.iloc[a:b, pick])
        del got
    finally:
        gc.collect()
        seg.close()


@settings(**SETTINGS)
@given(df=frames(max_rows=20), rpc=st.sampled_from([1, 2, 4, 8]), zstd=st.booleans(),
       oob=st.booleans(), data=st.data())
def test_round_trip_chunk_selection(tmpdir_mod, df, rpc, zstd, oob, data):
    """Chunk ids select their columns x their row groups, scattered or not."""
    seg = fresh_segment(df, 5, rpc, zstd, tmpdir_mod)
    try:
        ids = data.draw(st.lists(st.integers(0, max(0, seg.info.nchunks - 1)), max_size=8)
                        if seg.info.nchunks else st.just([]), label="chunks")
        cols, rgs = set(), set()
        for cid in ids:
            ck = seg.chunk(cid)
            ci = seg.column(ck.column)
            if ci.flags & L.SHMC_COL_DICTIONARY:
                continue
            rgs.add(ck.rowgroup)
            if not ci.flags & L.SHMC_COL_INDEX:
                cols.add(ck.column)
        data_cols = data_columns(seg)  # by position: a label may name two columns
        pos = [data_cols.index(c) for c in sorted(cols)]
        rows = [r for g in sorted(rgs) for r in range(g * rpc, min(len(df), (g + 1) * rpc))]
        got = load(*seg.write(chunks=ids, oob=oob))
        want = df.iloc[rows, pos]
        assert_selection_equal(got, want)
    finally:
        gc.collect()
        seg.close()


@settings(**SETTINGS)
@given(df=frames(max_rows=20), rpc=st.sampled_from([1, 4, 1 << 20]), zstd=st.booleans(),
       oob=st.booleans(), multi=st.booleans(), objects=st.booleans(), data=st.data())
def test_round_trip_through_share(df, rpc, zstd, oob, multi, objects, data):
    """The same writer over segments made by share() (the Python writer), which
    also stores what the C reader does not read: MultiIndex, object columns."""
    n = len(df)
    if multi:
        df.index = data.draw(multi_index(n), label="multi_index")
    if objects and len(df.columns) and isinstance(df.columns[0], str):
        df["objects!"] = pd.Series([(i, "t") if i % 2 else None for i in range(n)],
                                   dtype=object, index=df.index)
    with shmchunk.share(df, rows_per_chunk=rpc, compression="zstd" if zstd else None) as sf:
        seg = Seg(sf.name if sf.name.startswith(("shm:", "/")) else "shm:" + sf.name)
        try:
            a = data.draw(st.integers(0, n), label="row_start")
            b = data.draw(st.integers(a, n), label="row_stop")
            got = load(*seg.write(oob=oob, objects=True))
            assert_frame_equal(got, df, check_index_type=index_check(df))
            if a < b:
                got = load(*seg.write(rows=(a, b), oob=oob, objects=True))
                assert_frame_equal(got, df.iloc[a:b], check_index_type=index_check(df.iloc[a:b]))
            del got
        finally:
            gc.collect()
            seg.close()


def test_read_pickle_of_inband_stream(tmpdir_mod):
    """An in-band stream is a file pandas.read_pickle reads, with writable arrays."""
    df = pd.DataFrame({"i": np.arange(10, dtype="i4"), "s": list("abcdefghij")})
    seg = fresh_segment(df, 5, 4, True, tmpdir_mod)
    try:
        path = os.path.join(tmpdir_mod, "inband.pkl")
        with open(path, "wb") as f:
            f.write(seg.write(rows=(2, 7))[0])
        got = pd.read_pickle(path)
        assert_frame_equal(got, df.iloc[2:7])
        assert np.asarray(got["i"].array).flags.writeable
    finally:
        gc.collect()
        seg.close()


# --------------------------------------------------------------------------
# Zero-copy: out-of-band arrays are read-only views of the given buffers
# --------------------------------------------------------------------------
def test_oob_arrays_share_memory_and_are_read_only(tmpdir_mod):
    n = 1000
    df = pd.DataFrame({"i": np.arange(n, dtype="i8"), "f": np.linspace(0, 1, n),
                       "t": pd.date_range("2020", periods=n, freq="s"),
                       "m": pd.array(np.where(np.arange(n) % 3, np.arange(n), None), "Int32")})
    seg = fresh_segment(df, 5, 256, False, tmpdir_mod)
    try:
        stream, bufs = seg.write(oob=True)
        assert bufs, "raw columns must go out-of-band"
        got = pickle.loads(stream, buffers=bufs)
        assert_frame_equal(got, df)
        for name in ("i", "f", "t"):
            arr = np.asarray(got[name].array)
            assert not arr.flags.writeable
            assert any(np.shares_memory(arr, np.frombuffer(b, np.uint8)) for b in bufs), name
            # and those buffers are the segment itself
            assert np.shares_memory(arr, np.frombuffer(seg.view, np.uint8))
        # in-band: private, writable arrays
        got2 = pickle.loads(seg.write()[0])
        arr = np.asarray(got2["i"].array)  # the array itself: pandas 3 hands out read-only views
        assert arr.flags.writeable and not np.shares_memory(arr, np.frombuffer(seg.view, np.uint8))
        del got, got2, arr
    finally:
        gc.collect()
        seg.close()


def test_raw_column_is_one_buffer(tmpdir_mod):
    """A raw column over many adjacent row groups is ONE out-of-band range."""
    df = pd.DataFrame({"i": np.arange(4096, dtype="i8"), "f": np.ones(4096, "f4")})
    seg = fresh_segment(df, 5, 512, False, tmpdir_mod)
    try:
        stream, bufs = seg.write(oob=True, rows=(100, 4000))
        assert len(bufs) == 2
        assert [len(b) for b in bufs] == [3900 * 8, 3900 * 4]
        assert_frame_equal(pickle.loads(stream, buffers=bufs), df.iloc[100:4000])
    finally:
        gc.collect()
        seg.close()


# --------------------------------------------------------------------------
# Through share() (the Python writer): object columns, pickled labels
# --------------------------------------------------------------------------
def test_share_path_objects_and_pickled_labels():
    n = 50
    df = pd.DataFrame({
        ("tuple", 1): [(i, "t") if i % 3 else {"k": i} for i in range(n)],
        "complex": np.arange(n) + 1j,
        2.5: np.arange(n, dtype="i2"),
        "obj_str": pd.Series(["a", None] * (n // 2), dtype=object),
    })
    if PANDAS3:
        df["per"] = pd.period_range("2020", periods=n, freq="D")
    with shmchunk.share(df, rows_per_chunk=16) as sf:
        seg = Seg(sf.name if sf.name.startswith(("shm:", "/")) else "shm:" + sf.name)
        try:
            for rows in (None, (5, 37), (16, 32), (7, 7)):
                for oob in (False, True):
                    got = load(*seg.write(rows=rows, oob=oob, objects=True))
                    want = df if rows is None else df.iloc[rows[0]:rows[1]]
                    assert_frame_equal(got, want)
            with pytest.raises(shmchunk.errors.ShmchunkError, match="SHMC_PICKLE_OBJECTS"):
                seg.write()
        finally:
            gc.collect()
            seg.close()


# --------------------------------------------------------------------------
# Stream shape: public callables only, protocol 5, framed
# --------------------------------------------------------------------------
ALLOWED_GLOBALS = {
    "numpy frombuffer", "numpy dtype", "numpy concatenate", "numpy zeros", "pandas DataFrame",
    "pandas Series", "pandas concat", "pandas Index", "pandas RangeIndex",
    "pandas MultiIndex.from_arrays", "pandas Categorical.from_codes", "pandas DatetimeTZDtype",
    "pandas array", "pandas StringDtype", "pandas.arrays IntegerArray",
    "pandas.arrays FloatingArray", "pandas.arrays BooleanArray", "pickle loads",
    "operator getitem", "builtins slice",
    # str[python]: StringDtype("python") + BUILD {"_na_value": numpy.nan} (loads on pandas 2.2)
    "numpy nan", "BUILD"}


def globals_of(stream: bytes) -> set[str]:
    out, strs = set(), []
    for op, arg, _pos in pickletools.genops(stream):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
            strs.append(arg)
        elif op.name == "STACK_GLOBAL":
            out.add(f"{strs[-2]} {strs[-1]}")
        elif op.name in ("GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD"):
            out.add(op.name)
    return out


# Issue 15's kinds and frame metadata: public pandas / pyarrow callables, plus pandas'
# own sparse IntIndex (the class every pickled SparseArray names; lib/PICKLE.md says why).
ALLOWED_GLOBALS_15 = ALLOWED_GLOBALS | {
    "pandas.arrays PeriodArray", "pandas PeriodDtype", "pandas.arrays IntervalArray.from_arrays",
    "pandas.arrays SparseArray", "pandas._libs.sparse IntIndex", "pandas SparseDtype",
    "pandas DatetimeIndex", "pandas TimedeltaIndex", "pandas.tseries.offsets Week",
    "functools partial", "pandas DataFrame.set_axis", "pandas.arrays ArrowExtensionArray",
    "pyarrow chunked_array", "pyarrow Array.from_buffers", "pyarrow DictionaryArray.from_arrays",
    "pyarrow concat_arrays", "pyarrow array", "pyarrow py_buffer", "pyarrow type_for_alias",
    "pyarrow timestamp", "pyarrow decimal128", "pyarrow decimal256", "pyarrow binary",
    "pyarrow dictionary", "NEWOBJ", "NEWOBJ_EX"}


def frame_issue15(n: int) -> pd.DataFrame:
    """Periods, intervals, sparse, Arrow columns of each layout, a Week(weekday=None)
    index, duplicate labels and attrs."""
    import decimal

    import pyarrow as pa
    i = np.arange(n)
    miss = i % 7 == 3
    ext = pd.arrays.ArrowExtensionArray
    df = pd.DataFrame({
        "p": pd.period_range("2020-01", periods=n, freq="M"),
        "iv": pd.arrays.IntervalArray.from_arrays(i, i + 1, "left"),
        "sp": pd.arrays.SparseArray(np.where(i % 5 == 0, i * 0.5, np.nan)),
        "a_i": ext(pa.array(np.where(miss, None, i).tolist(), pa.int32())),
        "a_b": ext(pa.array(np.where(miss, None, i % 2 == 0).tolist(), pa.bool_())),
        "a_s": ext(pa.array([None if m else f"s{k}" for k, m in zip(i, miss)], pa.string())),
        "a_ts": ext(pa.array(i * 10**6, pa.timestamp("us", "Europe/Paris"))),
        "a_d": ext(pa.array([decimal.Decimal(int(k)) / 4 for k in i], pa.decimal128(12, 2))),
        "a_bin": ext(pa.array([bytes([k % 256]) * 3 for k in i], pa.binary(3))),
        "a_dict": ext(pa.array([f"c{k % 3}" for k in i]).dictionary_encode()),
        "x": i * 2.0,
    }, index=pd.date_range("2020-01-01", periods=n, freq=pd.offsets.Week()))
    df.attrs = {"source": "issue 15"}
    return df.set_axis([*df.columns[:-1], "p"], axis=1)  # "p" twice


@pytest.mark.parametrize("which", ["all_dtypes", "issue15"])
def test_stream_uses_public_callables_only(tmpdir_mod, which):
    from shmc_pyhelpers import frame_all_dtypes
    df = frame_all_dtypes(200) if which == "all_dtypes" else frame_issue15(200)
    allowed = ALLOWED_GLOBALS if which == "all_dtypes" else ALLOWED_GLOBALS_15
    with shmchunk.share(df, rows_per_chunk=64) as sf:
        seg = Seg("shm:" + sf.name if not sf.name.startswith(("shm:", "/")) else sf.name)
        try:
            for oob in (False, True):
                stream, bufs = seg.write(oob=oob, objects=True)
                assert stream[:2] == b"\x80\x05" and stream[2:3] == b"\x95"  # PROTO 5, FRAME
                used = globals_of(stream)
                assert used <= allowed, used - allowed
                pickletools.dis(stream, out=open(os.devnull, "w"))  # well-formed to the end
                got = load(stream, bufs)
                assert_frame_equal(got, df)
                assert got.attrs == df.attrs
            # pure-Python unpickler: frames never split an opcode
            got = pickle._Unpickler(__import__("io").BytesIO(seg.write(objects=True)[0])).load()
            assert_frame_equal(got, df)
        finally:
            gc.collect()
            seg.close()


# --------------------------------------------------------------------------
# String path speed vs pickle.dumps(list_of_str)
# --------------------------------------------------------------------------
def test_string_path_speed(tmpdir_mod, capsys):
    n = 300_000
    rng = np.random.default_rng(1)
    words = ["", "a", "héllo", "€uro", "x" * 40, "naïve café", "日本語"]
    values = [words[i] + str(i) for i in rng.integers(0, len(words), n)]
    values[::11] = [None] * len(values[::11])
    df = pd.DataFrame({"s": pd.Series(values, dtype=object)})
    seg = fresh_segment(df, 5, 1 << 20, False, tmpdir_mod)
    try:
        def best(f, k=5):
            t = []
            for _ in range(k):
                t0 = time.perf_counter()
                f()
                t.append(time.perf_counter() - t0)
            return min(t)
        t_c = best(lambda: seg.write())
        t_py = best(lambda: pickle.dumps(values, protocol=5))
        with capsys.disabled():
            print(f"\nstring path: C writer {t_c * 1e3:.1f} ms, pickle.dumps(list) "
                  f"{t_py * 1e3:.1f} ms for {n} strings ({t_py / t_c:.2f}x)")
        assert t_c <= t_py * 1.1, (t_c, t_py)
        got = pickle.loads(seg.write()[0])
        assert got["s"].tolist() == values
    finally:
        gc.collect()
        seg.close()


# --------------------------------------------------------------------------
# pandas' future string option: pyarrow_numpy on 2.2, the default on 3.x
# --------------------------------------------------------------------------
def test_future_infer_string(tmpdir_mod):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecates the option (it is the default)
        with pd.option_context("future.infer_string", True):
            df = pd.DataFrame({"s": ["a", None, "é", "", "x" * 300],
                               "n": np.arange(5.0)}, index=pd.Index(list("vwxyz"), name="k"))
            blob = pickle.dumps(df, protocol=5)
    seg = fresh_segment_from_blob(blob, tmpdir_mod)
    try:
        for oob in (False, True):
            got = load(*seg.write(oob=oob, rows=(1, 4)))
            want = natural_on_this_pandas(df.iloc[1:4])
            if not PANDAS3:  # index and column axis too come back as natural (object) strings
                want.index = want.index.astype(object)
                want.columns = want.columns.astype(object)
            assert_frame_equal(got, want)
            assert str(got["s"].dtype) == ("str" if PANDAS3 else "object")
    finally:
        gc.collect()
        seg.close()


def fresh_segment_from_blob(blob: bytes, where: str) -> Seg:
    _count[0] += 1
    path = os.path.join(where, f"b{os.getpid()}-{_count[0]}.seg")
    segment_from_pickle(blob, path, 2, False)
    seg = Seg(path)
    os.unlink(path)
    return seg


# --------------------------------------------------------------------------
# A stream written on pandas 3 loads on pandas 2.2 (segment shared across versions)
# --------------------------------------------------------------------------
OLD_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", ".venv-old", "bin", "python")

_LOAD_ON_OLD = """
import pickle, sys
import pandas as pd
df = pickle.load(open(sys.argv[1], "rb"))
print(pd.__version__)
for c in df.columns:
    print(c, df[c].dtype, [None if v is None else "NA" if v is pd.NA
                           else "NaN" if isinstance(v, float) else v for v in df[c].tolist()])
"""


@pytest.mark.skipif(not PANDAS3, reason="writes pandas-3-only dtypes")
@pytest.mark.skipif(not os.path.exists(OLD_PYTHON), reason="no .venv-old (pandas 2.2)")
def test_pandas3_stream_loads_on_pandas22(tmpdir_mod):
    import subprocess
    vals = ["a", None, "é"]
    df = pd.DataFrame({
        "strpy": pd.array(vals, dtype=pd.StringDtype("python", na_value=np.nan)),
        "str": pd.array(vals, dtype="str"),
        "obj": pd.Series(vals, dtype=object),
        "objnan": pd.Series(["a", np.nan, "é"], dtype=object)})
    seg = fresh_segment(df, 5, 2, True, tmpdir_mod)
    try:
        stream, _ = seg.write()
    finally:
        gc.collect()
        seg.close()
    # exact on this pandas
    got = pickle.loads(stream)
    assert_frame_equal(got, df)
    assert got["strpy"].dtype == pd.StringDtype("python", na_value=np.nan)
    path = os.path.join(tmpdir_mod, "cross.pkl")
    with open(path, "wb") as f:
        f.write(stream)
    out = subprocess.run([OLD_PYTHON, "-c", _LOAD_ON_OLD, path], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("2.")
    # documented degradations on 2.x: str[python] -> string[python] (pd.NA), str -> object
    assert lines[1:] == ["strpy string ['a', 'NA', 'é']", "str object ['a', None, 'é']",
                         "obj object ['a', None, 'é']", "objnan object ['a', 'NaN', 'é']"]


# --------------------------------------------------------------------------
# Fixtures of every pandas version: C reader -> segment -> C writer -> this pandas
# --------------------------------------------------------------------------
PICKLES = os.path.join(os.path.dirname(__file__), "..", "data", "pickles")


def _fixtures(*cases):
    return sorted(f for f in os.listdir(PICKLES) for c in cases
                  if f.startswith("pd") and f.split("_", 1)[1].rsplit("_p", 1)[0] == c)


@pytest.mark.parametrize("name", _fixtures("strings", "index_cat", "labels_mixed", "index_multi"))
def test_fixture_round_trip(tmpdir_mod, name):
    """Object columns keep None vs NaN, CategoricalIndex stays categorical, mixed
    str/int/other column labels stay what they were."""
    with open(os.path.join(PICKLES, name), "rb") as f:
        blob = f.read()
    try:
        want = pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 - a newer pandas' pickle on an older one
        pytest.skip(f"this pandas cannot load {name}: {exc}")
    seg = fresh_segment_from_blob(blob, tmpdir_mod)
    try:
        got = load(*seg.write(objects=True))
    finally:
        gc.collect()
        seg.close()
    assert_frame_equal(got, natural_on_this_pandas(want), check_column_type=False)
    if "strings" in name:
        assert got["obj"].tolist()[1] is None
        nan = got["obj_nan"].tolist()[1]
        assert isinstance(nan, float) and np.isnan(nan)
    if "index_cat" in name:
        assert isinstance(got.index, pd.CategoricalIndex) and got.index.name == "c"


@pytest.mark.parametrize("name", _fixtures("refuse_mixnull", "refuse_na"))
def test_fixture_missing_spelt_two_ways_is_refused(tmpdir_mod, name):
    with open(os.path.join(PICKLES, name), "rb") as f:
        blob = f.read()
    with pytest.raises(shmchunk.errors.UnsupportedError, match=r"column \d \('(mix|na)'\)"):
        segment_from_pickle(blob, os.path.join(tmpdir_mod, "refused.seg"), 2, False)
    assert not os.path.exists(os.path.join(tmpdir_mod, "refused.seg"))
