"""pd.ArrowDtype columns stored natively (SHMC_KIND_ARROW, segment format 2).

A column's Arrow type crosses to C as its Arrow C data interface format string ("l",
"tsu:UTC", "d:38,10", "u", ...; lib/FORMAT.md section 3a): the C library knows from it
which buffers the type has and checks their sizes. The writer hands C the array's own
buffers; the reader rebuilds each row group with pyarrow.Array.from_buffers over the
segment's memory (zero-copy when stored raw), validated before anyone sees it, and
gives pandas a pd.arrays.ArrowExtensionArray. No pickle on either side.

This module is the one table between pyarrow types and format strings; the C table
(lib/common/arrow_format.c) says which formats are stored natively and their layout.
"""

from __future__ import annotations

from ctypes import pointer

import numpy as np

from . import _lib as L
from . import errors

_UNITS = {"s": "s", "ms": "m", "us": "u", "ns": "n"}
_UNIT_OF = {v: k for k, v in _UNITS.items()}


def _simple_formats():
    import pyarrow as pa
    table = {
        "b": pa.bool_(), "c": pa.int8(), "C": pa.uint8(), "s": pa.int16(), "S": pa.uint16(),
        "i": pa.int32(), "I": pa.uint32(), "l": pa.int64(), "L": pa.uint64(),
        "e": pa.float16(), "f": pa.float32(), "g": pa.float64(),
        "u": pa.string(), "U": pa.large_string(), "z": pa.binary(), "Z": pa.large_binary(),
        "tdD": pa.date32(), "tdm": pa.date64(),
        "tts": pa.time32("s"), "ttm": pa.time32("ms"), "ttu": pa.time64("us"),
        "ttn": pa.time64("ns"),
    }
    for unit, c in _UNITS.items():
        table["tD" + c] = pa.duration(unit)
    return table


_SIMPLE: dict | None = None


def _simple():
    global _SIMPLE
    if _SIMPLE is None:
        _SIMPLE = _simple_formats()
    return _SIMPLE


def format_of(typ) -> str | None:
    """Format string of a type stored natively (a dictionary: of its indices), else None."""
    import pyarrow as pa
    for fmt, t in _simple().items():
        if typ == t:
            return fmt
    if pa.types.is_timestamp(typ):
        return f"ts{_UNITS[typ.unit]}:{typ.tz or ''}"
    if pa.types.is_decimal128(typ):
        return f"d:{typ.precision},{typ.scale}"
    if pa.types.is_decimal256(typ):
        return f"d:{typ.precision},{typ.scale},256"
    if pa.types.is_fixed_size_binary(typ) and not pa.types.is_decimal(typ):
        return f"w:{typ.byte_width}"
    if pa.types.is_dictionary(typ):
        return format_of(typ.index_type) if format_of(typ.value_type) else None
    return None


def nested_format(typ) -> str | None:
    """Format of a nested type (stored opaque: `shmchunk info` says why), else None."""
    import pyarrow as pa
    checks = [(pa.types.is_large_list, "+L"), (pa.types.is_list, "+l"),
              (pa.types.is_fixed_size_list, "+w"), (pa.types.is_struct, "+s"),
              (pa.types.is_map, "+m"), (pa.types.is_union, "+u")]
    for check, fmt in checks:
        if check(typ):
            return fmt
    return None


def type_of(fmt: str):
    """pyarrow type of a stored format string (not a dictionary); ValueError if unknown."""
    import pyarrow as pa
    t = _simple().get(fmt)
    if t is not None:
        return t
    if fmt.startswith("ts") and len(fmt) >= 4 and fmt[3] == ":" and fmt[2] in _UNIT_OF:
        return pa.timestamp(_UNIT_OF[fmt[2]], tz=fmt[4:] or None)
    if fmt.startswith("d:"):
        parts = [int(x) for x in fmt[2:].split(",")]
        if len(parts) == 2 or (len(parts) == 3 and parts[2] == 128):
            return pa.decimal128(parts[0], parts[1])
        if len(parts) == 3 and parts[2] == 256:
            return pa.decimal256(parts[0], parts[1])
    if fmt.startswith("w:"):
        return pa.binary(int(fmt[2:]))
    raise ValueError(f"Arrow format {fmt!r} is not one this version reads")


# ---- writing ---------------------------------------------------------------
def to_array(values):
    """One pyarrow Array of an ArrowExtensionArray (chunks combined: the write copies
    every byte anyway; dictionaries unified first)."""
    import pyarrow as pa
    arr = pa.array(values)  # __arrow_array__: no copy
    if isinstance(arr, pa.ChunkedArray):
        if pa.types.is_dictionary(arr.type) and arr.num_chunks > 1:
            arr = arr.unify_dictionaries()
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def describe(arr, desc, keep) -> None:
    """Fill desc (kind ARROW) from pyarrow Array arr, whose type format_of knows; a
    dictionary's values become desc.categories. keep holds what C borrows."""
    import pyarrow as pa
    typ = arr.type
    if pa.types.is_dictionary(typ):
        cdesc = L.shmc_column_desc()
        describe(arr.dictionary, cdesc, keep)
        keep.append(cdesc)
        desc.categories, desc.ncategories = pointer(cdesc), len(arr.dictionary)
        if typ.ordered:
            desc.flags |= L.SHMC_COL_ORDERED
        arr_for_buffers = arr.indices
    else:
        arr_for_buffers = arr
    fmt = format_of(typ).encode()
    keep += [fmt, arr, arr_for_buffers]
    desc.kind, desc.arrow = L.SHMC_KIND_ARROW, fmt
    _buffers(arr_for_buffers, desc, keep)


