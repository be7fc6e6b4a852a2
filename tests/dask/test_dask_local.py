"""shmchunk.dask on one host: LocalCluster(n_workers=2, processes=True)."""

from __future__ import annotations

import gc
import pickle

import pandas as pd
import pytest

pytest.importorskip("distributed", reason="shmchunk.dask needs distributed")
import dask  # noqa: E402
from distributed import Client  # noqa: E402

import shmchunk  # noqa: E402
import shmchunk.dask as sd  # noqa: E402

from shmc_daskhelpers import frame, mine, read_task, shm_here, touched, unique_name  # noqa: E402


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_tasks_read_only_their_chunks_one_segment(cluster, compression):
    _, client = cluster
    df = frame()
    with sd.share(client, df, compression=compression, rows_per_chunk=1 << 14,
                  name=unique_name()) as h:
        assert mine(shm_here(), h) == [h.name]          # one segment: no copy on this host
        plan = h.plan(6, by="rows")
        futs = [client.submit(read_task, h, ids, pure=False) for ids in plan]
        results = client.gather(futs)
        for ids, (_part, read) in zip(plan, results):
            assert set(read) <= set(ids)                  # a task reads only its chunks
        got = pd.concat([p for p, _ in results]).sort_index()
        pd.testing.assert_frame_equal(got, df)
        assert mine(shm_here(), h) == [h.name]
        name = h.name
    assert name not in shm_here()                         # nothing left after close
    assert not [n for n in shm_here() if n.startswith(h.copy_name)]


def test_handle_is_small_and_works_in_every_api(cluster):
    _, client = cluster
    df = frame(50_000)
    with sd.share(client, df, rows_per_chunk=1 << 13, name=unique_name()) as h:
        assert len(pickle.dumps(h)) < 1024
        assert h.nrows == len(df) and list(h.columns) == list(df.columns)
        assert h.chunk_ids(columns=["v"]) == shmchunk.attach(h.name).chunk_ids(columns=["v"])
        col_sum = lambda h, c: float(h.column(c).sum())  # noqa: E731
        assert client.submit(col_sum, h, "v").result() == pytest.approx(df.v.sum())
        assert client.map(col_sum, [h, h], ["v", "w"]) and \
            [f.result() for f in client.map(col_sum, [h, h], ["v", "w"])] == \
            pytest.approx([df.v.sum(), float(df.w.sum())])
        assert dask.delayed(col_sum)(h, "w").compute() == float(df.w.sum())
        ran = client.run(lambda h: h.nrows, h)
        assert set(ran.values()) == {len(df)}


def test_to_dask_dataframe_groupby_and_projection(cluster):
    _, client = cluster
    df = frame()
    with sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name()) as h:
        ddf = h.to_dask_dataframe(by="rows")
        assert ddf.npartitions == h.frame().info()["nrowgroups"]
        got = ddf.groupby("k")["v"].mean().compute().sort_index()
        pd.testing.assert_series_equal(got, df.groupby("k")["v"].mean(), check_names=False)
    # A fresh frame, so the workers have read nothing of it yet: a projection of two
    # columns reads exactly those columns' chunks.
    with sd.share(client, df, rows_per_chunk=1 << 14, name=unique_name()) as h:
        total = h.to_dask_dataframe()[["v", "w"]].sum().compute()
        assert total["v"] == pytest.approx(df.v.sum()) and total["w"] == df.w.sum()
        read = set().union(*client.run(touched, h).values())
        assert read == set(h.chunk_ids(columns=["v", "w"]))
        assert len(read) < h.nchunks


def test_close_paths_remove_the_segment(cluster):
    lc, client = cluster
    df = frame(20_000)
    h = sd.share(client, df, name=unique_name())
    name = h.name
    del h
    gc.collect()                                           # GC of the client's handle
    assert name not in shm_here()
    other = Client(lc)
    h = sd.share(other, df, name=unique_name())
    assert h.name in shm_here()
    other.close()                                          # client.close()
    assert h.name not in shm_here() and h.closed


def test_shared_frame_given_stays_with_its_owner(cluster):
    _, client = cluster
    with shmchunk.share(frame(10_000), name=unique_name()) as sf:
        with sd.share(client, sf) as h:
            assert client.submit(lambda h: h.nrows, h).result() == sf.nrows
        assert sf.name.removeprefix("shm:") in shm_here()  # the caller's frame: theirs to close


def test_reused_name_is_refused(cluster):
    _, client = cluster
    name = unique_name()
    sf = shmchunk.share(frame(10_000), name=name)
    h = sd.share(client, sf)
    sf.close()
    with shmchunk.share(frame(10_000, seed=2), name=name):  # another frame, same name
        fut = client.submit(lambda h: h.nrows, h, pure=False)
        with pytest.raises(shmchunk.IdentityMismatchError):
            fut.result()
    h.close()


def _remove_copy(h) -> None:
    """Whatever an in-process copy test left: the copy, its part, the cached frame."""
    sd._forget(h.copy_name)
    for n in (h.copy_name, h.copy_name + "-part"):
        try:
            shmchunk.unlink(n)
        except shmchunk.SegmentNotFoundError:
            pass


