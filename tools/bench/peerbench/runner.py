"""Runs one peer on one task shape: publish, start a pool, warm up, time the map."""
from __future__ import annotations

import gc
import multiprocessing as mp
import secrets
import statistics
import time
import traceback
import warnings

from . import frame
from . import peers

TASK_TIMEOUT_S = 600
# Repeat a map only while it is fast: slow maps are dominated by real work, not
# noise, and repeating them would blow the run's time budget.
REPEAT_BELOW_S = 2.0


def run_peer(peer_cls, df, shapes: dict, procs: int, rows_per_chunk: int,
             repeat: int = 1) -> list:
    """One record per shape; `shapes` maps shape -> (tasks, reference results).

    The data is published once and both shapes run against it, each in a
    fresh pool so that one shape's leftovers cannot flatter the other.
    """
    peer = peer_cls()
    recs = [{"peer": peer.key, "label": peer.label, "shape": shape, "ntasks": len(tasks),
             "procs": procs, "pool": peer.pool} for shape, (tasks, _) in shapes.items()]
    reason = peer.unavailable()
    if reason:
        for rec in recs:
            rec.update(status="skipped", error=reason)
        return recs
    published = False
    try:
        t0 = time.perf_counter()
        peer.publish(df, rows_per_chunk)
        published = True
        publish_s = time.perf_counter() - t0
        for rec, (tasks, reference) in zip(recs, shapes.values()):
            _run_shape(peer, df, rec, tasks, reference, procs, publish_s, repeat)
    except Exception as e:
        for rec in recs:
            if "status" not in rec:
                rec.update(status="error", error=f"{type(e).__name__}: {e}",
                           traceback=traceback.format_exc(limit=6))
    finally:
        if published:
            try:
                peer.cleanup()
            except Exception as e:   # report, but never hide the run's own outcome
                recs[-1].setdefault("cleanup_error", f"{type(e).__name__}: {e}")
    return recs


def _run_shape(peer, df, rec, tasks, reference, procs, publish_s, repeat):
    rec["publish_s"] = publish_s
    try:
        peer.account(df, tasks)
        rec["stored_bytes"], rec["moved_bytes"] = peer.stored, peer.moved
        reps, rec["pool_start_s"], walls = _map(peer, df, tasks, procs, repeat)
        rec["wall_s"], rec["wall_all_s"] = min(walls), walls
        rec.update(_summarise(peer, tasks, reps, reference))
    except Exception as e:
        rec.update(status="error", error=f"{type(e).__name__}: {e}",
                   traceback=traceback.format_exc(limit=6))


def _task_args(peer, df, tasks, run_id):
    return [(peers.Stamp(), run_id, peer.key, peer.ctx, peer.payload(df, t), t, peers.Stamp())
            for t in tasks]


def _map(peer, df, tasks, procs, repeat):
    """([outputs per repetition], pool start seconds, [wall seconds of each map]).

    Repetitions reuse the pool (a long-lived pool is the common case); the
    first one also pays each worker's first-touch costs."""
    run_id = f"{peer.key}-{secrets.token_hex(4)}"
    warm = [(run_id, peer.key)] * (2 * procs)
    if peer.pool == "joblib":
        return _map_joblib(peer, df, tasks, procs, run_id, warm, repeat)
    method = "fork" if peer.pool == "fork" else "spawn"
    # Garbage freed by the parent after a fork would turn pages the child still
    # maps into "private" ones and look like the child's growth.
    gc.collect()
    with warnings.catch_warnings():
        # fork() of a process that has threads (pyarrow, blosc2) is what this peer measures
        warnings.simplefilter("ignore", DeprecationWarning)
        t0 = time.perf_counter()
        pool = mp.get_context(method).Pool(procs)
    try:
        pool.starmap_async(peers.warmup, warm, chunksize=1).get(TASK_TIMEOUT_S)
        start_s = time.perf_counter() - t0
        reps, walls = [], []
        while len(reps) < repeat and (not walls or walls[-1] < REPEAT_BELOW_S):
            t1 = time.perf_counter()
            args = _task_args(peer, df, tasks, run_id)
            reps.append(pool.starmap_async(peers.run_task, args, chunksize=1).get(TASK_TIMEOUT_S))
            walls.append(time.perf_counter() - t1)
    finally:
        pool.terminate()
        pool.join()
    return reps, start_s, walls


