"""Helpers of the reliability suite (tests/reliability), importable by spawned workers.

Frames are rebuilt from a seed in every process instead of being shipped around,
so a worker compares what it read from shared memory with an independent copy.
Segment layout (chunk byte ranges, index range) comes from the public C API
through the ctypes binding, never from assumptions about the format.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pandas as pd

HEADER_SIZE = 128  # lib/FORMAT.md: fixed header at offset 0


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------
def make_frame(nrows: int, seed: int = 0, with_object: bool = False) -> pd.DataFrame:
    """A frame with one column of each common kind; deterministic in (nrows, seed)."""
    rng = np.random.default_rng(seed)
    f64 = rng.standard_normal(nrows)
    f64[rng.random(nrows) < 0.05] = np.nan
    nullable = pd.array(rng.integers(-1000, 1000, nrows), dtype="Int64")
    nullable[rng.random(nrows) < 0.1] = pd.NA
    words = np.array(["alpha", "beta", "gamma", "delta", "épsilon", ""], dtype=object)
    strings = words[rng.integers(0, len(words), nrows)].astype(object)
    strings[rng.random(nrows) < 0.05] = None
    cols = {
        "i64": rng.integers(-2**62, 2**62, nrows, dtype=np.int64),
        "f64": f64,
        "flag": rng.random(nrows) < 0.5,
        "u8": rng.integers(0, 255, nrows, dtype=np.uint8),
        "ts": pd.to_datetime(rng.integers(0, 2**40, nrows), unit="s", utc=True),
        "cat": pd.Categorical.from_codes(rng.integers(0, 4, nrows), ["lo", "mid", "hi", "x"]),
        "nint": nullable,
        "s": pd.array(strings, dtype="str"),
        "smooth": np.arange(nrows, dtype=np.int64) // 7,  # compresses well under zstd
    }
    if with_object:
        cols["obj"] = pd.Series([(i % 5, {"k": i % 3}) for i in range(nrows)], dtype=object)
    return pd.DataFrame(cols)


def expected_part(df: pd.DataFrame, columns, rowgroups, rows_per_chunk: int) -> pd.DataFrame:
    """What reading `columns` x `rowgroups` must return: those rows, in row-group order."""
    idx = np.concatenate([np.arange(g * rows_per_chunk, min((g + 1) * rows_per_chunk, len(df)))
                          for g in sorted(rowgroups)]) if rowgroups else np.arange(0)
    return df.iloc[idx][list(columns)]


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Values, dtypes and row labels equal (index class may differ: RangeIndex vs Index)."""
    pd.testing.assert_frame_equal(got, want, check_index_type=False, check_column_type=False)


# --------------------------------------------------------------------------
# Names and shared memory
# --------------------------------------------------------------------------
def bare_name(name: str) -> str:
    """'shm:NAME' or 'NAME' -> 'NAME'."""
    return name[4:] if name.startswith("shm:") else name


def shm_path(name: str, root: str = "") -> str:
    """Path of a shm segment; root is '/proc/<pid>/root' to look into another mount namespace."""
    return f"{root}/dev/shm/{bare_name(name)}"


def flip_bit(path: str, offset: int, bit: int) -> None:
    """Flip one bit in place (call again to undo)."""
    fd = os.open(path, os.O_RDWR)
    try:
        b = os.pread(fd, 1, offset)
        if len(b) != 1:
            raise ValueError(f"offset {offset} beyond end of {path}")
        os.pwrite(fd, bytes([b[0] ^ (1 << bit)]), offset)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Layout through the C API
