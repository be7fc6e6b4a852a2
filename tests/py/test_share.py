"""share() / read() round trips, selections, zero-copy and read-only views."""
import gc
import pickle

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import PANDAS3, frame_all_dtypes, mapped, shm_exists

import shmchunk
from shmchunk import _lib

assert_frame_equal = pd.testing.assert_frame_equal


def seg_bytes(sf):
    return np.frombuffer(sf.buffer, np.uint8)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("compression", [None, "zstd"])
@pytest.mark.parametrize("rows_per_chunk", [1 << 20, 128, 100])
def test_round_trip_every_dtype(shared, all_dtypes, compression, rows_per_chunk):
    sf = shared(all_dtypes, compression=compression, rows_per_chunk=rows_per_chunk)
    out = sf.read()
    assert_frame_equal(out, all_dtypes)
    assert list(out.dtypes) == list(all_dtypes.dtypes)
    assert sf.nrows == len(all_dtypes)
    assert list(sf.columns) == list(all_dtypes.columns)


def test_kinds_are_native_not_pickled(shared, all_dtypes):
    """Only the genuinely arbitrary columns become opaque pickle."""
    info = shared(all_dtypes).info()
    kinds = {c["label"]: c["kind"] for c in info["columns"] if not c["dictionary"]}
    pickled = sorted(k for k, v in kinds.items() if v == "object")
    assert pickled == ["complex", "obj_mixed"]
    assert kinds["string_pa"] == kinds["string_py"] == kinds["obj_str"] == "string"
    assert kinds["cat_str"] == "categorical" and kinds["dt_us_tz"] == "datetime"
    dtypes = {c["label"]: c["dtype"] for c in info["columns"]}
    assert dtypes["string_pa"] == "string[pyarrow]" and dtypes["Int64"] == "Int64"
    if PANDAS3:
        assert dtypes["str"] == "str" and dtypes["str_py"] == "str[python]"


def test_missing_values_survive(shared):
    df = pd.DataFrame({
        "f": [np.nan, 1.0, np.nan],
        "o": pd.Series([None, "a", None], dtype=object),
        "t": pd.to_datetime([None, "2020-01-01", None]),
        "tz": pd.to_datetime([None, "2020-01-01", None]).tz_localize("Asia/Tokyo"),
        "I": pd.array([None, 1, None], dtype="Int32"),
        "s": pd.array([None, "x", None], dtype="string[pyarrow]"),
    })
    for comp in (None, "zstd"):
        out = shared(df, compression=comp).read()
        assert_frame_equal(out, df)
        assert out["o"][0] is None and out["t"].isna().tolist() == [True, False, True]


@pytest.mark.parametrize("df", [
    pd.DataFrame(),
    pd.DataFrame({"a": np.array([], np.int64), "b": pd.Series([], dtype=object)}),
    pd.DataFrame(index=pd.RangeIndex(5)),
    pd.DataFrame({"c": pd.Categorical([], categories=["x"])}),
], ids=["0x0", "0-rows", "0-cols", "empty-cat"])
def test_empty_frames(shared, df):
    sf = shared(df)
    out = sf.read()
    assert_frame_equal(out, df, check_column_type=False, check_index_type=False)
    assert out.shape == df.shape


def test_empty_frame_of_every_dtype(shared):
    df = frame_all_dtypes(50).iloc[:0]
    assert_frame_equal(shared(df).read(), df)


def test_non_string_labels(shared):
    df = pd.DataFrame({0: [1, 2], 1.5: [3.0, 4.0], None: ["a", "b"], ("t", 1): [5, 6],
                       True: [7, 8]})
    out = shared(df).read()
    assert list(out.columns) == list(df.columns)
    assert [type(c) for c in out.columns] == [type(c) for c in df.columns]
    assert_frame_equal(out, df, check_column_type=False)


def test_multiindex_columns_and_columns_name(shared):
    df = pd.DataFrame(np.arange(12.0).reshape(3, 4),
                      columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2)]))
    out = shared(df).read()
    assert_frame_equal(out, df)
    assert list(out.columns.names) == [None, None]
    # level names, as a pivot table has them, come back from Python and from the C writer
    named = df.rename_axis(columns=["letter", 7])
    sf = shared(named)
    assert_frame_equal(sf.read(), named)
    assert list(sf.read(columns=[("b", 2)]).columns.names) == ["letter", 7]
    assert_frame_equal(pickle.loads(sf.pickle_bytes()), named)
    df2 = pd.DataFrame({"x": [1]}).rename_axis(columns="cols")
    assert shared(df2).read().columns.name == "cols"


