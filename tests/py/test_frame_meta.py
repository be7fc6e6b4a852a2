"""Index freq, every axis name, duplicate column labels and df.attrs survive
share()/read() (raw and zstd) and pickle.loads(sf.pickle_bytes()) (issue 15)."""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import shmchunk
from shmchunk import _lib as L

N = 12


def _frame(index, **cols):
    return pd.DataFrame(cols or {"v": np.arange(len(index), dtype="int64")}, index=index)


def frames():
    yield "day", _frame(pd.date_range("2020-01-01", periods=N, freq="D", name="t"))
    yield "hour_tz", _frame(pd.date_range("2020-01-01", periods=N, freq="h", tz="Europe/Paris"))
    yield "timedelta", _frame(pd.timedelta_range("1h", periods=N, freq="15min", name="d"))
    yield "bday", _frame(pd.bdate_range("2020-01-01", periods=N))
    yield "week", _frame(pd.date_range("2020-01-06", periods=N, freq="-2W-MON"))
    yield "week_no_day", _frame(pd.date_range("2020-01-01", periods=N, freq=pd.offsets.Week()))
    yield "weeks_no_day", _frame(pd.date_range("2020-01-01", periods=N, freq=pd.offsets.Week(-3)))
    yield "quarter", _frame(pd.date_range("2020-01-01", periods=N, freq="QS-FEB"))
    yield "no_freq", _frame(pd.DatetimeIndex(pd.date_range("2020-01-01", periods=N)[[0, 3, 4, 9, 1, 2, 5, 6, 7, 8, 10, 11]]))
    mi = pd.MultiIndex.from_product([["a", "b", "c"], [1, 2, 3, 4]], names=["k", "n"])
    df = _frame(mi)
    df.columns.name = "cols"
    yield "multi_names", df
    df = pd.DataFrame(np.arange(N * 2).reshape(N, 2),
                      columns=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["L0", "L1"]))
    df.index.name = "ix"
    yield "column_levels", df
    yield "dup", pd.DataFrame({"a": np.arange(N), "b": np.arange(N) * 0.5, "c": ["s"] * N}
                              ).set_axis(["x", "x", "y"], axis=1)
    df = pd.concat([pd.DataFrame({"x": np.arange(N)}), pd.DataFrame({"x": np.arange(N) * 2.0})], axis=1)
    df.attrs = {"source": "concat", "n": [1, 2.5, None], "nested": {"k": (1, "a", b"b")}}
    yield "dup_attrs", df


CASES = dict(frames())


def _same(got, want):
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs


@pytest.mark.parametrize("compression", [None, "zstd"])
@pytest.mark.parametrize("case", list(CASES))
def test_share_read_and_pickle_bytes(shared, case, compression):
    df = CASES[case]
    sf = shared(df, compression=compression, rows_per_chunk=4)
    _same(sf.read(), df)
    _same(pickle.loads(sf.pickle_bytes()), df)
    stream, bufs = sf.pickle_bytes(oob=True)
    _same(pickle.loads(stream, buffers=bufs), df)


@pytest.mark.parametrize("case", ["day", "timedelta", "bday"])
def test_freq_kept_on_row_slices(shared, case):
    df = CASES[case]
    sf = shared(df, rows_per_chunk=4)
    _same(sf.read(rows=slice(2, 9)), df.iloc[2:9])
    _same(pickle.loads(sf.pickle_bytes(rows=slice(2, 9))), df.iloc[2:9])
    assert sf.read(rows=slice(2, 9)).index.freq == df.index.freq


def test_duplicate_label_selects_every_column(shared):
    df = CASES["dup"]
    sf = shared(df)
    # a label selects every column that has it, as df[["x"]] does
    _same(sf.read(columns=["x"]), df[["x"]])
    _same(pickle.loads(sf.pickle_bytes(columns=["x"])), df[["x"]])
    _same(pickle.loads(sf.pickle_bytes(columns=["y", "x"])), df[["y", "x"]])
    with pytest.raises(KeyError):
        sf.column("x")


def test_freq_stored_in_the_index(shared):
    sf = shared(CASES["week"])
    assert sf._live().index_freq() == "-2W-MON"
    assert shared(CASES["no_freq"])._live().index_freq() is None


def test_freq_without_a_string_warns_and_is_dropped(shared):
    idx = pd.date_range("2020-01-01 09:00", periods=N, freq=pd.offsets.BusinessHour(start="09:30"))
    df = _frame(idx)
    with pytest.warns(UserWarning, match="not stored"):
        sf = shared(df)
    assert sf.read().index.freq is None
    pd.testing.assert_frame_equal(sf.read(), df, check_freq=False)


def test_attrs_that_run_code_are_refused_by_the_writer_when_untrusted(shared):
    df = _frame(pd.RangeIndex(N))
    df.attrs = {"when": pd.Timestamp("2020-01-01")}
    sf = shared(df)
    _same(pickle.loads(sf.pickle_bytes()), df)   # our own segment: trusted
    other = shmchunk.attach(sf.name)
    other._reader.trusted = False
    with pytest.raises(shmchunk.errors.ShmchunkError, match="df.attrs"):
        other.pickle_bytes()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert other.read().attrs == {}
    other.close()


def test_freq_checked_at_open():
    """A freq string outside the safe set never reaches pandas: the C frame API refuses it."""
    fr = L.ctypes.c_void_p()
    L.lib.shmc_frame_create(L.ctypes.byref(fr))
    try:
        for bad in (b"D;x", b"<DateOffset: days=1>", b"x" * 33, b"dateutil/../etc"):
            with pytest.raises(shmchunk.errors.ShmchunkError):
                L.lib.shmc_frame_set_index_freq(fr, bad)
        L.lib.shmc_frame_set_index_freq(fr, b"2W-SUN")
    finally:
        L.lib.shmc_frame_free(fr)


@pytest.mark.parametrize("freq", [b"9999999999W", b"99999999999999999999D"])
def test_stored_freq_pandas_cannot_build_warns_and_is_dropped(shared, monkeypatch, freq):
    """A hostile writer's freq whose n overflows pandas (OverflowError, not ValueError):
    read() warns and drops it like any freq the values do not follow; the C pickle writer
    emits it and pandas refuses the stream with its own error, never a crash."""
    from shmchunk import _write
    monkeypatch.setattr(_write.FrameBuilder, "set_index_freq",
                        lambda self, index: L.lib.shmc_frame_set_index_freq(self.frame, freq))
    df = CASES["day"]
    sf = shared(df)
    assert sf._live().index_freq() == freq.decode()
    with pytest.warns(UserWarning, match="not restored"):
        got = sf.read()
    pd.testing.assert_frame_equal(got, df, check_freq=False)
    assert got.index.freq is None
    with pytest.raises((OverflowError, ValueError)):
        pickle.loads(sf.pickle_bytes())
