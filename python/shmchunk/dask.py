"""shmchunk.dask: one copy of a shared frame per host under Dask distributed.

Why: with Dask every worker process otherwise holds its own copy of a big read-only
frame (scatter(broadcast=True), or the frame passed to every task). Here a *host* is a
shared-memory namespace -- the processes that see one /dev/shm -- and holds one
segment that all its workers map read-only:

* the client's host uses the original segment (a LocalCluster makes no copy);
* every other host gets one copy at share() time, pushed by the client over Dask's
  own comms (client.run) in pieces of PIECE_BYTES, each checked with XXH3 on arrival
  (a bad piece is refused and sent again), written under a temporary name that is
  also the host-wide lock (O_EXCL + flock), then every chunk checksum verified and the
  copy published under its final name with link(2);
* a host that joins later (or lost its copy) pulls one on the first read in a task:
  the reading worker takes the same lock and fetches the same pieces from a worker of
  a host that holds the frame (worker-to-worker `run` RPC); other readers there wait;
* a copy's header names the worker's *nanny* as owner (pid + start time), so it
  outlives worker restarts, `shmchunk gc` on that host removes it once the nanny is
  gone, and a nanny plugin removes the nanny's copies when the nanny closes.

A copy differs from the original only in its owner fields, flags and header checksum;
a handle accepts a segment whose other header bytes (sizes, index checksum -- which
covers every chunk checksum --, creation time, uid) equal the original's, and raises
IdentityMismatchError for any other frame found under the name.

`import shmchunk` never imports this module (it needs distributed).
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import struct
import threading
import time
import uuid
import weakref

import distributed

from . import _lib as L
from . import errors
from .frame import SharedFrame, _cached_segment, share as _share_frame

__all__ = ["share", "DaskSharedFrame", "host_id"]

PIECE_BYTES = 8 << 20    # per message
PIECES_IN_FLIGHT = 3      # per host: at most 24 MB of the frame in flight
SHM_DIR = "/dev/shm"
COPY_PREFIX = "shmchunk-dask-"
_PART_SUFFIX = "-part"
_PLUGIN_NAME = "shmchunk-dask-copies"
_STATE_KEY = "shmchunk-dask"   # scheduler metadata [_STATE_KEY, token]: "open" | "closed"
EVENT_TOPIC = "shmchunk-dask"  # worker events: one per copy a worker pulled

# Header layout (lib/FORMAT.md section 2); a copy rewrites only these fields.
_HDR = 128
_FLAGS, _OWNER_PID, _OWNER_START, _HDR_XXH3, _SEALED = 16, 24, 32, 88, 120
_FLAG_OWNED = 1
# Bytes a copy may change: flags + reserved0 + owner pid/start, and header_xxh3.
_MUTABLE = ((_FLAGS, _OWNER_START + 8), (_HDR_XXH3, _HDR_XXH3 + 8))


# ---- host identity ---------------------------------------------------------------
def host_id() -> str:
    """Identity of this process's shared-memory namespace: the machine's boot id plus
    the device and inode of /dev/shm. Two containers with separate /dev/shm are two
    hosts; processes sharing one /dev/shm are one host; worker restarts keep it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        boot = "noboot"
    st = os.stat(SHM_DIR)
    return f"{boot}:{st.st_dev:x}:{st.st_ino:x}"