def test_duplicate_labels(shared):
    df = pd.DataFrame([[1, 2.5, "x"]], columns=["a", "a", "b"])
    sf = shared(df)
    assert_frame_equal(sf.read(), df)
    assert sf.read(columns=["a"]).shape == (1, 2)


@pytest.mark.parametrize("index", [
    pd.RangeIndex(10, 40, 3, name="r"),
    pd.Index(np.arange(10) * 7, name="ints"),
    pd.Index([f"k{i}" for i in range(10)], name="keys"),
    pd.date_range("2020", periods=10, freq="D", tz="US/Eastern", name="when"),
    pd.MultiIndex.from_arrays([np.arange(10) % 3, [f"s{i}" for i in range(10)]],
                              names=["m", None]),
    pd.CategoricalIndex(list("abcabcabca"), name="ci"),
], ids=["range", "int", "str", "dt-tz", "multi", "categorical"])
@pytest.mark.parametrize("compression", [None, "zstd"])
def test_non_default_indexes(shared, index, compression):
    df = pd.DataFrame({"v": np.arange(10.0), "w": list("qwertyuiop")}, index=index)
    sf = shared(df, compression=compression, rows_per_chunk=4)
    # DatetimeIndex.freq is not stored: it is a property of how the index was built
    assert_frame_equal(sf.read(), df, check_freq=False)
    assert_frame_equal(sf.read(rows=slice(3, 9)), df.iloc[3:9], check_freq=False)
    pd.testing.assert_series_equal(sf.column("v"), df["v"], check_freq=False)


def test_attrs_round_trip(shared):
    df = pd.DataFrame({"a": [1]})
    df.attrs = {"source": "unit test", "version": (1, 2)}
    assert shared(df).read().attrs == df.attrs


# ---------------------------------------------------------------- selections
@pytest.mark.parametrize("compression", [None, "zstd"])
def test_reads_of_columns_rows_and_chunks(shared, all_dtypes, compression):
    df = all_dtypes
    sf = shared(df, compression=compression, rows_per_chunk=128)
    assert_frame_equal(sf.read(columns=["f64", "cat_str", "str" if PANDAS3 else "obj_str"]),
                       df[["f64", "cat_str", "str" if PANDAS3 else "obj_str"]])
    for rows in (slice(0, 1), slice(127, 129), slice(300, 1000), slice(999, None),
                 slice(-5, None), (10, 20), range(0, 256)):
        want = df.iloc[slice(*rows) if isinstance(rows, tuple) else rows
                       if isinstance(rows, slice) else slice(rows.start, rows.stop)]
        assert_frame_equal(sf.read(rows=rows), want)
    assert sf.read(rows=slice(50, 50)).shape == (0, df.shape[1])
    ids = sf.chunk_ids(columns=["i32", "string_pa"], rows=slice(200, 300))
    part = sf.read(chunks=ids)
    assert list(part.columns) == ["i32", "string_pa"]
    assert_frame_equal(part, df[["i32", "string_pa"]].iloc[128:384])


def test_chunk_subsets_are_rectangles(shared):
    df = pd.DataFrame({"a": np.arange(40), "b": np.arange(40.0), "c": np.arange(40) % 3 == 0},
                      index=np.arange(40) * 2)
    sf = shared(df, rows_per_chunk=10)
    ids = sf.chunk_ids(columns=["a"], rows=slice(0, 10)) + \
        sf.chunk_ids(columns=["c"], rows=slice(30, 40))
    part = sf.read(chunks=ids)
    want = df[["a", "c"]].iloc[list(range(0, 10)) + list(range(30, 40))]
    assert_frame_equal(part, want)


