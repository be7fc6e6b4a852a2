"""SharedFrame: a DataFrame shared read-only through one libshmchunk segment."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import weakref
from collections import OrderedDict
from ctypes import byref, c_uint32

import numpy as np
import pandas as pd

from . import _lib as L
from . import errors
from ._read import FrameReader, Selection
from ._segment import Segment
from ._write import build_frame

__all__ = ["SharedFrame", "share", "attach"]


# A pool worker unpickles a SharedFrame per task: keep the last few mappings so
# that the next task's attach costs a dict lookup, not shm_open + mmap + index parse.
_ATTACH_CACHE_SIZE = 8
_attached: "OrderedDict[tuple[str, int], tuple[Segment, int]]" = OrderedDict()
_attached_lock = threading.Lock()
_attached_pid = os.getpid()



# Kinds with a dictionary column: a categorical's categories, a sparse column's fill value.
_HAS_DICT = (L.SHMC_KIND_CATEGORICAL, L.SHMC_KIND_SPARSE)

def _inode(src: str) -> int | None:
    path = "/dev/shm/" + src[4:] if src.startswith("shm:") else src
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _cached_segment(src: str, identity: int | None, verify: bool = True) -> Segment:
    """Attach for an unpickled handle, reusing this process's mapping while the name
    still refers to the same object (one stat: ~1 us). Once the owner has unlinked
    it, the handle fails like any attach would, instead of reading a stale mapping."""
    global _attached_pid
    key = (src, identity, verify)
    with _attached_lock:
        if _attached_pid != os.getpid():  # forked: start afresh
            _attached.clear()
            _attached_pid = os.getpid()
        hit = _attached.get(key)
        if hit is not None:
            seg, ino = hit
            if ino is not None and _inode(src) == ino:
                _attached.move_to_end(key)
                return seg
            del _attached[key]
    before = _inode(src)
    seg = Segment(src, verify=verify)
    if identity is not None and int(seg.info.identity) != identity:
        raise errors.IdentityMismatchError(
            f"{src}: segment identity {int(seg.info.identity):#x} is not the shared frame's "
            f"{identity:#x} (the name was reused by another segment)")
    if before is not None and _inode(src) == before:  # no replacement raced the open
        with _attached_lock:
            _attached[(src, int(seg.info.identity), verify)] = (seg, before)
            while len(_attached) > _ATTACH_CACHE_SIZE:
                _attached.popitem(last=False)
    return seg


def detach_all() -> None:
    """Drop this process's cache of attached segments (views stay valid)."""
    with _attached_lock:
        _attached.clear()


def _unlink_if_owner(src: str, owner_pid: int) -> None:
    # Runs from close(), weakref.finalize (GC) and atexit; a forked child inherits
    # the finalizer but must leave the parent's segment alone.
    if os.getpid() != owner_pid:
        return
    try:
        L.lib.shmc_segment_unlink(src.encode())
    except errors.SegmentNotFoundError:
        pass


def _dest_for(name) -> str:
    """share()'s destination: "shm:NAME", a path (anything with a "/"), or a bare
    NAME meaning shm:NAME -- refused when a file NAME here makes it ambiguous."""
    if not isinstance(name, str):
        raise errors.InvalidNameError(f"name must be a str, not {type(name).__name__}")
    if name.startswith("shm:") or "/" in name:
        return name
    if os.path.lexists(name):
        raise errors.InvalidNameError(f"'{name}' is ambiguous: a file {name} exists here; "
                                      f"say shm:{name} or ./{name}")
    return "shm:" + name


