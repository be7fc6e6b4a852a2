"""Lifecycle: who unlinks a segment, when, and what survives.

Promises checked (README.md, Guarantees, "Lifecycle"):
  - the owner unlinks on close(), on leaving `with` (also by an exception), on garbage
    collection and at interpreter exit;
  - attachers never unlink, never talk to resource_tracker, and keep reading valid
    data after the owner unlinked (the mapping outlives the name);
  - an owner killed by SIGKILL leaves an orphan that `shmchunk ls` reports as orphaned
    and `shmchunk gc` / shmchunk.gc() removes -- and nothing else: not a persistent
    segment from `shmchunk pack`, not one whose owner is alive, not another uid's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import relwork
from relutil import CLI, assert_clean_stderr, child_env, needs_root, record, run_cli, run_py

NROWS = 5000
NOBODY = 65534

PRELUDE = f"""
import gc, os, sys, relwork, shmchunk
df = relwork.make_frame({NROWS}, 0)
"""

def _exists(name: str, root: str = "") -> bool:
    return os.path.exists(relwork.shm_path(name, root))


# --------------------------------------------------------------------------
# The owner unlinks
# --------------------------------------------------------------------------
def test_owner_close_unlinks_and_is_idempotent(shmchunk):
    sf = shmchunk.share(relwork.make_frame(NROWS), rows_per_chunk=1024)
    path = relwork.shm_path(sf.name)
    assert os.path.exists(path)
    sf.close()
    assert not os.path.exists(path)
    sf.close()  # idempotent
    with pytest.raises(shmchunk.ClosedError):
        sf.read(chunks=[0])


def test_owner_with_block_unlinks_on_exception(shmchunk):
    with pytest.raises(KeyError, match="boom"):
        with shmchunk.share(relwork.make_frame(NROWS), rows_per_chunk=1024) as sf:
            path = relwork.shm_path(sf.name)
            assert os.path.exists(path)
            raise KeyError("boom")
    assert not os.path.exists(path)


def test_owner_garbage_collected_unlinks(shmchunk):
    import gc

    sf = shmchunk.share(relwork.make_frame(NROWS), rows_per_chunk=1024)
    path = relwork.shm_path(sf.name)
    del sf
    gc.collect()
    assert not os.path.exists(path)


def test_owner_interpreter_exit_unlinks(shmchunk):
    # The owner keeps a module-level reference and simply exits.
    p = run_py(PRELUDE + """
sf = shmchunk.share(df, rows_per_chunk=1024)
keep = [sf]
print(relwork.bare_name(sf.name))
""")
    name = p.stdout.split()[0]
    assert not _exists(name), f"/dev/shm/{name} left behind after the owner exited"
    assert_clean_stderr(p.stderr)


def test_owner_exit_with_uncaught_exception_unlinks(shmchunk):
    p = run_py(PRELUDE + """
sf = shmchunk.share(df, rows_per_chunk=1024)
print(relwork.bare_name(sf.name), flush=True)
raise SystemError("owner crashes in Python")
""", check=False)
    assert p.returncode == 1
    name = p.stdout.split()[0]
    assert not _exists(name)
    assert "resource_tracker" not in p.stderr


# --------------------------------------------------------------------------
# Attachers
# --------------------------------------------------------------------------
def test_attacher_never_unlinks_and_outlives_owner(shmchunk, owners):
    fac = owners()
    name, pid = fac.share(nrows=NROWS)
    assert _exists(name)
    # A separate attacher process reads, closes and exits: the name must stay.
    p = run_py(f"""
import gc, relwork, shmchunk
df = relwork.make_frame({NROWS}, 0)
sf = shmchunk.attach({name!r})
relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
sf.close()
sf2 = shmchunk.attach({name!r}); del sf2; gc.collect()
sf3 = shmchunk.attach({name!r})  # still attached at interpreter exit
""")
    assert_clean_stderr(p.stderr)
    assert _exists(name), "an attacher unlinked the segment"

    # This process attaches, then the owner unlinks; the mapping keeps working.
    df = relwork.make_frame(NROWS, 0)
    sf = shmchunk.attach(name)
    col = sf.column("i64")
    fac.close_owner(pid)
    assert not _exists(name), "owner did not unlink on close"
    relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
    assert (col.to_numpy() == df["i64"].to_numpy()).all()
    with pytest.raises(shmchunk.SegmentNotFoundError):
        shmchunk.attach(name)
    sf.close()


POOL_SCRIPT = PRELUDE + """
import multiprocessing as mp

