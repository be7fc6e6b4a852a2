"""Segment -> numpy / pandas objects, zero-copy wherever the bytes allow it."""

from __future__ import annotations

import io
import os
import pickle
import warnings

import numpy as np
import pandas as pd

from . import _arrow
from . import _lib as L
from . import errors
from ._freq import offset_of
from ._segment import Segment

PANDAS_MAJOR = int(pd.__version__.split(".")[0])

# Bounds of the plain pass (shmc_pickle_plain). A pickled label gets the C defaults
# (256 values + its length, 16 KiB + 4 bytes a byte of output): every label of a
# frame is built and hashed (MultiIndex.from_tuples), so each stays small whatever
# its memo references share. df.attrs gets more room (plus its length, likewise).
ATTRS_LIMITS = dict(max_nodes=1 << 20, max_bytes=64 << 20, max_depth=256)


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Loads what shmc_pickle_plain emitted: values only. It names no global, so
    find_class is never reached; should it be, nothing is looked up."""

    def find_class(self, module, name):
        raise errors.PickleNotAllowedError(f"plain value names {module}.{name}")


def unpickle(blob: bytes, trusted: bool, what: str = "pickled value", limits=None):
    """A pickled label or df.attrs. Plain values (None, bool, int, float, str, bytes and
    containers of them; see shmc_pickle_plain) are re-encoded by C with no global and no
    call, then loaded: nothing in the blob runs, trusted or not. Anything else runs code
    when unpickled: only for a trusted segment, else PickleNotAllowedError. A value too
    big to walk (LimitError) or malformed (PickleFormatError) is refused either way."""
    lim = {}
    if limits:
        lim = dict(limits, max_nodes=limits["max_nodes"] + len(blob),
                   max_bytes=limits["max_bytes"] + 4 * len(blob))
    try:
        plain = L.pickle_plain(blob, **lim)
    except errors.UnsupportedError as exc:
        if trusted:
            return pickle.loads(blob)
        raise errors.PickleNotAllowedError(
            f"{what}: {exc.detail or exc}; unpickling it would run code and this segment is "
            f"not trusted: pass allow_pickle=True if you trust it", detail=exc.detail,
            function=exc.function) from None
    except errors.ShmchunkError as exc:
        raise type(exc)(f"{what}: {exc}", status=exc.status, detail=exc.detail,
                        function=exc.function) from None
    return _NoGlobalsUnpickler(io.BytesIO(plain)).load()


class Selection:
    """Rows to read: row groups `rowgroups` (ascending), then [lo, hi) of their
    concatenation (hi None = all)."""

    __slots__ = ("rowgroups", "lo", "hi")

    def __init__(self, rowgroups, lo=0, hi=None):
        self.rowgroups, self.lo, self.hi = list(rowgroups), lo, hi

    def contiguous(self) -> bool:
        r = self.rowgroups
        return all(b == a + 1 for a, b in zip(r, r[1:]))

    def trim(self, arr):
        if self.lo == 0 and self.hi is None:
            return arr
        return arr[self.lo:self.hi]


class FrameReader:
    def __init__(self, seg: Segment, allow_pickle: bool, writer: bool = False):
        self.seg = seg
        # Why this segment's pickles may not run by default (None: provably ours).
        self.distrust = untrusted_reason(seg.info, writer)
        self.trusted = allow_pickle or self.distrust is None
        cols = seg.columns
        self.data_cols = [i for i, c in enumerate(cols)
                          if not c.flags & (L.SHMC_COL_INDEX | L.SHMC_COL_DICTIONARY)]
        self.index_cols = [i for i, c in enumerate(cols)
                           if c.flags & L.SHMC_COL_INDEX and not c.flags & L.SHMC_COL_DICTIONARY]
        # Per segment, not per reader: a pool worker makes a reader per task.
        self._cache = seg._chunk_cache
        key = ("labels", self.trusted)
        if key not in self._cache:
            self._cache[key] = [self.label(cols[i].label, f"column {i} label")
                                for i in self.data_cols]
        self.labels = self._cache[key]

    # ---- labels and metadata ---------------------------------------------
    def label(self, lab: L.shmc_label, what: str = "label"):
        value = L.label_value(lab)
        if lab.type == L.SHMC_LABEL_PICKLE:
            return unpickle(value, self.trusted, f"{self.seg.src}: {what}")
        return value

    def columns_index(self, positions) -> pd.Index:
        labels = [self.labels[p] for p in positions]
        name = self.label(self.seg.info.columns_name, "columns name")
        if labels and all(isinstance(x, tuple) for x in labels):
            # a tuple name as long as the labels: the level names (see _write.py)
            same = isinstance(name, tuple) and all(len(x) == len(name) for x in labels)
            return pd.MultiIndex.from_tuples(labels, names=list(name) if same else None)
        if not labels:
            return pd.RangeIndex(0, name=name)
        return pd.Index(labels, name=name, tupleize_cols=False)

    def attrs(self) -> dict:
        blob = self.seg.meta()
        if not blob:
            return {}
        try:
            attrs = unpickle(blob, self.trusted, f"{self.seg.src}: df.attrs", ATTRS_LIMITS)
        except (errors.PickleNotAllowedError, errors.LimitError, errors.PickleFormatError) as exc:
            warnings.warn(f"df.attrs not restored: {exc}", stacklevel=3)
            return {}
        if not isinstance(attrs, dict):
            warnings.warn(f"df.attrs not restored: {self.seg.src} stores a "
                          f"{type(attrs).__name__}, not a dict", stacklevel=3)
            return {}
        return attrs

    # ---- rows --------------------------------------------------------------
    def rows_selection(self, rows) -> Selection:
        info = self.seg.info
        nrows, rpc = int(info.nrows), int(info.rows_per_chunk) or 1
        if rows is None:
            return Selection(range(int(info.nrowgroups)))
        if isinstance(rows, range):
            rows = slice(rows.start, rows.stop, rows.step)
        if isinstance(rows, tuple):
            rows = slice(*rows)
        if not isinstance(rows, slice):
            raise errors.InvalidArgumentError(f"rows must be a slice, range or (start, stop): "
                                              f"{rows!r}")
        start, stop, step = rows.indices(nrows)
        if step != 1:
            raise errors.InvalidArgumentError("rows: only step 1 is supported")
        if stop <= start:
            return Selection([], 0, 0)
        first, last = start // rpc, (stop - 1) // rpc
        return Selection(range(first, last + 1), start - first * rpc, stop - first * rpc)

    def rowgroup_rows(self, sel: Selection) -> int:
        info = self.seg.info
        rpc, nrows = int(info.rows_per_chunk), int(info.nrows)
        total = sum(min(rpc, nrows - rg * rpc) for rg in sel.rowgroups)
        hi = total if sel.hi is None else sel.hi
        return max(0, hi - sel.lo)

    # ---- columns -----------------------------------------------------------
    def role(self, col: int, role: int, rowgroups) -> np.ndarray | None:
        return self.seg.role_bytes(col, role, list(rowgroups))

    def column_array(self, col: int, sel: Selection, expected: int | None = None):
        """pandas-ready array (numpy or ExtensionArray) of one column over sel.

        Whatever the index claims, the result must have the selection's row count;
        anything pandas refuses to rebuild is reported as corruption of that column."""
        if expected is None:
            expected = self.rowgroup_rows(sel)
        try:
            arr = self._column_array(col, sel)
        except errors.ShmchunkError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise errors.CorruptSegmentError(
                f"{self.seg.src}: column {col} ({self.labels_of(col)!r}): cannot rebuild: {exc}"
            ) from None
        if len(arr) != expected:
            raise errors.CorruptSegmentError(
                f"{self.seg.src}: column {col} ({self.labels_of(col)!r}): {len(arr)} rows "
                f"stored where {expected} are expected")
        return arr

    def _column_array(self, col: int, sel: Selection):
        ci = self.seg.columns[col]
        kind = ci.kind
        dtype = (ci.dtype or b"").decode()
        if kind in L.KIND_NUMPY:
            return self._fixed(col, ci, dtype, sel)
        if kind == L.SHMC_KIND_CATEGORICAL:
            return self._categorical(col, ci, sel)
        if kind == L.SHMC_KIND_STRING:
            return self._string(col, dtype, sel)
        if kind == L.SHMC_KIND_OBJECT:
            return self._object(col, dtype, sel)
        if kind == L.SHMC_KIND_ARROW:
            return _arrow.column(self, col, ci, sel)
        if kind == L.SHMC_KIND_PERIOD:
            return self._period(col, dtype, sel)
        if kind == L.SHMC_KIND_INTERVAL:
            return self._interval(col, ci, sel)
        if kind == L.SHMC_KIND_SPARSE:
            return self._sparse(col, ci, sel)
        raise errors.UnsupportedError(f"column {col}: kind {kind} unknown to this version")

    def _fixed(self, col, ci, dtype, sel):
        rgs = sel.rowgroups
        raw = self.role(col, L.SHMC_ROLE_VALUES, rgs)
        if raw is None:
            raise errors.CorruptSegmentError(f"{self.seg.src}: column {col}: no values chunks")
        # numpy and pandas assume a bool byte is 0 or 1 (value_counts, unique, ==
        # compare bytes): a stored byte other than 0/1 reads as True, normalised in a
        # copy before anyone sees it (FORMAT.md: nonzero = true).
        if ci.kind == L.SHMC_KIND_BOOL and self._non_01_chunks(col, L.SHMC_ROLE_VALUES, rgs, raw):
            raw = (raw != 0).view(np.uint8)
        values = raw.view(L.KIND_NUMPY[ci.kind])
        unit = None
        if ci.kind in (L.SHMC_KIND_DATETIME, L.SHMC_KIND_TIMEDELTA):
            unit = L.UNIT_NAMES.get(ci.unit)
            if unit is None:
                raise errors.CorruptSegmentError(f"column {col}: bad time unit {ci.unit}")
            values = values.view(f"{'M' if ci.kind == L.SHMC_KIND_DATETIME else 'm'}8[{unit}]")
        values = sel.trim(values)
        mask = None
        if ci.roles & (1 << L.SHMC_ROLE_MASK):
            mraw = self.role(col, L.SHMC_ROLE_MASK, rgs)
            # FORMAT.md: nonzero = missing; normalised like bool values above.
            if self._non_01_chunks(col, L.SHMC_ROLE_MASK, rgs, mraw):
                mraw = (mraw != 0).view(np.uint8)
            mask = sel.trim(mraw.view(np.bool_))
            if len(mask) != len(values):
                raise errors.CorruptSegmentError(
                    f"{self.seg.src}: column {col}: mask of {len(mask)} rows for {len(values)} values")
        if ci.kind == L.SHMC_KIND_DATETIME and ci.tz:
            tzd = self._tz_dtype(col, unit, ci.tz)
            return pd.arrays.DatetimeArray._simple_new(values, dtype=tzd)
        return _masked_or_plain(values, mask, dtype)

    def _period(self, col, dtype, sel):
        """PeriodArray over the stored int64 ordinals: a view of a raw column, no copy.
        The dtype ("period[<freq>]") was checked at open; a freq pandas does not know
        raises ValueError, which column_array reports as corruption of the column."""
        raw = self.role(col, L.SHMC_ROLE_VALUES, sel.rowgroups)
        if raw is None:
            raise errors.CorruptSegmentError(f"{self.seg.src}: column {col}: no values chunks")
        ordinals = sel.trim(raw.view("<i8"))
        return pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype(dtype[len("period["):-1]))

    def _interval(self, col, ci, sel):
        """IntervalArray.from_arrays over the two bound roles (views of a raw column).
        pandas checks left <= right and that both are missing together: a segment
        breaking either is reported by column_array as corruption of the column."""
        bounds = [self._bounds(col, ci, role, sel) for role in (L.SHMC_ROLE_VALUES, L.SHMC_ROLE_RIGHT)]
        closed = {v: k for k, v in L.CLOSED_FLAGS.items()}[
            ci.flags & (L.SHMC_COL_CLOSED_LEFT | L.SHMC_COL_CLOSED_RIGHT)]
        return pd.arrays.IntervalArray.from_arrays(bounds[0], bounds[1], closed, copy=False)

    def _sparse(self, col, ci, sel):
        """SparseArray over the stored values and row numbers (views of a raw column
        read whole). Row numbers must rise strictly inside the selected row groups:
        anything else is reported as corruption of the column."""
        if ci.code_kind not in L.KIND_NUMPY or ci.code_kind > L.SHMC_KIND_FLOAT64:
            raise errors.CorruptSegmentError(f"{self.seg.src}: column {col}: bad sparse value kind")
        rgs = sel.rowgroups
        vals = self.role(col, L.SHMC_ROLE_VALUES, rgs)
        rows = self.role(col, L.SHMC_ROLE_INDICES, rgs)
        vals = (vals if vals is not None else np.empty(0, np.uint8)).view(L.KIND_NUMPY[ci.code_kind])
        rows = (rows if rows is not None else np.empty(0, np.uint8)).view("<i4")
        if ci.code_kind == L.SHMC_KIND_BOOL and len(vals) and int(vals.view(np.uint8).max()) > 1:
            vals = vals.view(np.uint8) != 0
        span = self.rowgroup_rows(Selection(rgs))
        rel = self._sparse_positions(rows, rgs)
        if len(vals) != len(rows) or (len(rel) and (rel[0] < 0 or rel[-1] >= span
                                                    or not np.all(rel[1:] > rel[:-1]))):
            raise errors.CorruptSegmentError(
                f"{self.seg.src}: column {col} ({self.labels_of(col)!r}): sparse row numbers "
                f"not rising inside their row groups")
        lo, hi = sel.lo, (span if sel.hi is None else sel.hi)
        if lo or hi != span:
            keep = (rel >= lo) & (rel < hi)
            rel, vals = rel[keep] - lo, vals[keep]
        fill = self.dictionary(ci.dict_column)[0]
        fill = fill.item() if isinstance(fill, np.generic) else fill  # as pandas spells it
        rel, dtype = np.asarray(rel, dtype=np.int32), pd.SparseDtype(vals.dtype, fill)
        if hasattr(pd.arrays.SparseArray, "from_indices"):  # pandas 3.x
            return pd.arrays.SparseArray.from_indices(vals, rel, hi - lo, fill_value=fill,
                                                      dtype=vals.dtype)
        from pandas._libs.sparse import IntIndex  # pandas 2.x; what its SparseArray pickles use
        return pd.arrays.SparseArray(vals, sparse_index=IntIndex(hi - lo, rel), fill_value=fill,
                                     dtype=dtype)

    def _sparse_positions(self, rows, rgs):
        """Frame row numbers -> positions in the concatenation of row groups rgs (the
        stored int32 array itself when that is row group 0 onwards: no copy); a row
        outside rgs becomes -1, which the caller refuses."""
        rpc, nrows = int(self.seg.info.rows_per_chunk), int(self.seg.info.nrows)
        if not len(rgs) or not len(rows):
            return rows
        if rgs[0] == 0 and Selection(rgs).contiguous():
            return rows
        r = rows.astype(np.int64)
        rg = np.asarray(rgs, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(np.minimum(rpc, nrows - rg * rpc))[:-1]])
        g = r // rpc
        k = np.minimum(np.searchsorted(rg, g), len(rg) - 1)
        return np.where(rg[k] == g, starts[k] + (r - g * rpc), -1)

    def _bounds(self, col, ci, role, sel):
        raw = self.role(col, role, sel.rowgroups)
        if raw is None or ci.code_kind not in L.KIND_NUMPY or ci.code_kind == L.SHMC_KIND_BOOL:
            raise errors.CorruptSegmentError(f"{self.seg.src}: column {col}: bad interval bounds")
        values = sel.trim(raw.view(L.KIND_NUMPY[ci.code_kind]))
        if ci.code_kind not in (L.SHMC_KIND_DATETIME, L.SHMC_KIND_TIMEDELTA):
            return values
        unit = L.UNIT_NAMES.get(ci.unit)
        if unit is None:
            raise errors.CorruptSegmentError(f"column {col}: bad time unit {ci.unit}")
        values = values.view(f"{'M' if ci.code_kind == L.SHMC_KIND_DATETIME else 'm'}8[{unit}]")
        if ci.code_kind == L.SHMC_KIND_DATETIME and ci.tz:
            return pd.arrays.DatetimeArray._simple_new(values, dtype=self._tz_dtype(col, unit, ci.tz))
        return values

    def _non_01_chunks(self, col, role, rgs, raw) -> list[int]:
        """Chunk ids of a 1-byte role (bool values, masks) over rgs holding a byte other
        than 0 and 1. raw is the role's bytes over rgs, chunk after chunk. Each chunk is
        checked once per segment (a max() pass) and the verdict cached with the chunk."""
        seg, bad, pos = self.seg, [], 0
        for rg in rgs:
            cid = seg.find(col, rg, role)
            n = int(seg.chunk(cid).raw_len)
            key = ("01", cid)
            ok = self._cache.get(key)
            if ok is None:
                part = raw[pos:pos + n]
                ok = self._cache[key] = not (len(part) and int(part.max()) > 1)
            if not ok:
                bad.append(cid)
            pos += n
        return bad

    def _tz_dtype(self, col, unit, tzb: bytes):
        """The column's DatetimeTZDtype from its stored (untrusted) zone name. The
        library refused, at open, any name but an IANA-style one (FORMAT.md "tz": no
        "dateutil/<path>", which would make pandas open that file)."""
        name = tzb.decode("utf-8", "replace")
        try:
            return pd.DatetimeTZDtype(unit, name)
        except Exception as exc:  # noqa: BLE001 - unknown zones raise KeyError subclasses too
            raise errors.CorruptSegmentError(
                f"{self.seg.src}: column {col} ({self.labels_of(col)!r}): time zone {name!r}: "
                f"{type(exc).__name__}: {exc}") from None

    def _categorical(self, col, ci, sel):
        codes = sel.trim(self.role(col, L.SHMC_ROLE_VALUES, sel.rowgroups)
                         .view(L.KIND_NUMPY[ci.code_kind]))
        cats = self.dictionary(ci.dict_column)
        cdt = pd.CategoricalDtype(cats, ordered=bool(ci.flags & L.SHMC_COL_ORDERED))
        # validate: a hostile segment could hold codes past the dictionary
        return pd.Categorical.from_codes(codes, dtype=cdt)

    def dictionary(self, col: int) -> pd.Index:
        key = ("dict", col)
        if key not in self._cache:
            ci = self.seg.columns[col]
            sel = Selection(range(int(ci.nrowgroups)))
            arr = self.column_array(col, sel, expected=int(ci.nrows))
            self._cache[key] = pd.Index(arr, copy=False, tupleize_cols=False)
        return self._cache[key]

    def _string(self, col, dtype, sel):
        import pyarrow as pa
        parts = [self.seg.string_rowgroup(col, rg) for rg in sel.rowgroups]
        ca = pa.chunked_array(parts, type=pa.large_string())
        if sel.lo or sel.hi is not None:
            hi = len(ca) if sel.hi is None else sel.hi
            ca = ca.slice(sel.lo, hi - sel.lo)
        return strings_to_pandas(ca, dtype)

    def _object(self, col, dtype, sel):
        if not self.trusted:
            raise errors.PickleNotAllowedError(
                f"column {self.labels_of(col)!r} holds pickled objects and segment "
                f"{self.seg.src} is not provably yours ({self.distrust}): "
                f"unpickling runs code; pass allow_pickle=True if you trust it")
        parts = []
        for rg in sel.rowgroups:
            raw = self.role(col, L.SHMC_ROLE_PICKLE, [rg])
            parts.append(pickle.loads(raw))
        if not parts:
            return _empty_of(dtype)
        if all(isinstance(p, np.ndarray) for p in parts):
            arr = np.concatenate(parts) if len(parts) > 1 else parts[0]
        else:
            arr = type(parts[0])._concat_same_type(parts) if len(parts) > 1 else parts[0]
        return sel.trim(arr)

    def labels_of(self, col):
        return L.label_value(self.seg.columns[col].label)

    # ---- frames ------------------------------------------------------------
    def index(self, sel: Selection) -> pd.Index:
        info = self.seg.info
        if not self.index_cols:
            name = self.label(info.range_name, "index name")
            start, step, rpc = int(info.range_start), int(info.range_step), int(info.rows_per_chunk)
            nrows = int(info.nrows)
            if sel.contiguous():
                first = sel.rowgroups[0] * rpc if sel.rowgroups else 0
                n = self.rowgroup_rows(sel)
                a = start + (first + sel.lo) * step
                return pd.RangeIndex(a, a + n * step, step, name=name)
            pos = np.concatenate([np.arange(rg * rpc, min(nrows, (rg + 1) * rpc))
                                  for rg in sel.rowgroups])
            return pd.Index(start + pos * step, name=name)
        arrays = [self.column_array(c, sel) for c in self.index_cols]
        names = [self.label(self.seg.columns[c].label, f"index column {c} name")
                 for c in self.index_cols]
        if len(arrays) == 1:
            obj = isinstance(arrays[0], np.ndarray) and arrays[0].dtype == object
            index = pd.Index(arrays[0], name=names[0], copy=False, tupleize_cols=False,
                             dtype=object if obj else None)  # pandas 3 would infer str
            return self.with_freq(index, sel)
        return pd.MultiIndex.from_arrays(arrays, names=names)

    def with_freq(self, index: pd.Index, sel: Selection) -> pd.Index:
        """The stored freq on a Datetime/TimedeltaIndex of consecutive rows. The string
        was checked by C at open (letters, digits, '-+_'); pandas parses it and checks
        that the values follow it: a freq they do not follow is dropped with a warning."""
        freq = self.seg.index_freq()
        if not freq or not isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)) \
                or not sel.contiguous():
            return index
        try:
            return type(index)(index, freq=offset_of(freq), name=index.name)
        except (TypeError, ValueError, OverflowError) as exc:  # n past a C int: Overflow
            warnings.warn(f"{self.seg.src}: index freq {freq!r} not restored: {exc}",
                          stacklevel=4)
            return index

    def verify_columns(self, cols, sel: Selection) -> None:
        """Checksum every chunk the selection will touch in one batch (threads for
        large ones) before any view is made; the per-chunk checks then find them done."""
        seg, ids = self.seg, []
        for col in list(cols) + list(self.index_cols):
            table = seg.rowgroup_chunks(col)
            for rg in sel.rowgroups:
                ids.extend(table.get(rg, ()))
        seg.verify_chunks(ids)

    def frame(self, positions, sel: Selection) -> pd.DataFrame:
        self.verify_columns([self.data_cols[p] for p in positions], sel)
        index = self.index(sel)
        arrays = {i: _no_inference(self.column_array(self.data_cols[p], sel), index)
                  for i, p in enumerate(positions)}
        # dict + copy=False keeps one block per column on pandas 2.2 and 3.x, so
        # nothing is consolidated (= copied); checked by tests/py/test_share.py.
        df = pd.DataFrame(arrays, index=index, copy=False)
        df.columns = self.columns_index(positions)
        attrs = self.attrs()
        if attrs:
            df.attrs = attrs
        return df


def _no_inference(values, index):
    """pandas 3 turns object arrays of str into `str` columns; an object Series on
    the same index object is taken as it is (no copy, no reindexing)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Series(values, index=index, dtype=object, copy=False)
    return values


