"""The peers: ways of letting a pool of worker processes read one DataFrame.

Each peer has a parent side (publish once, a payload per task, cleanup) and a
worker side (attach, decode the task's part) that runs in pool workers and so
may use only what travels in `ctx` and the payload. `run_task` is the one
function every worker runs; it times the phases and probes memory.
"""
from __future__ import annotations

import ctypes
import gc
import mmap
import os
import pickle
import secrets
import time
from multiprocessing import shared_memory

import numpy as np

from . import frame
from . import memory

ALIGN = 64
# The frame the fork peer's children inherit (set by the parent just before forking).
_FORK_FRAME = None
# Worker-side memory baselines, keyed by run id (recorded by warmup()).
_BASELINE: dict = {}
# What a task had to materialise beyond its part (e.g. the whole unpickled frame),
# kept alive until the task's memory probe so the probe sees the task's peak.
_HELD: list = []


def hold(obj) -> None:
    _HELD.append(obj)


# --- timing of argument unpickling ---------------------------------------------

def _now() -> float:
    return time.perf_counter()


class Stamp:
    """Unpickles as the worker's perf_counter() at that point of the stream.

    Putting one before and one after a task's arguments measures, inside the
    worker, how long unpickling those arguments took -- the only way to see
    the decode cost of peers whose data travels as task arguments (pickle per
    task, joblib) or whose handle attaches while unpickling (shmchunk).
    """

    def __reduce__(self):
        return (_now, ())


# --- shared-memory helpers ------------------------------------------------------

def shm_name(tag: str) -> str:
    return f"shmc-bench-{os.getpid()}-{tag}-{secrets.token_hex(4)}"


def shm_create(tag: str, size: int) -> shared_memory.SharedMemory:
    return shared_memory.SharedMemory(name=shm_name(tag), create=True, size=max(size, 1))


# Attachments kept for the life of the worker, like shmchunk's own handle cache:
# a worker maps each segment once, not once per task.
_ATTACHED: dict = {}


def cached(key, make):
    if key not in _ATTACHED:
        _ATTACHED[key] = make()
    return _ATTACHED[key]