def work(args):
    sf, ids = args
    part = sf.read(chunks=ids)
    return len(part), os.getpid()

if __name__ == "__main__":
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        path = relwork.shm_path(sf.name)
        plan = sf.plan(3, by="rows")
        with mp.get_context("spawn").Pool(2) as pool:
            res = pool.map(work, [(sf, ids) for ids in plan])
        assert sum(r[0] for r in res) == len(df), res
        print("alive-after-workers", os.path.exists(path))
    print("after-owner", os.path.exists(path))
"""


def test_spawn_pool_workers_leave_segment_and_stderr_clean(shmchunk, tmp_path):
    script = tmp_path / "pool_owner.py"
    script.write_text(POOL_SCRIPT)
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120, env=child_env())
    assert p.returncode == 0, p.stderr
    assert "alive-after-workers True" in p.stdout
    assert "after-owner False" in p.stdout
    assert_clean_stderr(p.stderr)


# --------------------------------------------------------------------------
# Crashed owners and gc (in a private /dev/shm so nobody else's gc interferes)
# --------------------------------------------------------------------------
def _ls_states(ns) -> dict:
    p = run_cli("ls", "--json", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    return {relwork.bare_name(e["name"]): e["state"] for e in json.loads(p.stdout)}


@needs_root
def test_sigkilled_owner_orphan_removed_by_cli_gc_only(shmchunk, cli, private_shm, owners,
                                                       pickle_file):
    ns = private_shm("64m")
    fac = owners(ns)
    p = run_cli("pack", pickle_file(NROWS), "shm:rel-persistent", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    names = {"persistent": "rel-persistent"}
    names["alive"], alive_pid = fac.share()
    for kind in ("dead", "dead_zstd", "foreign_dead", "chowned_dead"):
        name, pid = fac.share(uid=NOBODY if kind == "foreign_dead" else -1,
                              codec="zstd" if kind == "dead_zstd" else "raw")
        fac.kill(pid)
        names[kind] = name
    # An orphan whose file was given to another uid: its header still names us as
    # creator, but the file system says it is not ours -- gc must leave it.
    os.chown(ns.shm / names["chowned_dead"], NOBODY, NOBODY)

    present = set(ns.listdir())
    assert present == set(names.values()), (names, present)
    states = _ls_states(ns)
    assert states[names["persistent"]] == "persistent", states
    assert states[names["alive"]] == "alive", states
    assert states[names["dead"]] == "orphaned", states

    p = run_cli("gc", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    removed = {names["dead"], names["dead_zstd"]}
    after = set(ns.listdir())
    assert after == present - removed, (names, present, after)
    assert all(n in p.stdout for n in removed), p.stdout
    p = run_cli("gc", prefix=ns.prefix)  # idempotent
    assert p.returncode == 0 and set(ns.listdir()) == after

    fac.close_owner(alive_pid)
    assert set(ns.listdir()) == after - {names["alive"]}, "alive owner did not unlink"
    record("gc_cli", {"segments": len(names), "orphans_removed": len(removed),
                      "kept": ["persistent", "alive", "foreign_dead", "chowned_dead"]})


def test_sigkilled_owner_orphan_removed_by_python_gc(shmchunk, private_shm, owners):
    if not hasattr(shmchunk, "gc"):
        pytest.fail("shmchunk.gc() is missing from the Python package (README.md, Guarantees: Lifecycle)")
    ns = private_shm("64m")
    fac = owners(ns)
    alive_name, alive_pid = fac.share()
    dead_name, dead_pid = fac.share()
    fac.kill(dead_pid)
    p = run_py("import shmchunk; print(repr(shmchunk.gc()))", prefix=ns.prefix)
    assert_clean_stderr(p.stderr)
    assert set(ns.listdir()) == {alive_name}
    import ast

    removed = ast.literal_eval(p.stdout.strip())
    assert [relwork.bare_name(n) for n in removed] == [dead_name], \
        f"gc() should return exactly the removed name: {p.stdout!r}"
    fac.close_owner(alive_pid)
    assert ns.listdir() == []
    record("gc_python", {"orphans_removed": len(removed), "alive_kept": 1})


def test_attacher_of_killed_owner_keeps_reading(shmchunk, private_shm, owners):
    """The owner dies while a reader holds the segment; the reader's data stays valid
    and gc removes only the name, not the reader's mapping."""
    ns = private_shm("64m")
    fac = owners(ns)
    name, pid = fac.share(nrows=NROWS, codec="zstd")
    # Attach through the namespace's /dev/shm as a file: same bytes, same tmpfs.
    sf = shmchunk.attach(str(ns.shm / name))
    fac.kill(pid)
    if CLI.is_file():
        assert run_cli("gc", prefix=ns.prefix).returncode == 0
    else:
        run_py("from shmchunk import _lib; import ctypes; n = ctypes.c_uint32(); "
               "_lib.lib.shmc_shm_gc(_lib.SHM_LIST_FN(), None, ctypes.byref(n))",
               prefix=ns.prefix)
    assert ns.listdir() == []
    relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), relwork.make_frame(NROWS, 0))
    sf.close()


