#!/usr/bin/env python3
"""Write the crafted pickles of tests/regressions/pickle_read/ (issue 12).

Why: each input below made the restricted reader of e645094 crash, hang or
overflow (stack overflow through a codes dtype of 999 bytes, item size 0,
NULL items of a frozenset, signed overflow in a RangeIndex). They start from a
real pandas DataFrame and swap one sub-object for a hand-made construct, so
everything around the hole is what pandas writes. Run from the repository root:

    .venv/bin/python tools/make_hostile_pickles.py [arrow] [OUTDIR]

(`arrow`: only the pd.ArrowDtype inputs of issue 15, malformed Arrow arrays a
hostile file could hold, each refused with its reason.)

The pickler is pickle's pure-Python one without framing (so a test can patch
bytes) plus three stand-ins: Call (REDUCE, optional BUILD), FSet (MARK ...
FROZENSET) and Raw (bytes copied as they are).
"""
import io
import os
import pickle
import sys

import numpy as np
import pandas as pd

import codecs  # noqa: F401  (_codecs.encode is named below)


class Call:
    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state


class FSet:
    def __init__(self, *items):
        self.items = items


class Raw:
    def __init__(self, data):
        self.data = data


class Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class HostilePickler(pickle._Pickler):
    """Protocol 5 without FRAMEs; objects found in `swap` (by id, or by type) are replaced."""

    def __init__(self, f, swap):
        super().__init__(f, protocol=5)
        self.swap = swap

    def dump(self, obj):
        self.write(pickle.PROTO + bytes([self.proto]))
        self.save(obj)
        self.write(pickle.STOP)

    def save(self, obj, save_persistent_id=True):
        obj = self.swap.get(id(obj), self.swap.get(type(obj), obj))
        if isinstance(obj, Raw):
            self.write(obj.data)
        elif isinstance(obj, Global):
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        elif isinstance(obj, FSet):
            self.write(pickle.MARK)
            for it in obj.items:
                self.save(it)
            self.write(pickle.FROZENSET)
        elif isinstance(obj, Call):
            self.save(obj.func)
            self.save(obj.args)
            self.write(pickle.REDUCE)
            if obj.state is not None:
                self.save(obj.state)
                self.write(pickle.BUILD)
        else:
            super().save(obj, save_persistent_id)


def dumps(obj, swap=None):
    f = io.BytesIO()
    HostilePickler(f, swap or {}).dump(obj)
    return f.getvalue()


NP_DTYPE = Global("numpy", "dtype")
FROMBUFFER = Global("numpy._core.numeric", "_frombuffer")


def dtype(code, order="|"):
    """numpy.dtype(code) as numpy pickles it, with any code string."""
    return Call(NP_DTYPE, (code, False, True), (3, order, None, None, None, -1, -1, 0))


def frombuffer(data, code, shape, order="C"):
    return Call(FROMBUFFER, (Raw(pickle.BYTEARRAY8 + len(data).to_bytes(8, "little") + data),
                             dtype(code), shape, order))


def multi_frame():
    idx = pd.MultiIndex.from_arrays([["a", "b"], [1, 2]], names=["k", "n"])
    return pd.DataFrame({"v": [1.5, 2.5]}, index=idx)


def codes_i999():
    """MultiIndex codes with dtype i999: e645094 copied 999 bytes into uint8_t b[8]."""
    df = multi_frame()
    codes = df.index.codes[0]
    return dumps(df, {id(codes): frombuffer(b"A" * 2 * 999, "i999", (2,))})


def mask_b0():
    """IntegerArray whose _mask has dtype b0 over an empty bytearray near the end of
    the pickle: the frame read 2048 mask bytes from there, past the input."""
    df = pd.DataFrame({"x": pd.array([i % 100 for i in range(2048)], dtype="Int8")})
    arr = df._mgr.blocks[0].values
    return dumps(df, {id(arr._mask): frombuffer(b"", "b0", (2048,))})


def fortran_i0():
    """A (2, 2**62) Fortran-ordered block of dtype i0: gathered before its dtype
    was checked, 2**53 tile iterations over 0 bytes."""
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    vals = df._mgr.blocks[0].values
    return dumps(df, {id(vals): frombuffer(b"", "i0", (2, 2**62), "F")})