def shm_map(name: str) -> mmap.mmap:
    """Attach read-only (once per worker) without SharedMemory: that would register
    the segment with the resource tracker, which may unlink it while others still
    use it (CPython issue 82300)."""
    def make():
        fd = os.open(f"/dev/shm/{name}", os.O_RDONLY)
        try:
            return mmap.mmap(fd, 0, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
    return cached(("shm", name), make)


def aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def pack_into_shm(tag: str, blobs: list) -> tuple:
    """Copy byte blobs into one new segment, 64-byte aligned: (shm, [(off, len)])."""
    spans, off = [], 0
    for b in blobs:
        n = memoryview(b).nbytes
        spans.append((off, n))
        off = aligned(off + n)
    shm = shm_create(tag, off)
    for b, (o, n) in zip(blobs, spans):
        shm.buf[o:o + n] = memoryview(b).cast("B")
    return shm, spans


# --- base class -----------------------------------------------------------------

class Peer:
    key = ""
    label = ""
    pool = "spawn"          # spawn | fork | joblib
    arg_phase = "decode"    # phase that the unpickling of task arguments counts as
    worker_modules = ("pandas", "numpy", "pyarrow")

    def __init__(self):
        self.ctx = None
        self.stored = None       # bytes kept in shared memory / files for the workers
        self.moved = None        # bytes sent through the pool's pipes for all tasks

    def unavailable(self) -> str | None:
        return None

    def publish(self, df, rows_per_chunk: int) -> None:
        pass

    def payload(self, df, task):
        return None

    def account(self, df, tasks) -> None:
        """Fill self.moved (outside the timed region)."""

    def cleanup(self) -> None:
        pass

    # worker side
    @staticmethod
    def attach(ctx):
        return ctx

    @staticmethod
    def decode(handle, payload, task):
        raise NotImplementedError

    @staticmethod
    def detach(handle) -> None:
        pass

    @staticmethod
    def info(part) -> dict:
        return {}


# (1) ---------------------------------------------------------------------------
class PickleWhole(Peer):
    key = "pickle-task"
    label = "(1) pickle whole frame per task"

    def payload(self, df, task):
        return df          # the pool pickles it again for every task

    def account(self, df, tasks):
        self.moved = len(pickle.dumps(df, protocol=5)) * len(tasks)

    @staticmethod
    def decode(handle, payload, task):
        return frame.select(payload, task)


# (2) ---------------------------------------------------------------------------
class PickleSlice(Peer):
    key = "pickle-slice"
    label = "(2) pickle task's slice per task"

    def payload(self, df, task):
        return frame.select(df, task)

    def account(self, df, tasks):
        self.moved = sum(len(pickle.dumps(frame.select(df, t), protocol=5)) for t in tasks)

    @staticmethod
    def decode(handle, payload, task):
        return payload


# (3) ---------------------------------------------------------------------------
class ShmPickleWhole(Peer):
    key = "shm-pickle"
    label = "(3) pickle once into shared memory"

    def publish(self, df, rows_per_chunk):
        blob = pickle.dumps(df, protocol=5)
        self.shm, spans = pack_into_shm("whole", [blob])
        self.ctx = (self.shm.name, spans[0][1])
        self.stored = spans[0][1]

    def cleanup(self):
        self.shm.close()
        self.shm.unlink()

    @staticmethod
    def attach(ctx):
        return shm_map(ctx[0]), ctx[1]

    @staticmethod
    def decode(handle, payload, task):
        mm, n = handle
        df = pickle.loads(memoryview(mm)[:n])
        hold(df)
        return frame.select(df, task)

# (4) ---------------------------------------------------------------------------
class ShmPickleColumns(ShmPickleWhole):
    key = "shm-pickle-cols"
    label = "(4) pickle per column into shared memory"

    def publish(self, df, rows_per_chunk):
        blobs = [pickle.dumps(df[c], protocol=5) for c in df.columns]
        self.shm, spans = pack_into_shm("cols", blobs)
        self.ctx = (self.shm.name, dict(zip(map(str, df.columns), spans)))
        self.stored = sum(n for _, n in spans)

    @staticmethod
    def decode(handle, payload, task):
        mm, spans = handle
        view = memoryview(mm)

        def load(col):
            off, n = spans[col]
            s = pickle.loads(view[off:off + n])
            hold(s)
            return s

        if task[0] == "col":
            return load(task[1])
        return {c: load(c).iloc[task[1]:task[2]] for c in spans}


# (5) ---------------------------------------------------------------------------
class ShmPickleOOB(ShmPickleWhole):
    key = "pickle5-oob"
    label = "(5) pickle-5 out-of-band buffers in shm"

    def publish(self, df, rows_per_chunk):
        buffers = []
        meta = pickle.dumps(df, protocol=5, buffer_callback=buffers.append)
        raws = [b.raw() for b in buffers]
        self.shm, spans = pack_into_shm("oob", [meta] + raws)
        self.ctx = (self.shm.name, spans)
        self.stored = sum(n for _, n in spans)

    @staticmethod
    def decode(handle, payload, task):
        mm, spans = handle
        view = memoryview(mm)
        bufs = [view[o:o + n] for o, n in spans]
        df = pickle.loads(bufs[0], buffers=bufs[1:])   # numeric buffers: zero-copy views
        hold(df)
        return frame.select(df, task)


# (6) ---------------------------------------------------------------------------
class Joblib(Peer):
    key = "joblib"
    label = "(6) joblib loky auto-memmap"
    pool = "joblib"
    worker_modules = ("pandas", "numpy", "pyarrow", "joblib")

    def payload(self, df, task):
        return df          # joblib dumps the big arrays to memmaps, the rest is pickled

    @staticmethod
    def decode(handle, payload, task):
        return frame.select(payload, task)

    @staticmethod
    def info(part) -> dict:
        """The memmap files behind the part (their sizes = bytes joblib stored)."""
        files = {}
        series = [part] if hasattr(part, "dtype") else [part[c] for c in part.columns]
        for s in series:
            arr = s.to_numpy() if s.dtype.kind in "biufM" else None
            while arr is not None:
                name = getattr(arr, "filename", None)
                if name:
                    files[name] = os.stat(name).st_size
                    break
                arr = getattr(arr, "base", None)
                arr = arr if isinstance(arr, np.ndarray) else None
        return {"memmaps": files}


# (7) ---------------------------------------------------------------------------
class ForkCOW(Peer):
    key = "fork-cow"
    label = "(7) fork copy-on-write global"
    pool = "fork"

    def publish(self, df, rows_per_chunk):
        global _FORK_FRAME
        _FORK_FRAME = df

    def cleanup(self):
        global _FORK_FRAME
        _FORK_FRAME = None

    @staticmethod
    def decode(handle, payload, task):
        return frame.select(_FORK_FRAME, task)


# (8) ---------------------------------------------------------------------------
class Blosc2Columns(Peer):
    """Each column pickled with protocol 5; every out-of-band buffer blosc2-compressed
    (typesize = the array's itemsize, so shuffle works); all in one segment."""
    key = "blosc2-zstd"
    label = "(8a) blosc2 zstd+shuffle per column"
    codec = "ZSTD"
    worker_modules = ("pandas", "numpy", "pyarrow", "blosc2")

    def unavailable(self):
        try:
            import blosc2  # noqa: F401
        except ImportError as e:
            return f"blosc2 not importable: {e}"
        return None

    def publish(self, df, rows_per_chunk):
        import blosc2
        blobs, layout = [], {}
        for col in df.columns:
            buffers = []
            meta = pickle.dumps(df[col], protocol=5, buffer_callback=buffers.append)
            entry = [len(blobs)]
            blobs.append(meta)
            for pb in buffers:
                mv = memoryview(pb)
                typesize = mv.itemsize if 1 <= mv.itemsize <= 255 else 1
                cparams = blosc2.CParams(codec=getattr(blosc2.Codec, self.codec), clevel=1,
                                         typesize=typesize, filters=[blosc2.Filter.SHUFFLE])
                entry.append((len(blobs), mv.nbytes))
                blobs.append(blosc2.compress2(pb.raw(), cparams=cparams))
            layout[str(col)] = entry
        self.shm, spans = pack_into_shm("blosc", blobs)
        self.ctx = (self.shm.name, spans, layout)
        self.stored = sum(n for _, n in spans)

    def cleanup(self):
        self.shm.close()
        self.shm.unlink()

    @staticmethod
    def attach(ctx):
        return shm_map(ctx[0]), ctx[1], ctx[2]

    @staticmethod
    def decode(handle, payload, task):
        import blosc2
        mm, spans, layout = handle
        view = memoryview(mm)

        def blob(i):
            off, n = spans[i]
            return view[off:off + n]

        def load(col):
            entry = layout[col]
            outs = []
            for i, raw_len in entry[1:]:
                dst = bytearray(raw_len)
                if raw_len:
                    blosc2.decompress2(blob(i), dst=dst)
                outs.append(dst)
            s = pickle.loads(blob(entry[0]), buffers=outs)
            hold(s)
            return s

        if task[0] == "col":
            return load(task[1])
        return {c: load(c).iloc[task[1]:task[2]] for c in layout}

class Blosc2ColumnsLZ4(Blosc2Columns):
    key = "blosc2-lz4"
    label = "(8b) blosc2 lz4+shuffle per column"
    codec = "LZ4"


# (9) ---------------------------------------------------------------------------
class ArrowIPC(Peer):
    key = "arrow-ipc"
    label = "(9) Arrow IPC file in /dev/shm"

    def publish(self, df, rows_per_chunk):
        import pyarrow as pa
        table = pa.Table.from_pandas(df, preserve_index=False)
        self.path = f"/dev/shm/{shm_name('arrow')}.arrow"
        try:
            with pa.OSFile(self.path, "wb") as sink:
                with pa.ipc.new_file(sink, table.schema) as writer:
                    writer.write_table(table)
        except BaseException:
            if os.path.exists(self.path):
                os.unlink(self.path)
            raise
        self.ctx = self.path
        self.stored = os.path.getsize(self.path)

    def cleanup(self):
        os.unlink(self.path)

    @staticmethod
    def attach(ctx):
        import pyarrow as pa

        def make():
            source = pa.memory_map(ctx, "r")
            return source, pa.ipc.open_file(source).read_all()
        return cached(("arrow", ctx), make)

    @staticmethod
    def decode(handle, payload, task):
        table = handle[1]
        if task[0] == "col":
            return table.select([task[1]]).to_pandas(split_blocks=True)[task[1]]
        return table.slice(task[1], task[2] - task[1]).to_pandas(split_blocks=True)

# (10), (11) --------------------------------------------------------------------
class Shmchunk(Peer):
    key = "shmchunk"
    label = "(10) shmchunk raw (zero-copy)"
    arg_phase = "attach"    # the handle attaches to the segment while it unpickles
    worker_modules = ("pandas", "numpy", "pyarrow", "shmchunk")
    share_kwargs: dict = {}

    def unavailable(self):
        try:
            import shmchunk
            shmchunk.share  # noqa: B018 -- the Python API must be there, not just the loader
        except Exception as e:  # ImportError, missing library, missing attribute
            return f"shmchunk not usable: {type(e).__name__}: {e}"
        return None

    def publish(self, df, rows_per_chunk):
        import shmchunk
        self.sf = shmchunk.share(df, rows_per_chunk=rows_per_chunk, **self.share_kwargs)
        self.ctx = self.sf
        self.stored = int(self.sf.nbytes)

    def payload(self, df, task):
        if task[0] == "col":
            return None
        return list(self.sf.chunk_ids(rows=slice(task[1], task[2])))

    def cleanup(self):
        self.sf.close()

    @staticmethod
    def decode(handle, payload, task):
        if task[0] == "col":
            return handle.column(task[1])
        return handle.read(chunks=payload)


class ShmchunkNoVerify(Shmchunk):
    """The same segment layout, read with verify=False: no XXH3 pass over a chunk
    before its first view in a worker (structure is still checked)."""
    key = "shmchunk-noverify"
    label = "(10v) shmchunk raw, verify=False"
    share_kwargs = {"verify": False}


class ShmchunkZstd(Shmchunk):
    key = "shmchunk-zstd"
    label = "(11) shmchunk zstd+shuffle"
    share_kwargs = {"compression": "zstd", "level": 1, "shuffle": True}


PEERS = {cls.key: cls for cls in (PickleWhole, PickleSlice, ShmPickleWhole, ShmPickleColumns,
                                   ShmPickleOOB, Joblib, ForkCOW, Blosc2Columns,
                                   Blosc2ColumnsLZ4, ArrowIPC, Shmchunk, ShmchunkNoVerify,
                                   ShmchunkZstd)}


# --- what every worker runs -----------------------------------------------------

def _return_freed_memory() -> None:
    """Make allocators give freed memory back to the kernel at once.

    Otherwise memory a previous task freed but the allocator kept (glibc's
    dynamic mmap threshold, Arrow's jemalloc/mimalloc pools) shows up as growth
    in later tasks, or hides their real growth when it is reused."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)     # M_MMAP_THRESHOLD: fixed, no dynamic growth
        libc.mallopt(-1, 128 * 1024)     # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass
    import pyarrow as pa
    pa.set_memory_pool(pa.system_memory_pool())


def warmup(run_id: str, key: str) -> int:
    """Import what the peer needs, then record this worker's memory baseline."""
    for mod in PEERS[key].worker_modules:
        __import__(mod)
    _return_freed_memory()
    # Prime the lazy imports and caches of the reduction so that they do not
    # count as the first task's memory growth.
    frame.reduce_part(frame.make_frame(2048, vocab_size=100))
    if run_id not in _BASELINE:
        gc.collect()
        _BASELINE[run_id] = memory.probe()
    time.sleep(0.2)   # hold this worker so the other warm-up tasks reach the others
    return os.getpid()


def run_task(t0, run_id, key, ctx, payload, task, t1) -> dict:
    cls = PEERS[key]
    baseline = _BASELINE.get(run_id)
    if baseline is None:                 # no warm-up task reached this worker
        baseline = _BASELINE[run_id] = memory.probe()
    args_s = t1 - t0
    a0 = time.perf_counter()
    handle = cls.attach(ctx)
    a1 = time.perf_counter()
    part = cls.decode(handle, payload, task)
    d1 = time.perf_counter()
    # Probe with the part (and whatever decode held) alive, before the reduction:
    # the reduction's temporaries, retained by malloc/jemalloc afterwards, are the
    # same for every peer and would only add noise to the data's own footprint.
    mem = memory.probe()
    c0 = time.perf_counter()
    result = frame.reduce_part(part)
    c1 = time.perf_counter()
    info = cls.info(part)
    del part, payload
    _HELD.clear()
    cls.detach(handle)
    attach, decode = a1 - a0, d1 - a1
    if cls.arg_phase == "attach":
        attach += args_s
    else:
        decode += args_s
    return {"pid": os.getpid(), "task": frame.task_label(task), "result": result,
            "attach": attach, "decode": decode,
            "compute": c1 - c0, "mem": mem, "baseline": baseline, "info": info}
