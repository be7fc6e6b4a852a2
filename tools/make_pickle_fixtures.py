#!/usr/bin/env python3
"""Write the small DataFrame pickles that tests/c/test_pickle_frame.c reads.

Run it with each pandas to cover (fixtures are committed; tests never need these envs):
    .venv/bin/python tools/make_pickle_fixtures.py            # pandas 3.1 -> pd31_*
    /tmp/venv-pd22/bin/python tools/make_pickle_fixtures.py   # pandas 2.2 -> pd22_*
    /tmp/venv-pd15/bin/python tools/make_pickle_fixtures.py   # pandas 1.5 -> pd15_*
Files: tests/data/pickles/<tag>_<case>_p<protocol>.pkl for protocols 2..5.
`make_pickle_fixtures.py meta` writes only the META_CASES (index freq, df.attrs,
duplicate labels; pandas 2.2 and 3.1), leaving the other fixtures as they are;
`make_pickle_fixtures.py arrow` the same for the ARROW_CASES (pd.ArrowDtype columns).
Values follow simple formulas of the row number i (0..4) so the C tests can
check buffer contents without a second source of truth.
"""
import os
import pickle
import sys

import numpy as np
import pandas as pd

N = 5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "pickles")
MAJOR, MINOR = (int(x) for x in pd.__version__.split(".")[:2])
TAG = "pd%d%d" % (MAJOR, MINOR)
I = np.arange(N)


def numeric():
    # Distinct dtypes: one block each (1-row 2-D blocks).
    return pd.DataFrame({
        "i64": (I * 3 - 7).astype("int64"),
        "f64": I * 0.5,
        "i32": (I - 2).astype("int32"),
        "b": I % 2 == 0,
        "u8": (I + 250).astype("uint8"),
        "f32": (I * 0.25).astype("float32"),
        "be": (I * 1000).astype(">i4"),
    })


def wide_f():
    # DataFrame(2-D array): one block whose rows are the columns, Fortran order.
    return pd.DataFrame(np.arange(N * 3, dtype="float64").reshape(N, 3), columns=["x", "y", "z"])


def wide_c():
    # Consolidated block built by stacking: C order, each block row contiguous.
    df = pd.DataFrame({"x": I * 1.0, "y": I * 2.0, "z": I * 3.0})
    return df._consolidate() if hasattr(df, "_consolidate") else df


def index_int():
    return pd.DataFrame({"v": I * 1.5}, index=pd.Index(I * 10 + 1, name="key"))


def index_range():
    return pd.DataFrame({"v": I * 1.5}, index=pd.RangeIndex(10, 10 + 2 * N, 2, name="r"))


def index_dt():
    idx = pd.DatetimeIndex(pd.to_datetime(I * 86400, unit="s"), name="day")
    return pd.DataFrame({"v": I.astype("int64")}, index=idx)


def datetimes():
    base = pd.to_datetime(I * 1_000_000_000, unit="ns")
    return pd.DataFrame({
        "naive": base,
        "utc": base.tz_localize("UTC"),
        "paris": base.tz_localize("Europe/Paris"),
        "td": pd.to_timedelta(I, unit="s"),
        "nat": pd.Series([pd.NaT if i == 1 else pd.Timestamp(i, unit="s") for i in I]),
    })


def categorical():
    return pd.DataFrame({
        "cs": pd.Categorical(["b", "a", None, "b", "c"], categories=["c", "b", "a"], ordered=True),
        "ci": pd.Categorical([10, 20, 10, 30, 20]),
    })


def nullable():
    return pd.DataFrame({
        "Int64": pd.array([1, None, 3, 4, None], dtype="Int64"),
        "UInt8": pd.array([1, 2, None, 4, 5], dtype="UInt8"),
        "Float64": pd.array([0.5, None, 1.5, 2.5, 3.5], dtype="Float64"),
        "boolean": pd.array([True, False, None, True, False], dtype="boolean"),
    })


