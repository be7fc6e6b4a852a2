"""shmchunk.dask on two hosts of one machine: the LocalCluster's workers share this
process's /dev/shm; a second group of `dask worker` processes (each with its nanny)
runs in its own mount + IPC namespace over a private tmpfs /dev/shm. Skipped, with
the reason printed, only where unshare is refused."""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import subprocess
import time

import pandas as pd
import pytest

pytest.importorskip("distributed", reason="shmchunk.dask needs distributed")
import shmchunk  # noqa: E402
import shmchunk.dask as sd  # noqa: E402
from shmc_daskhelpers import (CLI, OtherHost, frame, mine, read_task, shm_here,  # noqa: E402
                              unique_name, unshare_refused)


@pytest.fixture(scope="module")
def two_hosts(cluster):
    why = unshare_refused()
    if why:
        print(f"\nSKIP two-host tests: {why}")
        pytest.skip(why)
    lc, client = cluster
    other = OtherHost(lc.scheduler_address)
    other.start_worker()
    other.start_worker()
    client.wait_for_workers(4, timeout=90)
    yield lc, client, other
    # Cluster shutdown on that host: the nannies close, their plugin removes the copies,
    # also of a handle nobody closed.
    h = sd.share(client, frame(10_000), name=unique_name())
    assert mine(other.shm(), h) == [h.copy_name]
    before = other.shm()
    other.stop_workers()
    left = [n for n in other.shm() if n.startswith(sd.COPY_PREFIX)]
    other.close()
    h._finalizer.detach()  # not closed: the nannies removed the copy; the GC of
    # the detached owner SharedFrame removes the original here
    assert not left, f"copies left after the nannies closed: {left} (before: {before})"


def _shm_used(other) -> int:
    st = os.statvfs(other.shm_path(""))
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _addrs(client):
    """{address: host id} of every worker."""
    return {a: hid for a, (hid, _pid) in client.run(sd._host_info).items()}


def _other_workers(client):
    here = sd.host_id()
    return sorted(a for a, hid in _addrs(client).items() if hid != here)


def _check_reads(client, h, df, workers):
    plan = h.plan(2 * len(workers), by="rows")
    futs = [client.submit(read_task, h, ids, workers=[workers[i % len(workers)]],
                          allow_other_workers=False, pure=False) for i, ids in enumerate(plan)]
    results = client.gather(futs)
    for ids, (_p, read) in zip(plan, results):
        assert set(read) <= set(ids)
    pd.testing.assert_frame_equal(pd.concat([p for p, _ in results]).sort_index(), df)


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_one_copy_on_the_other_host(two_hosts, compression):
    _, client, other = two_hosts
    df = frame()
    used0 = _shm_used(other)
    with sd.share(client, df, compression=compression, rows_per_chunk=1 << 14,
                  name=unique_name()) as h:
        assert mine(other.shm(), h) == [h.copy_name]      # exactly one copy there
        assert _shm_used(other) - used0 >= h.frame().nbytes
        assert mine(shm_here(), h) == [h.name]             # the original here, no copy
        _check_reads(client, h, df, _other_workers(client))
        _check_reads(client, h, df, sorted(client.scheduler_info()["workers"]))
        assert mine(other.shm(), h) == [h.copy_name]      # readers made no second copy
        with open(other.shm_path(h.copy_name), "rb") as f:
            hdr = f.read(128)
        owner = struct.unpack_from("<q", hdr, 24)[0]
        assert os.getpgid(owner) in [p.pid for p in other.workers]  # a nanny there
        assert owner not in client.run(os.getpid).values()         # not a worker
        copy = shmchunk.attach(other.shm_path(h.copy_name))
        assert copy.info()["stored_bytes"] == shmchunk.attach(h.name).info()["stored_bytes"]
        copy.close()
    assert not mine(other.shm(), h) and not mine(shm_here(), h)   # close removes both
    assert _shm_used(other) == used0          # and the workers' mappings: memory freed


