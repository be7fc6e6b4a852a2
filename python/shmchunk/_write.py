"""DataFrame -> libshmchunk frame description -> segment.

Fixed-width, datetime, categorical and nullable columns go to C as pointers into
their numpy buffers; pyarrow-backed strings hand their Arrow buffers over as they
are; other string columns cross as one protocol-5 pickle of a list of str/None that
C parses itself; anything else becomes opaque pickle blobs, one per row group.
"""

from __future__ import annotations

import ctypes
import pickle
import re
import warnings
from ctypes import POINTER, byref, c_size_t, c_uint64, c_void_p, pointer

import numpy as np
import pandas as pd

from . import _arrow
from . import _lib as L
from . import errors
from ._freq import offset_of

_NUMPY_KINDS = {
    np.dtype(np.bool_): L.SHMC_KIND_BOOL,
    np.dtype(np.int8): L.SHMC_KIND_INT8, np.dtype(np.int16): L.SHMC_KIND_INT16,
    np.dtype(np.int32): L.SHMC_KIND_INT32, np.dtype(np.int64): L.SHMC_KIND_INT64,
    np.dtype(np.uint8): L.SHMC_KIND_UINT8, np.dtype(np.uint16): L.SHMC_KIND_UINT16,
    np.dtype(np.uint32): L.SHMC_KIND_UINT32, np.dtype(np.uint64): L.SHMC_KIND_UINT64,
    np.dtype(np.float32): L.SHMC_KIND_FLOAT32, np.dtype(np.float64): L.SHMC_KIND_FLOAT64,
}
_CODE_KINDS = {np.dtype(np.int8): L.SHMC_KIND_INT8, np.dtype(np.int16): L.SHMC_KIND_INT16,
               np.dtype(np.int32): L.SHMC_KIND_INT32, np.dtype(np.int64): L.SHMC_KIND_INT64}


_MASKED_ARRAYS = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


def dtype_name(dtype) -> str:
    """The dtype vocabulary of lib/PICKLE.md: str(dtype), except that the pandas 3
    string dtypes say their storage, which str() hides ("str" is pyarrow-backed
    with NaN as missing; "str[python]" the same semantics in Python objects)."""
    if isinstance(dtype, pd.StringDtype):
        na_is_nan = isinstance(dtype.na_value, float)
        if na_is_nan:
            return "str[python]" if dtype.storage == "python" else "str"  # + 2.x pyarrow_numpy
        return f"string[{dtype.storage}]"
    return str(dtype)


def _addr(arr: np.ndarray) -> int:
    return arr.ctypes.data if arr.size else _EMPTY_ADDR


_EMPTY = np.zeros(8, np.uint8)   # a valid non-NULL pointer for zero-length buffers
_EMPTY_ADDR = _EMPTY.ctypes.data