def _map_joblib(peer, df, tasks, procs, run_id, warm, repeat):
    from joblib import Parallel, delayed
    t0 = time.perf_counter()
    par = Parallel(n_jobs=procs, backend="loky", max_nbytes="1M", mmap_mode="r",
                   batch_size=1)
    reps, walls = [], []
    try:
        with par:
            par(delayed(peers.warmup)(*w) for w in warm)
            start_s = time.perf_counter() - t0
            while len(reps) < repeat and (not walls or walls[-1] < REPEAT_BELOW_S):
                t1 = time.perf_counter()
                args = _task_args(peer, df, tasks, run_id)
                reps.append(par(delayed(peers.run_task)(*a) for a in args))
                walls.append(time.perf_counter() - t1)
    finally:
        _stop_loky()
    return reps, start_s, walls


def _stop_loky():
    """Fresh workers for the next run, so one run's heap cannot flatter the next."""
    try:
        from joblib.externals.loky import reusable_executor
        ex = reusable_executor._executor
        if ex is not None:
            ex.shutdown(wait=True, kill_workers=True)
    except Exception:
        pass


def _p50(xs):
    return statistics.median(xs) if xs else None


def _summarise(peer, tasks, reps, reference) -> dict:
    problems = []
    for i, outs in enumerate(reps):
        problems += [f"rep {i}: {p}" for p in
                     frame.compare_results(reference, [o["result"] for o in outs])]
    outs = [o for rep in reps for o in rep]
    refs = reference * len(reps)
    tasks = tasks * len(reps)
    access = [o["attach"] + o["decode"] for o in outs]
    totals = [a + o["compute"] for a, o in zip(access, outs)]
    numeric = [i for i, (t, ref) in enumerate(zip(tasks, refs))
               if t[0] == "col" and ref[t[1]][0] in ("int", "float")]
    mem_key = "Private" if peer.pool == "fork" else "Anonymous"
    growth = {}
    for o in outs:
        for k in ("Anonymous", "Private"):
            g = o["mem"].get(k, 0) - o["baseline"].get(k, 0)
            growth.setdefault(k, {}).setdefault(o["pid"], []).append(g)
    max_growth = {k: max(max(v) for v in per_pid.values()) for k, per_pid in growth.items()}
    files = {}
    for o in outs:
        files.update(o["info"].get("memmaps", {}))
    out = {
        "status": "ok" if not problems else "mismatch",
        "mismatches": problems[:10],
        "workers": len({o["pid"] for o in outs}),
        "attach_p50_s": _p50([o["attach"] for o in outs]),
        "decode_p50_s": _p50([o["decode"] for o in outs]),
        "compute_p50_s": _p50([o["compute"] for o in outs]),
        "access_p50_s": _p50(access),
        "task_p50_s": _p50(totals),
        "task_max_s": max(totals),
        "numeric_col_access_p50_s": _p50([access[i] for i in numeric]),
        "numeric_col_task_p50_s": _p50([totals[i] for i in numeric]),
        "mem_metric": mem_key,
        "mem_growth_bytes": max_growth.get(mem_key),
        "mem_growth_anonymous_bytes": max_growth.get("Anonymous"),
        "mem_growth_private_bytes": max_growth.get("Private"),
        "results": [o["result"] for o in reps[0]],
        "per_task": [{"task": o["task"], "pid": o["pid"], "attach_s": o["attach"],
                      "decode_s": o["decode"], "compute_s": o["compute"],
                      "mem_growth_bytes": o["mem"].get(mem_key, 0) - o["baseline"].get(mem_key, 0)}
                     for o in outs],
    }
    if files:
        out["stored_bytes"] = sum(files.values())
    return out