def _start_time(pid: int) -> int:
    """Start time of pid in clock ticks after boot (/proc/PID/stat field 22), 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    return int(stat[stat.rindex(b")") + 2:].split()[19])


def _owner_alive(pid: int, start: int) -> bool:
    return pid > 0 and _start_time(pid) == start


# ---- header helpers ----------------------------------------------------------------
def _masked(header: bytes) -> bytes:
    """The header bytes a verified copy shares with its original."""
    b = bytearray(header[:_HDR])
    for lo, hi in _MUTABLE:
        b[lo:hi] = bytes(hi - lo)
    return bytes(b)


def _header_hash(header: bytes) -> int:
    b = bytearray(header[:_HDR])
    b[_HDR_XXH3:_HDR_XXH3 + 8] = bytes(8)
    b[_SEALED:_SEALED + 8] = bytes(8)
    return _hash(bytes(b))


def _hash(data) -> int:
    return int(L.lib.shmc_hash64(data, len(data)))


def _copy_header(orig: bytes, owner_pid: int, owner_start: int) -> bytes:
    """The original's header with this host's owner; header_xxh3 recomputed."""
    b = bytearray(orig[:_HDR])
    flags = struct.unpack_from("<I", b, _FLAGS)[0] | _FLAG_OWNED
    struct.pack_into("<I", b, _FLAGS, flags)
    struct.pack_into("<qQ", b, _OWNER_PID, owner_pid, owner_start)
    struct.pack_into("<Q", b, _HDR_XXH3, _header_hash(bytes(b)))
    return bytes(b)


def _read_header(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(_HDR)
    except OSError:
        return None


# ---- worker side: receiving a copy ------------------------------------------------
_writes: dict[str, tuple[int, bytes]] = {}   # part name -> (fd, final header)
_writes_lock = threading.Lock()


def _copy_owner(worker) -> tuple[int, int]:
    """Owner of copies made by this worker: its nanny, the parent process that
    outlives worker restarts; the worker itself when it runs without one."""
    pid = os.getppid() if worker is not None and worker.nanny else os.getpid()
    return pid, _start_time(pid)


def _copy_begin(copy_name: str, orig_header: bytes, total: int, dask_worker=None) -> str:
    """Start receiving a copy: "exists" (done already), "busy" (another process of
    this host is writing it; wait) or "ready" (we hold the lock; send the pieces)."""
    final = os.path.join(SHM_DIR, copy_name)
    if _check_copy(final, orig_header) is not None:
        return "exists"
    part = final + _PART_SUFFIX
    for _ in range(3):
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if _part_in_progress(part):
                return "busy"
            _unlink_quiet(part)   # its writer died mid-copy
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            header = _copy_header(orig_header, *_copy_owner(dask_worker))
            os.pwrite(fd, header[:_SEALED], 0)   # provisional: unsealed, owner named
            os.posix_fallocate(fd, 0, total)
        except BaseException:
            os.close(fd)
            _unlink_quiet(part)
            raise
        with _writes_lock:
            _writes[copy_name] = (fd, header)
        return "ready"
    return "busy"


def _part_in_progress(part: str) -> bool:
    try:
        fd = os.open(part, os.O_RDONLY)
    except FileNotFoundError:
        return True  # just published or removed: look again
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _copy_piece(copy_name: str, offset: int, data: bytes, xxh3: int) -> bool:
    """Write one piece; False (send it again) when its checksum does not match."""
    if _hash(data) != xxh3:
        return False
    fd, _ = _writes[copy_name]
    if offset < _HDR:  # the header goes in last
        data, offset = data[_HDR - offset:], _HDR
    os.pwrite(fd, data, offset)
    return True


def _copy_finish(copy_name: str, orig_header: bytes) -> str:
    """Seal, verify every checksum, publish under the final name; the part is removed
    on any failure (never published)."""
    with _writes_lock:
        fd, header = _writes.pop(copy_name)
    final = os.path.join(SHM_DIR, copy_name)
    part = final + _PART_SUFFIX
    try:
        os.pwrite(fd, header[:_SEALED], 0)
        os.pwrite(fd, header[_SEALED:], _SEALED)  # the sealed marker last
        sf = SharedFrame(_open_uncached("shm:" + copy_name + _PART_SUFFIX), owner=False)
        sf.verify()
        if _masked(bytes(sf.buffer[:_HDR])) != _masked(orig_header):
            raise errors.IdentityMismatchError(f"{part}: header differs from the original's")
        sf.close()
        try:
            os.link(part, final)
        except FileExistsError:
            if _check_copy(final, orig_header) is None:
                raise
        return "published"
    finally:
        _unlink_quiet(part)
        os.close(fd)


def _copy_abort(copy_name: str) -> None:
    with _writes_lock:
        fd, _ = _writes.pop(copy_name, (None, None))
    if fd is not None:
        _unlink_quiet(os.path.join(SHM_DIR, copy_name + _PART_SUFFIX))
        os.close(fd)


def _open_uncached(src: str):
    from ._segment import Segment
    return Segment(src, verify=True)


def _check_copy(path: str, orig_header: bytes) -> bytes | None:
    """Header of the published copy at path; None if absent; IdentityMismatchError when
    another frame sits under the name."""
    header = _read_header(path)
    if header is None:
        return None
    if _masked(header) != _masked(orig_header):
        raise errors.IdentityMismatchError(
            f"{path}: not a copy of the shared frame (another frame under a reused name)")
    return header


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---- worker side: pulling a copy (a host without one) ------------------------------
def _source_state(src: str, copy_name: str, orig_header: bytes) -> tuple[str, int] | None:
    """On a worker: (path, size) of a published segment of this host holding the frame
    (the original or a copy), None when this host has neither."""
    paths = [os.path.join(SHM_DIR, copy_name)]
    if src.startswith("shm:"):
        paths.insert(0, os.path.join(SHM_DIR, src[4:]))
    for path in paths:
        try:
            if _check_copy(path, orig_header) is not None:
                return path, os.stat(path).st_size
        except (errors.IdentityMismatchError, OSError):
            continue
    return None


def _read_piece(path: str, offset: int, length: int) -> tuple[bytes, int]:
    """On the source worker: one piece and its XXH3 (checked again on arrival)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, length, offset)
    finally:
        os.close(fd)
    return data, _hash(data)