# --------------------------------------------------------------------------
def layout(src: str) -> dict:
    """Byte ranges of a segment: header, every chunk (with its column label), index, size."""
    import ctypes

    from shmchunk import _lib

    seg = _lib.segment_open(src, 0)
    try:
        info = _lib.shmc_segment_info()
        _lib.lib.shmc_segment_info_get(seg, ctypes.byref(info))
        labels = []
        for c in range(info.ncolumns):
            ci = _lib.shmc_column_info()
            _lib.lib.shmc_segment_column_info(seg, c, ctypes.byref(ci))
            labels.append(_lib.label_value(ci.label))
        chunks = []
        for k in range(info.nchunks):
            ch = _lib.shmc_chunk_info()
            _lib.lib.shmc_segment_chunk_info(seg, k, ctypes.byref(ch))
            chunks.append({"id": k, "offset": ch.offset, "stored_len": ch.stored_len,
                           "raw_len": ch.raw_len, "codec": ch.codec, "column": ch.column,
                           "label": labels[ch.column], "rowgroup": ch.rowgroup,
                           "role": ch.role})
        return {"total_size": info.total_size, "index_offset": info.index_offset,
                "index_len": info.index_len, "nchunks": info.nchunks, "chunks": chunks,
                "rows_per_chunk": info.rows_per_chunk, "nrowgroups": info.nrowgroups,
                "owner_pid": info.owner_pid, "creator_uid": info.creator_uid}
    finally:
        _lib.lib.shmc_segment_free(seg)


