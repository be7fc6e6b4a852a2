"""Issue 16.2: the owner closes before workers unpickle their tasks. Unpickling a
handle never fails (a Pool would hang, a ProcessPoolExecutor break); the first use,
inside the user's function, raises a typed error naming the cause and the remedy."""
import multiprocessing as mp
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import unique_name

import shmchunk


def _wait(event):
    event.wait(30)   # workers take no task before the owner has closed


def sum_planned(args):
    """The user's function: report what it saw instead of letting the pool do it."""
    sf, ids = args
    try:
        return float(sf.read(chunks=ids)["a"].sum())
    except shmchunk.SegmentNotFoundError as exc:
        return ("gone", type(exc).__name__, str(exc))


def frame():
    return pd.DataFrame({"a": np.arange(100_000.0), "b": np.arange(100_000)})


def _check(results):
    assert len(results) == 4
    for r in results:
        assert r[0] == "gone" and r[1] == "SegmentNotFoundError"
        assert "owner closed it, exited or was garbage-collected" in r[2]
        assert "with share(df) as sf" in r[2]


def test_pool_owner_closed_before_unpickling():
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    with ctx.Pool(2, initializer=_wait, initargs=(go,)) as pool:
        with shmchunk.share(frame(), name=unique_name("gone")) as sf:
            r = pool.map_async(sum_planned, [(sf, ids) for ids in sf.plan(4)])
        go.set()
        _check(r.get(timeout=60))   # before: TimeoutError, the pool hung


def test_executor_owner_closed_before_unpickling():
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    with ProcessPoolExecutor(2, mp_context=ctx, initializer=_wait, initargs=(go,)) as ex:
        with shmchunk.share(frame(), name=unique_name("gone")) as sf:
            futs = [ex.submit(sum_planned, (sf, ids)) for ids in sf.plan(4)]
        go.set()
        _check([f.result(timeout=60) for f in futs])   # before: BrokenProcessPool


def test_unpickling_a_gone_handle_never_raises():
    sf = shmchunk.share(frame(), name=unique_name("gone"))
    blob = pickle.dumps(sf)
    sf.close()
    h = pickle.loads(blob)          # no error here
    assert h.name == sf.name and not h.owner
    assert pickle.loads(pickle.dumps(h)).name == sf.name  # still pickles
    for use in (lambda: h.read(), lambda: h.columns, lambda: h.plan(2),
                lambda: h.chunk_ids(), lambda: h.column("a")):
        with pytest.raises(shmchunk.SegmentNotFoundError, match="garbage-collected"):
            use()