async def _rpc_run(worker, addr: str, fn, *args):
    """fn(*args) on the worker at addr through its `run` handler (what client.run
    uses), straight from this worker."""
    from distributed.core import clean_exception
    from distributed.protocol import pickle
    resp = await worker.rpc(addr).run(function=pickle.dumps(fn), args=pickle.dumps(args))
    if resp.get("status") != "OK":
        raise clean_exception(**resp)[1]
    return resp["result"]


async def _find_source(worker, h: "DaskSharedFrame"):
    """(address, path, size) of a worker whose host holds the frame, or None."""
    ident = await worker.scheduler.identity()
    addrs = sorted(a for a in ident["workers"] if a != worker.address)

    async def ask(addr):
        return await asyncio.wait_for(
            _rpc_run(worker, addr, _source_state, h._src, h.copy_name, h._header), 30)

    found = await asyncio.gather(*(ask(a) for a in addrs), return_exceptions=True)
    for addr, state in zip(addrs, found):
        if isinstance(state, tuple):
            return (addr, *state)
    return None


async def _share_state(worker, token: str):
    return await worker.scheduler.get_metadata(keys=[_STATE_KEY, token], default=None)


def _this_worker():
    try:
        return distributed.get_worker()
    except ValueError:
        return None


def _pull_copy(h: "DaskSharedFrame") -> None:
    """Make this host's copy in a task: take the host-wide lock (_copy_begin), fetch
    the pieces from a worker that holds the frame, verify, publish (_copy_finish).
    Returns at once when another process of this host has the lock or the copy."""
    worker = _this_worker()
    where = f"{os.path.join(SHM_DIR, h.copy_name)}: no copy of shared frame {h.name!r} on this host ({_host()})"
    if worker is None or distributed.utils.in_async_call(worker.loop):
        raise errors.SegmentNotFoundError(
            f"{where}; a host's first read must run in a task (not client.run or outside "
            f"a worker), or call h.replicate() first")

    def call(fn, *args):
        return distributed.utils.sync(worker.loop, fn, *args)

    if call(_share_state, worker, h._token) != "open":
        raise errors.ClosedError(f"{where}; the handle was closed (or not made by share())")
    gc_orphans()
    source = call(_find_source, worker, h)
    if source is None:
        raise errors.SegmentNotFoundError(f"{where}; no worker of the cluster holds it to copy from")
    addr, path, size = source
    if _copy_begin(h.copy_name, h._header, size, worker) != "ready":
        return
    t0 = time.monotonic()
    try:
        _in_flight(size, lambda off: _pull_piece(call, worker, addr, h.copy_name, path, off,
                                                 min(PIECE_BYTES, size - off)))
        _copy_finish(h.copy_name, h._header)
    except BaseException:
        _copy_abort(h.copy_name)
        raise
    if call(_share_state, worker, h._token) != "open":   # closed while we copied
        _drop_copy(h.copy_name, h._header, h._src)
        raise errors.ClosedError(f"{where}; the handle was closed during the copy")
    worker.loop.add_callback(worker.log_event, EVENT_TOPIC, {
        "action": "pulled", "copy": h.copy_name, "host": _host(), "from": addr,
        "bytes": size, "seconds": round(time.monotonic() - t0, 3)})