def frozenset_codecs_args():
    """_codecs.encode with a frozenset of two items as REDUCE arguments (pf_bytes)."""
    df = pd.DataFrame({"a": [1, 2]})
    vals = df._mgr.blocks[0].values
    data = Call(Global("_codecs", "encode"), FSet("\x01\x00", "latin1"))
    return dumps(df, {id(vals): Call(FROMBUFFER, (data, dtype("i8", "<"), (1, 2), "C"))})


def frozenset_arrow_buffers():
    """pyarrow _restore_array whose buffers are a frozenset of three items."""
    import pyarrow as pa

    df = pd.DataFrame({"s": pd.array(["x", "y"], dtype="string[pyarrow]")})
    offsets = b"".join(i.to_bytes(8, "little") for i in (0, 1, 2))
    chunk = Call(Global("pyarrow.lib", "_restore_array"),
                 ((Call(Global("pyarrow.lib", "type_for_alias"), ("large_string",)), 2, 0, 0,
                   FSet(None, offsets, b"xy"), [], None),))
    return dumps(df, {pa.LargeStringArray: chunk})


def frozenset_multi_names():
    """MultiIndex column labels whose names are a frozenset (pf_level_names)."""
    cols = pd.MultiIndex.from_arrays([["a", "b"], [1, 2]], names=["k", "n"])
    df = pd.DataFrame([[1.0, 2.0]], columns=cols)
    base = Global("pandas.core.indexes.base", "_new_Index")
    axis = Call(base, (Global("pandas.core.indexes.multi", "MultiIndex"),
                       {"levels": list(cols.levels), "codes": list(cols.codes), "sortorder": None,
                        "names": FSet("k", "n")}))
    return dumps(df, {id(df.columns): axis})


def range_overflow():
    """A RangeIndex level from -2**63 with step 2**62: start + i*step overflowed int64."""
    df = multi_frame()
    lev = df.index.levels[1]
    rng = Call(Global("pandas.core.indexes.base", "_new_Index"),
               (Global("pandas.core.indexes.range", "RangeIndex"),
                {"start": -2**63, "stop": 2**63 - 1, "step": 2**62, "name": None}))
    codes = df.index.codes[1]
    return dumps(df, {id(lev): rng, id(codes): frombuffer(bytes([3, 2]), "i1", (2,))})


def bools_not_0_1():
    """A bool column holding 2 and 255 and an Int64 mask holding 2: e645094 handed
    them on as stored, so pandas' value_counts()/nunique() came out wrong."""
    df = pd.DataFrame({"b": [True, False, True], "m": pd.array([1, None, 3], dtype="Int64")})
    bvals = df._mgr.blocks[[blk.dtype == bool for blk in df._mgr.blocks].index(True)].values
    mask = df["m"].array._mask
    return dumps(df, {id(bvals): frombuffer(b"\x02\x00\xff", "b1", (1, 3)),
                      id(mask): frombuffer(b"\x00\x02\x00", "b1", (3,))})


# ---- pd.ArrowDtype columns (issue 15): one column "a" whose _pa_array (and, for the
# mismatch, whose dtype) is swapped for a hand-made _restore_array.
def _ta(alias):
    return Call(Global("pyarrow.lib", "type_for_alias"), (alias,))


def _restore(typ, n, nulls, off, bufs, children=None, dictionary=None):
    return Call(Global("pyarrow.lib", "_restore_array"),
                ((typ, n, nulls, off, bufs, [] if children is None else children, dictionary),))


def _le(vals, width):
    return b"".join(v.to_bytes(width, "little", signed=True) for v in vals)


def _arrow_frame(typ="int64[pyarrow]", values=(1, 2, 3, 4)):
    return pd.DataFrame({"a": pd.array(list(values), dtype=typ)})


def _swap_array(chunk, typ="int64[pyarrow]", values=(1, 2, 3, 4), dtype=None):
    """The frame's one ArrowExtensionArray with its pyarrow array (and dtype) replaced."""
    import pyarrow as pa

    df = _arrow_frame(typ, values)
    arr_type = type(df["a"].array._pa_array.chunk(0))
    swap = {arr_type: chunk}
    if dtype is not None:
        swap[pd.ArrowDtype] = dtype
    return dumps(df, swap)