def test_corrupt_piece_is_sent_again(two_hosts, monkeypatch):
    _, client, other = two_hosts
    monkeypatch.setattr(sd, "PIECE_BYTES", 1 << 20)
    df = frame()
    sf = shmchunk.share(df, rows_per_chunk=1 << 14, name=unique_name())
    h = sd.DaskSharedFrame(sf._src, sd.host_id(), sf._identity, bytes(sf.buffer[:128]),
                           False, True)
    sd._attach_lifecycle(client, h, sf)
    seen = []

    def tamper(off, piece):
        seen.append(off)
        if seen.count(off) == 1 and off == 1 << 20:      # first try of the second piece
            return piece[:100] + bytes([piece[100] ^ 1]) + piece[101:]
        return piece

    try:
        sd._replicate(client, h, sf, _tamper=tamper)
        assert seen.count(1 << 20) == 2                     # detected, sent again
        assert mine(other.shm(), h) == [h.copy_name]
        _check_reads(client, h, df, _other_workers(client))
    finally:
        h.close()
    assert not mine(other.shm(), h)


def test_restart_keeps_the_copy(two_hosts):
    _, client, other = two_hosts
    df = frame(100_000)
    with sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name()) as h:
        pids = set(client.run(os.getpid).values())
        client.restart()
        client.wait_for_workers(4, timeout=90)
        assert not pids & set(client.run(os.getpid).values())   # new worker processes
        assert mine(other.shm(), h) == [h.copy_name]           # the nanny still owns it
        _check_reads(client, h, df, _other_workers(client))


def _pulls(client, h, expect: int) -> list[dict]:
    """The pull events of h's copy (waiting up to 10 s for `expect` of them: events
    reach the scheduler in the workers' next batch)."""
    deadline = time.monotonic() + 10
    while True:
        got = [e for _, e in client.get_events(sd.EVENT_TOPIC) if e.get("copy") == h.copy_name]
        if len(got) >= expect or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def _wait_gone(client, addrs, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while set(addrs) & set(client.scheduler_info()["workers"]):
        assert time.monotonic() < deadline, f"workers still registered: {addrs}"
        time.sleep(0.2)


def test_late_worker_reads_like_the_others(two_hosts):
    """A worker joining a host that has the copy reads that copy: no second one."""
    _, client, other = two_hosts
    df = frame(100_000)
    with sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name()) as h:
        ino = os.stat(other.shm_path(h.copy_name)).st_ino
        before = set(client.scheduler_info()["workers"])
        p = other.start_worker()
        client.wait_for_workers(5, timeout=90)
        late = sorted(set(client.scheduler_info()["workers"]) - before)
        _check_reads(client, h, df, late)
        assert mine(other.shm(), h) == [h.copy_name]
        assert os.stat(other.shm_path(h.copy_name)).st_ino == ino   # the same copy
        assert _pulls(client, h, 0) == []                            # nothing pulled
        p.send_signal(signal.SIGTERM)
        p.wait(30)
        other.workers.remove(p)
        client.wait_for_workers(4, timeout=30)
        assert mine(other.shm(), h) == [h.copy_name]


def test_host_joining_after_share_pulls_one_copy(two_hosts):
    """A host whose workers start after share() gets one copy on its first read in a
    task (two workers there read at once: one pulls, the other waits), owned by a
    nanny there; when that nanny closes, the next task there pulls a new one; close
    removes it and frees its memory."""
    lc, client, other = two_hosts
    df = frame(60_000)
    with sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name()) as h:
        third = OtherHost(lc.scheduler_address)
        try:
            before = set(client.scheduler_info()["workers"])
            third.start_worker()
            third.start_worker()
            client.wait_for_workers(len(before) + 2, timeout=90)
            used0 = _shm_used(third)          # the workers' own files (semaphores) made
            new = sorted(set(client.scheduler_info()["workers"]) - before)
            assert not mine(third.shm(), h)                  # no copy until a task reads
            _check_reads(client, h, df, new)
            assert mine(third.shm(), h) == [h.copy_name]     # exactly one copy there
            pulls = _pulls(client, h, 1)
            assert len(pulls) == 1, pulls                     # made once, by one reader
            assert pulls[0]["host"] != sd.host_id() and pulls[0]["bytes"] == h.frame().nbytes
            with open(third.shm_path(h.copy_name), "rb") as f:
                owner = struct.unpack_from("<q", f.read(128), 24)[0]
            assert os.getpgid(owner) in [p.pid for p in third.workers]  # a nanny there
            # Scale-down: the owning nanny closes and removes its copy; the next task of
            # the remaining worker there pulls a new one.
            victim = next(p for p in third.workers if p.pid == os.getpgid(owner))
            victim.send_signal(signal.SIGTERM)
            victim.wait(30)
            third.workers.remove(victim)
            deadline = time.monotonic() + 30
            while len(left := set(new) & set(client.scheduler_info()["workers"])) > 1:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            _check_reads(client, h, df, sorted(left))
            assert mine(third.shm(), h) == [h.copy_name]
            assert len(_pulls(client, h, 2)) == 2   # one more pull (none by the first readers)
            h.close()
            assert not mine(third.shm(), h)                  # close removes it there
            deadline = time.monotonic() + 10   # the last views may go a moment after close
            while _shm_used(third) > used0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _shm_used(third) <= used0          # (the stopped worker took its files)
        finally:
            third.close()
            _wait_gone(client, new)
    assert not mine(other.shm(), h) and not mine(shm_here(), h)