def _pull_piece(call, worker, addr, copy_name, path, off, length, tries: int = 3) -> None:
    for _ in range(tries):
        data, xxh3 = call(_rpc_run, worker, addr, _read_piece, path, off, length)
        if _copy_piece(copy_name, off, data, xxh3):
            return
    raise errors.ChecksumError(f"{copy_name}: piece at byte {off} from {addr} arrived corrupt {tries} times")


# ---- worker side: housekeeping ------------------------------------------------------
def _host_info() -> tuple[str, int]:
    return _host(), os.getpid()


def _drop_copy(copy_name: str, orig_header: bytes, src: str = "") -> bool:
    """Remove this host's copy (only if it is a copy of this frame) and forget it here:
    this process's cached mappings of the copy and the original go too, so the
    shared memory is freed once no task holds a view (an unlinked tmpfs file keeps
    its pages while mapped)."""
    _forget(copy_name)
    _uncache(["shm:" + copy_name, src])
    path = os.path.join(SHM_DIR, copy_name)
    try:
        if _check_copy(path, orig_header) is None:
            return False
    except errors.IdentityMismatchError:
        return False
    _unlink_quiet(path)
    return True


def gc_orphans() -> list[str]:
    """Remove this host's shmchunk.dask copies (and unfinished parts) whose owner is
    gone; what `shmchunk gc` does, limited to copies. Runs on every worker at share()."""
    removed = []
    for name in _copy_names():
        path = os.path.join(SHM_DIR, name)
        header = _read_header(path)
        if header is None or len(header) < _HDR:
            continue
        flags, = struct.unpack_from("<I", header, _FLAGS)
        pid, start = struct.unpack_from("<qQ", header, _OWNER_PID)
        if flags & _FLAG_OWNED and not _owner_alive(pid, start):
            if name.endswith(_PART_SUFFIX) and _part_in_progress(path):
                continue
            _unlink_quiet(path)
            removed.append(name)
    return removed


def _copy_names() -> list[str]:
    try:
        return [n for n in os.listdir(SHM_DIR) if n.startswith(COPY_PREFIX)]
    except OSError:
        return []


class CopyOwnerPlugin(distributed.NannyPlugin):
    """Removes the copies a nanny owns when the nanny closes (cluster shutdown,
    scale-down). Worker restarts do not close the nanny, so copies survive them."""

    name = _PLUGIN_NAME
    idempotent = True

    def setup(self, nanny):
        pass

    def teardown(self, nanny):
        me = os.getpid()
        for name in _copy_names():
            header = _read_header(os.path.join(SHM_DIR, name))
            if header and len(header) >= _HDR and struct.unpack_from("<q", header, _OWNER_PID)[0] == me:
                _unlink_quiet(os.path.join(SHM_DIR, name))


class PageReleasePlugin(distributed.WorkerPlugin):
    """After each task, drop this worker's page-table entries for the shared segments
    it has mapped (madvise MADV_DONTNEED on a MAP_SHARED tmpfs mapping: the data stays
    in /dev/shm; the next read faults the pages back in). Dask's memory monitor counts
    touched shared pages in a worker's RSS; without this a worker that has read much of
    a big frame looks full and is spilled, paused and restarted for nothing."""

    name = "shmchunk-dask-release-pages"
    idempotent = True

    def transition(self, key, start, finish, *args, **kwargs):
        if start == "executing":
            release_pages()