def _masked_or_plain(values, mask, dtype: str):
    if mask is None and (not dtype or dtype == values.dtype.name):
        return values  # plain numpy: skip pandas' dtype-string parsing (~50 us a column)
    try:
        pdt = pd.api.types.pandas_dtype(dtype) if dtype else values.dtype
    except (TypeError, ValueError):
        pdt = values.dtype
    if isinstance(pdt, pd.api.extensions.ExtensionDtype) and hasattr(pdt, "construct_array_type") \
            and pdt.kind in "biuf" and not isinstance(pdt, pd.CategoricalDtype):
        cls = pdt.construct_array_type()
        if not issubclass(cls, _MASKED_ARRAYS):
            # e.g. "Sparse[int64]", "int64[pyarrow]": never written over fixed-width
            # values; column_array reports it as corruption naming the column.
            raise TypeError(f"stored dtype {dtype!r} is not a nullable (masked) dtype that "
                            f"{values.dtype} values and a mask can make")
        if mask is None:
            mask = np.zeros(len(values), np.bool_)
        try:
            return cls(values, mask, copy=False)
        except TypeError:
            pass
    if mask is not None and mask.any():
        # A mask on a plain numpy dtype: fall back to a nullable array.
        out = pd.array(values)
        return type(out)(values, mask, copy=False) if hasattr(out, "_mask") else out
    return values