@pytest.mark.parametrize("how", ["await client.close()", "async with Client", "await h.close()"])
def test_async_client_close_removes_copies(two_hosts, how):
    """An asynchronous Client: `await sd.share(...)`; closing the client (or the
    handle) removes the copy on the other host and the original here."""
    from distributed import Client
    lc, _, other = two_hosts
    df = frame(50_000)

    async def main():
        if how == "async with Client":
            async with Client(lc.scheduler_address, asynchronous=True) as ac:
                h = await sd.share(ac, df, rows_per_chunk=1 << 14, name=unique_name())
                seen = mine(other.shm(), h)
                part = await ac.submit(read_task, h, h.plan(1, by="rows")[0], pure=False)
            return h, seen, part
        ac = await Client(lc.scheduler_address, asynchronous=True)
        h = await sd.share(ac, df, rows_per_chunk=1 << 14, name=unique_name())
        seen = mine(other.shm(), h)
        part = await ac.submit(read_task, h, h.plan(1, by="rows")[0], pure=False)
        if how == "await h.close()":
            await h.close()
            assert not mine(other.shm(), h) and h.closed
        await ac.close()
        return h, seen, part

    h, seen, (got, _read) = asyncio.run(main())
    assert seen == [h.copy_name]
    pd.testing.assert_frame_equal(got, df)
    assert not mine(other.shm(), h) and not mine(shm_here(), h)


def test_killed_owner_leaves_an_orphan_gc_removes(two_hosts):
    """Last: it kills one nanny of the other host."""
    _, client, other = two_hosts
    df = frame(50_000)
    h = sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name())
    with open(other.shm_path(h.copy_name), "rb") as f:
        owner = struct.unpack_from("<q", f.read(128), 24)[0]
    victim = next(p for p in other.workers if p.pid == os.getpgid(owner))
    os.killpg(victim.pid, signal.SIGKILL)                      # the nanny and its worker
    victim.wait()
    other.workers.remove(victim)
    assert mine(other.shm(), h) == [h.copy_name]              # an orphan now
    ls = other.nsenter(str(CLI), "ls")
    assert h.copy_name in ls.stdout and "orphan" in ls.stdout, ls
    gc = other.nsenter(str(CLI), "gc")
    assert gc.returncode == 0, gc.stderr
    assert not mine(other.shm(), h)                            # gc removed it there
    assert h.name in shm_here()                                # and nothing here
    h.close()
    assert h.name not in shm_here()


def test_next_share_cleans_orphans(two_hosts):
    """An orphaned copy (its owner dead) is removed by the next share() on that host."""
    _, client, other = two_hosts
    sf = shmchunk.share(frame(10_000), name=unique_name())
    dead = subprocess.Popen(["true"])
    dead.wait()
    start = 12345
    hdr = sd._copy_header(bytes(sf.buffer[:128]), dead.pid, start)
    orphan = sd.COPY_PREFIX + f"{os.getuid()}-orphan-test-{os.getpid()}"
    with open(other.shm_path(orphan), "wb") as f:
        f.write(hdr + bytes(sf.buffer[128:]))
    sf.close()
    with sd.share(client, frame(10_000), name=unique_name()):
        assert orphan not in other.shm()