def test_stale_handle_never_reads_a_reused_name(shmchunk):
    """A handle pickled for one segment, unpickled after the name was reused by a new
    segment, must refuse (identity check) instead of reading the new frame's data."""
    import pickle

    name = f"rel-reuse-{os.getpid()}"
    old = shmchunk.share(relwork.make_frame(NROWS, 1), rows_per_chunk=1024, name=name)
    blob = pickle.dumps(old)
    old.close()
    with shmchunk.share(relwork.make_frame(NROWS, 2), rows_per_chunk=1024, name=name):
        with pytest.raises((shmchunk.IdentityMismatchError, shmchunk.SegmentNotFoundError)):
            pickle.loads(blob).read(chunks=[0])
    assert not _exists(name)


WRITER = """
import sys, numpy as np, pandas as pd, shmchunk
df = pd.DataFrame({f"c{i}": np.random.default_rng(i).random(1 << 20) for i in range(8)})
print("ready", flush=True)
sys.stdin.readline()
sf = shmchunk.share(df, rows_per_chunk=1 << 16)
print("done", flush=True)
sys.stdin.read()
"""


def _provisional_header(ns) -> bool:
    """Does the segment being written already name its writer (owner pid set)?"""
    names = ns.listdir()
    if not names:
        return False
    try:
        with open(ns.shm / names[0], "rb") as f:
            return any(f.read(32)[24:32])
    except FileNotFoundError:
        return False


def _kill_when_file_appears(ns, proc, start):
    """Let `start` begin the write; SIGKILL proc as soon as the provisional header is
    there. (Before that -- between shm_open and the first header write -- the file
    has no owner to check; see README.md, Guarantees, "Not promised".)"""
    start()
    deadline = time.monotonic() + 60
    while not _provisional_header(ns):
        assert time.monotonic() < deadline and proc.poll() is None, "writer never created"
    proc.kill()
    proc.wait(timeout=30)
    hdr = (ns.shm / ns.listdir()[0]).read_bytes()[:128]
    return hdr[120:128] == b"SMSEALED"


