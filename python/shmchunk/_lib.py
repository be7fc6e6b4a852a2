"""ctypes binding of libshmchunk (include/shmchunk.h): library lookup, structs, enums,
and every public function declared with argtypes/restype/errcheck.

Status-returning functions raise the typed exception of shmchunk.errors with the
detail text of the handle they were called on (shmc_frame_errmsg /
shmc_segment_errmsg), so callers never look at an int status.

Lookup order of the shared library:
  1. $SHMCHUNK_LIBRARY (a file path)
  2. libshmchunk.so shipped inside this package directory (the wheel, or pip install .)
  3. $SHMCHUNK_BUILD/lib/libshmchunk.so (a CMake build directory)
  4. <checkout>/build/lib/libshmchunk.so (tools/dev.sh build)
  5. ctypes.util.find_library("shmchunk") (system install)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)
from pathlib import Path

from . import errors

__all__ = ["lib", "LIBRARY_PATH", "library_version", "find_library"]

_PKG_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PKG_DIR.parent.parent
_SONAME = "libshmchunk.so"


def _candidates():
    env = os.environ.get("SHMCHUNK_LIBRARY")
    if env:
        yield Path(env)
    yield _PKG_DIR / _SONAME
    build = os.environ.get("SHMCHUNK_BUILD")
    if build:
        yield Path(build) / "lib" / _SONAME
    yield _CHECKOUT / "build" / "lib" / _SONAME


def find_library() -> str:
    """Path (or soname) of the library that will be loaded; raises ImportError."""
    env = os.environ.get("SHMCHUNK_LIBRARY")
    for cand in _candidates():
        if cand.is_file():
            return str(cand)
        if env and str(cand) == env:
            # An explicit choice that does not exist is a configuration error,
            # not something to paper over with another copy of the library.
            raise ImportError(f"SHMCHUNK_LIBRARY={env!r} does not exist")
    found = ctypes.util.find_library("shmchunk")
    if found:
        return found
    raise ImportError(
        "libshmchunk not found: set SHMCHUNK_LIBRARY or SHMCHUNK_BUILD, run "
        "'tools/dev.sh build', or install the package (pip install . in a checkout)")


# --------------------------------------------------------------------------
# Enums and constants (include/shmchunk.h)
# --------------------------------------------------------------------------
# Status codes (SHMC_OK, SHMC_ERR_*, SHMC_STATUS_COUNT) come from the library
# itself once it is loaded: see _bind_statuses() below.

(SHMC_KIND_BOOL, SHMC_KIND_INT8, SHMC_KIND_INT16, SHMC_KIND_INT32, SHMC_KIND_INT64,
 SHMC_KIND_UINT8, SHMC_KIND_UINT16, SHMC_KIND_UINT32, SHMC_KIND_UINT64, SHMC_KIND_FLOAT32,
 SHMC_KIND_FLOAT64, SHMC_KIND_DATETIME, SHMC_KIND_TIMEDELTA, SHMC_KIND_CATEGORICAL,
 SHMC_KIND_STRING, SHMC_KIND_OBJECT, SHMC_KIND_ARROW, SHMC_KIND_PERIOD, SHMC_KIND_INTERVAL,
 SHMC_KIND_SPARSE) = range(1, 21)
SHMC_KIND_COUNT = 21

SHMC_UNIT_NONE, SHMC_UNIT_S, SHMC_UNIT_MS, SHMC_UNIT_US, SHMC_UNIT_NS = range(5)

(SHMC_ROLE_VALUES, SHMC_ROLE_MASK, SHMC_ROLE_OFFSETS, SHMC_ROLE_DATA, SHMC_ROLE_VALIDITY,
 SHMC_ROLE_PICKLE, SHMC_ROLE_RIGHT, SHMC_ROLE_INDICES) = range(8)
SHMC_ROLE_COUNT = 8

SHMC_COL_INDEX = 0x1
SHMC_COL_ORDERED = 0x2
SHMC_COL_DICTIONARY = 0x4
SHMC_COL_CLOSED_LEFT = 0x8
SHMC_COL_CLOSED_RIGHT = 0x10
CLOSED_FLAGS = {"left": SHMC_COL_CLOSED_LEFT, "right": SHMC_COL_CLOSED_RIGHT,
                "both": SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT, "neither": 0}

SHMC_LABEL_NONE, SHMC_LABEL_STR, SHMC_LABEL_INT, SHMC_LABEL_PICKLE = range(4)

SHMC_CODEC_NONE, SHMC_CODEC_ZSTD = 0, 1
SHMC_WRITE_OWNED = 0x1

SHMC_OPEN_NO_VERIFY = 0x1
# shmc_segment_limit_set: 0 = default cap max(1 GiB, 1024 x segment size)
SHMC_DECODED_DEFAULT, SHMC_DECODED_UNLIMITED = 0, (1 << 64) - 1
SHMC_OPEN_VERIFY_ALL = 0x2
SHMC_OPEN_VERIFY_DECODES = 0x4

SHMC_OWNER_PERSISTENT, SHMC_OWNER_ALIVE, SHMC_OWNER_DEAD = 0, 1, 2
SHMC_BACKEND_NONE, SHMC_BACKEND_SHM, SHMC_BACKEND_FILE, SHMC_BACKEND_BUFFER = 0, 1, 2, 3
BACKEND_NAMES = {SHMC_BACKEND_SHM: "shm", SHMC_BACKEND_FILE: "file", SHMC_BACKEND_BUFFER: "buffer"}

SHMC_PICKLE_OOB = 0x1
SHMC_PICKLE_OBJECTS = 0x2
SHMC_OOB_SEGMENT, SHMC_OOB_DECODED = 0, 1

UINT32_MAX = 0xFFFFFFFF
NAME_CAP = 512  # room for "shm:NAME" or a path in shmc_frame_write's name_out

# numpy dtype strings of the fixed-width kinds (little-endian, as stored)
KIND_NUMPY = {
    SHMC_KIND_BOOL: "|b1", SHMC_KIND_INT8: "|i1", SHMC_KIND_INT16: "<i2",
    SHMC_KIND_INT32: "<i4", SHMC_KIND_INT64: "<i8", SHMC_KIND_UINT8: "|u1",
    SHMC_KIND_UINT16: "<u2", SHMC_KIND_UINT32: "<u4", SHMC_KIND_UINT64: "<u8",
    SHMC_KIND_FLOAT32: "<f4", SHMC_KIND_FLOAT64: "<f8", SHMC_KIND_DATETIME: "<i8",
    SHMC_KIND_TIMEDELTA: "<i8",
}
# Role, unit, codec and owner-state names: read from the library below
# (ROLE_NAMES, UNIT_NAMES, UNIT_CODES, CODEC_NAMES, OWNER_STATE_NAMES).


# --------------------------------------------------------------------------
# Structs
# --------------------------------------------------------------------------
class shmc_label(Structure):
    _fields_ = [("type", c_int), ("str", c_void_p), ("len", c_size_t), ("i", c_int64)]


class shmc_column_desc(Structure):
    pass


shmc_column_desc._fields_ = [
    ("kind", c_int), ("flags", c_uint32), ("label", shmc_label), ("dtype", c_char_p),
    ("unit", c_int), ("tz", c_char_p),
    ("values", c_void_p), ("mask", c_void_p),
    ("offsets", c_void_p), ("data", c_void_p), ("validity", c_void_p),
    ("validity_offset", c_uint64),
    ("code_kind", c_int), ("categories", POINTER(shmc_column_desc)), ("ncategories", c_uint64),
    ("blobs", POINTER(c_void_p)), ("blob_lens", POINTER(c_size_t)), ("nblobs", c_size_t),
    ("arrow", c_char_p), ("values_bit_offset", c_uint64),
    ("right", c_void_p),
    ("sparse_index", c_void_p), ("nsparse", c_uint64),
]

PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_uint64, c_uint64)
CANCEL_FN = CFUNCTYPE(c_int, c_void_p)


class shmc_write_opts(Structure):
    _fields_ = [
        ("rows_per_chunk", c_uint64), ("codec", c_int), ("level", c_int), ("shuffle", c_int),
        ("threads", c_int), ("flags", c_uint32), ("min_saving", c_double),
        ("progress", PROGRESS_FN), ("progress_user", c_void_p),
        ("cancel", CANCEL_FN), ("cancel_user", c_void_p),
    ]


class shmc_segment_info(Structure):
    _fields_ = [
        ("format_version", c_uint32), ("flags", c_uint32), ("nrows", c_uint64),
        ("rows_per_chunk", c_uint64), ("nrowgroups", c_uint64), ("ncolumns", c_uint32),
        ("nchunks", c_uint32), ("total_size", c_uint64), ("index_offset", c_uint64),
        ("index_len", c_uint64), ("raw_bytes", c_uint64), ("stored_bytes", c_uint64),
        ("owner_pid", c_int64), ("owner_start", c_uint64), ("creator_uid", c_uint32),
        ("created_ns", c_uint64), ("identity", c_uint64), ("owner_state", c_int),
        ("has_range_index", c_int), ("range_start", c_int64), ("range_step", c_int64),
        ("range_name", shmc_label), ("columns_name", shmc_label), ("name", c_char_p),
        # fstat of the descriptor mapped (what trust is decided from)
        ("backend", c_int), ("object_uid", c_uint32), ("object_mode", c_uint32),
        ("private_copy", c_int),
    ]


class shmc_column_info(Structure):
    _fields_ = [
        ("kind", c_int), ("flags", c_uint32), ("label", shmc_label), ("dtype", c_char_p),
        ("unit", c_int), ("tz", c_char_p), ("code_kind", c_int), ("dict_column", c_uint32),
        ("nrows", c_uint64), ("nrowgroups", c_uint64), ("roles", c_uint32),
        ("first_chunk", c_uint32), ("nchunks", c_uint32), ("raw_bytes", c_uint64),
        ("stored_bytes", c_uint64), ("null_count", c_uint64), ("arrow", c_char_p),
    ]


class shmc_chunk_info(Structure):
    _fields_ = [
        ("column", c_uint32), ("rowgroup", c_uint32), ("role", c_int), ("codec", c_int),
        ("shuffle", c_int), ("typesize", c_uint32), ("offset", c_uint64),
        ("stored_len", c_uint64), ("raw_len", c_uint64), ("row_start", c_uint64),
        ("nrows", c_uint64), ("xxh3", c_uint64),
    ]


class shmc_shm_entry(Structure):
    _fields_ = [
        ("name", c_char_p), ("size", c_uint64), ("uid", c_uint32), ("owner_pid", c_int64),
        ("owner_start", c_uint64), ("owner_state", c_int), ("sealed", c_int),
    ]


class shmc_pickle_limits(Structure):
    _fields_ = [("max_depth", c_uint32), ("max_memo", c_uint64), ("max_items", c_uint64),
                ("max_alloc", c_uint64)]


class shmc_plain_limits(Structure):
    _fields_ = [("max_nodes", c_uint64), ("max_bytes", c_uint64), ("max_depth", c_uint32)]


class shmc_selection(Structure):
    _fields_ = [
        ("columns", POINTER(c_uint32)), ("ncolumns", c_size_t),
        ("chunks", POINTER(c_uint32)), ("nchunks", c_size_t),
        ("row_start", c_uint64), ("row_stop", c_uint64),
    ]


class shmc_oob_buffer(Structure):
    _fields_ = [("kind", c_int), ("chunk", c_uint32), ("offset", c_uint64), ("len", c_uint64)]


class shmc_pickle_out(Structure):
    _fields_ = [("bytes", c_void_p), ("len", c_size_t),
                ("buffers", POINTER(shmc_oob_buffer)), ("nbuffers", c_size_t)]


BAD_CHUNK_FN = CFUNCTYPE(None, c_void_p, c_uint32, c_int, c_char_p)
SHM_LIST_FN = CFUNCTYPE(c_int, c_void_p, POINTER(shmc_shm_entry))


def label_value(label: shmc_label):
    """Python value of a C label (PICKLE labels come back as bytes, still pickled)."""
    if label.type == SHMC_LABEL_NONE:
        return None
    if label.type == SHMC_LABEL_INT:
        return int(label.i)
    raw = ctypes.string_at(label.str, label.len) if label.len else b""
    if label.type == SHMC_LABEL_STR:
        return raw.decode("utf-8")
    return raw


# --------------------------------------------------------------------------
# Loading and declarations
# --------------------------------------------------------------------------
LIBRARY_PATH = find_library()
lib = ctypes.CDLL(LIBRARY_PATH)

_p = POINTER
_FRAME = "frame"
_SEGMENT = "segment"

# name: (restype, argtypes, handle whose errmsg explains a failure | None).
# restype "status" = int status checked by errcheck.
_DECLS = {
    "shmc_strerror": (c_char_p, [c_int], None),
    "shmc_status_name": (c_char_p, [c_int], None),
    "shmc_status_count": (c_int, [], None),
    "shmc_version": (c_char_p, [], None),
    "shmc_kind_itemsize": (c_size_t, [c_int], None),
    "shmc_kind_name": (c_char_p, [c_int], None),
    "shmc_arrow_name": (c_char_p, [c_char_p], None),
    "shmc_role_name": (c_char_p, [c_int], None),
    "shmc_unit_name": (c_char_p, [c_int], None),
    "shmc_codec_name": (c_char_p, [c_int], None),
    "shmc_owner_state_name": (c_char_p, [c_int], None),
    # frame
    "shmc_frame_create": ("status", [_p(c_void_p)], None),
    "shmc_frame_free": (None, [c_void_p], None),
    "shmc_frame_errmsg": (c_char_p, [c_void_p], None),
    "shmc_frame_set_nrows": ("status", [c_void_p, c_uint64], _FRAME),
    "shmc_frame_nrows": (c_uint64, [c_void_p], None),
    "shmc_frame_add_column": ("status", [c_void_p, _p(shmc_column_desc)], _FRAME),
    "shmc_frame_ncolumns": (c_uint32, [c_void_p], None),
    "shmc_frame_set_range_index": ("status", [c_void_p, c_int64, c_int64, _p(shmc_label)],
                                   _FRAME),
    "shmc_frame_set_columns_name": ("status", [c_void_p, _p(shmc_label)], _FRAME),
    "shmc_frame_set_meta": ("status", [c_void_p, c_void_p, c_size_t], _FRAME),
    "shmc_frame_set_index_freq": ("status", [c_void_p, c_char_p], _FRAME),
    "shmc_frame_keep": ("status", [c_void_p, c_void_p, c_void_p], _FRAME),
    "shmc_write_opts_init": (None, [_p(shmc_write_opts)], None),
    "shmc_frame_write": ("status", [c_void_p, c_char_p, _p(shmc_write_opts), c_char_p,
                                    c_size_t], _FRAME),
    # segment
    "shmc_segment_create": ("status", [_p(c_void_p)], None),
    "shmc_segment_free": (None, [c_void_p], None),
    "shmc_segment_errmsg": (c_char_p, [c_void_p], None),
    "shmc_segment_open": ("status", [c_void_p, c_char_p, c_uint32], _SEGMENT),
    "shmc_segment_open_buffer": ("status", [c_void_p, c_void_p, c_size_t, c_uint32], _SEGMENT),
    "shmc_segment_limit_set": ("status", [c_void_p, c_uint64], _SEGMENT),
    "shmc_segment_info_get": ("status", [c_void_p, _p(shmc_segment_info)], _SEGMENT),
    "shmc_segment_data": ("status", [c_void_p, _p(c_void_p), _p(c_size_t)], _SEGMENT),
    "shmc_segment_meta": ("status", [c_void_p, _p(c_void_p), _p(c_size_t)], _SEGMENT),
    "shmc_segment_index_freq": ("status", [c_void_p, _p(c_char_p)], _SEGMENT),
    "shmc_segment_column_info": ("status", [c_void_p, c_uint32, _p(shmc_column_info)],
                                 _SEGMENT),
    "shmc_segment_chunk_info": ("status", [c_void_p, c_uint32, _p(shmc_chunk_info)], _SEGMENT),
    "shmc_segment_chunk_find": ("status", [c_void_p, c_uint32, c_uint64, c_int, _p(c_uint32)],
                                _SEGMENT),
    "shmc_segment_chunk_view": ("status", [c_void_p, c_uint32, _p(c_void_p), _p(c_size_t)],
                                _SEGMENT),
    "shmc_segment_column_view": ("status", [c_void_p, c_uint32, c_int, _p(c_void_p),
                                            _p(c_size_t)], _SEGMENT),
    "shmc_segment_chunk_decode": ("status", [c_void_p, c_uint32, c_void_p, c_size_t], _SEGMENT),
    "shmc_segment_chunk_verify": ("status", [c_void_p, c_uint32], _SEGMENT),
    "shmc_segment_verify": ("status", [c_void_p, BAD_CHUNK_FN, c_void_p], _SEGMENT),
    # shared-memory management
    "shmc_segment_unlink": ("status", [c_char_p], None),
    "shmc_name_validate": ("status", [c_char_p], None),
    "shmc_shm_list": ("status", [SHM_LIST_FN, c_void_p], None),
    "shmc_shm_gc": ("status", [SHM_LIST_FN, c_void_p, _p(c_uint32)], None),
    "shmc_hash64": (c_uint64, [c_void_p, c_size_t], None),
    # pickle bridge
    "shmc_frame_from_pickle": ("status", [c_void_p, c_void_p, c_size_t, _p(c_void_p),
                                          _p(c_size_t), c_size_t, _p(shmc_pickle_limits)],
                               _FRAME),
    "shmc_frame_strings_from_pickle": ("status", [c_void_p, c_void_p, c_size_t,
                                                  _p(shmc_column_desc), _p(c_uint64)], _FRAME),
    "shmc_pickle_write": ("status", [c_void_p, _p(shmc_selection), c_uint32,
                                     _p(shmc_pickle_out)], _SEGMENT),
    "shmc_pickle_out_free": (None, [_p(shmc_pickle_out)], None),
    # returns a status, but the detail is in its errmsg buffer: see pickle_plain()
    "shmc_pickle_plain": (c_int, [c_void_p, c_size_t, _p(shmc_plain_limits), _p(shmc_pickle_out),
                                  c_char_p, c_size_t], None),
}

MISSING: list[str] = []


def _decode(raw) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _make_errcheck(name: str, handle: str | None):
    def errcheck(status, func, args):
        if status == SHMC_OK:
            return status
        detail = ""
        if handle == _FRAME and args and args[0]:
            detail = _decode(lib.shmc_frame_errmsg(args[0]))
        elif handle == _SEGMENT and args and args[0]:
            detail = _decode(lib.shmc_segment_errmsg(args[0]))
        raise errors.error_for_status(status, detail, name, strerror(status))
    return errcheck


def _missing(name: str):
    def stub(*_args, **_kwargs):
        raise errors.UnsupportedError(
            f"{name} is not exported by {LIBRARY_PATH} (library too old or incomplete)",
            function=name)
    stub.__name__ = name
    return stub


def _declare():
    for name, (restype, argtypes, handle) in _DECLS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            # Tolerated so that a partial library (during development) still loads;
            # calling the function raises UnsupportedError naming it.
            MISSING.append(name)
            setattr(lib, name, _missing(name))
            continue
        fn.argtypes = argtypes
        if restype == "status":
            fn.restype = c_int
            fn.errcheck = _make_errcheck(name, handle)
        else:
            fn.restype = restype


_declare()


def _bind_statuses():
    """SHMC_OK, SHMC_ERR_* and SHMC_STATUS_COUNT of this module, and every exception
    class's .status, from the library's one list (include/shmchunk.h SHMC_STATUS_LIST)."""
    names = {code: lib.shmc_status_name(code).decode() for code in range(lib.shmc_status_count())}
    globals().update({name: code for code, name in names.items()})
    globals()["SHMC_STATUS_COUNT"] = len(names)
    errors.bind_statuses(names)


_bind_statuses()


def _names(fn, codes) -> dict[int, str]:
    return {code: fn(code).decode() for code in codes}


# The library's words for its enums (lib/common/names.c), so that Python says what the CLI says.
ROLE_NAMES = _names(lib.shmc_role_name, range(SHMC_ROLE_COUNT))
UNIT_NAMES = _names(lib.shmc_unit_name, range(SHMC_UNIT_S, SHMC_UNIT_NS + 1))  # no SHMC_UNIT_NONE
UNIT_CODES = {v: k for k, v in UNIT_NAMES.items()}
CODEC_NAMES = _names(lib.shmc_codec_name, (SHMC_CODEC_NONE, SHMC_CODEC_ZSTD))
OWNER_STATE_NAMES = _names(lib.shmc_owner_state_name,
                           (SHMC_OWNER_PERSISTENT, SHMC_OWNER_ALIVE, SHMC_OWNER_DEAD))


def strerror(status: int) -> str:
    if "shmc_strerror" in MISSING:
        return errors.STATUS_NAMES.get(status, f"status {status}")
    return _decode(lib.shmc_strerror(status))


def library_version() -> tuple[int, int, int]:
    text = _decode(lib.shmc_version())
    try:
        major, minor, patch = (int(x) for x in text.split(".")[:3])
    except ValueError:
        raise ImportError(f"{LIBRARY_PATH}: unreadable version {text!r}") from None
    return major, minor, patch


def _api_version() -> tuple[int, int] | None:
    """(major, minor) of the include/shmchunk.h this package was built or checked out
    with: _built_version.py written by the CMake build of the wheel, else the checkout's header."""
    try:
        from ._built_version import VERSION
    except ImportError:
        header = _CHECKOUT / "include" / "shmchunk.h"
        if not header.is_file():
            return None
        from ._header import header_version
        VERSION = header_version(header)
    return VERSION[0], VERSION[1]


