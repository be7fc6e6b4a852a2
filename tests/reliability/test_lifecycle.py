"""Lifecycle: who unlinks a segment, when, and what survives.

Promises checked (docs/GUARANTEES.md, "Lifecycle"):
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
import signal
import subprocess
import sys
import time

import pytest
import relwork
from relutil import assert_clean_stderr, record, run_cli, run_py

NROWS = 5000
NOBODY = 65534

PRELUDE = f"""
import gc, os, sys, relwork, shmchunk
df = relwork.make_frame({NROWS}, 0)
"""

# An owner that prints its segment's name and waits for stdin to close. With
# REL_AS_UID set it drops to that uid after the imports (nobody cannot read the
# interpreter under /root, so setpriv before exec is not an option).
OWNER_WAIT = PRELUDE + """
if os.environ.get("REL_AS_UID"):
    os.setgid(int(os.environ["REL_AS_UID"])); os.setuid(int(os.environ["REL_AS_UID"]))
sf = shmchunk.share(df, rows_per_chunk=1024)
print(relwork.bare_name(sf.name), flush=True)
sys.stdin.read()
"""


def _exists(name: str, root: str = "") -> bool:
    return os.path.exists(relwork.shm_path(name, root))


# --------------------------------------------------------------------------
# The owner unlinks
# --------------------------------------------------------------------------
def test_owner_close_unlinks_and_is_idempotent(shmchunk):
    p = run_py(PRELUDE + """
sf = shmchunk.share(df, rows_per_chunk=1024)
path = relwork.shm_path(sf.name)
before = os.path.exists(path)
sf.close(); sf.close()
print(before, os.path.exists(path))
""")
    assert p.stdout.split() == ["True", "False"]
    assert_clean_stderr(p.stderr)


def test_owner_with_block_unlinks_on_exception(shmchunk):
    p = run_py(PRELUDE + """
try:
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        path = relwork.shm_path(sf.name)
        print(os.path.exists(path))
        raise KeyError("boom")
except KeyError:
    print("propagated")
print(os.path.exists(path))
""")
    assert p.stdout.split() == ["True", "propagated", "False"]
    assert_clean_stderr(p.stderr)


def test_owner_garbage_collected_unlinks(shmchunk):
    p = run_py(PRELUDE + """
sf = shmchunk.share(df, rows_per_chunk=1024)
path = relwork.shm_path(sf.name)
del sf; gc.collect()
print(os.path.exists(path))
""")
    assert p.stdout.split() == ["False"]
    assert_clean_stderr(p.stderr)


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
def test_attacher_never_unlinks_and_outlives_owner(shmchunk):
    owner = subprocess.Popen([sys.executable, "-c", OWNER_WAIT + "sf.close()\nprint('closed', flush=True)\nsys.stdin.read()\n"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env())
    try:
        name = owner.stdout.readline().strip()
        assert _exists(name)
        # A separate attacher process reads, closes and exits: the name must stay.
        p = run_py(f"""
import relwork, shmchunk
df = relwork.make_frame({NROWS}, 0)
sf = shmchunk.attach({name!r})
relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
sf.close()
sf2 = shmchunk.attach({name!r}); del sf2
import gc; gc.collect()
""")
        assert_clean_stderr(p.stderr)
        assert _exists(name), "an attacher unlinked the segment"

        # This process attaches, then the owner unlinks; the mapping keeps working.
        df = relwork.make_frame(NROWS, 0)
        sf = shmchunk.attach(name)
        col = sf.column("i64")
        owner.stdin.write("\n"); owner.stdin.flush()
        owner.stdin.close()
        assert owner.stdout.readline().strip() == "closed"
        assert not _exists(name), "owner.close() did not unlink"
        relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
        assert (col.to_numpy() == df["i64"].to_numpy()).all()
        with pytest.raises(shmchunk.SegmentNotFoundError):
            shmchunk.attach(name)
        sf.close()
        owner.wait(timeout=30)
        assert owner.returncode == 0
        assert_clean_stderr(owner.stderr.read())
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


POOL_SCRIPT = PRELUDE + """
import multiprocessing as mp

def work(args):
    sf, ids = args
    part = sf.read(chunks=ids)
    return len(part), os.getpid()

if __name__ == "__main__":
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        path = relwork.shm_path(sf.name)
        plan = sf.plan(4, by="rows")
        with mp.get_context("spawn").Pool(4) as pool:
            res = pool.map(work, [(sf, ids) for ids in plan])
        assert sum(r[0] for r in res) == len(df), res
        print("alive-after-workers", os.path.exists(path))
    print("after-owner", os.path.exists(path))
