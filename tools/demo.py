#!/usr/bin/env python3
"""The main job: share one multi-million-row DataFrame with a pool of workers.

Each worker reads only the chunks of its plan (shmchunk.SharedFrame.plan) and sums
its columns. Next to it, in the same run, the usual alternative: the whole frame
pickled once into a multiprocessing.shared_memory block that every worker unpickles
in full. Per worker: time to get the data, time to compute, and private (anonymous)
memory growth from /proc/self/smaps_rollup. Results are checked equal.

    tools/dev.sh demo [--rows N] [--workers N] [--compression zstd] [--by column|rows]
                      [--rows-per-chunk N] [--start spawn|forkserver|fork] [--latency TASKS]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import pickle
import sys
import time
from multiprocessing import shared_memory

import numpy as np
import pandas as pd

import shmchunk


# ---------------------------------------------------------------- the frame
def make_frame(nrows: int, seed: int = 42) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    rng = np.random.default_rng(seed)
    cities = np.array(["Paris", "Lyon", "Zürich", "São Paulo", "Kraków", "Oslo", "Lima",
                       "Seoul", "Cairo", "Perth", "Quito", "Delhi"], dtype=object)
    user_ids = pa.array(rng.integers(0, 10**9, nrows)).cast(pa.string())
    users = pc.binary_join_element_wise("user-", user_ids, "")  # built in C++, not Python
    missing = rng.random(nrows) < 0.05
    qty = pd.array(rng.integers(0, 1000, nrows), dtype="Int64")
    qty[missing] = pd.NA
    str_dtype = "str" if int(pd.__version__.split(".")[0]) >= 3 else "string[pyarrow]"
    return pd.DataFrame({
        "id": np.arange(nrows, dtype=np.int64),
        "units": rng.integers(0, 50_000, nrows, dtype=np.int32),
        "grade": rng.integers(-100, 100, nrows, dtype=np.int8),
        "price": rng.lognormal(3.0, 1.0, nrows),
        "ratio": rng.random(nrows, dtype=np.float32),
        "flag": rng.random(nrows) < 0.3,
        "when": pd.date_range("2024-01-01", periods=nrows, freq="s", tz="Europe/Paris"),
        "latency": pd.to_timedelta(rng.integers(0, 10**9, nrows), unit="us"),
        "segment": pd.Categorical.from_codes(rng.integers(0, 8, nrows),
                                             categories=[f"seg{i}" for i in range(8)]),
        "city": pd.Series(cities[rng.integers(0, len(cities), nrows)], dtype=str_dtype),
        "user": pd.Series(pd.array(users.to_pandas(types_mapper=pd.ArrowDtype).array
                                   ._pa_array, dtype=str_dtype)),
        "qty": qty,
    })


def compute(part: pd.DataFrame) -> dict:
    """What a worker does with its columns: one aggregate per column, as (how to
    merge, value) so that parts of a row-split plan add up to the whole."""
    out = {}
    for label in part.columns:
        s = part[label]
        if isinstance(s.dtype, pd.CategoricalDtype):
            counts = np.bincount(s.cat.codes.to_numpy() + 1, minlength=len(s.cat.categories) + 1)
            out[label] = ("add", tuple(counts.tolist()))
        elif s.dtype.kind in "biuf":
            out[label] = ("add", float(s.sum()))
        elif s.dtype.kind == "M" or isinstance(s.dtype, pd.DatetimeTZDtype):
            out[label] = ("max", s.max().value if len(s) else None)
        elif s.dtype.kind == "m":
            out[label] = ("add", int(s.sum().value))
        else:  # strings: total characters
            out[label] = ("add", int(s.str.len().sum()))
    return out


def merge(parts) -> dict:
    total = {}
    for part in parts:
        for label, (how, value) in part.items():
            if label not in total:
                total[label] = (how, value)
                continue
            old = total[label][1]
            if how == "max":
                value = max(v for v in (old, value) if v is not None) if (old, value) != (None, None) else None
            elif isinstance(value, tuple):
                value = tuple(a + b for a, b in zip(old, value))
            else:
                value = old + value
            total[label] = (how, value)
    return total


def part_selection(sf, ids) -> tuple[list, int, int]:
    """Columns and row range a plan part covers, so the peer does the same work."""
    info = sf.info()
    data = {c["id"]: c["label"] for c in info["columns"] if not c["index"] and not c["dictionary"]}
    cols, lo, hi = [], None, None
    for cid in ids:
        ck = sf.chunk_info(cid)
        if ck["column"] in data:
            if data[ck["column"]] not in cols:
                cols.append(data[ck["column"]])
            lo = ck["row_start"] if lo is None else min(lo, ck["row_start"])
            end = ck["row_start"] + ck["nrows"]
            hi = end if hi is None else max(hi, end)
    order = list(data.values())
    return sorted(cols, key=order.index), lo or 0, hi or 0


# ---------------------------------------------------------------- memory
def private_mb() -> tuple[float, float]:
    """(Anonymous, Rss) of this process in MiB. Anonymous is memory no other
    process can share: the real per-worker cost. Rss also counts the shared pages
    this process has touched."""
    vals = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Anonymous:", "Rss:"):
                vals[parts[0][:-1]] = int(parts[1]) / 1024
    return vals["Anonymous"], vals["Rss"]


# ---------------------------------------------------------------- workers
def shmchunk_task(args):
    sf, ids = args
    anon0, rss0 = private_mb()
    t0 = time.perf_counter()
    part = sf.read(chunks=ids)           # only this worker's chunks; zero-copy when raw
    t1 = time.perf_counter()
    anon1, rss1 = private_mb()
    result = compute(part)
    t2 = time.perf_counter()
    anon2, _ = private_mb()
    return os.getpid(), t1 - t0, t2 - t1, anon1 - anon0, anon2 - anon0, rss1 - rss0, result


def pickle_task(args):
    shm_name, size, (labels, lo, hi) = args
    anon0, rss0 = private_mb()
    t0 = time.perf_counter()
    # Pool workers share the parent's resource_tracker, so their registration is a
    # duplicate the parent's unlink clears (CPython issue 82300 bites processes with
    # their own tracker); 3.13 can skip it.
    kw = {"track": False} if sys.version_info >= (3, 13) else {}
    shm = shared_memory.SharedMemory(shm_name, **kw)
    df = pickle.loads(shm.buf[:size])    # every worker unpickles the whole frame
    part = df[labels].iloc[lo:hi]
    t1 = time.perf_counter()
    anon1, rss1 = private_mb()
    result = compute(part)
    t2 = time.perf_counter()
    anon2, _ = private_mb()
    del df, part
    shm.close()
    return os.getpid(), t1 - t0, t2 - t1, anon1 - anon0, anon2 - anon0, rss1 - rss0, result


def latency_task(args):
    """--latency: many small tasks, each unpickling the handle and getting one column."""
    blob, labels, ntasks = args
    anon0, _ = private_mb()
    times = []
    for i in range(ntasks):
        t0 = time.perf_counter()
        sf = pickle.loads(blob)
        s = sf.column(labels[i % len(labels)])
        times.append(time.perf_counter() - t0)
        s.sum()
    anon1, _ = private_mb()
    return times, anon1 - anon0


def run_latency(args, ctx) -> int:
    df = make_frame(args.rows)
    df["extra"] = df["price"] * 2  # 13 columns
    numeric = [c for c in df.columns if df[c].dtype.kind in "iuf" and
               not isinstance(df[c].dtype, pd.api.extensions.ExtensionDtype)]
    with shmchunk.share(df, compression=args.compression,
                        rows_per_chunk=args.rows_per_chunk) as sf:
        blob = pickle.dumps(sf)
        res = run_pool(ctx, args.workers, latency_task,
                       [(blob, numeric, args.latency)] * args.workers)
    print(f"{len(df):,} rows x {df.shape[1]} columns, {args.workers} {args.start} workers, "
          f"{args.latency} tasks each; a task = unpickle the {len(blob)}-byte handle + "
          f"column(one of {numeric})")
    for w, (times, anon) in enumerate(res):
        first, warm = times[0], sorted(times[1:])
        print(f"worker {w}: first task {first * 1e3:.2f} ms (attach + checksum of the column), "
              f"warm median {warm[len(warm) // 2] * 1e3:.3f} ms, best {warm[0] * 1e3:.3f} ms; "
              f"anonymous memory growth {anon:.1f} MiB")
    return 0


def warm(_):
    """Run once per worker before timing, so imports are not billed to the task."""
    compute(pd.DataFrame({"a": pd.Series(["x"], dtype="string[pyarrow]"),
                          "b": pd.Categorical(["y"]), "c": [1.0]}))
    private_mb()
    return os.getpid()


def run_pool(ctx, n, fn, tasks):
    with ctx.Pool(n) as pool:
        pool.map(warm, range(n * 2), chunksize=1)
        return pool.map(fn, tasks, chunksize=1)


# ---------------------------------------------------------------- main
def close_enough(a: dict, b: dict, what: str = "") -> bool:
    """Equal, but float sums only to 1e-6: a row-split plan adds in another order
    (and pandas sums float32 in float32)."""
    bad = sorted(set(a) ^ set(b), key=str)
    for k in set(a) & set(b):
        x, y = a[k][1], b[k][1]
        if not (math.isclose(x, y, rel_tol=1e-6) if isinstance(x, float) else x == y):
            bad.append(k)
    for k in bad:
        print(f"MISMATCH {what} {k!r}: {a.get(k)} != {b.get(k)}")
    return not bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compression", choices=["zstd"], default=None)
    ap.add_argument("--rows-per-chunk", type=int, default=1 << 20)
    ap.add_argument("--by", choices=["column", "rows"], default="column")
    ap.add_argument("--start", choices=mp.get_all_start_methods(), default="spawn")
    ap.add_argument("--latency", type=int, metavar="TASKS", default=0,
                    help="instead: time TASKS one-column tasks per worker")
    args = ap.parse_args(argv)
    ctx = mp.get_context(args.start)
    if args.latency:
        return run_latency(args, ctx)
    t_all = time.perf_counter()

    t = time.perf_counter()
    df = make_frame(args.rows)
    mem = df.memory_usage(deep=False).sum() / 2**20
    print(f"frame: {len(df):,} rows x {df.shape[1]} columns, ~{mem:,.0f} MiB "
          f"(made in {time.perf_counter() - t:.1f} s; pandas {pd.__version__})")
    expected = compute(df)

    # ---- shmchunk: share once, hand each worker a handle + its chunk ids
    t = time.perf_counter()
    sf = shmchunk.share(df, compression=args.compression, rows_per_chunk=args.rows_per_chunk)
    t_share = time.perf_counter() - t
    plan = sf.plan(args.workers, by=args.by)
    selections = [part_selection(sf, ids) for ids in plan]
    handle_len = len(pickle.dumps(sf))
    print(f"shmchunk.share: {t_share:.2f} s -> segment {sf.name} of {sf.nbytes / 2**20:,.0f} MiB, "
          f"{sf.nchunks} chunks; handle pickles to {handle_len} bytes")
    try:
        res_sc = run_pool(ctx, args.workers, shmchunk_task, [(sf, ids) for ids in plan])
    finally:
        sf.close()

    # ---- peer: pickle the whole frame once into one SharedMemory block
    t = time.perf_counter()
    blob = pickle.dumps(df, protocol=5)
    shm = shared_memory.SharedMemory(create=True, size=len(blob))
    shm.buf[:len(blob)] = blob
    t_pickle = time.perf_counter() - t
    size = len(blob)
    del blob
    print(f"pickle -> SharedMemory: {t_pickle:.2f} s -> {size / 2**20:,.0f} MiB")
    try:
        res_pk = run_pool(ctx, args.workers, pickle_task,
                          [(shm.name, size, sel) for sel in selections])
    finally:
        shm.close()
        shm.unlink()

    # ---- check and report
    got_sc = merge(r[-1] for r in res_sc)
    got_pk = merge(r[-1] for r in res_pk)
    ok = close_enough(got_sc, expected, "shmchunk") & close_enough(got_pk, expected, "pickle")
    print()
    print(f"{'approach':<23}{'worker':>6}{'cols':>5}{'get data s':>11}{'compute s':>10}"
          f"{'private MiB':>12}{'(+compute)':>11}{'RSS MiB':>9}")
    for title, rows in ((f"shmchunk ({args.compression or 'raw'})", res_sc),
                        ("pickle->SharedMemory", res_pk)):
        for w, (pid, t_get, t_cmp, anon, anon2, rss, result) in enumerate(rows):
            print(f"{title:<23}{w:>6}{len(result):>5}{t_get:>11.3f}{t_cmp:>10.3f}"
                  f"{anon:>12,.0f}{anon2:>11,.0f}{rss:>9,.0f}")
    print()
    print("private MiB: growth of Anonymous (/proc/self/smaps_rollup) once the worker has its "
          "data, and after computing\n(temporaries of the sums, the same work in both rows). "
          "RSS MiB also counts the shared pages the\nworker touched: mapped, not copied.")
    print(f"results equal to the parent's: {'yes' if ok else 'NO'}   "
          f"(total {time.perf_counter() - t_all:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