def _check_version():
    major, minor, _ = library_version()
    API_VERSION = _api_version()
    if API_VERSION is None:
        return
    # 0.x: any minor change may change the ABI; from 1.0 on a newer minor only adds.
    ok = (major == API_VERSION[0] and
          (minor == API_VERSION[1] if major == 0 else minor >= API_VERSION[1]))
    if not ok:
        raise ImportError(
            f"{LIBRARY_PATH} is libshmchunk {major}.{minor}; this package needs "
            f"{API_VERSION[0]}.{API_VERSION[1]}")


_check_version()


# --------------------------------------------------------------------------
# Small helpers shared by the package, the CLI tests and the benchmarks
# --------------------------------------------------------------------------
def decoded_limit(max_decoded: int | None) -> int:
    """The shmc_segment_limit_set value for a Python max_decoded argument: None is the
    library's default cap, an int >= 1 a cap in bytes (values beyond 2**64-1 lift it)."""
    if max_decoded is None:
        return SHMC_DECODED_DEFAULT
    if isinstance(max_decoded, bool) or not isinstance(max_decoded, int) or max_decoded < 1:
        from .errors import InvalidArgumentError
        raise InvalidArgumentError(f"max_decoded must be None or an int >= 1: {max_decoded!r}")
    return min(max_decoded, SHMC_DECODED_UNLIMITED)