def release_pages() -> int:
    """Drop this process's resident mappings of attached segments; bytes advised."""
    import ctypes
    from . import frame as _frame
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with _frame._attached_lock:
        segs = [seg for seg, _ino in _frame._attached.values()]
    done = 0
    for seg in segs:
        if seg.base and seg.size and libc.madvise(seg.base, seg.size, 4) == 0:  # MADV_DONTNEED
            done += seg.size
    return done


# ---- the handle ---------------------------------------------------------------------
_frames: dict[str, SharedFrame] = {}   # per process: src|copy name -> attached frame
_frames_lock = threading.Lock()


def _forget(copy_name: str) -> None:
    with _frames_lock:
        for key in [k for k in _frames if k.endswith("|" + copy_name)]:
            del _frames[key]


def _uncache(srcs) -> None:
    from . import frame as _frame
    with _frame._attached_lock:
        for key in [k for k in _frame._attached if k[0] in srcs]:
            del _frame._attached[key]


_host_cache: tuple[int, str] | None = None


def _host() -> str:
    """host_id(), computed once per process (a process does not change namespace)."""
    global _host_cache
    if _host_cache is None or _host_cache[0] != os.getpid():
        _host_cache = (os.getpid(), host_id())
    return _host_cache[1]


class DaskSharedFrame:
    """Handle on a frame shared with a Dask cluster: pickles to a few hundred bytes;
    in any process it reads this host's segment (the original on the client's host,
    the verified copy elsewhere). read/column/chunk_ids/plan/columns/nrows behave as
    on a SharedFrame. The client's handle removes every copy on close(), on leaving
    `with`, on garbage collection and on client.close()."""

    def __init__(self, src, origin_host, identity, header, allow_pickle, verify, token=""):
        self._src = src
        self._token = token              # share()'s state on the scheduler (pulls ask it)
        self._origin_host = origin_host
        self._identity = identity
        self._header = header            # the original's 128 header bytes
        self.allow_pickle = allow_pickle
        self.verify_checksums = verify
        self._finalizer = None
        self._client_ref = None
        self._streams: list[threading.Thread] = []   # share(wait=False) copies

    @property
    def copy_name(self) -> str:
        """Name of the copy on hosts other than the client's."""
        return f"{COPY_PREFIX}{os.getuid()}-{self._identity:016x}"

    @property
    def name(self) -> str:
        """Name of the original segment (on the client's host)."""
        return self._src[4:] if self._src.startswith("shm:") else self._src

    def __reduce__(self):
        return (DaskSharedFrame, (self._src, self._origin_host, self._identity, self._header,
                                  self.allow_pickle, self.verify_checksums, self._token))

    def __repr__(self):
        return f"<DaskSharedFrame {self.name!r} identity {self._identity:#x}>"

    # ---- this process's frame ------------------------------------------------------
    def frame(self) -> SharedFrame:
        """This host's segment as a SharedFrame (attached once per process; a name
        replaced since is noticed by its inode)."""
        if _host() == self._origin_host:
            seg = _cached_segment(self._src, self._identity, self.verify_checksums)
        else:
            seg = self._copy_segment()
        key = self._src + "|" + self.copy_name
        with _frames_lock:
            sf = _frames.get(key)
        if sf is None or sf._seg is not seg:
            sf = SharedFrame(seg, owner=False, allow_pickle=self.allow_pickle)
            with _frames_lock:
                _frames[key] = sf
        return sf

    def _copy_segment(self):
        path = os.path.join(SHM_DIR, self.copy_name)
        part = path + _PART_SUFFIX
        while not os.path.exists(path):
            if os.path.exists(part) and _part_in_progress(part):
                # Another process or thread of this host is writing the copy (it holds
                # the part's flock): wait for it; a dead writer releases the lock.
                if self.copy_name in _writes and _on_a_loop():
                    raise errors.SegmentNotFoundError(
                        f"{path}: this process is receiving the copy; read it in a task, "
                        f"not on the worker's event loop (client.run)")
                time.sleep(0.05)
            else:
                _pull_copy(self)   # a host without a copy: this reader makes it
        seg = _cached_segment("shm:" + self.copy_name, None, self.verify_checksums)
        if _masked(bytes(seg.buffer[:_HDR])) != _masked(self._header):
            raise errors.IdentityMismatchError(
                f"{path}: segment is not a copy of shared frame {self.name!r} "
                f"(identity {self._identity:#x}): the name was reused by another frame")
        return seg

    # ---- SharedFrame API --------------------------------------------------------------
    def read(self, chunks=None, columns=None, rows=None):
        return self.frame().read(chunks=chunks, columns=columns, rows=rows)

    def column(self, label, rows=None):
        return self.frame().column(label, rows=rows)

    def chunk_ids(self, columns=None, rows=None):
        return self.frame().chunk_ids(columns=columns, rows=rows)

    def plan(self, n_workers, by="column"):
        return self.frame().plan(n_workers, by=by)

    @property
    def columns(self):
        return self.frame().columns

    @property
    def nrows(self) -> int:
        return self.frame().nrows

    @property
    def nchunks(self) -> int:
        return self.frame().nchunks

    def __len__(self):
        return self.nrows

    # ---- dask.dataframe ------------------------------------------------------------------
    def to_dask_dataframe(self, by: str = "rows", npartitions: int | None = None):
        """A dask DataFrame over the frame: one partition per row range (a list of
        row groups); column projection reads only the projected columns' chunks."""
        import dask.dataframe as dd
        if by != "rows":
            raise errors.InvalidArgumentError("to_dask_dataframe: only by='rows' is supported")
        info = self.frame().info()
        rpc, nrg = info["rows_per_chunk"], info["nrowgroups"]
        n = max(1, min(npartitions or nrg, nrg))
        bounds = _row_ranges(nrg, n, rpc, self.nrows)
        meta = self.read(rows=slice(0, 0))
        return dd.from_map(_ReadPart(self), bounds, meta=meta, enforce_metadata=False,
                           label="shmchunk-read")

    # ---- lifecycle (client side) -----------------------------------------------------------
    def replicate(self) -> dict:
        """Push a copy now to every host of the cluster that has none (share() does it
        for the hosts present then; a host that joins later pulls its copy on the first
        read in a task, so this only warms it up ahead of the first task)."""
        client = self._client()
        return _maybe_in_thread(client, _replicate, client, self)

    def wait_copies(self) -> None:
        """Wait for copies streaming in the background (share(wait=False))."""
        return _maybe_in_thread(self._client_ref and self._client_ref(), _join, self._streams)

    def close(self):
        """Remove every copy on every host (and the original if share() made it).
        With an asynchronous client, called on its event loop, the removal runs in a
        thread and close() returns an awaitable for it (`await h.close()`)."""
        done = self._finalizer() if self._finalizer is not None else None
        client = self._client_ref() if self._client_ref else None
        if done is None and _is_async(client):
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
        return done

    @property
    def closed(self) -> bool:
        return self._finalizer is not None and not self._finalizer.alive

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        done = self.close()
        if done is not None:
            await done

    def _client(self):
        client = self._client_ref() if self._client_ref else None
        if client is None:
            raise errors.ClosedError("this handle has no live client (a task's copy?)")
        return client