def strings():
    vals = ["a", None, "ccc", "", "\u00e9t\u00e9"]
    # Object columns keep how missing values are spelt: None ("object") or NaN ("object[nan]").
    cols = {"obj": pd.Series(["a", None, "ccc", None, "\u00e9t\u00e9"], dtype=object),
            "obj_nan": pd.Series(["a", np.nan, "ccc", np.nan, "\u00e9t\u00e9"], dtype=object),
            "py": pd.Series(vals, dtype="string[python]")}
    try:
        import pyarrow  # noqa: F401
        cols["pa"] = pd.Series(vals, dtype="string[pyarrow]")
    except ImportError:
        pass
    if (MAJOR, MINOR) >= (2, 1):
        cols["pa_np"] = pd.Series(vals, dtype="string[pyarrow_numpy]") if MAJOR == 2 else \
            pd.Series(vals, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    if MAJOR >= 3:
        cols["str"] = pd.Series(vals, dtype="str")
        cols["strpy"] = pd.Series(vals, dtype=pd.StringDtype("python", na_value=np.nan))
    return pd.DataFrame(cols)


def index_str():
    return pd.DataFrame({"v": I * 1.5}, index=pd.Index(["r%d" % i for i in I], name="s"))


def index_cat():
    return pd.DataFrame({"v": I * 1.5}, index=pd.CategoricalIndex(["x", "y", "x", "y", "x"], name="c"))


def empty():
    return pd.DataFrame()


def zero_rows():
    df = strings().drop(columns="obj_nan").iloc[:0].copy()
    for name, col in list(categorical().items()) + list(nullable().items()) + list(datetimes().items()):
        df[name] = col.iloc[:0]
    return df


def labels():
    df = pd.DataFrame({7: I * 1.0, -3: I.astype("int64")})
    df.columns.name = "cols"
    return df


def labels_mixed():
    cols = pd.Index(["a", 1, 2.5, ("x", -1), None, True], dtype=object)
    return pd.DataFrame(np.zeros((N, 6)), columns=cols)


def index_multi():
    # Levels: object strings with a missing label (code -1 -> NaN), datetimes with a
    # time zone, floats with a missing label; one level unnamed. Levels are unsorted.
    keys = ["k1", "k0", "k1", "k0", None]
    ts = pd.to_datetime(1600000000 + I, unit="s").tz_localize("UTC")
    half = [0.5 * i if i != 2 else np.nan for i in I]
    idx = pd.MultiIndex.from_arrays([pd.Index(keys, dtype=object), ts, half], names=["k", "t", None])
    return pd.DataFrame({"v": (I * 3).astype("int64")}, index=idx)


def columns_multi():
    # MultiIndex column labels (a pivot table's): tuples of str and int, named levels
    cols = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", -3)], names=["letter", None])
    return pd.DataFrame(np.arange(N * 3, dtype="float64").reshape(N, 3), columns=cols)


def refuse_mixnull():
    # Missing values spelt None and NaN in one object column: no dtype string keeps both.
    return pd.DataFrame({"ok": ["a", None, "b", "c", None],
                         "mix": pd.Series(["a", None, "b", np.nan, "c"], dtype=object)})


def refuse_na():
    df = pd.DataFrame({"na": pd.Series(["a", pd.NA, "b", "c", "d"], dtype=object)})
    df.index = pd.Index(["r0", "r1", "r2", "r3", "r4"], name="rows")  # set, not reindexed
    return df


def periods():
    """period[D] ordinal 18262 + i (2020-01-01 + i days), NaT at i = 2; period[M]
    ordinal 600 + i (2020-01 + i months), NaT at i = 3 (issue 15)."""
    return pd.DataFrame({
        "pd": pd.arrays.PeriodArray(np.where(I == 2, np.iinfo(np.int64).min, 18262 + I).astype("int64"),
                                    dtype=pd.PeriodDtype("D")),
        "pm": pd.arrays.PeriodArray(np.where(I == 3, np.iinfo(np.int64).min, 600 + I).astype("int64"),
                                    dtype=pd.PeriodDtype("M")),
    })


def intervals():
    """interval[int64, right] (i, 2i+1]; interval[float64, both] [i/2, i/2+1] missing at
    i = 1; interval[datetime64[ns], left] [i s, i+1 s) missing at i = 3; the same in UTC,
    neither side closed (issue 15)."""
    f = np.where(I == 1, np.nan, I * 0.5)
    t = pd.to_datetime(np.where(I == 3, np.iinfo(np.int64).min, I * 10**9).astype("int64"), unit="ns")
    t1 = t + pd.Timedelta(seconds=1)
    IA = pd.arrays.IntervalArray
    return pd.DataFrame({
        "ii": IA.from_arrays(I.astype("int64"), (2 * I + 1).astype("int64"), "right"),
        "if": IA.from_arrays(f, f + 1, "both"),
        "it": IA.from_arrays(t, t1, "left"),
        "iz": IA.from_arrays(t.tz_localize("UTC"), t1.tz_localize("UTC"), "neither"),
    })


def sparse():
    """Sparse[float64, nan] 1.5 i at even i (NaN elsewhere); Sparse[int64, 0] 7 i at
    i = 1, 4; Sparse[bool, False] True at i = 0, 3 (issue 15)."""
    SA = pd.arrays.SparseArray
    return pd.DataFrame({
        "sf": SA(np.where(I % 2 == 0, I * 1.5, np.nan), fill_value=np.nan),
        "si": SA(np.where((I == 1) | (I == 4), 7 * I, 0).astype("int64"), fill_value=0),
        "sb": SA((I == 0) | (I == 3), fill_value=False),
    })


def index_period():
    """A PeriodIndex row index "p": period[M] 2020-01 + i (ordinal 600 + i); v = i."""
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.period_range("2020-01", periods=N, freq="M", name="p"))