def sample_positions(lay: dict, per_chunk: int, index_samples: int, header_all: bool,
                     seed: int = 1):
    """(region, chunk id or None, byte offset, bit) covering header, every chunk and the index.

    Chunks: first and last byte plus evenly spread ones; index: evenly spread plus
    both ends; header: every byte (header_all) or every byte once with a rotating bit."""
    rnd = random.Random(seed)
    out = []
    for off in range(HEADER_SIZE):
        bits = range(8) if header_all else [off % 8]
        out += [("header", None, off, b) for b in bits]
    for ch in lay["chunks"]:
        n = ch["stored_len"]
        if n == 0:
            continue
        offs = {0, n - 1} | {n * i // max(per_chunk - 1, 1) for i in range(per_chunk)}
        out += [("chunk", ch["id"], ch["offset"] + min(o, n - 1), rnd.randrange(8))
                for o in sorted(offs)]
    n = lay["index_len"]
    offs = {0, n - 1} | {n * i // max(index_samples - 1, 1) for i in range(index_samples)}
    out += [("index", None, lay["index_offset"] + min(o, n - 1), rnd.randrange(8))
            for o in sorted(offs)]
    return out


def names_chunk(message: str, chunk_id: int, column: int | None = None,
                rowgroup: int | None = None) -> bool:
    """Does an error message name this chunk: 'chunk 12' (also '#12', '=12'), or its
    column id and row group ('column 7 row group 0')?"""
    if re.search(rf"chunk\D{{0,3}}{chunk_id}\b", message):
        return True
    return column is not None and re.search(
        rf"column {column}\b.{{0,4}}row group {rowgroup}\b", message) is not None


# --------------------------------------------------------------------------
# Workers (run in spawned processes)
# --------------------------------------------------------------------------
def load_worker(args) -> dict:
    """Attach through a pickled handle, read random chunk sets, compare, close. Repeat."""
    import shmchunk

    sf, nrows, seed, iterations, wseed = args
    df = make_frame(nrows, seed)
    rnd = random.Random(wseed)
    done = reads = 0
    for _ in range(iterations):
        h = shmchunk.attach(sf.name) if rnd.random() < 0.5 else sf
        rpc = _rows_per_chunk(h)
        ngroups = (nrows + rpc - 1) // rpc
        cols = sorted(rnd.sample(list(df.columns), rnd.randint(1, len(df.columns))),
                      key=list(df.columns).index)
        groups = sorted(rnd.sample(range(ngroups), rnd.randint(1, ngroups)))
        ids = []
        for g in groups:
            ids += list(h.chunk_ids(columns=cols, rows=slice(g * rpc, min((g + 1) * rpc, nrows))))
        part = h.read(chunks=ids)
        assert_same(part, expected_part(df, cols, groups, rpc))
        reads += 1
        if h is not sf:
            h.close()
        done += 1
    return {"pid": os.getpid(), "iterations": done, "reads": reads}


def _rows_per_chunk(sf) -> int:
    for attr in ("rows_per_chunk",):
        if hasattr(sf, attr):
            return int(getattr(sf, attr))
    return int(layout("shm:" + bare_name(sf.name))["rows_per_chunk"])


def owner_worker(args) -> dict:
    """Share a frame concurrently with others, read it back, close; report the name."""
    import shmchunk

    nrows, seed, compression = args
    df = make_frame(nrows, seed)
    kw = {"compression": compression} if compression else {}
    with shmchunk.share(df, rows_per_chunk=1024, **kw) as sf:
        name = bare_name(sf.name)
        alive_during = os.path.exists(shm_path(name))
        assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
    return {"name": name, "alive_during": alive_during, "after": os.path.exists(shm_path(name))}


# --------------------------------------------------------------------------
# Forging headers (a header that lies but carries a valid checksum)
# --------------------------------------------------------------------------
HDR = {"version": (8, "<H"), "layout": (12, "<I"), "flags": (16, "<I"),
       "owner_pid": (24, "<q"), "owner_start": (32, "<Q"), "creator_uid": (40, "<I"),
       "total_size": (48, "<Q"), "index_offset": (56, "<Q"), "index_len": (64, "<Q"),
       "index_xxh3": (72, "<Q"), "header_xxh3": (88, "<Q"), "sealed": (120, "<Q")}


def xxh3_64(data: bytes) -> int:
    import ctypes

    lib = ctypes.CDLL("libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits(data, len(data))


def header_hash(hdr: bytes) -> int:
    """lib/FORMAT.md: XXH3-64 of the 128 header bytes with checksum and sealed fields zero."""
    tmp = bytearray(hdr[:HEADER_SIZE])
    tmp[88:96] = bytes(8)
    tmp[120:128] = bytes(8)
    return xxh3_64(bytes(tmp))


def forge_header(path: str, **fields) -> bytes:
    """Set header fields, then recompute the header checksum so only the lie remains.
    Returns the original header so the caller can restore it."""
    import struct

    fd = os.open(path, os.O_RDWR)
    try:
        orig = os.pread(fd, HEADER_SIZE, 0)
        hdr = bytearray(orig)
        for k, v in fields.items():
            off, fmt = HDR[k]
            struct.pack_into(fmt, hdr, off, v)
        if "header_xxh3" not in fields:
            struct.pack_into("<Q", hdr, 88, header_hash(bytes(hdr)))
        os.pwrite(fd, bytes(hdr), 0)
        return orig
    finally:
        os.close(fd)


def restore_header(path: str, orig: bytes) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, orig, 0)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Owner factory: one interpreter (pandas imported once) forks owner processes
# --------------------------------------------------------------------------
def factory_main() -> None:
    """Read 'share UID OBJ NROWS SEED CODEC' lines on stdin; for each, fork an owner
    that shares the frame (as UID when >= 0), then reply 'NAME PID' (or 'ERROR ...').
    An owner closes its segment and exits on SIGUSR1; SIGKILL makes an orphan.
    Children are reaped at once (SIGCHLD ignored) so a killed owner is really gone,
    not a zombie whose pid and start time still look alive."""
    import signal
    import sys

    import shmchunk

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    make_frame(64, 0, with_object=True)  # warm pandas' lazy imports before any fork
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "share":
            continue
        uid, obj, nrows, seed, codec = int(words[1]), words[2] == "1", int(words[3]), \
            int(words[4]), words[5]
        df = make_frame(nrows, seed, with_object=obj)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _factory_child(shmchunk, df, uid, codec, w)
        os.close(w)
        with os.fdopen(r) as f:
            reply = f.read().strip()
        print(reply, flush=True)


def _factory_child(shmchunk, df, uid: int, codec: str, w: int) -> None:
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        if uid >= 0:
            os.setgid(uid)
            os.setuid(uid)
        kw = {"compression": "zstd"} if codec == "zstd" else {}
        sf = shmchunk.share(df, rows_per_chunk=1024, **kw)
        os.write(w, f"{bare_name(sf.name)} {os.getpid()}\n".encode())
        os.close(w)
        signal.sigwait({signal.SIGUSR1})
        sf.close()
        code = 0
    except BaseException as e:  # report, never fall back into the factory's loop
        os.write(w, f"ERROR {type(e).__name__}: {e}\n".encode())
        code = 1
    os._exit(code)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["factory"]:
        factory_main()
