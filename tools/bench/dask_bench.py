"""Benchmark of shmchunk.dask against Dask's own ways to give every task a big
read-only frame, on two hosts of one machine (2 workers each): the LocalCluster's
workers share this process's /dev/shm; two `dask worker` processes run in their own
mount + IPC namespace over a private tmpfs /dev/shm (as tests/dask does).

Per method: RAM per host = growth of the workers' Pss_Anon (/proc/self/smaps_rollup,
read by each task when it is done with its rows, max per worker) + growth of the
host's /dev/shm, in units of the frame; the workers' RSS (what Dask's memory monitor
compares with memory_limit); time from the start of sharing to the first task
result; for shmchunk.dask, replica streaming MB/s. "shmchunk.dask (pull on first
read)" shares without pushing any copy, so the other host's first task pulls its copy
from a worker of the client's host, as a host that joins after share() does.

  PYTHONPATH=python SHMCHUNK_BUILD=$PWD/build .venv/bin/python tools/bench/dask_bench.py \
      --gb 1 --out docs/bench/dask.json --chart docs/bench/dask.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "dask"))


def pss_anon() -> tuple[int, int]:
    """(Pss_Anon, Rss) of this process in bytes."""
    vals = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Pss_Anon:", "Rss:"):
                vals[parts[0]] = int(parts[1]) * 1024
    return vals["Pss_Anon:"], vals["Rss:"]


def task_shmchunk(h, ids):
    part = h.read(chunks=ids)
    s = float(part.sum().sum())
    return s, pss_anon()


def task_frame(df, a, b):
    s = float(df.iloc[a:b].sum().sum())
    return s, pss_anon()


def shm_used(root: str) -> int:
    st = os.statvfs(root)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def run_method(client, other, method, df, nbytes, ntasks):
    import shmchunk
    import shmchunk.dask as sd

    hosts = {a: hid for a, (hid, _p) in client.run(sd._host_info).items()}
    here = sd.host_id()
    base = client.run(pss_anon)
    other_shm0 = shm_used(f"/proc/{other.root_pid}/root/dev/shm")
    bounds = np.linspace(0, len(df), ntasks + 1).astype(int)
    extra, t0 = {}, time.perf_counter()
    h = sf = None
    if method.startswith("shmchunk.dask"):
        sf = shmchunk.share(df)
        t_write = time.perf_counter() - t0
        pull = "pull" in method
        push, sd._replicate = sd._replicate, (lambda *a, **k: {}) if pull else sd._replicate
        try:
            h = sd.share(client, sf, wait="wait=False" not in method)
        finally:
            sd._replicate = push
        t_copy = time.perf_counter() - t0 - t_write
        extra = {"write_s": t_write, "share_s": t_copy,
                 "stream_MBps": sf.nbytes / t_copy / 1e6}
        futs = [client.submit(task_shmchunk, h, ids, pure=False) for ids in h.plan(ntasks, "rows")]
        if "wait=False" in method:
            h.wait_copies()
            extra["stream_MBps"] = sf.nbytes / (time.perf_counter() - t0 - t_write) / 1e6
        if pull:
            extra["stream_MBps"] = None
    elif method == "scatter(broadcast=True)":
        fut = client.scatter(df, broadcast=True)
        extra = {"scatter_s": time.perf_counter() - t0}
        futs = [client.submit(task_frame, fut, bounds[i], bounds[i + 1], pure=False)
                for i in range(ntasks)]
    else:  # the frame passed to every task
        futs = [client.submit(task_frame, df, bounds[i], bounds[i + 1], pure=False)
                for i in range(ntasks)]
    from distributed import wait
    first = next(iter(__import__("distributed").as_completed(futs)))
    t_first = time.perf_counter() - t0
    wait(futs)
    t_all = time.perf_counter() - t0
    if h is not None and "pull" in method:
        for _ in range(50):  # events reach the scheduler in the workers' next batch
            pulls = [e for _, e in client.get_events(sd.EVENT_TOPIC) if e.get("copy") == h.copy_name]
            if pulls:
                break
            time.sleep(0.2)
        extra["pulls"] = len(pulls)
        assert pulls, "no pull event"
        extra["stream_MBps"] = sum(e["bytes"] for e in pulls) / sum(e["seconds"] for e in pulls) / 1e6
    total = sum(f.result()[0] for f in futs)
    who = client.who_has(futs)
    peak = {}
    for f in futs:
        addr = who[f.key][0]
        anon, rss = f.result()[1]
        peak[addr] = max(peak.get(addr, (0, 0)), (anon, rss))
    shm_growth_b = shm_used(f"/proc/{other.root_pid}/root/dev/shm") - other_shm0
    shm_growth_a = sf.nbytes if sf is not None else 0
    per_host = {}
    for addr, hid in hosts.items():
        key = "client host" if hid == here else "other host"
        anon = max(0, peak.get(addr, base[addr])[0] - base[addr][0])
        d = per_host.setdefault(key, {"anon": 0, "rss": [], "shm": 0})
        d["anon"] += anon
        d["rss"].append(peak.get(addr, base[addr])[1])
    per_host["client host"]["shm"] = shm_growth_a
    per_host["other host"]["shm"] = shm_growth_b
    for d in per_host.values():
        d["copies"] = (d["anon"] + d["shm"]) / nbytes
        d["max_worker_rss_GB"] = max(d["rss"]) / 1e9
        del d["rss"]
    if h is not None:
        h.close()
        sf.close()
    client.cancel(futs)
    del futs
    if method.startswith("scatter"):
        client.cancel([fut])
        del fut
    time.sleep(1)
    return {"method": method, "first_result_s": t_first, "all_results_s": t_all,
            "check": total, **extra, "hosts": per_host}


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [r["method"] for r in results]
    x = np.arange(len(names))
    for i, host in enumerate(["client host", "other host"]):
        a1.bar(x + (i - 0.5) * 0.38, [r["hosts"][host]["copies"] for r in results], 0.38,
               label=host)
    a1.axhline(1.1, color="gray", ls="--", lw=1)
    names = [n.replace(" (", "\n(").replace("(broadcast", "\n(broadcast") for n in names]
    a1.set_xticks(x, names, fontsize=8)
    a1.set_ylabel("RAM per host (frames)")
    a1.legend(fontsize=8)
    a2.bar(x, [r["first_result_s"] for r in results], 0.5, color="tab:green")
    a2.set_xticks(x, names, fontsize=8)
    a2.set_ylabel("time to first result (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--out")
    ap.add_argument("--chart")
    ap.add_argument("--replot", help="only redraw --chart from this results JSON")
    ap.add_argument("--methods", default="shmchunk.dask,shmchunk.dask (pull on first read),"
                    "scatter(broadcast=True),frame per task")
    args = ap.parse_args()
    if args.replot:
        chart(json.loads(Path(args.replot).read_text())["results"], args.chart)
        return
    import dask
    from distributed import Client, LocalCluster
    from shmc_daskhelpers import OtherHost

    dask.config.set({"distributed.scheduler.active-memory-manager.start": False})
    ncols = 16
    nrows = int(args.gb * 1e9 / 8 / ncols)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"c{i}": rng.random(nrows) for i in range(ncols)})
    nbytes = int(df.memory_usage(index=False).sum())
    lc = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None, memory_limit=0)
    client = Client(lc)
    other = OtherHost(lc.scheduler_address, shm_size=f"{int(3 * args.gb) + 1}g")
    other.start_worker()
    other.start_worker()
    results = []
    try:
        client.wait_for_workers(4, timeout=120)
        client.run(__import__, "shmchunk.dask")  # warm: imports are not what we measure
        for m in args.methods.split(","):
            r = run_method(client, other, m, df, nbytes, args.tasks)
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        client.close()
        lc.close()
        other.close()
    doc = {"frame_bytes": nbytes, "rows": nrows, "columns": ncols, "tasks": args.tasks,
           "hosts": "2 x 2 workers (one in a private mount+IPC namespace)", "results": results}
    if args.out:
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    if args.chart:
        chart(results, args.chart)


if __name__ == "__main__":
    main()