_EMPTY = np.zeros(8, np.uint8)   # a valid non-NULL pointer for zero-length buffers


def _addr(buf, skip: int = 0) -> int:
    if buf is None or buf.size == 0:
        return _EMPTY.ctypes.data
    return buf.address + skip


def _buffers(a, desc, keep) -> None:
    import pyarrow as pa
    bufs = a.buffers()
    validity = bufs[0]
    if a.null_count and validity is not None:
        desc.validity, desc.validity_offset = validity.address, a.offset
    typ = a.type
    if pa.types.is_boolean(typ):
        desc.values, desc.values_bit_offset = _addr(bufs[1]), a.offset
    elif len(bufs) == 2:
        width = typ.byte_width
        desc.values = _addr(bufs[1], width * a.offset)
    else:
        width = 8 if typ in (pa.large_string(), pa.large_binary()) else 4
        if bufs[1] is None:  # a zero-length array may lack offsets
            zero = np.zeros(1, np.int64)
            keep.append(zero)
            desc.offsets = zero.ctypes.data
        else:
            desc.offsets = bufs[1].address + width * a.offset
        desc.data = _addr(bufs[2])


# ---- reading ---------------------------------------------------------------
def rowgroup(seg, col: int, rg: int, fmt: str, dictionary=None):
    """pyarrow Array of one row group of an Arrow column, over the segment's bytes, fully
    validated once per process (a hostile writer can make valid checksums; Arrow trusts
    offsets and dictionary indices)."""
    key = ("arrow", col, rg)
    arr = seg._chunk_cache.get(key)
    if arr is None:
        arr = seg._chunk_cache[key] = _build(seg, col, rg, fmt, dictionary)
    return arr


def _build(seg, col, rg, fmt, dictionary):
    import pyarrow as pa
    typ = type_of(fmt)
    n = _rows(seg, col, rg)
    role = seg.role_bytes
    validity = role(col, L.SHMC_ROLE_VALIDITY, [rg])
    vbuf = None if validity is None else pa.py_buffer(validity)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_binary(typ) \
            or pa.types.is_large_binary(typ):
        offsets, data = role(col, L.SHMC_ROLE_OFFSETS, [rg]), role(col, L.SHMC_ROLE_DATA, [rg])
        if offsets is None or data is None:
            raise _bad(seg, col, rg, "offsets or data chunk missing")
        bufs = [vbuf, pa.py_buffer(offsets), pa.py_buffer(data)]
    else:
        values = role(col, L.SHMC_ROLE_VALUES, [rg])
        if values is None:
            raise _bad(seg, col, rg, "values chunk missing")
        bufs = [vbuf, pa.py_buffer(values)]
    try:
        arr = pa.Array.from_buffers(typ, n, bufs)
        arr.validate()  # buffer sizes: cheap
        # large_string: the library's one-pass check (~10x faster than Arrow's, and
        # stricter); only its failures, and every other type, get Arrow's full check.
        if not (fmt == "U" and _strings_ok(bufs[1], bufs[2])):
            arr.validate(full=True)
        if dictionary is not None:
            arr = pa.DictionaryArray.from_arrays(arr, dictionary[0], ordered=dictionary[1],
                                                 safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, IndexError, ValueError) as exc:
        raise _bad(seg, col, rg, f"invalid Arrow data: {exc}") from None
    return arr


def _strings_ok(offsets, data) -> bool:
    from ._segment import _strings_ok as check
    return check(np.frombuffer(offsets, np.uint8), np.frombuffer(data, np.uint8))


def _rows(seg, col, rg) -> int:
    rpc = int(seg.info.rows_per_chunk)
    nrows = int(seg.columns[col].nrows)
    return max(0, min(rpc, nrows - rg * rpc))


def _bad(seg, col, rg, why):
    return errors.CorruptSegmentError(f"{seg.src}: column {col} row group {rg}: {why}")


def column(reader, col: int, ci, sel):
    """ArrowExtensionArray of an Arrow column over the selection."""
    import pandas as pd
    import pyarrow as pa
    fmt = ci.arrow.decode() if ci.arrow else ""
    dictionary = None
    typ = type_of(fmt)
    if ci.dict_column != L.UINT32_MAX:
        dictionary = (dictionary_array(reader, ci.dict_column),
                      bool(ci.flags & L.SHMC_COL_ORDERED))
        typ = pa.dictionary(typ, dictionary[0].type, dictionary[1])
    # A timestamp's zone name was checked at open (the library's zone-name rule).
    parts = [rowgroup(reader.seg, col, rg, fmt, dictionary) for rg in sel.rowgroups]
    ca = pa.chunked_array(parts, type=typ)
    if sel.lo or sel.hi is not None:
        hi = len(ca) if sel.hi is None else sel.hi
        ca = ca.slice(sel.lo, hi - sel.lo)
    return pd.arrays.ArrowExtensionArray(ca)


def dictionary_array(reader, col: int):
    """The values of an Arrow dictionary column as one Array (row groups concatenated)."""
    import pyarrow as pa
    key = ("arrow-dict", col)
    cache = reader.seg._chunk_cache
    if key not in cache:
        ci = reader.seg.columns[col]
        fmt = ci.arrow.decode() if ci.arrow else ""
        parts = [rowgroup(reader.seg, col, rg, fmt) for rg in range(int(ci.nrowgroups))]
        if not parts:
            cache[key] = pa.array([], type=type_of(fmt))
        else:
            cache[key] = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return cache[key]
