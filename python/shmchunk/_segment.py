"""One read-only mapping of a segment, shared by every view made from it.

The C handle is freed (and the memory unmapped) only when the last Python object
that points into the mapping is gone: numpy arrays hold the mapping's memoryview,
which holds a ctypes array, which holds this object.  So SharedFrame.close() can
drop its reference at any time without pulling memory out from under a view.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from ctypes import byref, c_size_t, c_void_p

import numpy as np

from . import _lib as L
from . import errors

# Chunks are verified once per process (segments are immutable once sealed), so a
# pool worker that reads the same column for many tasks pays the XXH3 pass once.
_OPEN_FLAGS = L.SHMC_OPEN_NO_VERIFY


class _Handle:
    """Owns the C handle; freed (unmapped) when nothing refers to it any more.
    Kept apart from Segment so that no reference cycle delays the unmap until a
    cyclic GC pass: views -> memoryview -> ctypes array -> _Handle."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, src: str, flags: int, max_decoded: int | None = None):
        self.ptr = L.segment_open(src, flags, max_decoded)
        # Not at interpreter exit: module teardown may still touch arrays that
        # point into the mapping, and the OS unmaps at exit anyway.
        weakref.finalize(self, L.lib.shmc_segment_free, self.ptr).atexit = False


class Segment:
    __slots__ = ("_h", "handle", "src", "info", "columns", "buffer", "base", "size",
                 "_verified", "_chunk_cache", "lock", "verify", "__weakref__")

    def __init__(self, src: str, verify_all: bool = False, verify: bool = True,
                 max_decoded: int | None = None):
        # Views are checked once per process here; decodes check the very bytes they
        # decode in C (VERIFY_DECODES), so a change after a check is caught, not decoded.
        flags = _OPEN_FLAGS | (L.SHMC_OPEN_VERIFY_ALL if verify_all else 0) | \
            (L.SHMC_OPEN_VERIFY_DECODES if verify else 0)
        self._h = _Handle(src, flags, max_decoded)
        self.handle = self._h.ptr
        src = _opened_name(self.handle, src)  # a bare NAME resolved: "shm:NAME" or the path
        self.src = src
        # A C handle is not thread-safe; one SharedFrame may be used from threads.
        self.lock = threading.RLock()
        # verify=False trusts the stored bytes: no XXH3 pass before views/decodes.
        # Structural checks (index bounds, string offsets, exact decode sizes) stay.
        self.verify = bool(verify)
        self._verified: set[int] = set()
        self._chunk_cache: dict[int, L.shmc_chunk_info] = {}
        info = L.shmc_segment_info()
        L.lib.shmc_segment_info_get(self.handle, byref(info))
        self.info = info
        base, size = c_void_p(), c_size_t()
        L.lib.shmc_segment_data(self.handle, byref(base), byref(size))
        self.base, self.size = int(base.value or 0), int(size.value)
        raw = (ctypes.c_char * self.size).from_address(self.base)
        raw.keepalive = self._h  # see module docstring
        # PROT_READ mapping: the memoryview must say read-only too, so that numpy
        # refuses writes (and refuses to flip the WRITEABLE flag back on).
        self.buffer = memoryview(raw).cast("B").toreadonly()
        self.columns = [self._column_info(i) for i in range(info.ncolumns)]

    def _column_info(self, i: int) -> L.shmc_column_info:
        ci = L.shmc_column_info()
        L.lib.shmc_segment_column_info(self.handle, i, byref(ci))
        return ci

    def refresh_info(self) -> L.shmc_segment_info:
        """Owner state is computed at the call: re-read it."""
        info = L.shmc_segment_info()
        with self.lock:
            L.lib.shmc_segment_info_get(self.handle, byref(info))
        return info

    # ---- chunks ----------------------------------------------------------
    def chunk(self, cid: int) -> L.shmc_chunk_info:
        ck = self._chunk_cache.get(cid)
        if ck is None:
            ck = L.shmc_chunk_info()
            with self.lock:
                L.lib.shmc_segment_chunk_info(self.handle, cid, byref(ck))
            self._chunk_cache[cid] = ck
        return ck

    def rowgroup_chunks(self, column: int) -> dict[int, list[int]]:
        """{row group: chunk ids} of a column, read once from the index: plans and
        selections over many columns and row groups cost no C call per lookup."""
        key = ("rg", column)
        table = self._chunk_cache.get(key)
        if table is None:
            ci = self.columns[column]
            table = {}
            for cid in range(int(ci.first_chunk), int(ci.first_chunk + ci.nchunks)):
                ck = self.chunk(cid)
                if ck.column != column:
                    raise errors.CorruptSegmentError(
                        f"{self.src}: chunk {cid} belongs to column {ck.column}, not {column}")
                table.setdefault(int(ck.rowgroup), []).append(cid)
            self._chunk_cache[key] = table
        return table

    def find(self, column: int, rowgroup: int, role: int) -> int | None:
        """Chunk id of (column, row group, role), or None when that role is absent."""
        for cid in self.rowgroup_chunks(column).get(rowgroup, ()):
            if self.chunk(cid).role == role:
                return cid
        return None

    def verify_chunk(self, cid: int) -> None:
        if self.verify and cid not in self._verified:
            with self.lock:
                L.lib.shmc_segment_chunk_verify(self.handle, cid)
            self._verified.add(cid)

    def verify_chunks(self, cids) -> None:
        """Verify every not yet verified chunk of cids in one C call: large sets are
        hashed on several threads, and one call costs less than one per chunk.
        Compressed chunks are skipped: they are only ever decoded, and a decode checks
        the bytes it decodes (hashing them here too would be a second pass)."""
        if not self.verify:
            return
        todo = sorted(c for c in {int(c) for c in cids} - self._verified
                      if self.chunk(c).codec == L.SHMC_CODEC_NONE)
        if not todo:
            return
        if _CHUNKS_VERIFY is None:  # older library
            for c in todo:
                self.verify_chunk(c)
            return
        arr = (ctypes.c_uint32 * len(todo))(*todo)
        with self.lock:
            status = _CHUNKS_VERIFY(self.handle, arr, len(todo))
        if status != L.SHMC_OK:
            for c in todo:  # the per-chunk call raises with the library's detail
                self.verify_chunk(c)
        self._verified.update(todo)

    def raw_view(self, cid: int) -> memoryview | None:
        """Read-only zero-copy bytes of a raw chunk, None if it is compressed."""
        ck = self.chunk(cid)
        if ck.codec != L.SHMC_CODEC_NONE:
            return None
        self.verify_chunk(cid)
        ptr, n = c_void_p(), c_size_t()
        with self.lock:
            L.lib.shmc_segment_chunk_view(self.handle, cid, byref(ptr), byref(n))
        start = int(ptr.value or 0) - self.base if n.value else int(ck.offset)
        return self.buffer[start:start + int(n.value)]

    def decode_into(self, cid: int, dst: np.ndarray) -> None:
        """Decode one chunk straight into dst (a C-contiguous uint8 array of raw_len).
        With verify, the library hashes the stored bytes while it copies them out of
        the mapping and decodes that copy: what is decoded is what was checked, even
        if the shared bytes change meanwhile (a check made earlier could not say so)."""
        with self.lock:
            L.lib.shmc_segment_chunk_decode(self.handle, cid, dst.ctypes.data_as(c_void_p),
                                            dst.nbytes)

    def role_bytes(self, column: int, role: int, rowgroups: list[int]) -> np.ndarray | None:
        """uint8 array of one role of a column over the given row groups, in order.

        Zero-copy when every chunk is raw and they lie back to back in the mapping
        (always so for raw fixed-width columns); otherwise one allocation into which
        each chunk is decoded once. None when the column does not store that role."""
        cids = []
        for rg in rowgroups:
            cid = self.find(column, rg, role)
            if cid is None:
                return None
            cids.append(cid)
        if not cids:
            return np.empty(0, np.uint8)
        infos = [self.chunk(c) for c in cids]
        if all(ck.codec == L.SHMC_CODEC_NONE for ck in infos) and _adjacent(infos):
            for c in cids:
                self.verify_chunk(c)
            if len(cids) > 1 and len(cids) == self.columns[column].nrowgroups:
                return self._column_view(column, role)
            start = int(infos[0].offset)
            stop = int(infos[-1].offset + infos[-1].stored_len)
            if stop > self.size:  # the C index checks this; never trust it blindly here
                raise errors.CorruptSegmentError(
                    f"{self.src}: chunk {cids[-1]} ends at byte {stop} past the segment end "
                    f"{self.size}")
            return np.frombuffer(self.buffer, np.uint8, stop - start, start)
        total = sum(int(ck.raw_len) for ck in infos)
        out = np.empty(total, np.uint8)
        pos = 0
        for c, ck in zip(cids, infos):
            n = int(ck.raw_len)
            self.decode_into(c, out[pos:pos + n])  # a raw chunk: copied, hashed as copied
            pos += n
        return out

    def _column_view(self, column: int, role: int) -> np.ndarray:
        """The library's one view over every row group of a raw column."""
        ptr, n = c_void_p(), c_size_t()
        with self.lock:
            L.lib.shmc_segment_column_view(self.handle, column, role, byref(ptr), byref(n))
        start = int(ptr.value or 0) - self.base
        if not 0 <= start <= self.size - int(n.value):
            raise errors.CorruptSegmentError(f"{self.src}: column {column} view outside the mapping")
        return np.frombuffer(self.buffer, np.uint8, int(n.value), start)

    def string_rowgroup(self, column: int, rowgroup: int):
        """pyarrow large_string array of one row group of a string column, over the
        mapping (zero-copy when raw). Validated in full once per process: Arrow
        trusts offsets, and a hostile writer can make valid checksums."""
        key = ("str", column, rowgroup)
        arr = self._chunk_cache.get(key)
        if arr is None:
            import pyarrow as pa
            offsets = self.role_bytes(column, L.SHMC_ROLE_OFFSETS, [rowgroup])
            data = self.role_bytes(column, L.SHMC_ROLE_DATA, [rowgroup])
            validity = self.role_bytes(column, L.SHMC_ROLE_VALIDITY, [rowgroup])
            if offsets is None or data is None or len(offsets) % 8 or not len(offsets):
                raise errors.CorruptSegmentError(
                    f"{self.src}: column {column} row group {rowgroup}: string chunks missing "
                    f"or offsets of {0 if offsets is None else len(offsets)} bytes")
            n = len(offsets) // 8 - 1
            bufs = [None if validity is None else pa.py_buffer(validity),
                    pa.py_buffer(offsets), pa.py_buffer(data)]
            arr = pa.Array.from_buffers(pa.large_string(), n, bufs)
            try:
                arr.validate()  # buffer sizes: cheap
                # Arrow's full check decodes string by string (~8 ms per 500k strings);
                # the library's one-pass check is ~10x faster and stricter (it also
                # checks null slots), so only its failures go to Arrow for the verdict.
                if not _strings_ok(offsets, data):
                    arr.validate(full=True)
            except pa.ArrowInvalid as exc:
                raise errors.CorruptSegmentError(
                    f"{self.src}: column {column} row group {rowgroup}: invalid strings: {exc}"
                ) from None
            self._chunk_cache[key] = arr
        return arr

    def meta(self) -> bytes:
        ptr, n = c_void_p(), c_size_t()
        with self.lock:
            L.lib.shmc_segment_meta(self.handle, byref(ptr), byref(n))
        return ctypes.string_at(ptr.value, n.value) if n.value else b""

    def index_freq(self) -> str | None:
        """The row index's stored frequency string (checked by C at open), or None."""
        if "shmc_segment_index_freq" in L.MISSING:
            return None
        out = ctypes.c_char_p()
        with self.lock:
            L.lib.shmc_segment_index_freq(self.handle, byref(out))
        return out.value.decode("ascii") if out.value else None