_MASKED_ARRAYS = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


def _empty_of(dtype: str):
    try:
        pdt = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return np.empty(0, object)
    return pd.array([], dtype=pdt) if isinstance(pdt, pd.api.extensions.ExtensionDtype) \
        else np.empty(0, pdt)


def _str_dtype():
    """pandas' `str` dtype (3.x), or its 2.2 spelling (pyarrow storage, NaN missing)."""
    if PANDAS_MAJOR >= 3:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.StringDtype("pyarrow_numpy")


def strings_to_pandas(ca, dtype: str):
    """A pyarrow large_string ChunkedArray to the column's original pandas type."""
    if dtype in ("str", "string[pyarrow]", "string[pyarrow_numpy]"):
        if dtype == "string[pyarrow]":
            sdt = pd.StringDtype("pyarrow")
        else:
            sdt = _str_dtype()
        cls = type(pd.array([], dtype=sdt))
        if PANDAS_MAJOR >= 3:
            return cls(ca, dtype=sdt)
        return cls(ca)
    obj = ca.to_numpy(zero_copy_only=False)  # Arrow makes the str objects in C++
    if dtype == "string[python]":
        return pd.array(obj, dtype=pd.StringDtype("python"))
    if dtype == "str[python]":
        if PANDAS_MAJOR >= 3:
            return pd.array(obj, dtype=pd.StringDtype("python", na_value=np.nan))
        return pd.array(obj, dtype=_str_dtype())
    if not obj.flags.writeable:
        obj = obj.copy()
    if dtype == "object[nan]" and ca.null_count:
        obj[pd.isna(obj)] = np.nan  # the column spelt its missing values NaN
    return obj  # "object": missing values spelt None


