"""What Dask's memory monitor does to workers that read a big shared frame: a 1 GB
raw frame, 2 workers with memory_limit=450MB, 16 tasks each reading 1/16 of the rows.
Argument 1: share(release_pages=True), 0: False (then the workers pause at 80 %, the
nanny restarts them at 95 %, and the run stalls; stop it with Ctrl-C / timeout).

  PYTHONPATH=python SHMCHUNK_BUILD=$PWD/build timeout 200 .venv/bin/python tools/bench/dask_memlimit.py 1
"""
import sys, time, numpy as np, pandas as pd
from distributed import Client, LocalCluster
import shmchunk.dask as sd
def work(h, ids):
    part = h.read(chunks=ids)
    return float(part.sum().sum())
if __name__ == "__main__":
    release = sys.argv[1] == "1"
    lc = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit="450MB")
    c = Client(lc)
    df = pd.DataFrame({f"c{i}": np.random.rand(int(1e9/8/16)) for i in range(16)})
    pids0 = set(c.run(lambda: __import__("os").getpid()).values())
    with sd.share(c, df, release_pages=release) as h:
        t = time.time()
        futs = [c.submit(work, h, ids, pure=False) for ids in h.plan(16, by="rows")]
        try:
            res = c.gather(futs); ok = True
        except Exception as e:
            ok = repr(e)[:100]
        el = time.time() - t
        rss = c.run(lambda: __import__("psutil").Process().memory_info().rss)
    pids1 = set(c.run(lambda: __import__("os").getpid()).values())
    ev = c.get_events("worker-restart-memory") if hasattr(c, "get_events") else []
    print(f"release={release} ok={ok} seconds={el:.1f} restarted_workers={len(pids0 - pids1)} rss_after_MB={[v//2**20 for v in rss.values()]}")
    c.close(); lc.close()
