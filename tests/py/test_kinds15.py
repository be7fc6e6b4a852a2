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


def frame(n: int = 300) -> pd.DataFrame:
    i = np.arange(n)
    return pd.DataFrame({
        "pd": periods("D", np.where(i % 7 == 3, NAT, 18262 + i)),
        "pm": periods("M", np.where(i % 11 == 5, NAT, 600 - i)),
        "pq": periods("Q-DEC", 100 + i),
        "x": i * 0.5,
    })


NATIVE = {"pd": "period", "pm": "period", "pq": "period"}


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