class _ReadPart:
    """from_map's function: a `columns=` keyword lets dask push projections into it."""

    def __init__(self, handle: DaskSharedFrame):
        self.handle = handle

    def __call__(self, bounds, columns=None):
        start, stop = bounds
        cols = list(columns) if columns is not None else None
        return self.handle.read(columns=cols, rows=slice(start, stop))


def _row_ranges(nrg: int, n: int, rpc: int, nrows: int) -> list[tuple[int, int]]:
    cuts = [round(i * nrg / n) for i in range(n + 1)]
    return [(cuts[i] * rpc, min(cuts[i + 1] * rpc, nrows)) for i in range(n)]


# ---- client side ----------------------------------------------------------------------
def share(client: "distributed.Client", df_or_frame, wait: bool = True,
          release_pages: bool = True, **share_kwargs) -> DaskSharedFrame:
    """Share a DataFrame (or an existing SharedFrame) with every host of the cluster.

    The client's host uses the segment itself; every other host receives one verified
    copy now: before share() returns (wait=True), or streamed in the background
    (wait=False: tasks on the client's host start at once, readers on another host
    wait for its copy; h.wait_copies() waits and raises a failed copy's error).
    release_pages=True registers PageReleasePlugin: after each task a worker drops its
    page-table entries of shared segments, so Dask's memory monitor (RSS) stops
    counting them. Other keyword arguments go to shmchunk.share(). The returned handle
    removes the copies (and the segment, if made here) on close(), leaving `with`,
    garbage collection and client.close().

    With an asynchronous client, called on its event loop, share() runs in a thread
    and returns an awaitable: `h = await sd.share(client, df)`; then `await h.close()`
    or `async with h:`."""
    if _is_async(client):
        return _maybe_in_thread(client, share, client, df_or_frame, wait, release_pages,
                                **share_kwargs)
    if isinstance(df_or_frame, SharedFrame):
        if share_kwargs:
            raise errors.InvalidArgumentError("share: keyword arguments apply to a DataFrame only")
        sf, own = df_or_frame, False
    else:
        sf, own = _share_frame(df_or_frame, **share_kwargs), True
    if not sf._src.startswith("shm:"):
        raise errors.InvalidArgumentError("share: the frame must live in shared memory (shm:NAME)")
    h = DaskSharedFrame(sf._src, _host(), sf._identity, bytes(sf.buffer[:_HDR]),
                        sf.allow_pickle, sf.verify_checksums, uuid.uuid4().hex)
    _attach_lifecycle(client, h, sf if own else None)
    try:
        client.set_metadata([_STATE_KEY, h._token], "open")   # hosts may pull copies
        client.register_plugin(CopyOwnerPlugin(), name=_PLUGIN_NAME)
        if release_pages:
            client.register_plugin(PageReleasePlugin(), name=PageReleasePlugin.name)
        client.run(gc_orphans, on_error="ignore")
        _replicate(client, h, sf, wait=wait)
    except BaseException:
        h.close()
        raise
    return h