@pytest.mark.parametrize("by", ["column", "rows"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_plan_covers_everything_once(shared, all_dtypes, by, n):
    sf = shared(all_dtypes, rows_per_chunk=256)
    plan = sf.plan(n, by=by)
    assert len(plan) == n
    flat = [c for part in plan for c in part]
    every = sf.chunk_ids()
    if by == "rows":  # dictionaries are shared by all row ranges
        assert set(flat) == set(every)
    else:
        assert sorted(flat) == every
    pieces = [sf.read(chunks=p) for p in plan if p]
    if by == "rows":
        assert_frame_equal(pd.concat(pieces), all_dtypes)
    else:
        assert_frame_equal(pd.concat(pieces, axis=1)[list(all_dtypes.columns)], all_dtypes)


def test_plan_is_balanced_by_bytes(shared):
    df = pd.DataFrame({f"c{i}": np.arange(1 << 14, dtype=np.int64) for i in range(8)})
    sf = shared(df, rows_per_chunk=1 << 12)
    for by in ("column", "rows"):
        sizes = [sum(sf.chunk_info(c)["raw_len"] for c in p) for p in sf.plan(4, by=by)]
        assert max(sizes) == min(sizes) == sum(sizes) // 4


# ---------------------------------------------------------------- zero copy
def test_zero_copy_read_only_views(shared):
    n = 1000
    df = pd.DataFrame({"f": np.arange(n, dtype=np.float64), "b": np.arange(n) % 2 == 0,
                       "t": pd.date_range("2020", periods=n, freq="s"),
                       "c": pd.Categorical(np.array(list("xyz"))[np.arange(n) % 3])})
    sf = shared(df, rows_per_chunk=128)  # several row groups per column
    seg = seg_bytes(sf)
    out = sf.read()
    for arr in (out["f"].to_numpy(), out["b"].to_numpy(), out["t"].array._ndarray,
                out["c"].array.codes):
        assert np.shares_memory(arr, seg)
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = arr[1]
        with pytest.raises(ValueError):
            arr.flags.writeable = True
    s = sf.column("f")
    assert np.shares_memory(s.to_numpy(), seg)
    # a whole multi-row-group column is one contiguous view
    assert s.to_numpy().base is not None and s.to_numpy().flags.c_contiguous


def test_zero_copy_strings_and_nullable(shared):
    pa = pytest.importorskip("pyarrow")
    df = pd.DataFrame({"s": pd.array(["a", None, "ccc"] * 50, dtype="string[pyarrow]"),
                       "I": pd.array([1, None, 3] * 50, dtype="Int64")})
    sf = shared(df)
    out = sf.read()
    chunk = out["s"].array._pa_array.chunk(0)
    lo, hi = sf.buffer_address, sf.buffer_address + sf.nbytes
    assert all(lo <= b.address < hi for b in chunk.buffers() if b is not None)
    assert isinstance(chunk, pa.LargeStringArray)
    assert np.shares_memory(out["I"].array._data, seg_bytes(sf))


def test_compressed_columns_decode_once(shared):
    df = pd.DataFrame({"z": np.zeros(1 << 16)})
    sf = shared(df, compression="zstd")
    assert sf.info()["stored_bytes"] < sf.info()["raw_bytes"] // 10
    arr = sf.column("z").to_numpy()
    assert not np.shares_memory(arr, seg_bytes(sf))
    assert (arr == 0).all() and len(arr) == 1 << 16


def test_dataframe_is_not_consolidated(shared):
    df = pd.DataFrame({f"c{i}": np.arange(100.0) + i for i in range(5)})
    sf = shared(df)
    out = sf.read()
    seg = seg_bytes(sf)
    assert all(np.shares_memory(out[c].to_numpy(), seg) for c in out.columns)


def test_views_outlive_close(shared):
    df = pd.DataFrame({"a": np.arange(5000.0)})
    sf = shared(df)
    name = sf.name
    s = sf.column("a")
    part = sf.read()
    sf.close()
    assert not shm_exists(name)          # owner unlinked the name at close ...
    assert s.sum() == df["a"].sum()       # ... but the mapping is still there
    assert part["a"].iloc[-1] == 4999.0
    with pytest.raises(shmchunk.ClosedError):
        sf.read()
    assert mapped(name)
    del s, part
    gc.collect()
    assert not mapped(name)              # unmapped once the last view went


# ---------------------------------------------------------------- handles
def test_handle_pickles_small_and_attaches(shared, all_dtypes):
    sf = shared(all_dtypes)
    blob = pickle.dumps(sf)
    assert len(blob) < 300
    other = pickle.loads(blob)
    assert not other.owner and other.name == sf.name
    assert_frame_equal(other.read(columns=["i64", "cat_str"]), all_dtypes[["i64", "cat_str"]])
    other.close()
    assert shm_exists(sf.name)  # an attacher never unlinks


def test_attach_by_name(shared):
    df = pd.DataFrame({"a": [1, 2, 3]})
    sf = shared(df)
    assert sf.name.startswith("shm:")
    for name in (sf.name, sf.name[4:]):   # a bare NAME: no file of that name here
        with shmchunk.attach(name) as other:
            assert_frame_equal(other.read(), df)
    assert shm_exists(sf.name)


def test_file_backend(tmp_path):
    df = frame_all_dtypes(300)
    path = tmp_path / "frame.shmc"
    with shmchunk.share(df, name=str(path), compression="zstd") as sf:
        assert path.exists() and sf.name == str(path)
        assert_frame_equal(sf.read(), df)  # the handle that wrote the file trusts it
        # Anyone else attaching a file needs consent for its pickles (README, Guarantees
        # 13: whoever copies a file owns the copy).
        with pytest.raises(shmchunk.PickleNotAllowedError, match="a file"):
            shmchunk.attach(str(path)).read()
        assert_frame_equal(shmchunk.attach(str(path), allow_pickle=True).read(), df)
    assert not path.exists()


def test_verify_counts_chunks(shared, all_dtypes):
    sf = shared(all_dtypes, compression="zstd", rows_per_chunk=100)
    assert sf.verify() == sf.nchunks > 100


@pytest.mark.skipif("shmc_pickle_write" in _lib.MISSING, reason="C pickle writer not built")
@pytest.mark.parametrize("oob", [False, True])
def test_pickle_bytes(shared, oob):
    df = pd.DataFrame({"a": np.arange(300), "f": np.arange(300) / 7,
                       "c": pd.Categorical(list("ab") * 150)})
    sf = shared(df, rows_per_chunk=128)
    ids = sf.chunk_ids(columns=["a", "f"], rows=slice(0, 128))
    if oob:
        stream, bufs = sf.pickle_bytes(chunks=ids, oob=True)
        out = pickle.loads(stream, buffers=bufs)
    else:
        out = pickle.loads(sf.pickle_bytes(chunks=ids))
    assert_frame_equal(out, sf.read(chunks=ids), check_index_type=False)
    assert_frame_equal(pickle.loads(sf.pickle_bytes()), df, check_index_type=False)


def test_unpickled_handle_after_owner_closed(shared):
    sf = shared(pd.DataFrame({"a": np.arange(10)}))
    blob = pickle.dumps(sf)
    assert pickle.loads(blob).read()["a"].sum() == 45   # attaches (and caches the mapping)
    sf.close()
    gone = pickle.loads(blob)   # unpickling never fails (issue 16.2): the first use does
    with pytest.raises(shmchunk.SegmentNotFoundError):  # the cache does not outlive the name
        gone.read()


def test_threads_share_one_handle(shared, all_dtypes):
    from concurrent.futures import ThreadPoolExecutor
    sf = shared(all_dtypes, compression="zstd", rows_per_chunk=64)
    other = pickle.loads(pickle.dumps(sf))
    cols = list(all_dtypes.columns)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda c: other.column(c), cols * 3))
    for c, s in zip(cols * 3, outs):
        pd.testing.assert_series_equal(s, all_dtypes[c])


