#!/usr/bin/env python3
"""Where does a shmchunk task's time go? In one process, cold (fresh attach per
measurement), on the benchmark's frame:

  - column access with and without per-chunk checksum verification
    (verification reads every byte, so it also takes the first-touch page faults),
  - a row-range read (sf.read(chunks=ids)), with a cProfile summary,
  - zstd column decode vs blosc2 zstd of the same column (1 and default threads),
  - peer (3)'s per-task cost (unpickle the whole frame) for scale.

    PYTHONPATH=python SHMCHUNK_LIBRARY=... .venv/bin/python tools/bench/profile_shmchunk.py [--rows N]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pickle
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peerbench import frame  # noqa: E402


def best_of(fn, n=3):
    """Median of n cold runs (fn does its own fresh attach) in ms."""
    return statistics.median(fn() for _ in range(n)) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    args = ap.parse_args()
    import shmchunk
    from shmchunk import _segment
    from shmchunk import frame as sfmod

    df = frame.make_frame(args.rows)
    rpc = frame.rows_per_chunk_for(args.rows, 2)
    raw = shmchunk.share(df, rows_per_chunk=rpc)
    zst = shmchunk.share(df, rows_per_chunk=rpc, compression="zstd", level=1, shuffle=True)
    numeric = [c for c in df.columns if df[c].dtype.kind in "iuf"]

    def cold_column(sf, col, touch=False):
        def run():
            sfmod.detach_all()
            t = time.perf_counter()
            s = pickle.loads(pickle.dumps(sf)).column(col)
            if touch:
                frame.reduce_series(s)
            return time.perf_counter() - t
        return run

    verify, verify_many = _segment.Segment.verify_chunk, _segment.Segment.verify_chunks
    print(f"{args.rows:,} rows, rows_per_chunk {rpc:,}; medians of 3 cold runs, ms")
    print("column        raw+verify  raw-noverify  +reduce(verify)  zstd  blosc2-zstd(1t)  blosc2(default t)")
    import blosc2
    for col in numeric:
        v_on = best_of(cold_column(raw, col))
        # both entry points: reads verify in one batch, then per chunk (found done)
        _segment.Segment.verify_chunk = lambda self, cid: None
        _segment.Segment.verify_chunks = lambda self, cids: None
        try:
            v_off = best_of(cold_column(raw, col))
        finally:
            _segment.Segment.verify_chunk = verify
            _segment.Segment.verify_chunks = verify_many
        with_reduce = best_of(cold_column(raw, col, touch=True))
        z = best_of(cold_column(zst, col))
        arr = df[col].to_numpy()
        cp = blosc2.CParams(codec=blosc2.Codec.ZSTD, clevel=1, typesize=arr.itemsize,
                            filters=[blosc2.Filter.SHUFFLE])
        packed = blosc2.compress2(arr, cparams=cp)

        def bl(threads):
            def run():
                dst = bytearray(arr.nbytes)
                t = time.perf_counter()
                blosc2.decompress2(packed, dst=dst, nthreads=threads)
                return time.perf_counter() - t
            return run
        b1, bd = best_of(bl(1)), best_of(bl(blosc2.nthreads))
        print(f"{col:<12}  {v_on:10.2f}  {v_off:12.2f}  {with_reduce:15.2f}  {z:5.2f}  "
              f"{b1:15.2f}  {bd:17.2f}")

    blob = pickle.dumps(df, protocol=5)
    t = best_of(lambda: (lambda t0: (pickle.loads(blob), time.perf_counter() - t0)[1])(
        time.perf_counter()))
    print(f"peer (3) per task, pickle.loads of the whole frame from bytes: {t:.1f} ms")

    lo, hi = 0, min(args.rows, rpc)
    ids = raw.chunk_ids(rows=slice(lo, hi))

    def cold_read():
        sfmod.detach_all()
        t0 = time.perf_counter()
        pickle.loads(pickle.dumps(raw)).read(chunks=ids)
        return time.perf_counter() - t0
    print(f"row range {lo}:{hi} (all columns) sf.read cold: {best_of(cold_read):.1f} ms; "
          f"df.iloc slice: {best_of(lambda: (lambda t0: (df.iloc[lo:hi], time.perf_counter() - t0)[1])(time.perf_counter())):.3f} ms")
    sfmod.detach_all()
    prof = cProfile.Profile()
    sf2 = pickle.loads(pickle.dumps(raw))
    prof.enable()
    sf2.read(chunks=ids)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(8)
    print("\n".join(out.getvalue().splitlines()[:22]))
    raw.close()
    zst.close()


if __name__ == "__main__":
    main()