def _strings_checker():
    fn = getattr(L.lib, "shmc_strings_check", None)  # absent in an older library
    if fn is not None:
        fn.argtypes = [c_void_p, c_size_t, c_void_p, c_size_t, ctypes.POINTER(c_size_t)]
        fn.restype = ctypes.c_int
    return fn


_STRINGS_CHECK = _strings_checker()


def _chunks_verifier():
    fn = getattr(L.lib, "shmc_segment_chunks_verify", None)  # absent in an older library
    if fn is not None:
        fn.argtypes = [c_void_p, ctypes.POINTER(ctypes.c_uint32), c_size_t]
        fn.restype = ctypes.c_int
    return fn


_CHUNKS_VERIFY = _chunks_verifier()


def _strings_ok(offsets: np.ndarray, data: np.ndarray) -> bool:
    """True when the C check accepts offsets/data as valid large_string buffers."""
    if _STRINGS_CHECK is None:
        return False
    bad = c_size_t()
    return _STRINGS_CHECK(offsets.ctypes.data, len(offsets) // 8, data.ctypes.data,
                          len(data), byref(bad)) == L.SHMC_OK


def _opened_name(handle, src: str) -> str:
    info = L.shmc_segment_info()
    L.lib.shmc_segment_info_get(handle, byref(info))
    return info.name.decode() if info.name else src


def _adjacent(infos) -> bool:
    for a, b in zip(infos, infos[1:]):
        if a.offset + a.stored_len != b.offset:
            return False
    return True