class SharedFrame:
    """Handle on a shared DataFrame. The owner (made by share()) unlinks the segment
    on close, context exit, garbage collection and interpreter exit; attachers
    (attach(), unpickling) never unlink and never touch resource_tracker."""

    def __init__(self, seg: Segment, owner: bool = False, allow_pickle: bool = False):
        self._seg: Segment | None = seg
        self._src = seg.src
        self._identity = int(seg.info.identity)
        self.allow_pickle = allow_pickle
        self.verify_checksums = seg.verify
        self.owner = owner
        self._reader = FrameReader(seg, allow_pickle, writer=owner)
        self._finalizer = None
        self._attach_error = None
        if owner:
            self._finalizer = weakref.finalize(self, _unlink_if_owner, self._src, os.getpid())

    # ---- identity ----------------------------------------------------------
    @property
    def name(self) -> str:
        """"shm:NAME" for shared memory, else the file path: what attach(), the CLI
        and `shmchunk ls` take and print."""
        return self._src

    @property
    def closed(self) -> bool:
        return self._seg is None

    @classmethod
    def _unattached(cls, src: str, identity: int, allow_pickle: bool, verify: bool,
                    exc: BaseException) -> "SharedFrame":
        """A handle whose unpickling could not attach: unpickling never fails (a
        pool fetching its task would hang or break); its first use raises."""
        self = cls.__new__(cls)
        self._seg, self._src, self._identity = None, src, identity
        self.allow_pickle, self.verify_checksums, self.owner = allow_pickle, verify, False
        self._finalizer = None
        self._attach_error = _gone_error(src, exc)
        self._reader = _ClosedReader(self._attach_error)
        return self

    def _live(self) -> Segment:
        if self._seg is None:
            if self._attach_error is not None:
                raise self._attach_error
            raise errors.ClosedError(f"SharedFrame {self.name!r} is closed")
        return self._seg

    @property
    def nchunks(self) -> int:
        return int(self._live().info.nchunks)

    @property
    def nrows(self) -> int:
        return int(self._live().info.nrows)

    @property
    def nbytes(self) -> int:
        """Bytes of the segment (what the frame costs in shared memory)."""
        return int(self._live().info.total_size)

    @property
    def buffer_address(self) -> int:
        """Address of the mapping's first byte (for checks on Arrow buffers)."""
        return self._live().base

    @property
    def columns(self) -> pd.Index:
        self._live()
        return self._reader.columns_index(range(len(self._reader.data_cols)))

    @property
    def buffer(self) -> memoryview:
        """Read-only memoryview of the whole mapping (zero-copy views point into it)."""
        return self._live().buffer

    @property
    def shape(self) -> tuple[int, int]:
        self._live()
        return self.nrows, len(self._reader.data_cols)

    def __len__(self) -> int:
        return self.nrows

    def __repr__(self) -> str:
        if self._seg is None:
            return f"<SharedFrame {self.name!r} closed>"
        return (f"<SharedFrame {self.name!r} {self.nrows} rows x {len(self._reader.data_cols)} "
                f"columns, {self.nchunks} chunks, {self.nbytes} bytes"
                f"{', owner' if self.owner else ''}>")

    # ---- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        """Owner: unlink the name now. Everyone: forget the mapping; it is unmapped
        when the last array/Series read from it is gone."""
        if self._finalizer is not None:
            self._finalizer()  # idempotent; unlinks only in the owning pid
        self._seg = None
        self._reader = _CLOSED_READER  # it holds the segment too

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        # A few hundred bytes: the name and the identity. Unpickling attaches.
        return (_attach_pickled, (self._src, self._identity, self.allow_pickle,
                                  self.verify_checksums))

    def unlink(self) -> None:
        """Remove the name from shared memory (owner or not); mappings stay valid."""
        _unlink_if_owner(self._src, os.getpid())

    # ---- metadata ----------------------------------------------------------
    def info(self) -> dict:
        seg = self._live()
        si = seg.refresh_info()
        cols = []
        for i, ci in enumerate(seg.columns):
            cols.append({
                "id": i, "label": self._reader.label(ci.label),
                "kind": (L.lib.shmc_kind_name(ci.kind) or b"?").decode(),
                "dtype": (ci.dtype or b"").decode(), "flags": int(ci.flags),
                "index": bool(ci.flags & L.SHMC_COL_INDEX),
                "dictionary": bool(ci.flags & L.SHMC_COL_DICTIONARY),
                "tz": ci.tz.decode() if ci.tz else None, "nrows": int(ci.nrows),
                "first_chunk": int(ci.first_chunk), "nchunks": int(ci.nchunks),
                "raw_bytes": int(ci.raw_bytes), "stored_bytes": int(ci.stored_bytes),
                "null_count": int(ci.null_count),
                "arrow": ci.arrow.decode() if ci.arrow else None,
            })
        state = L.OWNER_STATE_NAMES.get(si.owner_state, "?")
        return {
            "name": self.name, "format_version": int(si.format_version), "nrows": int(si.nrows),
            "rows_per_chunk": int(si.rows_per_chunk), "nrowgroups": int(si.nrowgroups),
            "nchunks": int(si.nchunks), "total_size": int(si.total_size),
            "raw_bytes": int(si.raw_bytes), "stored_bytes": int(si.stored_bytes),
            "owner_pid": int(si.owner_pid), "owner_state": state,
            "creator_uid": int(si.creator_uid), "created_ns": int(si.created_ns),
            "identity": int(si.identity),
            # fstat of the descriptor mapped: where the bytes come from and whether they
            # were copied into private memory at attach (see README "Trust")
            "backend": L.BACKEND_NAMES.get(si.backend, "?"), "object_uid": int(si.object_uid),
            "object_mode": int(si.object_mode), "private_copy": bool(si.private_copy),
            # why pickles need allow_pickle=True here (None: the segment is provably yours)
            "untrusted_reason": self._reader.distrust, "columns": cols,
        }

    def chunk_info(self, chunk: int) -> dict:
        ck = self._live().chunk(chunk)
        return {"chunk": chunk, "column": int(ck.column), "rowgroup": int(ck.rowgroup),
                "role": L.ROLE_NAMES.get(ck.role, str(ck.role)),
                "codec": L.CODEC_NAMES.get(ck.codec, str(ck.codec)),
                "shuffle": bool(ck.shuffle), "offset": int(ck.offset),
                "stored_len": int(ck.stored_len), "raw_len": int(ck.raw_len),
                "row_start": int(ck.row_start), "nrows": int(ck.nrows)}

    # ---- selections ----------------------------------------------------------
    def _positions(self, columns) -> list[int]:
        """Data-column positions of the given labels (all when None)."""
        r = self._reader
        if columns is None:
            return list(range(len(r.data_cols)))
        if not isinstance(columns, (list, pd.Index, np.ndarray)):
            columns = [columns]  # one label (a tuple is one MultiIndex label)
        out = []
        for label in columns:
            hits = [p for p, x in enumerate(r.labels) if _same_label(x, label)]
            if not hits:
                raise KeyError(label)
            out += hits
        return out

    def _chunks_of_column(self, col: int, rowgroups) -> list[int]:
        seg = self._live()
        ci = seg.columns[col]
        table = seg.rowgroup_chunks(col)
        ids = [cid for rg in rowgroups for cid in table.get(rg, ())]
        if ids and ci.kind in _HAS_DICT and ci.dict_column != L.UINT32_MAX:
            dci = seg.columns[ci.dict_column]
            ids += range(int(dci.first_chunk), int(dci.first_chunk + dci.nchunks))
        return ids

    def chunk_ids(self, columns=None, rows=None) -> list[int]:
        """Chunk ids covering the given columns (labels) over the given rows."""
        sel = self._reader.rows_selection(rows)
        ids = []
        for p in self._positions(columns):
            ids += self._chunks_of_column(self._reader.data_cols[p], sel.rowgroups)
        return sorted(set(ids))

    def _chunk_cost(self, col: int, rg: int) -> int:
        seg = self._live()
        return sum(int(seg.chunk(c).raw_len) for c in seg.rowgroup_chunks(col).get(rg, ()))

    def plan(self, n_workers: int, by: str = "column") -> list[list[int]]:
        """Split the frame into n_workers lists of chunk ids for read(chunks=...).

        by="column": whole columns, about equal bytes per list (a list is empty when
        there are fewer columns than workers). by="rows": every column over about
        n_workers-th of the rows; each list is non-empty whenever the frame has at
        least n_workers rows. Lists follow row-group boundaries when there are at
        least n_workers row groups; otherwise a list is a PlanPart whose `.rows`
        (start, stop) cuts its row groups, and read()/pickle_bytes() honour it."""
        if n_workers < 1:
            raise errors.InvalidArgumentError("plan: n_workers must be >= 1")
        if by == "column":
            return self._plan_columns(n_workers)
        if by == "rows":
            return self._plan_rows(n_workers)
        raise errors.InvalidArgumentError(f"plan: by must be 'column' or 'rows', not {by!r}")

    def _plan_columns(self, n_workers: int) -> list[list[int]]:
        nrg = int(self._live().info.nrowgroups)
        parts: list[list[int]] = [[] for _ in range(n_workers)]
        loads = [0] * n_workers
        costs = sorted(((sum(self._chunk_cost(c, rg) for rg in range(nrg)), c)
                        for c in self._reader.data_cols), reverse=True)
        for cost, c in costs:  # longest-processing-time greedy
            w = loads.index(min(loads))
            loads[w] += cost
            parts[w] += self._chunks_of_column(c, range(nrg))
        return [sorted(set(p)) for p in parts]

    def _plan_rows(self, n_workers: int) -> list[list[int]]:
        info = self._live().info
        nrows, rpc, nrg = int(info.nrows), int(info.rows_per_chunk) or 1, int(info.nrowgroups)
        cuts = _row_cuts(nrows, rpc, nrg, n_workers)
        parts = []
        for start, stop in zip(cuts, cuts[1:]):
            if stop <= start:
                parts.append(PlanPart())
                continue
            rgs = range(start // rpc, (stop - 1) // rpc + 1)
            ids = sorted({i for c in self._reader.data_cols for i in self._chunks_of_column(c, rgs)})
            aligned = start % rpc == 0 and (stop % rpc == 0 or stop == nrows)
            parts.append(PlanPart(ids, None if aligned else (start, stop)))
        return parts

    def _chunks_selection(self, chunks) -> tuple[list[int], Selection]:
        """Data-column positions and row groups named by a list of chunk ids."""
        seg = self._live()
        r = self._reader
        pos_of = {c: p for p, c in enumerate(r.data_cols)}
        dict_owner = {int(ci.dict_column): i for i, ci in enumerate(seg.columns)
                      if ci.kind in _HAS_DICT}
        if not len(chunks):   # nothing selected: every column, no rows
            return list(range(len(r.data_cols))), Selection([], 0, 0)
        positions, rowgroups = set(), set()
        for cid in chunks:
            cid = int(cid)
            if not 0 <= cid < seg.info.nchunks:
                raise errors.OutOfRangeError(f"chunk id {cid} out of range 0..{seg.info.nchunks - 1}")
            ck = seg.chunk(cid)
            col = int(ck.column)
            if col in pos_of:
                positions.add(pos_of[col])
                rowgroups.add(int(ck.rowgroup))
            elif col in dict_owner and dict_owner[col] in pos_of:
                positions.add(pos_of[dict_owner[col]])
            # index chunks select nothing by themselves: the index comes with any row
        rows = getattr(chunks, "rows", None)
        if rows is None:
            return sorted(positions), Selection(sorted(rowgroups))
        sel = r.rows_selection(slice(*rows))
        if not set(sel.rowgroups) <= rowgroups:
            raise errors.InvalidArgumentError(
                f"plan part rows {tuple(rows)} reach row groups its chunks do not cover")
        return sorted(positions), sel

    # ---- reading -------------------------------------------------------------
    def read(self, chunks=None, columns=None, rows=None) -> pd.DataFrame:
        """DataFrame of a selection: either chunk ids (their columns x their row
        groups) or column labels and/or a row slice."""
        self._live()
        if chunks is not None:
            if columns is not None or rows is not None:
                raise errors.InvalidArgumentError("read: give chunks, or columns/rows, not both")
            positions, sel = self._chunks_selection(chunks)
        else:
            positions, sel = self._positions(columns), self._reader.rows_selection(rows)
        return _copy_on_write(self._reader.frame(positions, sel))

    def column(self, label, rows=None) -> pd.Series:
        """One column as a Series (zero-copy and read-only when stored raw)."""
        self._live()
        pos = self._positions([label])
        if len(pos) != 1:
            raise KeyError(f"{label!r} names {len(pos)} columns")
        r = self._reader
        sel = r.rows_selection(rows)
        r.verify_columns([r.data_cols[pos[0]]], sel)
        values = r.column_array(r.data_cols[pos[0]], sel)
        dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
        return _copy_on_write(pd.Series(values, index=r.index(sel), name=r.labels[pos[0]],
                                        dtype=dtype, copy=False))

    def to_pandas(self) -> pd.DataFrame:
        return self.read()

    def pickle_bytes(self, chunks=None, columns=None, rows=None, oob: bool = False):
        """The C pickle writer: a protocol-5 stream that pickle.loads turns into the
        selected DataFrame. oob=True returns (stream, buffers) with the arrays as
        zero-copy out-of-band buffers: pickle.loads(stream, buffers=buffers)."""
        seg = self._live()
        sel = L.shmc_selection()
        keep = []
        if getattr(chunks, "rows", None) is not None:   # a PlanPart cutting row groups
            positions, _ = self._chunks_selection(chunks)
            columns, rows = [self._reader.labels[p] for p in positions], slice(*chunks.rows)
            chunks = None
        if chunks is not None:
            arr = (c_uint32 * max(1, len(chunks)))(*[int(c) for c in chunks])
            keep.append(arr)
            sel.chunks, sel.nchunks = ctypes.cast(arr, ctypes.POINTER(c_uint32)), len(chunks)
        else:
            if columns is not None:
                ids = [self._reader.data_cols[p] for p in self._positions(columns)]
                arr = (c_uint32 * max(1, len(ids)))(*ids)
                keep.append(arr)
                sel.columns, sel.ncolumns = ctypes.cast(arr, ctypes.POINTER(c_uint32)), len(ids)
            if rows is not None:
                start, stop, _ = _row_bounds(rows, self.nrows)
                sel.row_start, sel.row_stop = start, stop
                if stop == 0:
                    sel.row_start, sel.row_stop = 0, 0  # C: row_stop 0 means nrows
                    if self.nrows:
                        raise errors.InvalidArgumentError("pickle_bytes: empty row selection")
        self._verify_for_writer(chunks, columns, rows)
        flags = L.SHMC_PICKLE_OOB if oob else 0
        if self._reader.trusted:
            flags |= L.SHMC_PICKLE_OBJECTS
        out = L.shmc_pickle_out()
        with seg.lock:
            L.lib.shmc_pickle_write(seg.handle, byref(sel), flags, byref(out))
        try:
            stream = ctypes.string_at(out.bytes, out.len)
            buffers = [self._oob_buffer(out.buffers[i]) for i in range(out.nbuffers)]
        finally:
            L.lib.shmc_pickle_out_free(byref(out))
        return (stream, buffers) if oob else stream

    def _verify_for_writer(self, chunks, columns, rows) -> None:
        """Our handle is opened with NO_VERIFY (views are checked once per process
        by Python), so the C writer would copy unchecked raw bytes: check every chunk
        it may read -- the selected columns, their dictionaries and the index -- first.
        (Compressed ones it decodes, and decodes check what they decode.)"""
        seg = self._live()
        r = self._reader
        if chunks is not None:
            positions, sel = self._chunks_selection(chunks)
        else:
            positions, sel = self._positions(columns), r.rows_selection(rows)
        cols = [r.data_cols[p] for p in positions] + r.index_cols
        ids = []
        for col in cols:
            ids += self._chunks_of_column(col, sel.rowgroups)
        seg.verify_chunks(ids)

    def _oob_buffer(self, b: L.shmc_oob_buffer):
        seg = self._live()
        start, n = int(b.offset), int(b.len)
        if b.kind == L.SHMC_OOB_SEGMENT:
            if start + n > seg.size:
                raise errors.CorruptSegmentError(f"out-of-band buffer past segment end: {start}+{n}")
            for cid in _chunks_spanning(seg, int(b.chunk), start, n):
                seg.verify_chunk(cid)
            return seg.buffer[start:start + n]
        ck = seg.chunk(int(b.chunk))
        raw = np.empty(int(ck.raw_len), np.uint8)
        seg.decode_into(int(b.chunk), raw)
        if start + n > raw.size:
            raise errors.CorruptSegmentError(f"out-of-band buffer past chunk {b.chunk} end")
        return memoryview(raw[start:start + n]).toreadonly()

    def verify(self) -> int:
        """Check every checksum and that every chunk decodes; raise the first error
        (its message lists every bad chunk). Returns the number of chunks checked."""
        seg = self._live()
        bad = []

        @L.BAD_CHUNK_FN
        def on_bad(_user, chunk, status, msg):
            bad.append((int(chunk), int(status), (msg or b"").decode("utf-8", "replace")))

        try:
            with seg.lock:
                L.lib.shmc_segment_verify(seg.handle, on_bad, None)
        except errors.ShmchunkError as exc:
            if not bad:
                raise
            lines = "; ".join(f"chunk {c}: {m}" for c, _s, m in bad)
            raise type(exc)(f"{self.name}: {len(bad)} bad chunk(s): {lines}", status=exc.status,
                            detail=exc.detail, function=exc.function) from None
        return self.nchunks


def _copy_on_write(obj):
    """Make pandas copy a column before its first in-place write (df.loc[m, c] = v,
    df.iloc[i, j] = v, fillna(inplace=True)...) instead of writing into read-only
    shared memory. Under copy-on-write (always on pandas 3; an option on 2.x)
    pandas writes in place only into values no other object references: each
    block's values are registered as one more referent, which lives exactly as
    long as the block, so the first write copies that block (one column) and the
    copy is the object's own from then on. Nothing is copied until then."""
    for blk in getattr(obj._mgr, "blocks", ()):
        refs = getattr(blk, "refs", None)
        if refs is not None and hasattr(refs, "add_index_reference"):
            refs.add_index_reference(blk.values)
    return obj


