"""Load: many processes attaching, reading random chunk sets, closing; many owners at once.

CI variant: 4 spawned workers x 6 iterations per codec, 6 concurrent owners.
SHMC_LONG=1: 16 workers x 60 iterations per codec, 16 concurrent owners.
Every read is compared with an independent copy of the source frame, rebuilt from
its seed inside the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from relutil import LONG, assert_clean_stderr, child_env, record

NROWS = 20_000 if LONG else 6_000
WORKERS = 16 if LONG else 4
ITERATIONS = 60 if LONG else 6
OWNERS = 16 if LONG else 6

LOAD_SCRIPT = """
import json, multiprocessing as mp, os, sys, relwork, shmchunk
nrows, workers, iterations, codec = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
df = relwork.make_frame(nrows, 7)
kw = {"compression": "zstd", "level": 1, "shuffle": True} if codec == "zstd" else {}
if __name__ == "__main__":
    with shmchunk.share(df, rows_per_chunk=1024, **kw) as sf:
        path = relwork.shm_path(sf.name)
        jobs = [(sf, nrows, 7, iterations, 1000 + w) for w in range(workers)]
        with mp.get_context("spawn").Pool(workers) as pool:
            res = pool.map(relwork.load_worker, jobs)
        exists_after_workers = os.path.exists(path)
        nchunks = sf.nchunks
    print(json.dumps({"results": res, "exists_after_workers": exists_after_workers,
                      "exists_after_owner": os.path.exists(path), "nchunks": nchunks}))
"""


@pytest.mark.parametrize("codec", ["raw", "zstd"])
def test_many_workers_read_random_chunks(shmchunk, codec, tmp_path):
    import json

    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    p = subprocess.run([sys.executable, str(script), str(NROWS), str(WORKERS), str(ITERATIONS),
                        codec], capture_output=True, text=True, timeout=600, env=child_env())
    assert p.returncode == 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr[-4000:]}"
    assert_clean_stderr(p.stderr)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    res = out["results"]
    assert len(res) == WORKERS
    assert all(r["iterations"] == ITERATIONS for r in res), res
    assert out["exists_after_workers"], "a worker unlinked the owner's segment"
    assert not out["exists_after_owner"], "owner left its segment behind"
    record(f"load_{codec}", {"processes": len({r['pid'] for r in res}), "jobs": WORKERS,
                             "iterations_per_job": ITERATIONS,
                             "reads_checked": sum(r["reads"] for r in res),
                             "chunks": out["nchunks"], "rows": NROWS})


OWNERS_SCRIPT = """
import json, multiprocessing as mp, sys, relwork
n = int(sys.argv[1])
if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    with ctx.Pool(n) as pool:
        res = pool.map(relwork.owner_worker,
                       [(3000, s, "zstd" if s % 2 else None) for s in range(n)])
    print(json.dumps(res))
"""


def test_concurrent_owners_unique_names_all_cleaned(shmchunk, tmp_path):
    import json

    script = tmp_path / "owners.py"
    script.write_text(OWNERS_SCRIPT)
    p = subprocess.run([sys.executable, str(script), str(OWNERS)], capture_output=True,
                       text=True, timeout=600, env=child_env())
    assert p.returncode == 0, p.stderr[-4000:]
    assert_clean_stderr(p.stderr)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    names = [r["name"] for r in res]
    assert len(set(names)) == OWNERS, f"name clash: {names}"
    assert all(r["alive_during"] for r in res)
    assert not any(r["after"] for r in res)
    assert not any(os.path.exists(f"/dev/shm/{n}") for n in names)
    record("concurrent_owners", {"owners": OWNERS, "distinct_names": len(set(names))})