@pytest.mark.parametrize("writer", ["share", "pack"])
def test_writer_killed_mid_write_is_removable_by_gc(shmchunk, cli, private_shm, tmp_path, writer):
    """A writer killed while writing leaves an unsealed segment naming it as owner:
    readers refuse it, `ls` shows it, `gc` removes it (a finished `pack` would be
    persistent and stay; then the kill came too late and the test says so)."""
    ns = private_shm("256m")
    if writer == "share":
        proc = ns.popen([sys.executable, "-c", WRITER], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == "ready"

        def start():
            proc.stdin.write("\n")
            proc.stdin.flush()
    else:
        import numpy as np
        import pandas as pd

        src = tmp_path / "big.pkl"
        pd.DataFrame({f"c{i}": np.random.default_rng(i).random(1 << 20)
                      for i in range(8)}).to_pickle(src)
        proc = ns.popen([str(cli), "pack", str(src), "shm:rel-killed"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def start():
            pass
    sealed = _kill_when_file_appears(ns, proc, start)
    name = ns.listdir()[0]
    if sealed and writer == "pack":
        pytest.skip("the kill came after pack sealed its (persistent) segment")
    if not sealed:
        with pytest.raises(shmchunk.UnsealedError):
            shmchunk.attach(str(ns.shm / name))
    states = _ls_states(ns)
    assert name in states, states
    p = run_cli("gc", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    assert ns.listdir() == [], f"gc left {ns.listdir()} (sealed={sealed})"
    record(f"killed_mid_write_{writer}", {"unsealed_at_kill": not sealed, "gc_removed": True})


BIG_WRITER = """
import sys, numpy as np, pandas as pd, shmchunk
df = pd.DataFrame({f"c{i}": np.zeros(1 << 20) for i in range(96)})  # 805 MB, calloc'd
print("ready", flush=True)
sys.stdin.readline()
shmchunk.share(df, rows_per_chunk=1 << 20)
"""


def _kill_on_appearance(ns):
    """Start BIG_WRITER, SIGKILL it the moment its object appears; (path, head, size)."""
    proc = ns.popen([sys.executable, "-c", BIG_WRITER], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not ns.listdir():
        assert time.monotonic() < deadline and proc.poll() is None, "writer never created"
    proc.kill()
    proc.wait(timeout=30)
    path = ns.shm / ns.listdir()[0]
    return path, path.read_bytes()[:128], path.stat().st_size


def test_writer_killed_while_reserving_is_removable_by_gc(shmchunk, private_shm):
    """Reserving a large segment takes a while (fallocate of 805 MB); the provisional
    header is written before it, so a writer killed while reserving has already named
    itself as owner and `gc` removes the object. A kill can still land in the few
    microseconds between creating the object and writing the header: then try again
    (a writer that reserved before writing its header would never pass)."""
    ns = private_shm("1g")
    for attempt in range(5):
        path, head, size = _kill_on_appearance(ns)
        if any(head) and size < 805 << 20:
            break
        path.unlink()
    else:
        pytest.fail(f"in 5 kills the object never had its header while reserving "
                    f"(last: {size} bytes, header {'set' if any(head) else 'empty'})")
    assert head[120:128] != b"SMSEALED"
    states = _ls_states(ns)
    assert states.get(path.name) == "orphaned", states
    p = run_cli("gc", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    assert ns.listdir() == [], f"gc left {ns.listdir()}"
    record("killed_while_reserving", {"size_at_kill": size, "attempts": attempt + 1,
                                      "gc_removed": True})


def test_forked_child_of_owner_never_unlinks(shmchunk):
    """A child forked from the owner inherits its handle and finalizers; when it exits
    normally (atexit runs) or collects the handle, the parent's segment must stay."""
    p = run_py(PRELUDE + """
sf = shmchunk.share(df, rows_per_chunk=1024)
path = relwork.shm_path(sf.name)
pid = os.fork()
if pid == 0:
    relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
    sf.close()          # an inherited owner handle: closing it must not unlink
    gc.collect()
    sys.exit(0)         # normal exit: atexit handlers run in the child
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), os.path.exists(path))
sf.close()
print(os.path.exists(path))
""")
    assert p.stdout.split() == ["0", "True", "False"], p.stdout + p.stderr
    assert_clean_stderr(p.stderr)


def test_resource_tracker_never_started(shmchunk):
    """Owners and attachers never register with multiprocessing's resource_tracker (it
    would unlink segments still in use: CPython issue 82300), so it is never started."""
    p = run_py(PRELUDE + """
import pickle
sf = shmchunk.share(df, rows_per_chunk=1024)
a = shmchunk.attach(sf.name); a.read(chunks=[0]); a.close()
b = pickle.loads(pickle.dumps(sf)); b.read(chunks=[1]); b.close()
sf.close()
from multiprocessing import resource_tracker
print(resource_tracker._resource_tracker._fd is None)
""")
    assert p.stdout.split() == ["True"], p.stdout
    assert_clean_stderr(p.stderr)