def _attach_lifecycle(client, h: DaskSharedFrame, owned: SharedFrame | None) -> None:
    h._client_ref = weakref.ref(client)
    h._finalizer = weakref.finalize(h, _remove_everywhere, weakref.ref(client), h._token, h._src,
                                    h.copy_name, h._header, owned, os.getpid(), h._streams)
    _track(client, h)


def _remove_everywhere(client_ref, *args):
    """The finalizer. On an asynchronous client's event loop (await h.close(), or the
    handle collected there) the blocking removal runs in a thread, and the awaitable
    for it is returned; client calls from that thread are synchronous."""
    client = client_ref()
    if _is_async(client):
        return _maybe_in_thread(client, _remove_now, client, *args)
    return _remove_now(client, *args)


def _remove_now(client, token, src, copy_name, header, owned, pid, streams) -> None:
    if os.getpid() != pid:
        return
    _join(streams)  # copies still streaming finish (or fail) first
    try:
        if client is not None and client.status in ("running", "closing"):
            if token:
                client.set_metadata([_STATE_KEY, token], "closed")   # no more pulls
            client.run(_drop_copy, copy_name, header, src, on_error="ignore")
    finally:
        if owned is not None:
            owned.close()


def _join(threads) -> None:
    for t in threads:
        t.join()


def _is_async(client) -> bool:
    """Whether this is an asynchronous client called on its own event loop."""
    try:
        return client is not None and bool(client.asynchronous)
    except (AttributeError, RuntimeError):   # a client closed or half made
        return False


def _on_a_loop() -> bool:
    """Whether this thread runs an asyncio event loop (where nothing may block)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _maybe_in_thread(client, fn, *args, **kwargs):
    """fn(*args) now; on an asynchronous client's event loop, in a thread instead (its
    client calls are then synchronous), returning the awaitable Task."""
    if _is_async(client):
        return asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    return fn(*args, **kwargs)


def _track(client, h: DaskSharedFrame) -> None:
    """Closing the client closes its handles first. Client has no hook for it, so its
    one coroutine every close path awaits -- close() for a synchronous or asynchronous
    client, `with`, `async with` -- is wrapped once; the handles close in a thread,
    from which the client's calls run on its (free) event loop."""
    handles = client.__dict__.get("_shmchunk_handles")
    if handles is None:
        handles = client.__dict__["_shmchunk_handles"] = weakref.WeakSet()
        orig_close = client._close

        async def _close(*args, **kwargs):
            if handles:
                try:
                    await asyncio.to_thread(_close_handles, list(handles))
                except Exception:  # noqa: BLE001 - closing the client must go on
                    pass
            return await orig_close(*args, **kwargs)

        client._close = _close
    handles.add(h)