def index_interval():
    """An IntervalIndex row index "iv": [i, i + 1] (int64, closed both); v = i."""
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.interval_range(0, N, name="iv", closed="both"))


def sparse_block():
    """SparseArray(kind="block"): "sb" Sparse[float64, nan] 1.5 i at i = 0, 1, 3, 4 (blocks
    at 0 and 3, both 2 long); "si" Sparse[int64, 0] 7 i at i = 1, 4 (blocks 1 long)."""
    SA = pd.arrays.SparseArray
    return pd.DataFrame({
        "sb": SA(np.where(I % 3 == 2, np.nan, I * 1.5)[:N], fill_value=np.nan, kind="block"),
        "si": SA(np.where((I == 1) | (I == 4), 7 * I, 0).astype("int64"), fill_value=0, kind="block"),
    })


def refuse_pyobj():
    return pd.DataFrame({"o": pd.Series([1, "x", 2.5, None, (1, 2)], dtype=object)})


CASES = {f.__name__: f for f in (numeric, wide_f, wide_c, index_int, index_range, index_dt, index_str, index_cat,
                                 index_multi,
                                 datetimes, categorical, nullable, strings, labels, labels_mixed, empty, zero_rows,
                                 columns_multi, refuse_pyobj, refuse_mixnull, refuse_na)}
# Issue 15's kinds: made by pandas 2.2 and 3.1 (`... make_pickle_fixtures.py periods` writes only them).
NEW_CASES = {f.__name__: f for f in (periods, intervals, sparse, index_period, index_interval,
                                     sparse_block)}


# ---- pd.ArrowDtype columns (issue 15): row i of 0..4, row 1 null in every column.
def _pa(values, typ):
    import pyarrow as pa
    return pd.arrays.ArrowExtensionArray(pa.array(values, type=typ))


def _nul(values):
    return [None if i == 1 else v for i, v in enumerate(values)]


def arrow_num():
    import pyarrow as pa
    cols = {t: _pa(_nul([int(i) * 3 - 7 for i in I]), getattr(pa, t)())
            for t in ("int8", "int16", "int32", "int64")}
    cols.update({t: _pa(_nul([int(i) * 3 for i in I]), getattr(pa, t)())
                 for t in ("uint8", "uint16", "uint32", "uint64")})
    cols["float16"] = _pa(np.where(I == 1, np.nan, I * 0.5).astype(np.float16), pa.float16())
    cols["float32"] = _pa(_nul([i * 0.5 for i in I]), pa.float32())
    cols["float64"] = _pa(_nul([i * 0.5 for i in I]), pa.float64())
    cols["bool"] = _pa(_nul([bool(i % 2 == 0) for i in I]), pa.bool_())
    cols["nonull"] = _pa([int(i) for i in I], pa.int64())   # no validity buffer
    return pd.DataFrame(cols)


