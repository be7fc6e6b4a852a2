"""shmchunk pack / unpack keep the index freq (Week(weekday=None) too, whose freqstr
pandas parses as W-SUN), Period and Interval row indexes, sparse columns with a block
index, axis names, duplicate column labels and df.attrs of a to_pickle() file, at
protocols 2-5 (issue 15)."""
import numpy as np
import pandas as pd
import pytest

N = 9


def _frame(index):
    return pd.DataFrame({"v": np.arange(len(index), dtype="int64")}, index=index)


def _attrs():
    df = _frame(pd.RangeIndex(N))
    df.attrs = {"source": "x", "n": [1, 2.5, None], "nested": {"k": (1, "a")}}
    return df


def _names():
    df = _frame(pd.MultiIndex.from_product([["a", "b", "c"], [1, 2, 3]], names=["k", "n"]))
    df.columns.name = "cols"
    return df


CASES = {
    "day": lambda: _frame(pd.date_range("2020-01-01", periods=N, freq="D", name="t")),
    "timedelta": lambda: _frame(pd.timedelta_range("1h", periods=N, freq="h")),
    "bday_tz": lambda: _frame(pd.bdate_range("2020-01-01", periods=N, tz="UTC")),
    "quarter": lambda: _frame(pd.date_range("2020-01-01", periods=N, freq="-3QE-NOV")),
    "week_no_day": lambda: _frame(pd.date_range("2020-01-01", periods=N, freq=pd.offsets.Week())),
    "weeks_no_day": lambda: _frame(pd.date_range("2020-01-01", periods=N, freq=pd.offsets.Week(-2))),
    "period_index": lambda: _frame(pd.period_range("2020-01", periods=N, freq="M", name="p")),
    "interval_index": lambda: _frame(pd.interval_range(0, N, name="iv", closed="both")),
    "interval_index_tz": lambda: _frame(pd.IntervalIndex.from_breaks(
        pd.date_range("2020-01-01", periods=N + 1, freq="h", tz="Europe/Paris"), closed="left")),
    "sparse_block": lambda: pd.DataFrame({"s": pd.arrays.SparseArray(
        np.where(np.arange(N) % 4 < 2, np.arange(N) * 1.5, np.nan), kind="block")}),
    "names": _names,
    "dup": lambda: pd.DataFrame([[1, 2.5, "s"]] * N, columns=["x", "x", "y"]),
    "attrs": _attrs,
}


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
@pytest.mark.parametrize("case", list(CASES))
def test_pack_unpack_keeps_meta(cli, tmp_path, case, proto):
    df = CASES[case]()
    src, seg, out = tmp_path / "in.pkl", tmp_path / "seg.shmc", tmp_path / "out.pkl"
    df.to_pickle(src, protocol=proto)
    cli("pack", src, seg, "--zstd", check=0)
    cli("unpack", seg, out, check=0)
    got = pd.read_pickle(out)
    pd.testing.assert_frame_equal(got, df)
    assert got.attrs == df.attrs


def test_unpack_duplicate_label_selects_both(cli, tmp_path):
    df = CASES["dup"]()
    src, seg, out = tmp_path / "in.pkl", tmp_path / "seg.shmc", tmp_path / "out.pkl"
    df.to_pickle(src)
    cli("pack", src, seg, check=0)
    cli("unpack", seg, out, "--columns", "x", check=0)
    pd.testing.assert_frame_equal(pd.read_pickle(out), df[["x"]], check_column_type=False)


@pytest.mark.parametrize("what", ["attrs", "freq"])
def test_pack_refuses_what_it_cannot_keep(cli, tmp_path, what):
    if what == "attrs":
        df = _frame(pd.RangeIndex(N))
        df.attrs = {"when": pd.Timestamp("2020-01-01")}
        needle = "df.attrs"
    else:
        df = _frame(pd.date_range("2020-01-01", periods=N, freq="C"))
        needle = "CustomBusinessDay"
    src = tmp_path / "in.pkl"
    df.to_pickle(src)
    r = cli("pack", src, tmp_path / "seg.shmc", check=1)
    assert needle in r.err
    assert not (tmp_path / "seg.shmc").exists()
