"""Issue 15's column kinds stored natively (not as opaque object pickles): share()/read()
raw and zstd, a reader of another uid without allow_pickle, info() naming the kind,
zero-copy views of raw columns, and the C pickle writer (pickle_bytes) -- on pandas 3.1
(.venv) and 2.2 (.venv-old). Kind numbers come from _lib.py, never literals."""
import os
import pickle

import numpy as np
import pandas as pd
import pytest

import shmchunk
from shmchunk import _lib as L

NAT = np.iinfo(np.int64).min


def periods(freq: str, ordinals) -> pd.arrays.PeriodArray:
    return pd.arrays.PeriodArray(np.array(ordinals, dtype="i8"), dtype=pd.PeriodDtype(freq))


def intervals(left, right, closed: str) -> pd.arrays.IntervalArray:
    return pd.arrays.IntervalArray.from_arrays(left, right, closed)


def frame(n: int = 300) -> pd.DataFrame:
    i = np.arange(n)
    f = np.where(i % 5 == 2, np.nan, i * 0.5)
    t = pd.to_datetime(np.where(i % 6 == 1, NAT, i * 10**9 + 17), unit="ns")
    return pd.DataFrame({
        "ii": intervals(i.astype("i8"), (2 * i + 1).astype("i8"), "right"),
        "if": intervals(f, f + 1, "both"),
        "it": intervals(t, t + pd.Timedelta(seconds=1), "left"),
        "iz": intervals(t.tz_localize("Europe/Paris"), (t + pd.Timedelta(1, "h")).tz_localize("Europe/Paris"),
                        "neither"),
        "id": intervals(pd.to_timedelta(i, unit="s"), pd.to_timedelta(i + 3, unit="s"), "left"),
        "sf": pd.arrays.SparseArray(np.where(i % 9 == 0, np.where(i % 18 == 0, np.nan, i * 0.5), np.nan),
                                    fill_value=np.nan),
        "si": pd.arrays.SparseArray(np.where(i % 13 == 4, i, 0).astype("i8"), fill_value=0),
        "sb": pd.arrays.SparseArray(i % 7 == 0, fill_value=False),
        "pd": periods("D", np.where(i % 7 == 3, NAT, 18262 + i)),
        "pm": periods("M", np.where(i % 11 == 5, NAT, 600 - i)),
        "pq": periods("Q-DEC", 100 + i),
        "x": i * 0.5,
    })


NATIVE = {"pd": "period", "pm": "period", "pq": "period", "ii": "interval", "if": "interval",
          "it": "interval", "iz": "interval", "id": "interval", "sf": "sparse", "si": "sparse",
          "sb": "sparse"}


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_share_read_equal(shared, compression):
    df = frame()
    sf = shared(df, compression=compression, rows_per_chunk=64)
    pd.testing.assert_frame_equal(sf.read(), df)
    pd.testing.assert_frame_equal(sf.read(rows=(5, 130)), df.iloc[5:130])
    pd.testing.assert_series_equal(sf.column("pm"), df["pm"])
    kinds = {c["label"]: c["kind"] for c in sf.info()["columns"]}
    assert {k: kinds[k] for k in NATIVE} == NATIVE
    nulls = {c["label"]: c["null_count"] for c in sf.info()["columns"]}
    assert nulls["pd"] == int(df["pd"].isna().sum()) and nulls["pq"] == 0
    assert nulls["if"] == int(df["if"].isna().sum()) > 0 and nulls["ii"] == 0
    assert nulls["sf"] == int(df["sf"].isna().sum()) > 0 and nulls["si"] == 0


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_pickle_bytes_equal(shared, compression):
    df = frame()
    sf = shared(df, compression=compression, rows_per_chunk=64)
    pd.testing.assert_frame_equal(pickle.loads(sf.pickle_bytes()), df)


def arrow_frame(n: int = 40) -> pd.DataFrame:
    """pd.ArrowDtype columns of each layout, a Period row index and attrs (issue 15)."""
    import decimal
    pa = pytest.importorskip("pyarrow")
    ext = pd.arrays.ArrowExtensionArray
    i = list(range(n))
    df = pd.DataFrame({
        "i": ext(pa.array([None if k % 5 == 1 else k for k in i], pa.int64())),
        "b": ext(pa.array([k % 3 == 0 for k in i], pa.bool_())),
        "s": ext(pa.array([None if k % 7 == 2 else f"v{k}" for k in i], pa.string())),
        "d": ext(pa.array([decimal.Decimal(k).scaleb(-2) for k in i], pa.decimal128(9, 2))),
        "t": ext(pa.array([k * 10**6 for k in i], pa.timestamp("us", "UTC"))),
        "c": ext(pa.array([f"c{k % 3}" for k in i]).dictionary_encode()),
    }, index=pd.period_range("2020-01", periods=n, freq="M", name="m"))
    df.attrs = {"source": "kinds15"}
    return df