# ---------------------------------------------------------------- properties
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COLUMN_MAKERS = {
    "i64": lambda rng, n: rng.integers(-2**62, 2**62, n),
    "f32": lambda rng, n: rng.standard_normal(n).astype(np.float32),
    "bool": lambda rng, n: rng.random(n) < 0.5,
    "dt_tz": lambda rng, n: pd.Series(pd.to_datetime(rng.integers(0, 2**33, n), unit="s",
                                                     utc=True)).dt.tz_convert("Asia/Kolkata"),
    "cat": lambda rng, n: pd.Categorical(rng.choice(["a", "b", "c", None], n)),
    "Int16": lambda rng, n: pd.array(np.where(rng.random(n) < .3, None,
                                              rng.integers(-9, 9, n)), dtype="Int16"),
    "str_pa": lambda rng, n: pd.array(np.where(rng.random(n) < .3, None,
                                               rng.choice(["", "ü", "long" * 20], n)),
                                      dtype="string[pyarrow]"),
    "obj": lambda rng, n: pd.Series(np.where(rng.random(n) < .3, None,
                                             rng.choice(["p", "qq"], n)), dtype=object),
}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(n=st.integers(0, 300), rpc=st.integers(1, 64), seed=st.integers(0, 2**32 - 1),
       kinds=st.lists(st.sampled_from(sorted(_COLUMN_MAKERS)), min_size=1, max_size=5),
       compression=st.sampled_from([None, "zstd"]), data=st.data())
