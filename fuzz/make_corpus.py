#!/usr/bin/env python3
"""Make the seed corpora of the fuzz targets (fuzz/corpus/<target>/).

  segment_open, chunk_decode  real segments written by libshmchunk (through its
                              ctypes binding): every kind, nullable masks, strings
                              with and without validity, categoricals, object
                              blobs, zstd with and without shuffle, small row groups
  pickle_read                 pandas pickles, protocols 2-5, many dtypes and index
                              kinds, lists of str/None (the string-column path),
                              plus the small pandas 1.5 / 2.2 fixtures of tests/data
  roundtrip                   byte strings whose leading bytes pick each kind and
                              option of fuzz_roundtrip.c's frame builder

Deterministic (fixed seeds); every file is small so a corpus stays well under 1 MB.
Run with the project venv:
  .venv/bin/python fuzz/make_corpus.py [--lib build-x/lib/libshmchunk.so] [--only TARGET]
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import hashlib
import os
import pickle
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
MAX_FILE = 64 * 1024      # larger seeds would be cut by -max_len anyway


def save(target: str, name: str, data: bytes) -> None:
    if len(data) > MAX_FILE:
        print(f"  skip {target}/{name}: {len(data)} bytes", file=sys.stderr)
        return
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def reset(target: str) -> None:
    shutil.rmtree(CORPUS / target, ignore_errors=True)
    (CORPUS / target).mkdir(parents=True)


# ---------------------------------------------------------------- segments

def load_binding(libpath: str | None):
    if libpath is None:
        cands = sorted(glob.glob(str(ROOT / "build*" / "lib" / "libshmchunk.so")),
                       key=os.path.getmtime)
        if not cands:
            sys.exit("make_corpus: no build*/lib/libshmchunk.so; build the library or pass --lib")
        libpath = cands[-1]
    os.environ["SHMCHUNK_LIBRARY"] = str(Path(libpath).resolve())
    sys.path.insert(0, str(ROOT / "python"))
    from shmchunk import _lib  # noqa: E402  (the project's own ctypes binding)
    print(f"make_corpus: library {os.environ['SHMCHUNK_LIBRARY']}", file=sys.stderr)
    return _lib


class FrameBuilder:
    """A frame described through the public C API; keeps every buffer alive."""

    def __init__(self, L, nrows: int):
        self.L, self.keep, self.nrows = L, [], nrows
        self.frame = L.frame_create()
        L.lib.shmc_frame_set_nrows(self.frame, nrows)

    def ptr(self, arr):
        self.keep.append(arr)
        return arr.ctypes.data_as(ctypes.c_void_p)

    def desc(self, label, kind):
        d = self.L.shmc_column_desc()
        d.kind = kind
        d.label = self.L.make_label(label, self.keep)
        self.keep.append(d)
        return d

    def add(self, d):
        self.L.lib.shmc_frame_add_column(self.frame, ctypes.byref(d))

    def fixed(self, label, kind, values, mask=None, unit=0, tz=None):
        import numpy as np
        d = self.desc(label, kind)
        d.values = self.ptr(np.ascontiguousarray(values))
        if mask is not None:
            d.mask = self.ptr(np.ascontiguousarray(mask, dtype=np.uint8))
        d.unit = unit
        if tz:
            d.tz = tz.encode()
        self.add(d)

    def string_desc(self, label, strings, validity_offset=0):
        import numpy as np
        d = self.desc(label, self.L.SHMC_KIND_STRING)
        enc = [b"" if s is None else s.encode() for s in strings]
        offs = np.zeros(len(enc) + 1, dtype="<i8")
        offs[1:] = np.cumsum([len(e) for e in enc])
        data = np.frombuffer(b"".join(enc) + b"\0", dtype=np.uint8)
        d.offsets, d.data = self.ptr(offs), self.ptr(data)
        if any(s is None for s in strings):
            bits = np.zeros(len(strings) + validity_offset, dtype=bool)
            bits[validity_offset:] = [s is not None for s in strings]
            d.validity = self.ptr(np.packbits(bits, bitorder="little"))
            d.validity_offset = validity_offset
        return d

    def strings(self, label, strings, validity_offset=0):
        self.add(self.string_desc(label, strings, validity_offset))

    def categorical(self, label, codes, categories, code_dtype="<i1"):
        import numpy as np
        L = self.L
        kind = {"<i1": L.SHMC_KIND_INT8, "<i2": L.SHMC_KIND_INT16,
                "<i4": L.SHMC_KIND_INT32, "<i8": L.SHMC_KIND_INT64}[code_dtype]
        d = self.desc(label, L.SHMC_KIND_CATEGORICAL)
        d.values = self.ptr(np.asarray(codes, dtype=code_dtype))
        d.code_kind = kind
        if all(isinstance(c, str) for c in categories):
            cat = self.string_desc(None, categories)
        else:
            cat = self.desc(None, L.SHMC_KIND_INT64)
            cat.values = self.ptr(np.asarray(categories, dtype="<i8"))
        d.categories = ctypes.pointer(cat)
        d.ncategories = len(categories)
        self.add(d)

    def objects(self, label, blobs):
        d = self.desc(label, self.L.SHMC_KIND_OBJECT)
        bufs = [ctypes.create_string_buffer(b, max(len(b), 1)) for b in blobs]
        self.keep.extend(bufs)
        arr = (ctypes.c_void_p * len(bufs))(*[ctypes.cast(b, ctypes.c_void_p) for b in bufs])
        lens = (ctypes.c_size_t * len(bufs))(*[len(b) for b in blobs])
        self.keep += [arr, lens]
        d.blobs, d.blob_lens, d.nblobs = arr, lens, len(blobs)
        self.add(d)

    def arrow_desc(self, label, fmt, n, values=None, strings=None, width=4, valid=None):
        """An Arrow column (format 2): fixed-width values, bit-packed bools ("b"), or
        strings with int32/int64 offsets; an optional validity list, one bit a row."""
        import numpy as np
        d = self.desc(label, self.L.SHMC_KIND_ARROW)
        d.arrow = fmt.encode()
        self.keep.append(d.arrow)
        if strings is not None:
            enc = [s.encode() for s in strings]
            offs = np.zeros(len(enc) + 1, dtype="<i4" if width == 4 else "<i8")
            offs[1:] = np.cumsum([len(e) for e in enc])
            d.offsets = self.ptr(offs)
            d.data = self.ptr(np.frombuffer(b"".join(enc) + b"\0", dtype=np.uint8))
        elif fmt == "b":
            d.values = self.ptr(np.packbits(np.asarray(values, bool), bitorder="little"))
        else:
            d.values = self.ptr(np.ascontiguousarray(values))
        if valid is not None and not all(valid):
            d.validity = self.ptr(np.packbits(np.asarray(valid, bool), bitorder="little"))
        return d

    def kinds15(self, n):
        """Issue 15's kinds: period, interval (float bounds, both closed), sparse int64."""
        import numpy as np
        L = self.L
        d = self.desc("p", L.SHMC_KIND_PERIOD)
        d.values, d.dtype = self.ptr(np.arange(n, dtype="<i8") + 18262), b"period[D]"
        self.add(d)
        d = self.desc("iv", L.SHMC_KIND_INTERVAL)
        left = np.where(np.arange(n) % 5 == 2, np.nan, np.arange(n) * 0.5)
        d.values, d.right, d.code_kind = self.ptr(left), self.ptr(left + 1), L.SHMC_KIND_FLOAT64
        d.flags = L.SHMC_COL_CLOSED_LEFT | L.SHMC_COL_CLOSED_RIGHT
        self.add(d)
        d = self.desc("sp", L.SHMC_KIND_SPARSE)
        rows = np.arange(1, n, 3, dtype="<i4")
        fill = self.desc(None, L.SHMC_KIND_INT64)
        fill.values = self.ptr(np.zeros(1, dtype="<i8"))
        d.values, d.sparse_index = self.ptr(rows.astype("<i8") * 7), self.ptr(rows)
        d.nsparse, d.code_kind = len(rows), L.SHMC_KIND_INT64
        d.categories, d.ncategories = ctypes.pointer(fill), 1
        self.add(d)

    def write(self, path: str, **opts) -> bytes:
        o = self.L.write_opts(**opts)
        self.L.lib.shmc_frame_write(self.frame, path.encode(), ctypes.byref(o), None, 0)
        self.L.lib.shmc_frame_free(self.frame)
        self.frame = None
        return Path(path).read_bytes()