@pytest.mark.parametrize("make", [frame, arrow_frame], ids=["kinds15", "arrow"])
def test_foreign_reader_needs_no_allow_pickle(shared, monkeypatch, make):
    """Natively stored: a reader of another uid reads them without allow_pickle."""
    import shmchunk._read as rd
    df = make(40)
    sf = shared(df)
    monkeypatch.setattr(rd, "current_uid", lambda: os.getuid() + 1)
    foreign = shmchunk.attach(sf.name)
    assert not foreign.allow_pickle
    got = foreign.read()
    pd.testing.assert_frame_equal(got, df)
    assert got.attrs == df.attrs


def test_raw_period_is_a_view_of_the_segment(shared):
    df = frame(1000)
    sf = shared(df)
    got = sf.read()["pd"].array
    assert isinstance(got, pd.arrays.PeriodArray)
    ordinals = got.asi8
    assert not ordinals.flags.writeable and not ordinals.flags.owndata
    np.testing.assert_array_equal(ordinals, df["pd"].array.asi8)


def test_raw_interval_bounds_are_views(shared):
    df = frame(500)
    sf = shared(df)
    got = sf.read()["if"].array
    assert isinstance(got, pd.arrays.IntervalArray) and got.closed == "both"
    for side in (got.left, got.right):
        arr = np.asarray(side)
        assert not arr.flags.writeable and not arr.flags.owndata


def test_interval_bounds_crossed_is_corruption(tmp_path):
    """A segment whose left bound passes its right one (written through the C API,
    which does not judge values) reads as CorruptSegmentError naming the column."""
    from ctypes import byref
    from shmchunk import errors
    left, right = np.array([0.0, 5.0]), np.array([1.0, 2.0])
    frame = L.frame_create()
    path = str(tmp_path / "crossed.shmc")
    try:
        L.lib.shmc_frame_set_nrows(frame, 2)
        desc = L.shmc_column_desc(kind=L.SHMC_KIND_INTERVAL, code_kind=L.SHMC_KIND_FLOAT64,
                                  flags=L.SHMC_COL_CLOSED_RIGHT, values=left.ctypes.data,
                                  right=right.ctypes.data)
        desc.label = L.make_label("iv", [])
        L.lib.shmc_frame_add_column(frame, byref(desc))
        L.lib.shmc_frame_write(frame, path.encode(), byref(L.write_opts()), None, 0)
    finally:
        L.lib.shmc_frame_free(frame)
    with pytest.raises(errors.CorruptSegmentError, match="iv"):
        shmchunk.attach(path).read()


def test_interval_categories_stay_objects(shared):
    """Categories that are intervals are not a dictionary kind: the column is kept as
    an opaque pickle (and still equal when read back by its owner)."""
    cats = pd.IntervalIndex.from_breaks([0, 1, 2])
    df = pd.DataFrame({"c": pd.Categorical.from_codes([0, 1, -1], categories=cats)})
    sf = shared(df)
    assert sf.info()["columns"][0]["kind"] == "object"
    pd.testing.assert_frame_equal(sf.read(), df)


@pytest.mark.parametrize("rows_per_chunk", [1, 7, 64, 1 << 20])
def test_sparse_selections(shared, rows_per_chunk):
    """Row ranges and chunk selections cut the stored entries where they fall."""
    df = frame(120)[["sf", "si", "sb"]]
    sf = shared(df, rows_per_chunk=rows_per_chunk)
    for a, b in [(0, 120), (5, 6), (9, 100), (37, 37), (119, 120)]:
        pd.testing.assert_frame_equal(sf.read(rows=(a, b)), df.iloc[a:b])
        pd.testing.assert_frame_equal(pickle.loads(sf.pickle_bytes(rows=(a, b))), df.iloc[a:b])
    pd.testing.assert_frame_equal(sf.read(columns=["sb", "sf"]), df[["sb", "sf"]])
    ids = sf.chunk_ids(columns=["si"])   # with the fill value's chunk, like a categorical's
    fill_col = [c for c in sf.info()["columns"] if c["dictionary"]]
    assert sum(int(c["first_chunk"]) in ids for c in fill_col) == 1
    pd.testing.assert_frame_equal(sf.read(chunks=ids), df[["si"]])