def test_property_round_trip_and_selections(n, rpc, seed, kinds, compression, data):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"{k}_{i}": _COLUMN_MAKERS[k](rng, n) for i, k in enumerate(kinds)})
    start = data.draw(st.integers(0, n))
    stop = data.draw(st.integers(start, n))
    with shmchunk.share(df, compression=compression, rows_per_chunk=rpc) as sf:
        assert_frame_equal(sf.read(), df)
        assert_frame_equal(sf.read(rows=slice(start, stop)), df.iloc[start:stop])
        col = data.draw(st.sampled_from(list(df.columns)))
        pd.testing.assert_series_equal(sf.column(col, rows=slice(start, stop)),
                                       df[col].iloc[start:stop])
        for part in sf.plan(data.draw(st.integers(1, 4)), by="rows"):
            if not part:  # more workers than rows: nothing selected, the columns kept
                assert sf.read(chunks=part).shape == (0, df.shape[1])
                continue
            got = sf.read(chunks=part)
            assert_frame_equal(got, df.loc[got.index], check_index_type=False)


# ------------------------------------------- missing values of object string columns
MISSING_SPELLINGS = {
    # name: (values, segment kind, segment dtype)
    "none": (["a", None, "é", None, ""], "string", "object"),
    "nan": (["a", np.nan, "é", np.nan, ""], "string", "object[nan]"),
    "no_missing": (["a", "b", "é", "c", ""], "string", "object"),
    "mixed": (["a", None, "é", np.nan, ""], "object", "object"),   # no dtype says both
    "pd_na": (["a", pd.NA, "é", None, ""], "object", "object"),
}


def _same_missing(got, want):
    """Element by element: None stays None, NaN stays a float NaN, pd.NA stays pd.NA
    (assert_frame_equal on pandas 2.2 lets None and NaN pass for each other)."""
    for g, w in zip(got, want):
        if w is None or w is pd.NA:
            assert g is w, (g, w)
        elif isinstance(w, float):
            assert isinstance(g, float) and np.isnan(g), (g, w)
        else:
            assert g == w


@pytest.mark.parametrize("spelling", list(MISSING_SPELLINGS))
@pytest.mark.parametrize("rows_per_chunk", [1 << 20, 2])
def test_object_strings_keep_missing_spelling(shared, spelling, rows_per_chunk):
    values, kind, dtype = MISSING_SPELLINGS[spelling]
    df = pd.DataFrame({"o": pd.Series(values, dtype=object), "i": np.arange(5)})
    df.index = pd.Index(values[::-1], dtype=object, name="ix")
    assert df["o"].tolist()[1] is values[1] or spelling == "nan"  # set, not reindexed
    sf = shared(df, rows_per_chunk=rows_per_chunk, compression="zstd")
    cols = {c["label"]: c for c in sf.info()["columns"] if not c["dictionary"]}
    assert (cols["o"]["kind"], cols["o"]["dtype"]) == (kind, dtype)
    first = min(len(df), rows_per_chunk)  # rows of the chunks holding rows 0 and 1
    outs = [(sf.read(), df), (sf.read(rows=slice(1, 4)), df.iloc[1:4])]
    if "shmc_pickle_write" not in _lib.MISSING:
        outs += [(pickle.loads(sf.pickle_bytes()), df),
                 (pickle.loads(sf.pickle_bytes(chunks=sf.chunk_ids(rows=slice(0, 2)))),
                  df.iloc[:first])]
    for out, want in outs:
        assert_frame_equal(out, want)
        assert out["o"].dtype == object and out.index.dtype == object
        _same_missing(out["o"].tolist(), want["o"].tolist())
        _same_missing(out.index.tolist(), want.index.tolist())