def _close_handles(handles) -> None:
    for handle in handles:
        try:
            handle.close()
        except Exception:  # noqa: BLE001 - the other handles still close
            pass


def _replicate(client, h: DaskSharedFrame, sf: SharedFrame | None = None, _tamper=None,
               wait: bool = True) -> dict:
    """Push one copy to every host other than the client's; returns {host: state}.
    Every host's temporary copy (its lock) exists before this returns, so readers
    there wait for it; wait=False streams the bytes in a background thread."""
    hosts: dict[str, list[str]] = {}
    for addr, (hid, _pid) in client.run(_host_info).items():
        hosts.setdefault(hid, []).append(addr)
    src = sf if sf is not None else SharedFrame(
        _cached_segment(h._src, h._identity, h.verify_checksums), owner=False)
    done, todo = {}, []
    for hid, addrs in sorted(hosts.items()):
        if hid == h._origin_host:
            continue
        run = _runner(client, sorted(addrs)[0])
        done[hid] = _begin_copy(run, h, src)
        if done[hid] == "ready":
            todo.append((hid, run))

    def stream():
        for hid, run in todo:
            done[hid] = _stream_copy(run, h, src, _tamper)

    if wait:
        stream()
    else:
        t = threading.Thread(target=stream, name="shmchunk-dask-copy", daemon=True)
        h._streams.append(t)
        t.start()
    return done


def _runner(client, addr: str):
    def run(fn, *args):
        return client.run(fn, *args, workers=[addr])[addr]
    return run


def _begin_copy(run, h: DaskSharedFrame, src: SharedFrame) -> str:
    state = run(_copy_begin, h.copy_name, h._header, src.nbytes)
    while state == "busy":  # another client is copying this frame there
        time.sleep(0.1)
        state = run(_copy_begin, h.copy_name, h._header, src.nbytes)
    return state


def _stream_copy(run, h: DaskSharedFrame, src: SharedFrame, tamper=None) -> str:
    try:
        _send_pieces(run, h.copy_name, src, tamper)
        return run(_copy_finish, h.copy_name, h._header)
    except BaseException:
        try:
            run(_copy_abort, h.copy_name)
        finally:
            raise


def _send_pieces(run, copy_name, src: SharedFrame, tamper) -> None:
    buf = src.buffer
    _in_flight(src.nbytes, lambda off: _send_piece(run, copy_name, off,
                                                   bytes(buf[off:off + PIECE_BYTES]), tamper))


def _in_flight(nbytes: int, one) -> None:
    """one(offset) for every piece, PIECES_IN_FLIGHT at a time (bounded memory: the
    pieces in flight are all that is copied out of the segment), so the comms do not
    wait on each round trip."""
    from concurrent.futures import ThreadPoolExecutor
    offsets = iter(range(0, nbytes, PIECE_BYTES))
    with ThreadPoolExecutor(PIECES_IN_FLIGHT) as pool:
        pending = [pool.submit(one, off) for off in itertools.islice(offsets, PIECES_IN_FLIGHT)]
        while pending:
            pending.pop(0).result()
            nxt = next(offsets, None)
            if nxt is not None:
                pending.append(pool.submit(one, nxt))


def _send_piece(run, copy_name, off, piece, tamper, tries: int = 3) -> None:
    xxh3 = _hash(piece)
    for _ in range(tries):
        sent = tamper(off, piece) if tamper is not None else piece
        if run(_copy_piece, copy_name, off, sent, xxh3):
            return
    raise errors.ChecksumError(f"{copy_name}: piece at byte {off} arrived corrupt {tries} times")