def arrow_buffer_count():
    return _swap_array(_restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2, 3, 4], 8), b""]))


def arrow_short_values():
    return _swap_array(_restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2], 8)]))


def arrow_offset_overflow():
    """offset 2**63 - 1: (offset + length) * 8 wraps 64 bits."""
    return _swap_array(_restore(_ta("int64"), 4, 0, 2**63 - 1, [None, _le([1, 2, 3, 4], 8)]))


def arrow_huge_length():
    return _swap_array(_restore(_ta("int64"), 2**62, 0, 0, [None, _le([1, 2, 3, 4], 8)]))


def arrow_offsets_decrease():
    import pyarrow as pa
    return _swap_array(_restore(_ta("string"), 4, 0, 0, [None, _le([0, 2, 1, 3, 4], 4), b"wxyz"]),
                       pd.ArrowDtype(pa.string()), ("a", "b", "c", "d"))


def arrow_offset_past_data():
    """int64 offsets (large_binary: pandas 3's column labels are large_string too)."""
    import pyarrow as pa
    return _swap_array(_restore(_ta("large_binary"), 4, 0, 0,
                                [None, _le([0, 1, 2, 3, 99], 8), b"wxyz"]),
                       pd.ArrowDtype(pa.large_binary()), (b"a", b"b", b"c", b"d"))


def arrow_dtype_mismatch():
    """ArrowDtype(int32) over an int64 array: the descriptor would lie about the values."""
    dt = Call(Global("pandas", "ArrowDtype"), (),
              {"_storage": "pyarrow", "pyarrow_dtype": _ta("int32")})
    return _swap_array(_restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2, 3, 4], 8)]), dtype=dt)


def _dict_dtype(index, value):
    typ = Call(Global("pyarrow.lib", "dictionary"), (index, value, False))
    return typ, Call(Global("pandas", "ArrowDtype"), (), {"_storage": "pyarrow",
                                                          "pyarrow_dtype": typ})


def _strings(vals):
    offs, pos = [0], 0
    for v in vals:
        pos += len(v)
        offs.append(pos)
    # a dictionary's values are the bare state tuple, not a _restore_array call
    return (_ta("string"), len(vals), 0, 0, [None, _le(offs, 4), "".join(vals).encode()], [], None)


def arrow_dictionary_float_indices():
    typ, dt = _dict_dtype(_ta("double"), _ta("string"))
    return _swap_array(_restore(typ, 4, 0, 0, [None, _le([0, 0, 0, 0], 8)],
                                dictionary=_strings(["x"])), dtype=dt)


def arrow_dictionary_index_out_of_range():
    typ, dt = _dict_dtype(_ta("int8"), _ta("string"))
    return _swap_array(_restore(typ, 4, 0, 0, [None, _le([0, 1, 5, 0], 1)],
                                dictionary=_strings(["x", "y"])), dtype=dt)


def arrow_dictionary_of_dictionary():
    inner, _ = _dict_dtype(_ta("int8"), _ta("string"))
    typ, dt = _dict_dtype(_ta("int8"), inner)
    return _swap_array(_restore(typ, 4, 0, 0, [None, _le([0, 0, 0, 0], 1)],
                                dictionary=_strings(["x"])), dtype=dt)


def arrow_nested_list():
    import pyarrow as pa
    field = Call(Global("pyarrow.lib", "field"), ("item", _ta("int64"), True))
    typ = Call(Global("pyarrow.lib", "list_"), (field,))
    dt = Call(Global("pandas", "ArrowDtype"), (), {"_storage": "pyarrow", "pyarrow_dtype": typ})
    child = _restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2, 3, 4], 8)])
    return _swap_array(_restore(typ, 4, 0, 0, [None, _le([0, 1, 2, 3, 4], 4)], [child]),
                       dtype=dt)


def arrow_nulls_without_validity():
    return _swap_array(_restore(_ta("int64"), 4, 1, 0, [None, _le([1, 2, 3, 4], 8)]))