class FrameBuilder:
    """Builds one shmc_frame; `keep` holds every Python buffer C borrows until write."""

    def __init__(self, nrows: int, rows_per_chunk: int):
        self.nrows = nrows
        self.rows_per_chunk = rows_per_chunk
        self.nrowgroups = -(-nrows // rows_per_chunk) if nrows else 0
        self.keep: list = []
        self.frame = L.frame_create()
        L.lib.shmc_frame_set_nrows(self.frame, nrows)

    def free(self):
        if self.frame:
            L.lib.shmc_frame_free(self.frame)
            self.frame = None
        self.keep.clear()

    def label(self, value) -> L.shmc_label:
        return L.make_label(value, self.keep)

    # ---- one column ------------------------------------------------------
    def add(self, values, label, flags: int = 0) -> None:
        desc = self.describe(values, self.nrows, allow_object=True)
        desc.label = self.label(label)
        desc.flags |= flags
        try:
            L.lib.shmc_frame_add_column(self.frame, byref(desc))
        except errors.ShmchunkError as exc:
            raise type(exc)(f"column {label!r}: {exc}", status=exc.status, detail=exc.detail,
                            function=exc.function) from None

    def describe(self, values, nrows: int, allow_object: bool) -> L.shmc_column_desc:
        """Descriptor of a Series/Index/array of nrows values (label left empty)."""
        dtype = values.dtype
        desc = L.shmc_column_desc()
        dname = dtype_name(dtype).encode()
        self.keep.append(dname)
        desc.dtype = dname
        arr = values.array if hasattr(values, "array") else values
        done = (self._numeric(arr, dtype, desc) or self._datetime(arr, dtype, desc)
                or self._period(arr, dtype, desc) or self._interval(arr, dtype, desc, nrows)
                or self._sparse(arr, dtype, desc, nrows)
                or self._masked(arr, dtype, desc) or self._categorical(arr, dtype, desc)
                or self._arrow(arr, dtype, desc) or self._string(arr, dtype, desc, nrows))
        if not done:
            if not allow_object:
                return None
            self._object(arr, dtype, desc, nrows)
        return desc

    def _numeric(self, arr, dtype, desc) -> bool:
        kind = _NUMPY_KINDS.get(dtype) if isinstance(dtype, np.dtype) else None
        if kind is None:
            return False
        vals = np.ascontiguousarray(np.asarray(arr), dtype=dtype.newbyteorder("<"))
        self.keep.append(vals)
        desc.kind, desc.values = kind, _addr(vals)
        return True

    def _datetime(self, arr, dtype, desc) -> bool:
        if isinstance(dtype, pd.DatetimeTZDtype):
            tz = _tz_name(dtype)
            if tz is None:
                return False
            unit, kind = dtype.unit, L.SHMC_KIND_DATETIME
            ints = np.asarray(arr.asi8)
            tzb = tz.encode()
            self.keep.append(tzb)
            desc.tz = tzb
        elif isinstance(dtype, np.dtype) and dtype.kind in "mM":
            unit = np.datetime_data(dtype)[0]
            kind = L.SHMC_KIND_DATETIME if dtype.kind == "M" else L.SHMC_KIND_TIMEDELTA
            ints = np.asarray(arr).view(np.int64)
        else:
            return False
        if unit not in L.UNIT_CODES:
            return False
        ints = np.ascontiguousarray(ints, dtype="<i8")
        self.keep.append(ints)
        desc.kind, desc.unit, desc.values = kind, L.UNIT_CODES[unit], _addr(ints)
        return True

    def _period(self, arr, dtype, desc) -> bool:
        """PeriodDtype: the int64 ordinals (asi8, a view) and "period[<freq>]"."""
        if not isinstance(dtype, pd.PeriodDtype):
            return False
        ints = np.ascontiguousarray(np.asarray(arr.asi8), dtype="<i8")
        self.keep.append(ints)
        desc.kind, desc.values = L.SHMC_KIND_PERIOD, _addr(ints)
        return True

    def _interval(self, arr, dtype, desc, nrows) -> bool:
        """IntervalDtype over numbers, datetimes (with or without a zone) or timedeltas:
        the left bounds as values, the right ones as `right` (views where they are
        already little-endian and contiguous), the closed ends as flags."""
        if not isinstance(dtype, pd.IntervalDtype) or dtype.closed not in L.CLOSED_FLAGS:
            return False
        left = self.describe(arr.left, nrows, allow_object=False)
        right = self.describe(arr.right, nrows, allow_object=False)
        bounds = {L.SHMC_KIND_BOOL, L.SHMC_KIND_CATEGORICAL, L.SHMC_KIND_STRING}
        if left is None or right is None or left.kind in bounds or left.kind >= L.SHMC_KIND_OBJECT \
                or (left.kind, left.unit, left.tz) != (right.kind, right.unit, right.tz) \
                or left.mask or right.mask:
            return False
        desc.kind, desc.code_kind, desc.unit, desc.tz = L.SHMC_KIND_INTERVAL, left.kind, left.unit, left.tz
        desc.values, desc.right = left.values, right.values
        desc.flags |= L.CLOSED_FLAGS[dtype.closed]
        return True

    def _sparse(self, arr, dtype, desc, nrows) -> bool:
        """SparseDtype over bool/int/uint/float: the stored values (sp_values, a view),
        their int32 row numbers and the fill value as a one-row dictionary column."""
        if not isinstance(dtype, pd.SparseDtype) or nrows > 2**31:
            return False
        sub = np.dtype(dtype.subtype)
        kind = _NUMPY_KINDS.get(sub)
        if kind is None or (pd.isna(dtype.fill_value) and sub.kind != "f"):
            return False
        fill = np.array([dtype.fill_value], dtype=sub.newbyteorder("<"))
        vals = np.ascontiguousarray(arr.sp_values, dtype=sub.newbyteorder("<"))
        rows = np.ascontiguousarray(arr.sp_index.to_int_index().indices, dtype="<i4")
        fdesc = L.shmc_column_desc(kind=kind, values=_addr(fill), dtype=self._keep_bytes(sub.name.encode()))
        self.keep += [fill, vals, rows, fdesc]
        desc.kind, desc.code_kind, desc.values = L.SHMC_KIND_SPARSE, kind, _addr(vals)
        desc.sparse_index, desc.nsparse = _addr(rows), len(rows)
        desc.categories, desc.ncategories = pointer(fdesc), 1
        return True

    def _masked(self, arr, dtype, desc) -> bool:
        if not isinstance(arr, _MASKED_ARRAYS):
            return False
        data, mask = arr._data, arr._mask  # stable since pandas 1.0 (BaseMaskedArray)
        if not (isinstance(data, np.ndarray) and isinstance(mask, np.ndarray)):
            return False
        kind = _NUMPY_KINDS.get(data.dtype)
        if kind is None:
            return False
        vals = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<"))
        m = np.ascontiguousarray(mask, dtype=np.uint8) if mask.dtype != np.bool_ \
            else np.ascontiguousarray(mask).view(np.uint8)
        self.keep += [vals, m]
        desc.kind, desc.values, desc.mask = kind, _addr(vals), _addr(m)
        return True

    def _categorical(self, arr, dtype, desc) -> bool:
        if not isinstance(dtype, pd.CategoricalDtype):
            return False
        codes = np.ascontiguousarray(arr.codes, dtype=arr.codes.dtype.newbyteorder("<"))
        code_kind = _CODE_KINDS.get(codes.dtype)
        cats = dtype.categories
        cdesc = self.describe(cats, len(cats), allow_object=False)
        if code_kind is None or cdesc is None or cdesc.kind in (L.SHMC_KIND_CATEGORICAL,
                                                                 L.SHMC_KIND_ARROW, L.SHMC_KIND_INTERVAL,
                                                                 L.SHMC_KIND_SPARSE):
            return False
        self.keep += [codes, cdesc]
        desc.kind, desc.values, desc.code_kind = L.SHMC_KIND_CATEGORICAL, _addr(codes), code_kind
        desc.categories, desc.ncategories = pointer(cdesc), len(cats)
        if dtype.ordered:
            desc.flags |= L.SHMC_COL_ORDERED
        return True

    def _arrow(self, arr, dtype, desc) -> bool:
        """pd.ArrowDtype of a type stored natively: its Arrow buffers, as they are."""
        if not isinstance(dtype, pd.ArrowDtype):
            return False
        fmt = _arrow.format_of(dtype.pyarrow_dtype)
        if fmt is None or "shmc_arrow_name" in L.MISSING \
                or L.lib.shmc_arrow_name(fmt.encode()) is None:
            return False  # the library's table says what is stored natively
        _arrow.describe(_arrow.to_array(arr), desc, self.keep)
        return True

    def _string(self, arr, dtype, desc, nrows) -> bool:
        if isinstance(dtype, pd.StringDtype) and dtype.storage != "python":
            return self._arrow_string(arr, desc)
        if isinstance(dtype, pd.StringDtype) or (
                dtype == np.dtype(object)
                and pd.api.types.infer_dtype(np.asarray(arr), skipna=True) in ("string", "empty")):
            return self._pickled_strings(arr, desc, nrows)
        return False

    def _arrow_string(self, arr, desc) -> bool:
        import pyarrow as pa
        chunked = arr if isinstance(arr, pa.Array) else pa.array(arr)  # __arrow_array__: no copy
        chunked = pa.chunked_array([chunked]) if isinstance(chunked, pa.Array) else chunked
        col = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        if col.type != pa.large_string():
            col = col.cast(pa.large_string())  # int32 offsets widen to int64
        validity, offsets, data = col.buffers()
        self.keep.append(col)
        desc.kind = L.SHMC_KIND_STRING
        desc.offsets = offsets.address + 8 * col.offset if offsets is not None else _EMPTY_ADDR
        desc.data = data.address if data is not None and data.size else _EMPTY_ADDR
        if col.null_count and validity is not None:
            desc.validity, desc.validity_offset = validity.address, col.offset
        if offsets is None:  # only a zero-length array may lack offsets
            zero = np.zeros(1, np.int64)
            self.keep.append(zero)
            desc.offsets = zero.ctypes.data
        return True

    def _pickled_strings(self, arr, desc, nrows) -> bool:
        obj = np.asarray(arr, dtype=object)
        missing = pd.isna(obj)
        if missing.any():
            if not isinstance(arr.dtype, pd.StringDtype):  # an object column
                spelling = _missing_spelling(obj[missing])
                if spelling is None:
                    return False  # mixed None/NaN, pd.NA, NaT...: kept exactly as objects
                if spelling == "nan":
                    desc.dtype = self._keep_bytes(b"object[nan]")
            obj = obj.copy()
            obj[missing] = None  # the C reader takes str/None
        if "shmc_frame_strings_from_pickle" in L.MISSING:
            # Library without the pickle reader: let Arrow build the same buffers.
            import pyarrow as pa
            return self._arrow_string(pa.array(obj, type=pa.large_string()), desc)
        blob = pickle.dumps(obj.tolist(), protocol=5)
        self.keep.append(blob)
        n = c_uint64()
        L.lib.shmc_frame_strings_from_pickle(self.frame, blob, len(blob), byref(desc), byref(n))
        if n.value != nrows:
            raise errors.InvalidArgumentError(
                f"string column: C read {n.value} values from the pickle, expected {nrows}")
        return True

    def _keep_bytes(self, b: bytes) -> bytes:
        self.keep.append(b)
        return b

    def _object(self, arr, dtype, desc, nrows) -> None:
        """Opaque pickle, one blob per row group: each blob unpickles to the row
        group's values (numpy array for numpy dtypes, else the ExtensionArray slice)."""
        values = np.asarray(arr) if isinstance(dtype, np.dtype) else arr
        rpc = self.rows_per_chunk
        blobs = [pickle.dumps(values[i * rpc:(i + 1) * rpc], protocol=5)
                 for i in range(self.nrowgroups)]
        self.keep += blobs
        n = len(blobs)
        ptrs = (c_void_p * max(n, 1))(*[ctypes.cast(ctypes.c_char_p(b), c_void_p).value
                                        for b in blobs])
        lens = (c_size_t * max(n, 1))(*[len(b) for b in blobs])
        self.keep += [ptrs, lens]
        desc.kind = L.SHMC_KIND_OBJECT
        nested = _arrow.nested_format(dtype.pyarrow_dtype) \
            if isinstance(dtype, pd.ArrowDtype) else None
        if nested:  # `info` says why this Arrow column is opaque
            desc.arrow = self._keep_bytes(nested.encode())
        desc.blobs = ctypes.cast(ptrs, POINTER(c_void_p))
        desc.blob_lens = ctypes.cast(lens, POINTER(c_size_t))
        desc.nblobs = n

    # ---- frame-level -------------------------------------------------------
    def set_index(self, index: pd.Index) -> None:
        if isinstance(index, pd.RangeIndex):
            name = self.label(index.name)
            L.lib.shmc_frame_set_range_index(self.frame, index.start, index.step, byref(name))
            return
        if isinstance(index, pd.MultiIndex):
            for i, name in enumerate(index.names):
                self.add(index.get_level_values(i), name, L.SHMC_COL_INDEX)
        else:
            self.add(index, index.name, L.SHMC_COL_INDEX)
            self.set_index_freq(index)

    def set_index_freq(self, index: pd.Index) -> None:
        """A DatetimeIndex's / TimedeltaIndex's freq, as the string pandas parses back
        to the same offset; an offset its string does not rebuild (e.g. a BusinessHour
        with custom hours) is dropped with a warning."""
        freq = getattr(index, "freq", None)
        if freq is None or not isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)):
            return
        text = freq.freqstr
        try:
            same = offset_of(text) == freq
        except (TypeError, ValueError):
            same = False
        if not same or len(text) > 32 or not re.fullmatch(r"[A-Za-z0-9_+-]+", text):
            warnings.warn(f"index freq {freq!r} not stored: its string {text!r} does not "
                          f"rebuild it", stacklevel=4)
            return
        if "shmc_frame_set_index_freq" not in L.MISSING:
            L.lib.shmc_frame_set_index_freq(self.frame, text.encode("ascii"))

    def set_columns_name(self, name) -> None:
        if name is not None:
            lab = self.label(name)
            L.lib.shmc_frame_set_columns_name(self.frame, byref(lab))

    def set_meta(self, attrs: dict) -> None:
        if attrs:
            blob = pickle.dumps(dict(attrs), protocol=5)
            L.lib.shmc_frame_set_meta(self.frame, blob, len(blob))

    def write(self, dest: str | None, opts: L.shmc_write_opts, name_out=None) -> str:
        """Write the segment and return its name; C copies the name into name_out (a
        ctypes buffer the caller made beforehand, or one made here) only once it exists,
        so that a caller interrupted at any later point still knows what to remove."""
        if name_out is None:
            name_out = ctypes.create_string_buffer(L.NAME_CAP)
        L.lib.shmc_frame_write(self.frame, dest.encode() if dest else None, byref(opts), name_out,
                               L.NAME_CAP)
        return name_out.value.decode()