def arrow_time():
    import pyarrow as pa
    cols = {}
    for u in ("s", "ms", "us", "ns"):
        cols["ts_" + u] = _pa(_nul([int(i) * 1000 for i in I]), pa.timestamp(u))
        cols["tz_" + u] = _pa(_nul([int(i) * 1000 for i in I]), pa.timestamp(u, "Europe/Paris"))
        cols["du_" + u] = _pa(_nul([int(i) * 7 for i in I]), pa.duration(u))
    cols["date32"] = _pa(_nul([int(i) * 10 for i in I]), pa.date32())
    cols["date64"] = _pa(_nul([int(i) * 86400000 for i in I]), pa.date64())
    cols["time32s"] = _pa(_nul([int(i) * 60 for i in I]), pa.time32("s"))
    cols["time32ms"] = _pa(_nul([int(i) * 60 for i in I]), pa.time32("ms"))
    cols["time64us"] = _pa(_nul([int(i) * 1000 for i in I]), pa.time64("us"))
    cols["time64ns"] = _pa(_nul([int(i) * 1000 for i in I]), pa.time64("ns"))
    return pd.DataFrame(cols)


def arrow_var():
    import decimal
    import pyarrow as pa
    dec = [decimal.Decimal(int(i) * 125).scaleb(-2) for i in I]
    strs = _nul(["s%d" % i if i != 3 else "\u00e9t\u00e9" for i in I])
    return pd.DataFrame({
        "dec128": _pa(_nul(dec), pa.decimal128(10, 2)),
        "dec256": _pa(_nul(dec), pa.decimal256(40, 5)),
        "string": _pa(strs, pa.string()),
        "large_string": _pa(strs, pa.large_string()),
        "binary": _pa(_nul([b"b%d" % i for i in I]), pa.binary()),
        "large_binary": _pa(_nul([b"b%d" % i for i in I]), pa.large_binary()),
        "fsb": _pa(_nul([bytes([i, i, i]) for i in I]), pa.binary(3)),
        "dict8": pd.arrays.ArrowExtensionArray(pa.DictionaryArray.from_arrays(
            pa.array(_nul([[0, 0, 1, 0, 1][i] for i in I]), pa.int8()), pa.array(["x", "y"]))),
        "dict32o": pd.arrays.ArrowExtensionArray(pa.DictionaryArray.from_arrays(
            pa.array(_nul([int(i) % 2 for i in I]), pa.int32()), pa.array(["lo", "hi"]),
            ordered=True)),
    })


def _arrow_eight():
    import pyarrow as pa
    j = np.arange(8)
    return pd.DataFrame({
        "i64": _pa([None if i == 4 else int(i) * 3 - 7 for i in j], pa.int64()),
        "bool": _pa([None if i == 4 else bool(i % 3 == 0) for i in j], pa.bool_()),
        "string": _pa([None if i == 4 else "s%d" % i for i in j], pa.string()),
        "dict": pd.arrays.ArrowExtensionArray(
            pa.array([None if i == 4 else "abc"[i % 3] for i in j]).dictionary_encode()),
    })


def arrow_slice():
    """df.iloc[3:] of 8 rows, row 4 null. pandas' __getstate__ combines chunks, which
    copies a slice to offset 0: what pandas writes."""
    return _arrow_eight().iloc[3:]


def arrow_offset():
    """The same frame with pyarrow's own pickle of the sliced arrays (offset 3,
    null_count -1 in bool, string and dictionary arrays; pyarrow truncates fixed-width
    ones), as a pickle written without combine_chunks holds them: __getstate__ is
    patched for these files."""
    _dump_patched(_arrow_eight().iloc[3:], "arrow_offset",
                  lambda orig, self: {**orig(self), "_pa_array": self._pa_array.chunk(0)})


def _dump_patched(df, name, getstate):
    """<TAG>_<name>_p2..5.pkl of df, with ArrowExtensionArray.__getstate__ replaced by
    getstate(original, self) while they are written."""
    from pandas.core.arrays.arrow.array import ArrowExtensionArray
    orig = ArrowExtensionArray.__getstate__
    ArrowExtensionArray.__getstate__ = lambda self: getstate(orig, self)
    try:
        for proto in range(2, 6):
            with open(os.path.join(OUT, "%s_%s_p%d.pkl" % (TAG, name, proto)), "wb") as f:
                pickle.dump(df, f, protocol=proto)
    finally:
        ArrowExtensionArray.__getstate__ = orig