def arrow_chunked_two_chunks():
    one = _restore(_ta("int64"), 2, 0, 0, [None, _le([1, 2], 8)])
    return _swap_array(Call(Global("pyarrow.lib", "chunked_array"), ([one, one], _ta("int64"))))


def arrow_chunked_one_chunk():
    """Accepted: a ChunkedArray of one chunk (what pandas 1.5's `_data` was)."""
    one = _restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2, 3, 4], 8)])
    return _swap_array(Call(Global("pyarrow.lib", "chunked_array"), ([one], _ta("int64"))))


def arrow_shared_array_two_columns():
    """Accepted: the same _restore_array node (one memo entry) as two columns' arrays."""
    import pyarrow as pa
    df = pd.DataFrame({"a": pd.array([1, 2, 3, 4], dtype="int64[pyarrow]"),
                       "b": pd.array([5, 6, 7, 8], dtype="int64[pyarrow]")})
    one = _restore(_ta("int64"), 4, 0, 0, [None, _le([1, 2, 3, 4], 8)])
    return dumps(df, {pa.Int64Array: one})


def arrow_zone_300_bytes():
    """A timestamp zone of 300 bytes: refused whole, never truncated into another name."""
    typ = Call(Global("pyarrow.lib", "timestamp"), ("ns", "Europe/" + "x" * 293))
    dt = Call(Global("pandas", "ArrowDtype"), (), {"_storage": "pyarrow", "pyarrow_dtype": typ})
    return _swap_array(_restore(typ, 4, 0, 0, [None, _le([1, 2, 3, 4], 8)]), dtype=dt)


def arrow_null_type():
    """type_for_alias("null"): a pyarrow type with no native layout."""
    dt = Call(Global("pandas", "ArrowDtype"), (), {"_storage": "pyarrow",
                                                   "pyarrow_dtype": _ta("null")})
    return _swap_array(_restore(_ta("null"), 4, 4, 0, [None]), dtype=dt)


ARROW_INPUTS = {
    "arrow-timestamp-zone-300-bytes": arrow_zone_300_bytes,
    "arrow-type-null": arrow_null_type,
    "arrow-three-buffers-for-int64": arrow_buffer_count,
    "arrow-values-buffer-short": arrow_short_values,
    "arrow-offset-2e63-wraps-buffer-size": arrow_offset_overflow,
    "arrow-length-2e62": arrow_huge_length,
    "arrow-string-offsets-decrease": arrow_offsets_decrease,
    "arrow-large-binary-offset-past-data": arrow_offset_past_data,
    "arrow-dtype-int32-array-int64": arrow_dtype_mismatch,
    "arrow-dictionary-float-indices": arrow_dictionary_float_indices,
    "arrow-dictionary-index-out-of-range": arrow_dictionary_index_out_of_range,
    "arrow-dictionary-of-dictionary": arrow_dictionary_of_dictionary,
    "arrow-nested-list-type": arrow_nested_list,
    "arrow-nulls-without-validity": arrow_nulls_without_validity,
    "arrow-chunked-two-chunks": arrow_chunked_two_chunks,
    "arrow-chunked-one-chunk": arrow_chunked_one_chunk,
    "arrow-same-array-two-columns": arrow_shared_array_two_columns,
}


INPUTS = {
    "bool-values-and-mask-bytes-not-0-1": bools_not_0_1,
    "multiindex-codes-dtype-i999-stack-overflow": codes_i999,
    "masked-mask-dtype-b0-reads-past-empty-bytes": mask_b0,
    "fortran-block-dtype-i0-gather-hang": fortran_i0,
    "frozenset-as-reduce-args-null-item": frozenset_codecs_args,
    "frozenset-as-arrow-buffers-null-item": frozenset_arrow_buffers,
    "frozenset-as-multiindex-names-null-item": frozenset_multi_names,
    "rangeindex-level-int64-min-step-2e62-overflow": range_overflow,
    **ARROW_INPUTS,
}


def main():
    args = sys.argv[1:]
    only = INPUTS
    if args[:1] == ["arrow"]:  # only the pd.ArrowDtype inputs
        only, args = ARROW_INPUTS, args[1:]
    out = args[0] if args else "tests/regressions/pickle_read"
    os.makedirs(out, exist_ok=True)
    for name, make in only.items():
        data = make()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
