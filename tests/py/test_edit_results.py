"""Issue 16.4: what read()/column() return can be edited as pandas' copy-on-write
promises: the first write to a column copies that column only; the segment (and
every other column) stays untouched and zero-copy. pandas 2.x needs copy-on-write
turned on (pd.options.mode.copy_on_write = True); pandas 3 always has it."""
import contextlib

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import PANDAS3, frame_all_dtypes


@pytest.fixture
def cow():
    ctx = contextlib.nullcontext() if PANDAS3 else pd.option_context("mode.copy_on_write", True)
    with ctx:
        yield


def frame():
    return pd.DataFrame({"f": np.array([1.0, np.nan, 3.0, -2.0]), "i": np.arange(4),
                         "g": np.array([0.5, 1.5, 2.5, 3.5])})


def in_segment(sf, arr) -> bool:
    addr = arr.__array_interface__["data"][0]
    return sf.buffer_address <= addr < sf.buffer_address + sf.nbytes


EDITS = {
    "loc_mask": lambda d: d.loc.__setitem__((d["f"] > 2, "f"), 0.0),
    "iloc": lambda d: d.iloc.__setitem__((0, 0), 1.0),
    "iat": lambda d: d.iat.__setitem__((3, 0), 7.0),
    "fillna_inplace": lambda d: d.fillna({"f": 0.0}, inplace=True),
    "setitem_column_slice": lambda d: d.__setitem__("f", d["f"].clip(0, 1)),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edit_copies_only_that_column(shared, cow, edit):
    df = frame()
    sf = shared(df)
    got = sf.read()
    want = df.copy()
    EDITS[edit](got)
    EDITS[edit](want)
    pd.testing.assert_frame_equal(got, want)
    # the others still point into the segment; the edited one is the frame's own
    assert in_segment(sf, got["i"].to_numpy()) and in_segment(sf, got["g"].to_numpy())
    assert not in_segment(sf, got["f"].to_numpy())
    pd.testing.assert_frame_equal(sf.read(), df)   # the segment is untouched


def test_series_edit_and_second_write_in_place(shared, cow):
    sf = shared(frame())
    s = sf.column("f")
    s.iloc[0] = 10.0
    first = s.to_numpy()
    s.iloc[1] = 11.0     # the copy is the Series' own: no second copy
    assert s.to_numpy() is first or np.shares_memory(s.to_numpy(), first)
    assert list(s[:2]) == [10.0, 11.0] and sf.column("f").iloc[0] == 1.0


def test_every_dtype_takes_an_edit(shared, cow):
    df = frame_all_dtypes(50)
    sf = shared(df)
    for j, c in enumerate(df.columns):
        got = sf.read()
        if got[c].dtype == object and not isinstance(got[c].iloc[1], str):
            continue   # an object column of lists/tuples: setting one item is ambiguous
        got.iloc[0, j] = got.iloc[1, j]
        a, b = got.iloc[0, j], got.iloc[1, j]
        assert (pd.isna(a) and pd.isna(b)) or a == b, c
    pd.testing.assert_frame_equal(sf.read(), df)


def test_to_numpy_of_a_view_stays_read_only(shared, cow):
    """Documented: writing through .to_numpy()/.values raises, as for any read-only array."""
    sf = shared(frame())
    with pytest.raises(ValueError, match="read-only"):
        sf.read()["g"].to_numpy()[0] = 0.0