def arrow_empty():
    return arrow_var().iloc[:0]


ARROW_CASES = {f.__name__: f for f in (arrow_num, arrow_time, arrow_var, arrow_slice, arrow_empty)}


def string_lists():
    """Lists of str/None as the Python binding pickles a string column."""
    shared = "shared-object"
    small = ["a", None, "ccc", "", "\u00e9t\u00e9", "x" * 300, shared, shared]
    for proto in range(2, 6):
        with open(os.path.join(OUT, "strlist_p%d.pkl" % proto), "wb") as f:
            pickle.dump(small, f, protocol=proto)
    # > 1000 items: several APPENDS batches and FRAME boundaries. Row i is
    # None when i % 7 == 3, else "s<i>".
    big = [None if i % 7 == 3 else "s%d" % i for i in range(2500)]
    with open(os.path.join(OUT, "strlist_big_p5.pkl"), "wb") as f:
        pickle.dump(big, f, protocol=5)
    with open(os.path.join(OUT, "strlist_bad_p5.pkl"), "wb") as f:
        pickle.dump(["a", 7, None], f, protocol=5)


def oob():
    """Protocol 5 with out-of-band buffers: <tag>_oob_p5.pkl + .oob0, .oob1, ..."""
    df = pd.DataFrame({"f": I * 0.5, "g": I * 2.5, "n": pd.array([1, None, 3, 4, 5], dtype="Int64")})
    bufs = []
    data = pickle.dumps(df, protocol=5, buffer_callback=bufs.append)
    base = os.path.join(OUT, "%s_oob_p5" % TAG)
    with open(base + ".pkl", "wb") as f:
        f.write(data)
    for i, b in enumerate(bufs):
        with open("%s.oob%d" % (base, i), "wb") as f:
            f.write(b.raw())


def legacy():
    """The BlockManager __getstate__ form (NEWOBJ + BUILD (axes, values, items,
    {"0.14.1": ...})) older pandas wrote (its __getstate__, re-created here);
    pandas 1.5 still loads it."""
    import copyreg
    from pandas.core.internals import managers
    df = pd.DataFrame({"a": I * 2, "b": I * 0.5, "c": I * 3,
                       "t": pd.to_datetime(I, unit="s").tz_localize("UTC")})
    cls = managers.BlockManager
    def state(self):
        axes = list(self.axes)
        blocks = [{"values": b.values, "mgr_locs": b.mgr_locs.indexer} for b in self.blocks]
        return (axes, [b.values for b in self.blocks],
                [self.items[b.mgr_locs.indexer] for b in self.blocks],
                {"0.14.1": {"axes": axes, "blocks": blocks}})
    cls.__reduce_ex__ = lambda self, proto: (copyreg.__newobj__, (type(self),), state(self))
    try:
        for proto in range(2, 6):
            data = pickle.dumps(df, protocol=proto)
            assert pickle.loads(data).equals(df)
            with open(os.path.join(OUT, "%s_legacy_p%d.pkl" % (TAG, proto)), "wb") as f:
                f.write(data)
    finally:
        del cls.__reduce_ex__


def arrow_sliced():
    """pyarrow's own pickling of a sliced array with int32 offsets ("string" type,
    offset 2, null_count -1), as the _pa_array of a str column. pandas always
    stores large_string, so its __getstate__ is patched for this one file."""
    import pyarrow as pa
    vals = ["a", None, "ccc", "", "\u00e9t\u00e9"]
    sliced = pa.array(["zz", "y"] + vals, type=pa.string()).slice(2)
    df = pd.DataFrame({"s": pd.Series(vals, dtype="str")})
    target = df._mgr.blocks[0].values   # not the columns Index's array
    _dump_patched(df, "arrow_sliced", lambda orig, self: {**self.__dict__, "_pa_array": sliced}
                  if self is target else orig(self))