def frame_specs(L):
    """(name, builder function(nrows, rpc) -> FrameBuilder filler)."""
    import numpy as np
    rng = np.random.default_rng(7)
    K = L

    def numeric(fb, n, rpc):
        fb.fixed("i64", K.SHMC_KIND_INT64, np.arange(n, dtype="<i8") * 3 - 50)
        fb.fixed("f64", K.SHMC_KIND_FLOAT64, rng.normal(size=n).astype("<f8"))
        fb.fixed("i8", K.SHMC_KIND_INT8, (np.arange(n) % 100).astype("<i1"))
        fb.fixed("u16", K.SHMC_KIND_UINT16, (np.arange(n) * 7).astype("<u2"))
        fb.fixed("b", K.SHMC_KIND_BOOL, (np.arange(n) % 3 == 0))

    def nullable(fb, n, rpc):
        fb.fixed("Int32", K.SHMC_KIND_INT32, np.arange(n, dtype="<i4"), mask=np.arange(n) % 4 == 1)
        fb.fixed("f32", K.SHMC_KIND_FLOAT32, np.linspace(0, 1, n, dtype="<f4"),
                 mask=np.arange(n) % 5 == 0)
        fb.fixed("u64", K.SHMC_KIND_UINT64, np.full(n, 2**63 + 5, dtype="<u8"))

    def times(fb, n, rpc):
        base = 1_600_000_000_000_000_000
        ts = base + np.arange(n, dtype="<i8") * 3_600_000_000_000
        ts[::7] = np.iinfo(np.int64).min  # NaT
        fb.fixed("ts", K.SHMC_KIND_DATETIME, ts, unit=K.SHMC_UNIT_NS)
        fb.fixed("tz", K.SHMC_KIND_DATETIME, ts // 1000, unit=K.SHMC_UNIT_US, tz="Europe/Paris")
        fb.fixed("td", K.SHMC_KIND_TIMEDELTA, np.arange(n, dtype="<i8"), unit=K.SHMC_UNIT_S)

    def strings(fb, n, rpc):
        words = ["alpha", "", "β-γ", "delta", "x" * 30]
        fb.strings("s", [words[i % 5] for i in range(n)])
        fb.strings("sn", [None if i % 3 == 0 else words[i % 5] for i in range(n)],
                   validity_offset=3)

    def categorical(fb, n, rpc):
        fb.categorical("c", [(i % 4) - (i % 9 == 0) for i in range(n)], ["lo", "mid", "hi", "top"])
        fb.categorical("ci", [i % 3 for i in range(n)], [10, 20, 30], code_dtype="<i2")

    def objects(fb, n, rpc):
        groups = (n + rpc - 1) // rpc
        fb.objects("o", [pickle.dumps([("row", g)] * (g % 3), protocol=5) for g in range(groups)])
        fb.fixed("k", K.SHMC_KIND_INT16, np.arange(n, dtype="<i2"))

    def dictionary(fb, n, rpc):
        # dictionaries larger than a row group: their own row groups, offsets and
        # data chunks (zstd in most variants) -- where hostile category counts go
        cats = [f"cat{i:04d}-" + "z" * (i % 7) for i in range(max(n, 1) * 2)]
        fb.categorical("cd", [i % len(cats) for i in range(n)], cats, code_dtype="<i2")
        fb.categorical("cb", [i % 2 for i in range(n)], [-7, 2**40])

    def arrow(fb, n, rpc):
        # SHMC_KIND_ARROW (format 2): every layout -- fixed, bits, int32/int64 offsets,
        # 16-byte decimals, a dictionary -- with validity bitmaps
        valid = [i % 3 != 1 for i in range(n)]
        fb.add(fb.arrow_desc("al", "l", n, values=np.arange(n, dtype="<i8"), valid=valid))
        fb.add(fb.arrow_desc("ab", "b", n, values=np.arange(n) % 2 == 0, valid=valid))
        fb.add(fb.arrow_desc("ats", "tsu:UTC", n, values=np.arange(n, dtype="<i8") * 10**6))
        fb.add(fb.arrow_desc("adec", "d:38,4", n, values=rng.integers(0, 255, 16 * n, dtype=np.uint8)))
        fb.add(fb.arrow_desc("as", "u", n, strings=[f"w{i % 7}" * (i % 3) for i in range(n)],
                             valid=valid))
        d = fb.arrow_desc("ad", "c", n, values=(np.arange(n) % 3).astype("<i1"), valid=valid)
        cats = fb.arrow_desc(None, "U", 3, strings=["x", "yy", "zzz"], width=8)
        d.categories, d.ncategories = ctypes.pointer(cats), 3
        fb.add(d)

    def kinds15(fb, n, rpc):
        fb.kinds15(n)

    def mixed(fb, n, rpc):
        numeric(fb, n, rpc)
        strings(fb, n, rpc)
        categorical(fb, n, rpc)

    return [("numeric", numeric), ("nullable", nullable), ("times", times),
            ("strings", strings), ("categorical", categorical), ("dictionary", dictionary),
            ("objects", objects), ("arrow", arrow), ("kinds15", kinds15),
            ("mixed", mixed)]


def make_segments(L) -> int:
    reset("segment_open")
    reset("chunk_decode")
    variants = [  # (nrows, rows_per_chunk, codec, shuffle, level)
        (40, 16, L.SHMC_CODEC_NONE, 0, 0),
        (100, 32, L.SHMC_CODEC_ZSTD, 1, 1),
        (100, 64, L.SHMC_CODEC_ZSTD, 0, 3),
        (13, 4, L.SHMC_CODEC_ZSTD, 1, 1),
        (0, 8, L.SHMC_CODEC_NONE, 0, 0),
    ]
    count = 0
    with tempfile.TemporaryDirectory(prefix="shmc-corpus-") as tmp:
        for name, fill in frame_specs(L):
            for vi, (n, rpc, codec, shuffle, level) in enumerate(variants):
                fb = FrameBuilder(L, n)
                fill(fb, n, rpc)
                path = os.path.join(tmp, f"{name}-{vi}.shmc")
                try:
                    data = fb.write(path, rows_per_chunk=rpc, codec=codec, shuffle=shuffle,
                                    level=level, min_saving=0.0001)
                except Exception as e:  # a writer refusal is worth a line, not a stop
                    print(f"  {name}-{vi}: writer refused: {e}", file=sys.stderr)
                    continue
                for t in ("segment_open", "chunk_decode"):
                    save(t, f"{name}-{vi}", data)
                count += 1
    return count


# ---------------------------------------------------------------- pickles

def pandas_frames():
    import numpy as np
    import pandas as pd
    n = 12
    rng = np.random.default_rng(3)
    yield "ints", pd.DataFrame({"a": np.arange(n), "b": np.arange(n, dtype="int8"),
                                "u": np.arange(n, dtype="uint32")})
    yield "floats", pd.DataFrame({"f": rng.normal(size=n), "g": np.ones(n, dtype="float32"),
                                  "nan": [np.nan] * n})
    yield "bool", pd.DataFrame({"b": np.arange(n) % 2 == 0})
    yield "datetimes", pd.DataFrame({
        "t": pd.date_range("2024-01-01", periods=n, freq="h"),
        "tz": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Paris"),
        "us": pd.date_range("2024-01-01", periods=n, freq="s").astype("datetime64[us]"),
        "td": pd.to_timedelta(np.arange(n), unit="s")})
    yield "categorical", pd.DataFrame({"c": pd.Categorical(list("abcabcabcabc")),
                                       "o": pd.Categorical([1, 2, None] * 4, ordered=True)})
    yield "strings", pd.DataFrame({"s": [f"s{i}" for i in range(n)],
                                   "sn": ["x", None] * (n // 2)})
    yield "objects", pd.DataFrame({"o": pd.Series([1, "a", None, 2.5] * 3, dtype=object)})
    yield "nullable", pd.DataFrame({"I": pd.array([1, None] * (n // 2), dtype="Int64"),
                                    "B": pd.array([True, None, False] * 4, dtype="boolean"),
                                    "F": pd.array([0.5, None] * (n // 2), dtype="Float64")})
    yield "index_dt", pd.DataFrame({"v": np.arange(n)},
                                   index=pd.date_range("2020-01-01", periods=n, name="when"))
    yield "index_str", pd.DataFrame({"v": np.arange(3)}, index=pd.Index(["x", "y", "z"], name="k"))
    yield "index_range", pd.DataFrame({"v": np.arange(n)}, index=pd.RangeIndex(5, 5 + 2 * n, 2))
    yield "empty", pd.DataFrame({"a": np.array([], dtype="int64")})
    yield "int_labels", pd.DataFrame({0: np.arange(n), 1: np.zeros(n)})
    # MultiIndex rows and columns, masked and Arrow arrays, odd labels and attrs:
    # the constructs whose item sizes, codes and containers issue 12 attacked
    mi = pd.MultiIndex.from_arrays([["a", "b", None, "a"], [1.5, np.nan, 2.5, 1.5],
                                    pd.array([1, None, 3, 4], dtype="Int64")],
                                   names=["k", None, "n"])
    yield "index_multi", pd.DataFrame({"v": np.arange(4, dtype="int16"),
                                       "m": pd.array([True, None, False, True], dtype="boolean")},
                                      index=mi)
    cols = pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)], names=["top", "sub"])
    yield "columns_multi", pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=cols)
    arrow = pd.Series(["p", None, "qq", "rrr", ""], dtype="string[pyarrow]")
    yield "arrow_strings", pd.DataFrame({"a": arrow, "s": arrow.astype("str"),
                                         "sliced": arrow.iloc[1:].reset_index(drop=True)
                                         .reindex(range(5))})
    lab = pd.DataFrame({1.5: [1, 2], True: [3, 4], ("t", 2): ["u", "v"], b"by": [0.5, 1.0]})
    lab.columns.name = "cols"
    lab.attrs = {"source": "fuzz", "n": 2}
    yield "labels_attrs", lab
    yield "masked", pd.DataFrame({"i8": pd.array([1, None, -3], dtype="Int8"),
                                  "u64": pd.array([None, 2**64 - 1, 0], dtype="UInt64"),
                                  "f32": pd.array([0.5, None, 1.5], dtype="Float32")})


def issue15_frames():
    """Period, interval and sparse columns, Interval and Period row indexes and a block
    sparse index as pandas pickles them (issue 15)."""
    import numpy as np
    import pandas as pd
    n = 12
    i = np.arange(n)
    yield "kinds15", pd.DataFrame({
        "p": pd.period_range("2020-01", periods=n, freq="M"),
        "ii": pd.arrays.IntervalArray.from_breaks(np.arange(n + 1), closed="left"),
        "it": pd.arrays.IntervalArray.from_arrays(pd.date_range("2020", periods=n, tz="UTC"),
                                                  pd.date_range("2021", periods=n, tz="UTC")),
        "sf": pd.arrays.SparseArray(np.where(i % 4 == 0, i * 0.5, np.nan)),
        "sb": pd.arrays.SparseArray(i % 5 == 0, fill_value=False)})
    yield "indexes15", pd.DataFrame({
        "blk": pd.arrays.SparseArray(np.where(i % 4 < 2, i * 1.5, np.nan), kind="block"),
        "v": i}, index=pd.interval_range(0, n, closed="both", name="iv"))
    yield "period_index", pd.DataFrame({"v": i}, index=pd.period_range("2020Q1", periods=n,
                                                                        freq="Q-DEC", name="q"))


def arrow15_frames():
    """pd.ArrowDtype columns as pandas pickles them (issue 15): fixed, bit, variable and
    parametrised types, a dictionary, nulls."""
    import decimal
    import pandas as pd
    import pyarrow as pa
    n = 12

    def arr(vals, typ):
        return pd.arrays.ArrowExtensionArray(pa.array(vals, type=typ))
    nul = [None if i % 5 == 1 else i for i in range(n)]
    yield "arrow_types", pd.DataFrame({
        "i8": arr(nul, pa.int8()), "u64": arr(nul, pa.uint64()), "h": arr(nul, pa.float16()),
        "b": arr([None if v is None else v % 2 == 0 for v in nul], pa.bool_()),
        "ts": arr(nul, pa.timestamp("ms", "Europe/Paris")), "d32": arr(nul, pa.date32()),
        "du": arr(nul, pa.duration("ns")), "t": arr(nul, pa.time32("s")),
        "dec": arr([None if v is None else decimal.Decimal(v) for v in nul], pa.decimal128(9, 2)),
        "s": arr([None if v is None else "v%d" % v for v in nul], pa.large_string()),
        "bin": arr([None if v is None else b"%d" % v for v in nul], pa.binary()),
        "w": arr([None if v is None else bytes([v, v]) for v in nul], pa.binary(2)),
        "dict": pd.arrays.ArrowExtensionArray(
            pa.array([None if v is None else "abc"[v % 3] for v in nul]).dictionary_encode())})


def make_pickles() -> int:
    reset("pickle_read")
    count = 0
    for name, df in list(pandas_frames()) + list(issue15_frames()) + list(arrow15_frames()):
        for proto in (2, 3, 4, 5):
            save("pickle_read", f"{name}_p{proto}", pickle.dumps(df, protocol=proto))
            count += 1
    lists = {"strlist": ["a", "bc", None, "日本", ""] * 3, "strlist_empty": [],
             "strlist_none": [None] * 4}
    for name, val in lists.items():
        for proto in (2, 5):
            save("pickle_read", f"{name}_p{proto}", pickle.dumps(val, protocol=proto))
            count += 1
    # pickles made by older pandas (pandas 1.5 / 2.2 block managers), smallest first
    pk = ROOT / "tests" / "data" / "pickles"
    fixtures = sorted(glob.glob(str(pk / "pd15_*_p2.pkl")) + glob.glob(str(pk / "pd22_*_p5.pkl")))
    for f in fixtures:
        data = Path(f).read_bytes()
        if len(data) <= 8192:
            save("pickle_read", "fixture_" + Path(f).stem, data)
            count += 1
    return count


# ---------------------------------------------------------------- roundtrip

def make_roundtrip() -> int:
    """Leading bytes follow fuzz_roundtrip.c: nrows (u16 LE), rows_per_chunk shift,
    extra flag [+ extra], options, ncols-1, then the kind byte of the first column;
    the rest is random and becomes values (and later columns' kinds)."""
    reset("roundtrip")
    rnd = random.Random(11)
    nkinds = 13 + 3  # fixed kinds, string, categorical, object
    count = 0
    for k in range(nkinds):
        for variant in range(2):
            nrows = rnd.randrange(1, 120)
            opt = (rnd.randrange(256) & ~0x01) | variant  # bit 0: zstd
            head = bytes([nrows & 0xFF, nrows >> 8, rnd.randrange(0, 7), 0, opt, 0, k])
            tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(64, 700)))
            save("roundtrip", f"kind{k:02d}_{variant}", head + tail)
            count += 1
    for i in range(6):  # several columns of mixed kinds, odd rows_per_chunk
        n = rnd.randrange(1, 300)
        head = bytes([n & 0xFF, n >> 8, 3, 1, 5, 0x03 | (i << 2), 4])
        save("roundtrip", f"multi{i}", head + bytes(rnd.randrange(256) for _ in range(1500)))
        count += 1
    save("roundtrip", "zero_rows", bytes([0, 0, 2, 0, 1, 2, 0, 13, 15]))
    return count + 1


# ---------------------------------------------------------------- strings_check

def make_strings_check() -> int:
    """Layout of fuzz_strings_check.c: (noffsets-1) % 64, the first offset, one signed
    step per further offset (0x7F/0x80/0x81: INT64_MAX/INT64_MIN/-1), then the data."""
    reset("strings_check")

    def seed(name, words, tweak=None):
        data = "".join(words).encode()
        steps = [len(w.encode()) for w in words]
        head = [len(words) % 64, 0] + [s & 0xFF for s in steps]
        if tweak:
            tweak(head)
        save("strings_check", name, bytes(head) + data)

    seed("ascii", ["alpha", "beta", "", "gamma", "x" * 40])
    seed("accents", ["\u00e9t\u00e9", "\u20ac5", "\U0001F600", "na\u00efve"])
    seed("long_ascii", ["w%03d" % i for i in range(63)])  # several 256-byte blocks
    seed("split_char", ["a\u00e9b", "c"], lambda h: h.__setitem__(2, 2))  # starts inside
    seed("backwards", ["abc", "de", "f"], lambda h: h.__setitem__(3, 0xFE))
    seed("huge_mid", ["abc", "de"], lambda h: h.__setitem__(2, 0x7F))
    seed("negative_mid", ["abc", "de"], lambda h: h.__setitem__(2, 0x81))
    save("strings_check", "bad_utf8", bytes([1, 0, 6]) + b"ab\xed\xa0\x80z")
    save("strings_check", "empty", bytes([0, 0]))
    return 9


# ---------------------------------------------------------------- label_plain

def _dag(levels: int, width: int) -> bytes:
    """width**levels leaves in ~2*width*levels bytes: memo references of memo references."""
    o = b"\x80\x04\x8c\x01a\x940"
    for level in range(levels):
        o += b"(" + (b"h" + bytes([level])) * width + b"t\x940"
    return o + b"h" + bytes([levels]) + b"."


def _evil_void(write: bool) -> bytes:
    """Issue 12's finding 2: numpy.dtype with a BUILD state whose field lies past the
    item, a numpy.void of it, and (write) SETITEM storing 8 bytes there."""
    def s(t):
        return b"\x8c" + bytes([len(t)]) + t.encode()
    o = b"\x80\x04" + s("numpy") + s("dtype") + b"\x93\x94" + s("V8") + b"\x85R"
    o += b"(K\x03" + s("|") + b"N" + s("f") + b"\x85}" + s("f") + b"h\x00" + s("u8")
    o += b"\x85RJ\x00\x00\x00\x40\x86sK\x08K\x01K\x10tb\x940"
    o += s("numpy._core.multiarray") + s("scalar") + b"\x93h\x01C\x08" + bytes(8) + b"\x86R"
    if write:
        o += s("f") + b"\x8a\x08AAAAAAAAs"
    return o + b"\x85."


def make_label_plain() -> int:
    """Pickled labels and df.attrs as the Python binding writes them (protocol 5, and
    the older protocols), values that are not plain, and the hostile ones of issue 12."""
    import numpy as np
    import pandas as pd
    reset("label_plain")
    l = []
    l.append(l)
    values = {
        "float": 1.5, "none_in_tuple": ("a", None, 2), "nested_tuple": (("x", 1), (2.5, b"b")),
        "bytes": b"raw\0", "bool": True, "big_uint": 2**64 - 1, "min_int": -2**63,
        "surrogate": "lone \ud800", "attrs": {"src": {"rows": [1, 2, 3], "ok": (True, None)},
                                               "set": {1, "a"}, "fz": frozenset({(1, 2)})},
        "bytearray": bytearray(b"ab"), "empty": ((), [], {}, set(), frozenset()),
        "shared": (["s"] * 3, ("t",) * 4), "cycle": l, "wide_int": 2**70,
        "timestamp": pd.Timestamp("2024-01-02"), "np_float": np.float64(2.5),
        "np_dtype": np.dtype("V8"), "complex": 1 + 2j,
    }
    count = 0
    for name, v in values.items():
        for proto in (2, 5):
            save("label_plain", f"{name}_p{proto}", pickle.dumps(v, protocol=proto))
            count += 1
    for name, data in {"dag_3x5": _dag(3, 5), "dag_8x100": _dag(8, 100),
                       "evil_void_read": _evil_void(False),
                       "evil_void_write": _evil_void(True)}.items():
        save("label_plain", name, data)
        count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", help="libshmchunk.so to write segments with")
    ap.add_argument("--only", choices=["segments", "pickles", "roundtrip", "strings_check",
                                       "label_plain"])
    a = ap.parse_args()
    if a.only in (None, "pickles"):
        print(f"pickle_read: {make_pickles()} files", file=sys.stderr)
    if a.only in (None, "roundtrip"):
        print(f"roundtrip: {make_roundtrip()} files", file=sys.stderr)
    if a.only in (None, "strings_check"):
        print(f"strings_check: {make_strings_check()} files", file=sys.stderr)
    if a.only in (None, "label_plain"):
        print(f"label_plain: {make_label_plain()} files", file=sys.stderr)
    if a.only in (None, "segments"):
        print(f"segments: {make_segments(load_binding(a.lib))} files", file=sys.stderr)
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        size = sum(f.stat().st_size for f in files)
        digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted(files))).hexdigest()[:12]
        print(f"  {d.name}: {len(files)} files, {size} bytes, sha256 {digest}", file=sys.stderr)


if __name__ == "__main__":
    main()
