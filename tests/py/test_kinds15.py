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
        "pd": periods("D", np.where(i % 7 == 3, NAT, 18262 + i)),
        "pm": periods("M", np.where(i % 11 == 5, NAT, 600 - i)),
        "pq": periods("Q-DEC", 100 + i),
        "x": i * 0.5,
    })


NATIVE = {"pd": "period", "pm": "period", "pq": "period", "ii": "interval", "if": "interval",
          "it": "interval", "iz": "interval", "id": "interval"}


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


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_pickle_bytes_equal(shared, compression):
    df = frame()
    sf = shared(df, compression=compression, rows_per_chunk=64)
    pd.testing.assert_frame_equal(pickle.loads(sf.pickle_bytes()), df)


def test_foreign_reader_needs_no_allow_pickle(shared, monkeypatch):
    """Natively stored: a reader of another uid reads them without allow_pickle."""
    import shmchunk._read as rd
    df = frame(40)
    sf = shared(df)
    monkeypatch.setattr(rd, "current_uid", lambda: os.getuid() + 1)
    foreign = shmchunk.attach(sf.name)
    assert not foreign.allow_pickle
    pd.testing.assert_frame_equal(foreign.read(), df)


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