def segment_open(src: str, flags: int = 0, max_decoded: int | None = None) -> c_void_p:
    """Open a segment; returns the handle (free it with lib.shmc_segment_free).
    max_decoded caps the segment's total decoded size (see decoded_limit)."""
    limit = decoded_limit(max_decoded)
    seg = c_void_p()
    lib.shmc_segment_create(ctypes.byref(seg))
    try:
        lib.shmc_segment_limit_set(seg, limit)
        lib.shmc_segment_open(seg, src.encode(), flags)
    except BaseException:
        lib.shmc_segment_free(seg)
        raise
    return seg


def frame_create() -> c_void_p:
    frame = c_void_p()
    lib.shmc_frame_create(ctypes.byref(frame))
    return frame


def write_opts(**fields) -> shmc_write_opts:
    opts = shmc_write_opts()
    lib.shmc_write_opts_init(ctypes.byref(opts))
    for key, value in fields.items():
        setattr(opts, key, value)
    return opts


def make_label(value, keep: list) -> shmc_label:
    """shmc_label for a str/int/None; anything else (incl. bool, tuples, floats)
    is pickled. The encoded bytes are appended to `keep` so they outlive the call."""
    import pickle
    lab = shmc_label()
    if type(value).__module__ == "numpy" and hasattr(value, "item") and value.dtype.kind in "iuU":
        value = value.item()  # numpy ints/str from an Index are plain labels
    if value is None:
        lab.type = SHMC_LABEL_NONE
    elif isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63:
        lab.type, lab.i = SHMC_LABEL_INT, value
    else:
        raw = None
        if isinstance(value, str) and type(value) is str:
            try:
                lab.type, raw = SHMC_LABEL_STR, value.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates are not UTF-8: pickle them
                raw = None
        if raw is None:
            lab.type, raw = SHMC_LABEL_PICKLE, pickle.dumps(value, protocol=5)
        buf = ctypes.create_string_buffer(raw, len(raw))
        keep.append(buf)
        lab.str, lab.len = ctypes.cast(buf, c_void_p), len(raw)
    return lab


def pickle_plain(blob: bytes, max_nodes: int = 0, max_bytes: int = 0, max_depth: int = 0) -> bytes:
    """`blob` re-encoded by shmc_pickle_plain: a pickle that names no global and calls
    nothing (0 limits: the C defaults). Raises the status's typed error (UnsupportedError:
    not a plain value; LimitError; PickleFormatError) carrying the C message."""
    out = shmc_pickle_out()
    msg = ctypes.create_string_buffer(512)
    lim = shmc_plain_limits(max_nodes, max_bytes, max_depth)
    status = lib.shmc_pickle_plain(blob, len(blob), ctypes.byref(lim), ctypes.byref(out), msg,
                                   len(msg))
    if status != SHMC_OK:
        raise errors.error_for_status(status, _decode(msg.value), "shmc_pickle_plain",
                                      strerror(status))
    try:
        return ctypes.string_at(out.bytes, out.len)
    finally:
        lib.shmc_pickle_out_free(ctypes.byref(out))