class _ClosedReader:
    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None):
        self.error = error

    def __getattr__(self, name):
        if self.error is not None:
            raise self.error
        raise errors.ClosedError("SharedFrame is closed")


_CLOSED_READER = _ClosedReader()


def _gone_error(src: str, exc: BaseException) -> BaseException:
    """The error a worker's first use of an unattachable handle raises: the same
    type, saying the likely cause and the remedy."""
    if isinstance(exc, errors.SegmentNotFoundError):
        why = ("its owner closed it, exited or was garbage-collected before this process "
               "attached. Keep the owner's SharedFrame open (e.g. inside `with share(df) as "
               "sf:`) until every worker's task has finished -- call r.get() / "
               "future.result() inside the with block")
    elif isinstance(exc, errors.IdentityMismatchError):
        why = ("the owner's segment was removed and the name now holds another one. Keep the "
               "owner's SharedFrame open until every worker's task has finished")
    else:
        why = "this process could not attach it"
    if not isinstance(exc, errors.ShmchunkError):
        return errors.ShmchunkError(f"{src}: cannot use the shared frame: {why}: {exc}")
    return type(exc)(f"{src}: the shared frame is gone: {why} ({exc})", status=exc.status,
                     detail=exc.detail, function=exc.function)


def _chunks_spanning(seg: Segment, first: int, start: int, n: int):
    cid = first
    while cid < seg.info.nchunks:
        ck = seg.chunk(cid)
        if ck.offset >= start + n:
            break
        yield cid
        cid += 1