"""


def test_spawn_pool_workers_leave_segment_and_stderr_clean(shmchunk, tmp_path):
    script = tmp_path / "pool_owner.py"
    script.write_text(POOL_SCRIPT)
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120, env=_env())
    assert p.returncode == 0, p.stderr
    assert "alive-after-workers True" in p.stdout
    assert "after-owner False" in p.stdout
    assert_clean_stderr(p.stderr)


# --------------------------------------------------------------------------
# Crashed owners and gc (in a private /dev/shm so nobody else's gc interferes)
# --------------------------------------------------------------------------
def _start_owner(ns, uid=None):
    env = {"REL_AS_UID": str(uid)} if uid is not None else {}
    proc = ns.popen([sys.executable, "-c", OWNER_WAIT], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env_extra=env)
    name = proc.stdout.readline().strip()
    assert name, proc.stderr.read()
    return proc, name


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _ls_states(ns) -> dict:
    p = run_cli("ls", "--json", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    entries = data if isinstance(data, list) else next(v for v in data.values()
                                                      if isinstance(v, list))
    states = {}
    for e in entries:
        state = next((e[k] for k in ("state", "owner_state", "status") if k in e), None)
        states[relwork.bare_name(e["name"])] = state
    return states


def _gc_scenario(ns, pickle_path, cli_available):
    """Make one segment of each kind inside ns; return their names and the alive owner."""
    names = {}
    if cli_available:
        p = run_cli("pack", pickle_path, "shm:rel-persistent", prefix=ns.prefix)
        assert p.returncode == 0, p.stderr
        names["persistent"] = "rel-persistent"
    alive, names["alive"] = _start_owner(ns)
    dead, names["dead"] = _start_owner(ns)
    _kill(dead)
    dead2, names["dead2"] = _start_owner(ns)
    _kill(dead2)
    foreign, names["foreign_dead"] = _start_owner(ns, uid=NOBODY)
    _kill(foreign)
    # An orphan whose file was given to another uid: its header still names us as
    # creator, but the file system says it is not ours -- gc must leave it.
    chowned, names["chowned_dead"] = _start_owner(ns)
    _kill(chowned)
    os.chown(ns.shm / names["chowned_dead"], NOBODY, NOBODY)
    return names, alive


def test_sigkilled_owner_orphan_removed_by_cli_gc_only(shmchunk, cli, private_shm, pickle_file):
    ns = private_shm("64m")
    names, alive = _gc_scenario(ns, pickle_file(NROWS), True)
    try:
        present = set(ns.listdir())
        assert set(names.values()) <= present, (names, present)
        states = _ls_states(ns)
        assert states[names["persistent"]] == "persistent", states
        assert states[names["alive"]] == "alive", states
        assert states[names["dead"]] == "orphaned", states

        p = run_cli("gc", prefix=ns.prefix)
        assert p.returncode == 0, p.stderr
        after = set(ns.listdir())
        assert after == present - {names["dead"], names["dead2"]}, (names, present, after)
        # Idempotent: nothing more to remove.
        p = run_cli("gc", prefix=ns.prefix)
        assert p.returncode == 0 and set(ns.listdir()) == after
    finally:
        alive.stdin.close()
        alive.wait(timeout=30)
    assert set(ns.listdir()) == {names["persistent"], names["foreign_dead"],
                                 names["chowned_dead"]}, "alive owner did not unlink at exit"
    record("gc_cli", {"segments": len(names), "orphans_removed": 2,
                      "kept": ["persistent", "alive", "foreign_dead", "chowned_dead"]})


def test_sigkilled_owner_orphan_removed_by_python_gc(shmchunk, private_shm):
    if not hasattr(shmchunk, "gc"):
        pytest.fail("shmchunk.gc() is missing from the Python package (DESIGN.md section 7)")
    ns = private_shm("64m")
    alive, alive_name = _start_owner(ns)
    dead, dead_name = _start_owner(ns)
    _kill(dead)
    try:
        p = run_py("import shmchunk; r = shmchunk.gc(); print(repr(r))", prefix=ns.prefix)
        assert_clean_stderr(p.stderr)
        assert set(ns.listdir()) == {alive_name}
        assert dead_name in p.stdout or p.stdout.strip() == "1", \
            f"gc() result does not say what it removed: {p.stdout!r}"
    finally:
        alive.stdin.close()
        alive.wait(timeout=30)
    assert ns.listdir() == []


def test_attacher_of_killed_owner_keeps_reading(shmchunk, private_shm):
    """The owner dies while a reader works; the reader's data stays valid and gc
    removes only the name, not the reader's mapping."""
    ns = private_shm("64m")
    owner, name = _start_owner(ns)
    reader = ns.popen([sys.executable, "-c", f"""
import sys, relwork, shmchunk
df = relwork.make_frame({NROWS}, 0)
sf = shmchunk.attach({name!r})
print("attached", flush=True)
sys.stdin.readline()
relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
print("ok", flush=True)
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout.readline().strip() == "attached"
    _kill(owner)
    p = run_py("import shmchunk; shmchunk.gc()" if hasattr(shmchunk, "gc") else
               "from shmchunk import _lib; import ctypes; n = ctypes.c_uint32(); "
               "_lib.lib.shmc_shm_gc(_lib.SHM_LIST_FN(), None, ctypes.byref(n))",
               prefix=ns.prefix)
    assert ns.listdir() == []
    reader.stdin.write("go\n"); reader.stdin.flush()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0 and out.strip() == "ok", err
    assert_clean_stderr(err + p.stderr)


def _env():
    from relutil import child_env
    return child_env()