def test_copy_accepted_other_frame_refused_in_process():
    """The copy protocol in one process: a copy made by _copy_begin/_piece/_finish is
    read through the handle (its header differs only in the owner fields), a corrupt
    piece is refused, and another frame under the copy's name raises."""
    df = frame(30_000)
    with shmchunk.share(df, rows_per_chunk=1 << 12, name=unique_name()) as sf:
        hdr = bytes(sf.buffer[:128])
        h = sd.DaskSharedFrame(sf._src, "elsewhere", sf._identity, hdr, False, True)
        data = bytes(sf.buffer)
        try:
            assert sd._copy_begin(h.copy_name, hdr, len(data)) == "ready"
            bad = data[:500] + bytes([data[500] ^ 1]) + data[501:]
            assert not sd._copy_piece(h.copy_name, 0, bad, sd._hash(data))
            assert sd._copy_piece(h.copy_name, 0, data, sd._hash(data))
            assert sd._copy_finish(h.copy_name, hdr) == "published"
            copy_hdr = open("/dev/shm/" + h.copy_name, "rb").read(128)
            assert sd._masked(copy_hdr) == sd._masked(hdr)   # (owner: this process here)
            pd.testing.assert_frame_equal(h.read(), df)
            assert h.frame().name.removeprefix("shm:") == h.copy_name  # read from the copy
            assert sd._drop_copy(h.copy_name, hdr, h._src)
            with shmchunk.share(frame(30_000, seed=3), rows_per_chunk=1 << 12,
                                name=h.copy_name):       # another frame, the copy's name
                with pytest.raises(shmchunk.IdentityMismatchError):
                    h.read()
        finally:
            _remove_copy(h)


def test_pulled_piece_arriving_corrupt_is_fetched_again():
    """The pull's piece loop in one process (the RPC replaced by a call that damages
    bytes in transit): a damaged piece is fetched again; one damaged every time raises
    ChecksumError and the part is removed, nothing published."""
    import os
    df = frame(30_000)
    with shmchunk.share(df, rows_per_chunk=1 << 12, name=unique_name()) as sf:
        hdr = bytes(sf.buffer[:128])
        h = sd.DaskSharedFrame(sf._src, "elsewhere", sf._identity, hdr, False, True)
        path = "/dev/shm/" + h.name
        size = os.stat(path).st_size
        fetched = []

        def call(rpc, worker, addr, fn, *args, damage=lambda n: n == 1):
            assert rpc is sd._rpc_run and fn is sd._read_piece
            data, xxh3 = fn(*args)                      # what the source sends
            fetched.append(args[1])
            if damage(len(fetched)):
                data = data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]
            return data, xxh3

        try:
            assert sd._source_state(sf._src, h.copy_name, hdr) == (path, size)
            assert sd._copy_begin(h.copy_name, hdr, size) == "ready"
            sd._pull_piece(call, None, "tcp://source", h.copy_name, path, 0, size)
            assert fetched == [0, 0]                        # damaged once, fetched again
            assert sd._copy_finish(h.copy_name, hdr) == "published"
            pd.testing.assert_frame_equal(h.read(), df)
            assert sd._drop_copy(h.copy_name, hdr, h._src)
            assert sd._copy_begin(h.copy_name, hdr, size) == "ready"
            with pytest.raises(shmchunk.ChecksumError, match="arrived corrupt 3 times"):
                sd._pull_piece(lambda *a: call(*a, damage=lambda n: True), None,
                               "tcp://source", h.copy_name, path, 0, size)
            sd._copy_abort(h.copy_name)
            assert not [n for n in shm_here() if n.startswith(h.copy_name)]
        finally:
            _remove_copy(h)


def test_import_shmchunk_does_not_import_dask():
    import subprocess
    import sys
    code = ("import sys, shmchunk; bad = [m for m in ('dask', 'distributed') if m in sys.modules]; "
            "assert not bad, bad")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


def _read_all_rss(h):
    h.read()["v"].sum()      # touches every page of the (raw) frame
    return _rss()


@pytest.mark.parametrize("release", [False, True])
def test_release_pages_keeps_shared_pages_out_of_rss(cluster, release):
    """Dask's memory monitor reads RSS: with release_pages a worker's RSS drops back
    after a task that read the whole frame; without it the shared pages stay counted."""
    _, client = cluster
    try:  # earlier tests' share() registered it (the default)
        client.unregister_worker_plugin(sd.PageReleasePlugin.name)
    except Exception:  # noqa: BLE001 - not registered
        pass
    df = frame(400_000)
    with sd.share(client, df, name=unique_name(), release_pages=release) as h:
        addr = sorted(client.scheduler_info()["workers"])[0]
        during = client.submit(_read_all_rss, h, workers=[addr], pure=False).result()
        after = client.run(_rss, workers=[addr])[addr]
        nbytes = h.frame().nbytes
        if release:
            assert during - after > 0.8 * nbytes, (during, after, nbytes)
        else:
            assert during - after < 0.2 * nbytes, (during, after, nbytes)
