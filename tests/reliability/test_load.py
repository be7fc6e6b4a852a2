"""Load: many processes attaching, reading random chunk sets, closing; many owners at once.

One spawn pool does all of it (a spawned worker's pandas import is the dominant cost):
  - load jobs over a raw and a zstd segment: each job attaches through the pickled
    handle or by name, reads a random set of columns x row groups, compares with an
    independent copy of the source rebuilt from its seed, closes; many iterations;
  - concurrent owners: the same workers each share a frame at the same moment.
CI: 4 workers x 8 jobs per codec x 4 iterations, 8 concurrent owners.
SHMC_LONG=1: 16 workers x 32 jobs per codec x 25 iterations, 32 owners.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from relutil import LONG, assert_clean_stderr, child_env, record

NROWS = 20_000 if LONG else 6_000
WORKERS = 16 if LONG else 4
JOBS = 32 if LONG else 8
ITERATIONS = 25 if LONG else 4
OWNERS = 32 if LONG else 8

LOAD_SCRIPT = """
import json, multiprocessing as mp, os, sys, relwork, shmchunk
nrows, workers, jobs, iterations, owners = map(int, sys.argv[1:6])
df = relwork.make_frame(nrows, 7)
if __name__ == "__main__":
    out = {}
    with mp.get_context("spawn").Pool(workers) as pool:
        for codec in ("raw", "zstd"):
            kw = {"compression": "zstd", "level": 1, "shuffle": True} if codec == "zstd" else {}
            with shmchunk.share(df, rows_per_chunk=1024, **kw) as sf:
                path = relwork.shm_path(sf.name)
                args = [(sf, nrows, 7, iterations, 1000 + j) for j in range(jobs)]
                res = pool.map(relwork.load_worker, args, chunksize=1)
                out[codec] = {"results": res, "exists_after_workers": os.path.exists(path),
                              "nchunks": sf.nchunks}
            out[codec]["exists_after_owner"] = os.path.exists(path)
        out["owners"] = pool.map(relwork.owner_worker,
                                 [(3000, s, "zstd" if s % 2 else None) for s in range(owners)],
                                 chunksize=1)
    print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def load_run(tmp_path_factory):
    import shmchunk  # noqa: F401  (skip logic lives in the shmchunk fixture; import errors show here)

    script = tmp_path_factory.mktemp("load") / "load.py"
    script.write_text(LOAD_SCRIPT)
    p = subprocess.run([sys.executable, str(script), str(NROWS), str(WORKERS), str(JOBS),
                        str(ITERATIONS), str(OWNERS)], capture_output=True, text=True,
                       timeout=1200, env=child_env())
    assert p.returncode == 0, f"stdout:\n{p.stdout[-2000:]}\nstderr:\n{p.stderr[-4000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1]), p.stderr


def test_load_stderr_clean(shmchunk, load_run):
    assert_clean_stderr(load_run[1])


@pytest.mark.parametrize("codec", ["raw", "zstd"])
def test_many_workers_read_random_chunks(shmchunk, load_run, codec):
    out = load_run[0][codec]
    res = out["results"]
    assert len(res) == JOBS
    assert all(r["iterations"] == ITERATIONS for r in res), res
    assert out["exists_after_workers"], "a worker unlinked the owner's segment"
    assert not out["exists_after_owner"], "owner left its segment behind"
    record(f"load_{codec}", {"processes": len({r['pid'] for r in res}), "jobs": JOBS,
                             "iterations_per_job": ITERATIONS,
                             "reads_checked": sum(r["reads"] for r in res),
                             "chunks": out["nchunks"], "rows": NROWS})


def test_concurrent_owners_unique_names_all_cleaned(shmchunk, load_run):
    res = load_run[0]["owners"]
    names = [r["name"] for r in res]
    assert len(set(names)) == OWNERS, f"name clash: {names}"
    assert all(r["alive_during"] for r in res)
    assert not any(r["after"] for r in res)
    assert not any(os.path.exists(f"/dev/shm/{n}") for n in names)
    record("concurrent_owners", {"owners": OWNERS, "distinct_names": len(set(names))})