def test_raw_sparse_values_are_views(shared):
    df = frame(2000)
    sf = shared(df)
    got = sf.read()["sf"].array
    assert isinstance(got, pd.arrays.SparseArray) and np.isnan(got.fill_value)
    assert not got.sp_values.flags.writeable and not got.sp_values.flags.owndata


def test_sparse_rows_out_of_order_is_corruption(tmp_path):
    """Row numbers that do not rise are refused by the C writer (a segment holding
    them anyway is refused when read: tests/c test_forged_sparse, test_sparse_unsorted)."""
    from ctypes import byref
    from shmchunk import errors
    vals, rows, fill = np.array([1.0, 2.0]), np.array([3, 1], dtype="<i4"), np.array([0.0])
    frame_ = L.frame_create()
    try:
        L.lib.shmc_frame_set_nrows(frame_, 5)
        fd = L.shmc_column_desc(kind=L.SHMC_KIND_FLOAT64, values=fill.ctypes.data)
        desc = L.shmc_column_desc(kind=L.SHMC_KIND_SPARSE, code_kind=L.SHMC_KIND_FLOAT64,
                                  values=vals.ctypes.data, sparse_index=rows.ctypes.data, nsparse=2,
                                  ncategories=1)
        desc.categories = ctypes_pointer(fd)
        L.lib.shmc_frame_add_column(frame_, byref(desc))
        with pytest.raises(errors.InvalidArgumentError, match="sparse_index"):
            L.lib.shmc_frame_write(frame_, str(tmp_path / "s.shmc").encode(), byref(L.write_opts()),
                                   None, 0)
    finally:
        L.lib.shmc_frame_free(frame_)


@pytest.mark.parametrize("bad", [[2, 1, 3], [1, 2, 9], [-1, 2, 3]], ids=["unsorted", "past", "negative"])
def test_sparse_rows_patched_are_refused_when_read(tmp_path, bad):
    """Row numbers patched in a raw file segment, read with verify=False (so the
    checksum does not stop them first): read() names the column, pickle_bytes() the
    chunk -- neither builds a SparseArray from them nor crashes."""
    from shmchunk import errors
    df = pd.DataFrame({"s": pd.arrays.SparseArray(np.array([0, 5, 6, 7, 0], dtype="i8"), fill_value=0)})
    path = str(tmp_path / "sp.shmc")
    with shmchunk.share(df, name=path) as sf:
        cid = next(c for c in range(sf.nchunks) if sf.chunk_info(c)["role"] == "indices")
        off = sf.chunk_info(cid)["offset"]
        data = bytearray(open(path, "rb").read())
    assert bytes(data[off:off + 12]) == np.array([1, 2, 3], dtype="<i4").tobytes()
    data[off:off + 12] = np.array(bad, dtype="<i4").tobytes()
    bad_path = tmp_path / "bad.shmc"
    bad_path.write_bytes(bytes(data))
    seg = shmchunk.attach(str(bad_path), verify=False)
    with pytest.raises(errors.CorruptSegmentError, match="sparse row numbers"):
        seg.read()
    with pytest.raises(errors.CorruptSegmentError, match="sparse row number"):
        seg.pickle_bytes()


def ctypes_pointer(x):
    from ctypes import pointer
    return pointer(x)


def test_period_categories_and_index(shared):
    """A period index and categories of periods go through the same kind."""
    idx = pd.PeriodIndex(periods("M", [600, NAT, 602]), name="month")
    df = pd.DataFrame({"c": pd.Categorical.from_codes([0, 1, -1], categories=periods("D", [5, 9]))},
                      index=idx)
    sf = shared(df)
    pd.testing.assert_frame_equal(sf.read(), df)
    pd.testing.assert_frame_equal(pickle.loads(sf.pickle_bytes()), df)


def test_kind_names_from_the_library():
    assert L.lib.shmc_kind_name(L.SHMC_KIND_PERIOD) == b"period"
    assert L.lib.shmc_kind_itemsize(L.SHMC_KIND_PERIOD) == 8
    assert L.lib.shmc_kind_name(L.SHMC_KIND_INTERVAL) == b"interval"
    assert L.ROLE_NAMES[L.SHMC_ROLE_RIGHT] == "right"
    assert L.lib.shmc_kind_name(L.SHMC_KIND_SPARSE) == b"sparse"
    assert L.ROLE_NAMES[L.SHMC_ROLE_INDICES] == "indices"