def _missing_spelling(items: np.ndarray) -> str | None:
    """How an object column of strings spells its missing values: "none" (all None),
    "nan" (all float NaN), or None when no dtype string says it exactly (a mix, pd.NA,
    NaT...). The dtype strings "object" and "object[nan]" record the first two."""
    if all(x is None for x in items):
        return "none"
    if all(isinstance(x, float) for x in items):  # pd.isna already said NaN
        return "nan"
    return None


def _tz_name(dtype: pd.DatetimeTZDtype) -> str | None:
    """A zone name that rebuilds the same dtype, or None (then the column is pickled)."""
    name = str(dtype.tz)
    try:
        same = pd.DatetimeTZDtype(dtype.unit, name) == dtype
    except Exception:  # noqa: BLE001 - any failure just means "not expressible"
        return None
    return name if same else None


def build_frame(df: pd.DataFrame, rows_per_chunk: int) -> FrameBuilder:
    fb = FrameBuilder(len(df), rows_per_chunk)
    try:
        fb.set_index(df.index)
        for i, label in enumerate(df.columns):
            fb.add(df.iloc[:, i], label)
        if not isinstance(df.columns, pd.MultiIndex):
            fb.set_columns_name(df.columns.name)
        elif any(n is not None for n in df.columns.names):
            # the level names, as one tuple: readers give them back to the MultiIndex
            fb.set_columns_name(tuple(df.columns.names))
        fb.set_meta(df.attrs)
    except BaseException:
        fb.free()
        raise
    return fb