def untrusted_reason(info: L.shmc_segment_info, writer: bool = False) -> str | None:
    """Why a segment's pickles (object columns, pickled labels, df.attrs) must not run
    without allow_pickle=True -- or None when the segment is provably the caller's.

    The one place trust is decided (FrameReader.trusted feeds read(), labels, attrs,
    object columns and SharedFrame.pickle_bytes). It uses the library's fstat of the
    descriptor it mapped -- never a path looked up again -- and the header only as a
    further condition, since any writer chooses its header:
      - a shared-memory object is trusted when it belongs to our uid, its
        group and others may not write it, and its header names our uid as creator;
      - a file is never trusted (whoever copies a file owns the copy), except by the
        handle share() returns (writer=True) when, besides the above, the header names
        this very process as its owner (pid and start time, owner_state "alive"): the
        file this process has just written and nobody else may write."""
    uid = current_uid()
    ours_now = writer and info.owner_pid == os.getpid() and \
        info.owner_state == L.SHMC_OWNER_ALIVE
    if info.backend != L.SHMC_BACKEND_SHM and not (ours_now and info.backend == L.SHMC_BACKEND_FILE):
        kind = L.BACKEND_NAMES.get(info.backend, "segment of unknown origin")
        return f"a {kind}, which anyone may have written or copied"
    if info.object_uid != uid:
        return f"its shared-memory object belongs to uid {info.object_uid}"
    if info.object_mode & 0o022:
        return f"its group or others may write it (mode {info.object_mode:04o})"
    if info.creator_uid != uid:
        return f"its header names uid {info.creator_uid} as its creator"
    return None


def current_uid() -> int:
    return os.getuid()
