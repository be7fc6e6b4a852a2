"""Issue 16.3: plan(n, by="rows") gives every worker real work whenever the frame
has at least n rows, and read(chunks=[]) keeps the columns."""
import pickle

import numpy as np
import pandas as pd
import pytest

import shmchunk
from shmchunk.frame import default_rows_per_chunk


def frame(n):
    return pd.DataFrame({"a": np.arange(n, dtype=np.float64), "b": np.arange(n) % 7,
                         "s": pd.Series(np.arange(n) % 3).map({0: "x", 1: "y", 2: "z"})})


@pytest.mark.parametrize("nrows,rpc,n", [(2_000_000, 1 << 20, 4), (2_000_000, 1 << 20, 3),
                                         (10, 1 << 20, 4), (10, 4, 10), (100, 8, 16),
                                         (50_000, 1 << 13, 2)])
def test_rows_plan_every_worker_has_work(shared, nrows, rpc, n):
    df = frame(nrows)
    sf = shared(df, rows_per_chunk=rpc, compression="zstd")
    plan = sf.plan(n, by="rows")
    assert len(plan) == n and all(len(p) for p in plan)
    parts = [sf.read(chunks=pickle.loads(pickle.dumps(p))) for p in plan]   # as a worker would
    assert all(len(p) > 0 for p in parts)
    pd.testing.assert_frame_equal(pd.concat(parts), df)
    for p, got in zip(plan, parts):   # the C pickle writer honours the row cut too
        pd.testing.assert_frame_equal(pickle.loads(sf.pickle_bytes(chunks=p)), got)


def test_rows_plan_stays_on_row_groups_when_it_can(shared):
    sf = shared(frame(50_000), rows_per_chunk=1 << 13)   # 7 row groups
    plan = sf.plan(3, by="rows")
    assert all(getattr(p, "rows", None) is None for p in plan)
    assert sum(len(sf.read(chunks=p)) for p in plan) == 50_000


def test_read_no_chunks_keeps_columns(shared):
    df = frame(1000)
    sf = shared(df)
    empty = sf.read(chunks=[])
    assert empty.shape == (0, 3) and list(empty.columns) == ["a", "b", "s"]
    assert list(empty.dtypes) == list(df.dtypes)
    assert empty["a"].sum() == 0


def test_default_rows_per_chunk_follows_the_frame():
    assert default_rows_per_chunk(2_000_000, cores=2) == 1 << 19      # 4 row groups
    assert default_rows_per_chunk(2_000_000, cores=8) == 1 << 17      # 16 row groups
    assert default_rows_per_chunk(100_000_000, cores=8) == 1 << 20    # big frames: as before
    assert default_rows_per_chunk(10, cores=64) == 1 << 16            # floor


def test_default_plan_for_the_machine_is_aligned(shared):
    import os
    n = os.cpu_count() or 1
    sf = shared(frame(2_000_000))
    plan = sf.plan(n, by="rows")
    assert all(len(p) for p in plan) and all(getattr(p, "rows", None) is None for p in plan)