def _same_label(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1, but not as a label
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable labels are simply different
        return False


def _row_bounds(rows, nrows):
    if isinstance(rows, range):
        rows = slice(rows.start, rows.stop, rows.step)
    if isinstance(rows, tuple):
        rows = slice(*rows)
    return rows.indices(nrows)


class PlanPart(list):
    """Chunk ids of one worker's share of a plan; `rows` (start, stop), when not
    None, narrows their row groups to those rows (read() and pickle_bytes() honour
    it). Pickles as the ids and the pair."""

    def __init__(self, ids=(), rows=None):
        super().__init__(ids)
        self.rows = None if rows is None else (int(rows[0]), int(rows[1]))

    def __reduce__(self):
        return (PlanPart, (list(self), self.rows))

    def __repr__(self):
        return f"PlanPart({list.__repr__(self)}, rows={self.rows})"


def _row_cuts(nrows: int, rpc: int, nrg: int, n: int) -> list[int]:
    """n + 1 row boundaries, about nrows / n apart; on row-group boundaries when
    there are at least n row groups, so that no row group is split."""
    exact = [k * nrows // n for k in range(n + 1)]
    if nrg < n:
        return exact
    snapped = [0]
    for k in range(1, n):
        lo = snapped[-1] // rpc + 1            # at least one row group per part so far
        hi = nrg - (n - k)                     # and leave one for each part to come
        rg = min(max(round(exact[k] / rpc), lo), hi)
        snapped.append(rg * rpc)
    return snapped + [nrows]


def _attach_pickled(src: str, identity: int, allow_pickle: bool,
                    verify: bool = True) -> SharedFrame:
    try:
        seg = _cached_segment(src, identity, verify)
    except Exception as exc:  # noqa: BLE001 - raised at the handle's first use instead
        return SharedFrame._unattached(src, identity, allow_pickle, verify, exc)
    return SharedFrame(seg, owner=False, allow_pickle=allow_pickle)


def attach(name: str, allow_pickle: bool = False, verify: bool = True,
           max_decoded: int | None = None) -> SharedFrame:
    """Attach to a segment: "shm:NAME" (shared memory) or a file path; a bare NAME
    is whichever of shm:NAME and ./NAME exists (both: InvalidNameError). The same
    rule as the CLI's. Never unlinks.

    verify=False skips the XXH3 check of each chunk before its first view or decode
    in this process (see share()).

    max_decoded caps the total decoded size of the segment's chunks (bytes): a segment
    claiming more raises LimitError naming the chunk and sizes. None: the library's
    default, max(1 GiB, 1024 x the segment's size); a huge int (2**64-1) lifts it."""
    if not isinstance(name, (str, os.PathLike)):
        raise errors.InvalidNameError(
            f"attach: name must be 'shm:NAME' or a path (str), not {type(name).__name__}")
    return SharedFrame(Segment(os.fspath(name), verify=verify, max_decoded=max_decoded),
                       owner=False, allow_pickle=allow_pickle)


# Called with (stage, name) at each step of share() when set; tests use it to
# interrupt share() at every point ("written" is right after the C write returned).
_share_hook = None

_ZSTD_LEVELS = range(1, 23)   # what zstd accepts; the CLI's --zstd=LEVEL says the same


def _stage(stage: str, name: str | None) -> None:
    if _share_hook is not None:
        _share_hook(stage, name)


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
_POLL_S = 0.02


class _Write:
    """The C write on a thread of its own, so that the calling thread stays where
    Python handles signals: a Ctrl-C there sets `stop`, which C polls before each
    ~64 MB batch (it then removes its half-written segment and returns
    SHMC_ERR_CANCELLED); the interrupt is re-raised once the writer has stopped.
    An interrupt may even land inside Thread.start(): `state` tells whether the
    writer got going (then it is waited for) or never will ("abandoned")."""

    def __init__(self, fb, dest, opts, written):
        self.stop = False
        self.error: BaseException | None = None
        self.state = "new"            # -> "writing" (writer) or "abandoned" (caller)
        self.lock = threading.Lock()
        self.done = threading.Event()
        opts.cancel = L.CANCEL_FN(self._poll)  # runs on the writer thread: no signals there
        self._args = (fb, dest, opts, written)

    def _poll(self, _user) -> int:
        try:
            _stage("writing", None)
        except BaseException:  # noqa: BLE001 - a hook failure stops the write too
            return 1
        return 1 if self.stop else 0

    def _run(self) -> None:
        fb, dest, opts, written = self._args
        try:
            # Ctrl-C goes to the calling thread (and not to this one or the C
            # compression threads it starts, which inherit the mask).
            signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
            with self.lock:
                if self.state == "abandoned":
                    return
                self.state = "writing"
            fb.write(dest, opts, written)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self.error = exc
        finally:
            self.done.set()

    def run(self) -> None:
        t = threading.Thread(target=self._run, name="shmchunk-write", daemon=True)
        try:
            t.start()
            while not self.done.wait(_POLL_S):  # wakes to run signal handlers
                pass
        except BaseException:
            self.stop = True
            with self.lock:
                started = self.state != "new"
                self.state = "abandoned" if not started else self.state
            if started:
                _wait_uninterrupted(self.done)
            raise
        if self.error is not None:
            raise self.error


def _wait_uninterrupted(done: threading.Event) -> None:
    """Wait for the writer even through more Ctrl-C: it stops within one batch."""
    while not done.is_set():
        try:
            done.wait(_POLL_S)
        except BaseException:  # noqa: BLE001 - the first interrupt is being raised
            pass


def default_rows_per_chunk(nrows: int, cores: int | None = None) -> int:
    """Rows per row group when share() is not told: 1 << 20, halved (down to
    1 << 16) until the frame has at least two row groups per core, so that a
    plan(n, by="rows") for the machine's cores finds whole row groups to hand out."""
    want = 2 * max(1, cores or os.cpu_count() or 1)
    rpc = 1 << 20
    while rpc > 1 << 16 and -(-nrows // rpc) < want:
        rpc >>= 1
    return rpc


def _check_share_args(df, compression, level, rows_per_chunk) -> None:
    if not isinstance(df, pd.DataFrame):
        raise errors.InvalidArgumentError(f"share: need a DataFrame, got {type(df).__name__}")
    if compression not in (None, "zstd"):
        raise errors.InvalidArgumentError(f"compression must be None or 'zstd': {compression!r}")
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) \
            or int(level) not in _ZSTD_LEVELS:
        raise errors.InvalidArgumentError(f"level must be an int in 1..22 (zstd), not {level!r}")
    if rows_per_chunk is not None and rows_per_chunk < 1:
        raise errors.InvalidArgumentError("rows_per_chunk must be >= 1")


def share(df: pd.DataFrame, compression: str | None = None, level: int = 1, shuffle: bool = True,
          rows_per_chunk: int | None = None, name: str | None = None, threads: int = 0,
          allow_pickle: bool = False, verify: bool = True) -> SharedFrame:
    """Write df once into a new segment owned by this process; returns the owner handle.

    name: "shm:NAME" for shared memory (default: an unguessable one), anything else
    is a file path; a bare NAME (no "/") still means shared memory. allow_pickle
    travels with pickled handles: set it only if workers of other users should
    unpickle this frame's object columns. level: zstd level 1..22 (with
    compression="zstd"). rows_per_chunk: rows per row group; by default 1 << 20,
    smaller for frames with fewer than two row groups per core (default_rows_per_chunk).

    verify (travels with pickled handles too): True checks each chunk's XXH3 in each
    process before its first view or decode, so bytes changed after sealing raise
    ChecksumError; that pass reads every byte once (about 2 ms per 16 MB column
    here). False trusts the segment and makes a raw column's first read cost about
    what a repeat read costs; malformed structure (offsets, sizes, string buffers)
    is still refused. sf.verify() checks the whole segment on demand either way.

    An exception at any point (Ctrl-C included, which stops even a multi-GB write
    within one ~64 MB batch) leaves nothing behind."""
    _check_share_args(df, compression, level, rows_per_chunk)
    if rows_per_chunk is None:
        rows_per_chunk = default_rows_per_chunk(len(df))
    dest = _dest_for(name) if name is not None else None
    opts = L.write_opts(rows_per_chunk=rows_per_chunk,
                        codec=L.SHMC_CODEC_ZSTD if compression else L.SHMC_CODEC_NONE,
                        level=int(level), shuffle=1 if shuffle else 0, threads=threads,
                        flags=L.SHMC_WRITE_OWNED)
    written = ctypes.create_string_buffer(L.NAME_CAP)  # filled by C once the segment exists
    try:
        return _share_steps(df, dest, opts, written, allow_pickle, verify)
    except BaseException as exc:
        if written.value:
            _unlink_if_owner(written.value.decode(), os.getpid())
        if isinstance(exc, errors.NoSpaceError):
            raise _no_space(exc, dest) from None
        raise


def _no_space(exc: errors.NoSpaceError, dest: str | None) -> errors.NoSpaceError:
    """NoSpaceError saying how much room there was and what to do about it."""
    where = "/dev/shm" if dest is None or dest.startswith("shm:") else \
        os.path.dirname(os.path.abspath(dest))
    try:
        st = os.statvfs(where)
        room = (f"{where} has {st.f_bavail * st.f_frsize / 2**20:,.0f} MiB free of "
                f"{st.f_blocks * st.f_frsize / 2**20:,.0f} MiB")
    except OSError:
        room = f"{where}: free space unknown"
    return errors.NoSpaceError(
        f"{exc}; {room}. Remedies: compression=\"zstd\"; share fewer columns or rows; remove "
        f"segments you no longer need (shmchunk ls / shmchunk gc); a file path as name= on a "
        f"bigger file system; in Docker, a bigger /dev/shm (docker run --shm-size=8g)",
        status=exc.status, detail=exc.detail, function=exc.function)


def _share_steps(df, dest, opts, written, allow_pickle, verify) -> SharedFrame:
    fb = build_frame(df, int(opts.rows_per_chunk))
    try:
        _stage("built", None)
        _Write(fb, dest, opts, written).run()
    finally:
        fb.free()
    src = written.value.decode()
    _stage("written", src)
    seg = Segment(src, verify=verify)
    _stage("attached", src)
    sf = SharedFrame(seg, owner=True, allow_pickle=allow_pickle)
    _stage("owned", src)
    return sf