def hostile():
    """A few bytes that claim 10^12 column labels (RangeIndex stop patched):
    the reader must refuse it by its limits, not try to allocate 8 TB."""
    data = pickle.dumps(pd.DataFrame(np.zeros((0, 3))), protocol=5)
    old = b"\x8c\x04stop\x94K\x03"
    assert data.count(old) == 1
    data = data.replace(old, b"\x8c\x04stop\x94\x8a\x06\x00\x10\xa5\xd4\xe8\x00")
    with open(os.path.join(OUT, "hostile_range_columns_p5.pkl"), "wb") as f:
        f.write(data)


def sparse_int():
    """A Sparse[int64] column (refused until issue 15, read since)."""
    df = pd.DataFrame({"a": pd.arrays.SparseArray([0, 0, 1, 0], dtype="Sparse[int64]")})
    with open(os.path.join(OUT, "%s_sparse_int_p5.pkl" % TAG), "wb") as f:
        pickle.dump(df, f, protocol=5)


def write_case(name, make):
    df = make()
    for proto in range(2, 6):
        if proto > pickle.HIGHEST_PROTOCOL:
            continue
        path = os.path.join(OUT, "%s_%s_p%d.pkl" % (TAG, name, proto))
        with open(path, "wb") as f:
            pickle.dump(df, f, protocol=proto)


def meta_freq_day():
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.date_range("2020-01-01", periods=N, freq="D", name="t"))


def meta_freq_bday():
    return pd.DataFrame({"v": I.astype("int64")}, index=pd.bdate_range("2020-01-01", periods=N))


def meta_freq_td():
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.timedelta_range("1h", periods=N, freq="h", name="d"))


def meta_freq_week():
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.date_range("2020-01-06", periods=N, freq="-2W-MON", tz="UTC"))


def meta_attrs():
    df = pd.DataFrame({"v": I.astype("int64")})
    df.attrs = {"src": "x", "n": [1, 2.5, None], "nested": {"k": (1, "a")}}
    return df


def meta_dup():
    return pd.DataFrame({"a": I.astype("int64"), "b": I * 0.5}).set_axis(["x", "x"], axis=1)


def refuse_attrs():
    df = pd.DataFrame({"v": I.astype("int64")})
    df.attrs = {"when": pd.Timestamp("2020-01-01")}
    return df


def refuse_freq():
    return pd.DataFrame({"v": I.astype("int64")},
                        index=pd.date_range("2020-01-01", periods=N, freq="C"))


META_CASES = {f.__name__: f for f in (meta_freq_day, meta_freq_bday, meta_freq_td, meta_freq_week,
                                      meta_attrs, meta_dup, refuse_attrs, refuse_freq)}


def write_cases(cases):
    for name, make in cases.items():
        write_case(name, make)


def main():
    if sys.argv[1:] == ["meta"]:
        os.makedirs(OUT, exist_ok=True)
        write_cases(META_CASES)
        print("wrote %s meta fixtures to %s" % (TAG, OUT), file=sys.stderr)
        return
    if sys.argv[1:] == ["arrow"]:   # pandas 2.2 and 3.1: only the pd.ArrowDtype cases
        os.makedirs(OUT, exist_ok=True)
        write_cases(ARROW_CASES)
        arrow_offset()
        print("wrote %s arrow fixtures to %s" % (TAG, OUT), file=sys.stderr)
        return
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:]:  # only the named cases
        for name in sys.argv[1:]:
            write_case(name, {**CASES, **NEW_CASES, **ARROW_CASES}[name])
        return
    if MAJOR >= 3:
        hostile()
        sparse_int()
    if MAJOR >= 3:
        arrow_sliced()
    oob()
    if MAJOR == 1:
        legacy()
    if MAJOR >= 3:
        string_lists()
    write_cases(CASES)
    if MAJOR >= 2:
        write_cases(NEW_CASES)
        write_cases(META_CASES)
        write_cases(ARROW_CASES)
        arrow_offset()
    # One file exactly as DataFrame.to_pickle writes it (protocol 5 by default).
    numeric().to_pickle(os.path.join(OUT, "%s_numeric_topickle.pkl" % TAG))
    print("wrote %s fixtures (pandas %s, numpy %s) to %s" % (TAG, pd.__version__, np.__version__, OUT),
          file=sys.stderr)


if __name__ == "__main__":
    main()
