"""Trust: permissions, names, other users' segments, headers that lie, allow_pickle.

Promises checked (README.md, Guarantees, "Trust"):
  - segments are created 0600 whatever the umask; another uid cannot open them;
  - names with '/', '..', NUL, empty or over-long names are refused before any system call;
  - object (pickle) chunks of a segment that is not ours -- by the file's owner, whatever
    the header claims -- are decoded only with allow_pickle=True;
  - a header whose fields lie (with a valid checksum) is refused with a typed error;
  - an owner pid that is alive but belongs to another process (pid reuse) is not trusted.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import shutil
import stat

import numpy as np
import pandas as pd
import pytest
import relwork
from relutil import assert_clean_stderr, needs_root, record, run_cli, run_py

NOBODY = 65534
NROWS = 3000
# Refused after "shm:" (a bare name containing '/' is a file path by design).
BAD_NAMES = ["", "a/b", "/abs", "..", ".", "../etc/passwd", "x" * 300, "bad\nname"]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------
def test_share_creates_0600_even_with_umask_0(shmchunk):
    p = run_py(f"""
import os, stat, relwork, shmchunk
os.umask(0)
with shmchunk.share(relwork.make_frame({NROWS})) as sf:
    st = os.stat(relwork.shm_path(sf.name))
    print(oct(stat.S_IMODE(st.st_mode)), st.st_uid == os.getuid())
""")
    assert p.stdout.split() == ["0o600", "True"]
    assert_clean_stderr(p.stderr)


def test_cli_pack_creates_0600(cli, private_shm, pickle_file):
    ns = private_shm("32m")
    src = pickle_file(NROWS)
    p = run_cli("pack", src, "shm:rel-mode", prefix=ns.prefix, preexec_fn=lambda: os.umask(0))
    assert p.returncode == 0, p.stderr
    assert _mode(ns.shm / "rel-mode") == 0o600


@needs_root
def test_other_uid_cannot_open_0600_segment(shmchunk):
    p = run_py(f"""
import os, relwork, shmchunk
sf = shmchunk.share(relwork.make_frame({NROWS}))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setgid({NOBODY}); os.setuid({NOBODY})
    try:
        shmchunk.attach(sf.name)
        msg = "opened"
    except shmchunk.SegmentPermissionError as e:
        msg = "refused " + str(e)
    except BaseException as e:
        msg = "other " + type(e).__name__ + " " + str(e)
    os.write(w, msg.encode()); os._exit(0)
os.close(w)
os.waitpid(pid, 0)
print(os.read(r, 4096).decode())
sf.close()
""")
    assert p.stdout.startswith("refused"), p.stdout
    assert_clean_stderr(p.stderr)


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_names_refused_by_attach_and_validate(shmchunk, name):
    from shmchunk import _lib

    with pytest.raises(shmchunk.InvalidNameError):
        _lib.lib.shmc_name_validate(name.encode())
    with pytest.raises(shmchunk.InvalidNameError):
        shmchunk.attach("shm:" + name)


@pytest.mark.parametrize("path", ["/etc/passwd", "/dev/null", "/proc/self/status", "/"])
def test_attach_of_a_path_that_is_no_segment_is_refused(shmchunk, path):
    """A bare name with '/' is a file path: what is not a segment is refused, not read."""
    with pytest.raises(shmchunk.ShmchunkError) as ei:
        shmchunk.attach(path)
    assert isinstance(ei.value, (shmchunk.CorruptSegmentError, shmchunk.ShmchunkIOError,
                                 shmchunk.InvalidArgumentError)), \
        repr(ei.value)
    assert path in str(ei.value), str(ei.value)


def test_bad_names_refused_by_share(shmchunk):
    params = inspect.signature(shmchunk.share).parameters
    if "name" not in params:
        pytest.skip("shmchunk.share() takes no name= (only generated names): nothing to refuse")
    df = relwork.make_frame(100)
    for name in BAD_NAMES[1:]:  # "" means "generate one"
        with pytest.raises(shmchunk.InvalidNameError):
            shmchunk.share(df, name="shm:" + name)
        if "/" not in name and name not in (".", "..") and len(name) <= 255:
            assert not os.path.exists(f"/dev/shm/{name}"), name


def test_share_with_taken_name_is_exists_error(shmchunk):
    if "name" not in inspect.signature(shmchunk.share).parameters:
        pytest.skip("shmchunk.share() takes no name=")
    df = relwork.make_frame(100)
    name = f"rel-taken-{os.getpid()}"
    with shmchunk.share(df, name=name) as sf:
        with pytest.raises(shmchunk.SegmentExistsError):
            shmchunk.share(relwork.make_frame(100, seed=1), name=name)
        relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
    assert not os.path.exists(f"/dev/shm/{name}")


def test_cli_bad_names_refused(cli, private_shm, pickle_file):
    ns = private_shm("32m")
    src = pickle_file(100)
    for name in ["a/b", "..", "x" * 300, "bad\nname"]:  # "shm:" alone = generated name
        p = run_cli("pack", src, "shm:" + name, prefix=ns.prefix)
        assert p.returncode in (1, 2), (name, p.returncode, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "name" in p.stderr.lower(), p.stderr
    assert ns.listdir() == []


# --------------------------------------------------------------------------
# Other users' segments and allow_pickle
# --------------------------------------------------------------------------
def _read_obj(shmchunk, src, allow):
    """Read numeric, object and whole-frame selections; say what happened to objects."""
    df = relwork.make_frame(NROWS, 0, with_object=True)
    out = {}
    sf = shmchunk.attach(src, allow_pickle=True) if allow else shmchunk.attach(src)
    try:
        relwork.assert_same(sf.read(chunks=sf.chunk_ids(columns=["i64", "s"])), df[["i64", "s"]])
        out["numeric"] = "ok"
        for what, ids in (("obj", sf.chunk_ids(columns=["obj"])), ("whole", None)):
            try:
                got = sf.read(chunks=ids) if ids is not None else sf.read()
                out[what] = "ok" if got["obj"].tolist() == df["obj"].tolist() else "WRONG"
            except shmchunk.PickleNotAllowedError as e:
                out[what] = "refused"
                out["msg"] = str(e)
    finally:
        sf.close()
    return out


def test_own_segment_objects_decode_without_allow_pickle(shmchunk):
    with shmchunk.share(relwork.make_frame(NROWS, 0, with_object=True), rows_per_chunk=1024) as sf:
        out = _read_obj(shmchunk, sf.name, allow=False)
    assert out == {"numeric": "ok", "obj": "ok", "whole": "ok"}, out


@needs_root
def test_foreign_uid_segment_objects_need_allow_pickle(shmchunk, owners):
    fac = owners()
    name, pid = fac.share(uid=NOBODY, objects=True, nrows=NROWS)
    assert os.stat(relwork.shm_path(name)).st_uid == NOBODY
    out = _read_obj(shmchunk, name, allow=False)
    assert out["numeric"] == "ok", out
    assert out["obj"] == "refused" and out["whole"] == "refused", out
    assert "allow_pickle" in out["msg"], out["msg"]
    out = _read_obj(shmchunk, name, allow=True)
    assert out["obj"] == "ok" and out["whole"] == "ok", out
    fac.close_owner(pid)  # the foreign owner unlinks its own segment; nothing leaks
    assert not os.path.exists(relwork.shm_path(name))


@needs_root
@pytest.mark.parametrize("lie", ["chown", "creator_uid"])
def test_segment_whose_uid_story_disagrees_is_foreign(shmchunk, lie):
    """'chown': the file belongs to nobody while the header names us as creator.
    'creator_uid': our file, but the header names nobody. Either way not ours."""
    with shmchunk.share(relwork.make_frame(NROWS, 0, with_object=True), rows_per_chunk=1024) as sf:
        path = relwork.shm_path(sf.name)
        if lie == "chown":
            os.chown(path, NOBODY, NOBODY)
        else:
            relwork.forge_header(path, creator_uid=NOBODY)
        try:
            out = _read_obj(shmchunk, sf.name, allow=False)
            assert out["obj"] == "refused" and out["whole"] == "refused", out
            assert _read_obj(shmchunk, sf.name, allow=True)["obj"] == "ok"
        finally:
            os.chown(path, os.getuid(), os.getgid())  # else the owner may not unlink it


def _arrow_frame(n: int) -> pd.DataFrame:
    """Arrow-backed columns of several layouts (values, bits, offsets, a dictionary)."""
    pa = pytest.importorskip("pyarrow")
    ints = [None if i % 7 == 3 else i for i in range(n)]
    strs = [None if v is None else f"s{v % 13}" for v in ints]
    cols = {"i": pa.array(ints, pa.int64()), "b": pa.array([None if v is None else v % 2 == 0
                                                             for v in ints]),
            "ts": pa.array(ints, pa.timestamp("ms", "UTC")), "s": pa.array(strs, pa.string()),
            "d": pa.array(strs).dictionary_encode()}
    return pd.DataFrame({k: pd.arrays.ArrowExtensionArray(v) for k, v in cols.items()})


def test_file_segment_arrow_columns_read_without_allow_pickle(shmchunk, tmp_path):
    """Arrow-backed columns are stored as data, not pickles (format 2): a file, never
    trusted, gives them back without allow_pickle."""
    df = _arrow_frame(NROWS)
    path = str(tmp_path / "arrow.shmc")
    _write_persistent(df, path)
    sf = shmchunk.attach(path)
    assert sf.info()["untrusted_reason"].startswith("a file"), sf.info()
    pd.testing.assert_frame_equal(sf.read(), df)
    sf.close()


@needs_root
def test_foreign_uid_segment_arrow_columns_need_no_allow_pickle(shmchunk):
    """The same for a shared-memory object of another uid (chowned to nobody): no pickle
    runs, none is needed."""
    df = _arrow_frame(NROWS)
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        path = relwork.shm_path(sf.name)
        os.chown(path, NOBODY, NOBODY)
        try:
            r = shmchunk.attach(sf.name)
            assert "uid 65534" in r.info()["untrusted_reason"], r.info()
            pd.testing.assert_frame_equal(r.read(), df)
            r.close()
        finally:
            os.chown(path, os.getuid(), os.getgid())  # else the owner may not unlink it


# --------------------------------------------------------------------------
# Headers that lie (valid header checksum, wrong content)
# --------------------------------------------------------------------------
def _lies(lay):
    size = lay["total_size"]
    return {
        "total_size+4096": ({"total_size": size + 4096}, "TruncatedError"),
        "total_size-64": ({"total_size": size - 64}, None),
        "total_size=0": ({"total_size": 0}, None),
        "index_offset_past_end": ({"index_offset": size + 8}, None),
        "index_offset_into_header": ({"index_offset": 64}, None),
        "index_len_huge": ({"index_len": 2**63}, None),
        "index_len_0": ({"index_len": 0}, None),
        "version_next": ({"version": 3}, "BadVersionError"),   # past SHMC_FORMAT_VERSION (2)
        # a version this library reads, but not the one the index says (2)
        "version_1": ({"version": 1}, "CorruptSegmentError"),
        "layout": ({"layout": 0xDEADBEEF}, "BadLayoutError"),
        "unsealed": ({"sealed": 0}, "UnsealedError"),
        "index_xxh3": ({"index_xxh3": 12345}, "IndexChecksumError"),
    }


def test_forged_headers_refused(shmchunk, cli):
    df = relwork.make_frame(NROWS)
    results = {}
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        name = relwork.bare_name(sf.name)
        path = relwork.shm_path(name)
        lay = relwork.layout("shm:" + name)
        for what, (fields, want) in _lies(lay).items():
            orig = relwork.forge_header(path, **fields)
            try:
                with pytest.raises(shmchunk.CorruptSegmentError) as ei:
                    shmchunk.attach(name)
                if want:
                    assert type(ei.value).__name__ == want, (what, repr(ei.value))
                p = run_cli("verify", "shm:" + name)
                assert p.returncode == 1, (what, p.stdout, p.stderr)
                assert p.stderr.strip(), what
                results[what] = type(ei.value).__name__
            finally:
                relwork.restore_header(path, orig)
        relwork.assert_same(shmchunk.attach(name).read(chunks=list(range(sf.nchunks))), df)
    record("forged_headers", {"lies": len(results), "refused": len(results)})


def test_owner_pid_reuse_is_not_alive(shmchunk, cli, private_shm, owners):
    """A header naming a live pid (1) with another start time is an orphan, not alive."""
    ns = private_shm("32m")
    name, _ = owners(ns).share(nrows=NROWS)
    relwork.forge_header(str(ns.shm / name), owner_pid=1, owner_start=12345)
    p = run_cli("ls", "--json", prefix=ns.prefix)
    assert p.returncode == 0, p.stderr
    state = {relwork.bare_name(e["name"]): e["state"] for e in json.loads(p.stdout)}
    assert state[name] == "orphaned", state


# --------------------------------------------------------------------------
# Trust comes from the descriptor mapped (issue 12, findings 3, 8, 9)
# --------------------------------------------------------------------------
def _plain_frame(nrows: int, with_object: bool = False) -> pd.DataFrame:
    """ints, floats, bool, nullable ints, strings (and objects): loads on pandas 2.2 and 3."""
    i = np.arange(nrows)
    df = pd.DataFrame({"i64": i * 7919, "f64": i / 3, "flag": i % 3 == 0,
                       "nint": pd.array(np.where(i % 5 == 0, None, i), dtype="Int64"),
                       "s": pd.array(np.array(["ab", "cde", "", "épsilon"], dtype=object)[i % 4],
                                     dtype="str")})
    if with_object:
        df["obj"] = pd.Series([(k % 5, {"k": k % 3}) for k in i], dtype=object)
    return df


class _Mkdir:
    """Unpickling this runs os.mkdir(path): the marker proves code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def _write_persistent(df, dest, rows_per_chunk=1024):
    """Write df with the library only (no reader, so nothing is unpickled while making it)."""
    from shmchunk import _lib as L
    from shmchunk._write import build_frame

    fb = build_frame(df, rows_per_chunk)
    try:
        return fb.write(dest, L.write_opts(rows_per_chunk=rows_per_chunk))
    finally:
        fb.free()


def _evil_frames(marker):
    """(frame with a pickled label that runs code, frame with an object column that does)."""
    label_df = pd.DataFrame({"n": np.arange(10), _Mkdir(str(marker) + "-label"): np.arange(10.0)})
    obj = pd.Series([_Mkdir(str(marker) + "-obj")] * 10, dtype=object)
    return label_df, pd.DataFrame({"n": np.arange(10), "obj": obj})


def _foreign_file(df, path):
    """A segment file as another user (nobody) leaves it: theirs, 0644, header naming us
    as creator (a writer chooses its header)."""
    _write_persistent(df, str(path))
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o644)
    return str(path)


@needs_root
def test_copy_of_a_foreign_file_runs_no_pickle(shmchunk, tmp_path):
    """Whoever copies a file owns the copy: a file is never trusted without allow_pickle,
    for labels, object columns and pickle_bytes()."""
    marker = tmp_path / "ran"
    label_df, obj_df = _evil_frames(marker)
    for what, df in (("label", label_df), ("obj", obj_df)):
        copy = tmp_path / f"copy-{what}.shmc"
        shutil.copyfile(_foreign_file(df, tmp_path / f"evil-{what}.shmc"), copy)
        assert os.stat(copy).st_uid == os.getuid()  # the copy is ours, header says ours
        with pytest.raises(shmchunk.PickleNotAllowedError) as ei:
            sf = shmchunk.attach(str(copy))
            sf.read()
        assert "allow_pickle" in str(ei.value), str(ei.value)
        if what == "obj":
            assert "a file" in str(ei.value), str(ei.value)
            assert sf.info()["untrusted_reason"].startswith("a file"), sf.info()
            assert sf.read(columns=["n"])["n"].tolist() == list(range(10))
            with pytest.raises(shmchunk.ShmchunkError):
                sf.pickle_bytes()  # no object chunk is emitted for a loader to run
            pickle.loads(sf.pickle_bytes(columns=["n"]))
    assert not list(tmp_path.glob("ran*")), "a pickle from a copied file ran"


@needs_root
def test_symlink_swapped_after_open_does_not_lend_trust(shmchunk, monkeypatch):
    """An attacker's shm object (header forged to name us) is opened, then its name is
    swapped for a symlink to a segment of ours before anyone looks at the path again:
    the trust decision must come from the descriptor that was mapped."""
    from shmchunk import _lib as L

    marker = f"/tmp/rel-swap-ran-{os.getpid()}"
    label_df, _ = _evil_frames(marker)
    tag = f"rel-swap-{os.getpid()}"
    evil = _write_persistent(label_df, f"shm:{tag}-evil")
    mine = _write_persistent(_plain_frame(10), f"shm:{tag}-mine")
    evil_path, mine_path = relwork.shm_path(evil), relwork.shm_path(mine)
    os.chown(evil_path, NOBODY, NOBODY)
    real_open = L.segment_open

    def open_then_swap(src, flags, *rest):
        handle = real_open(src, flags, *rest)
        if src == evil:
            os.unlink(evil_path)
            os.symlink(mine_path, evil_path)
        return handle

    monkeypatch.setattr(L, "segment_open", open_then_swap)
    try:
        with pytest.raises(shmchunk.PickleNotAllowedError):
            shmchunk.attach(evil).read()
        assert not os.path.exists(marker + "-label"), "the swapped name lent its trust"
    finally:
        for p in (evil_path, mine_path, marker + "-label"):
            if os.path.islink(p) or os.path.isfile(p):
                os.unlink(p)
            elif os.path.isdir(p):
                os.rmdir(p)


def test_shm_name_that_is_a_symlink_is_refused(shmchunk):
    """A symlink planted among shm names is not followed (O_NOFOLLOW)."""
    with shmchunk.share(_plain_frame(100)) as sf:
        link = f"rel-link-{os.getpid()}"
        os.symlink(relwork.shm_path(sf.name), relwork.shm_path(link))
        try:
            with pytest.raises(shmchunk.ShmchunkError):
                shmchunk.attach("shm:" + link)
        finally:
            os.unlink(relwork.shm_path(link))


@needs_root
def test_foreign_file_changed_under_reader_is_private_copy(shmchunk, cli, tmp_path):
    """Another uid's file is copied into private memory at attach: its owner truncating
    or rewriting it afterwards neither faults the reader (SIGBUS) nor changes what it reads."""
    path = _foreign_file(_plain_frame(NROWS), tmp_path / "foreign.shmc")
    p = run_py(f"""
import os, relwork, shmchunk
import numpy as np, pandas as pd
{inspect.getsource(_plain_frame)}
df = _plain_frame({NROWS})
sf = shmchunk.attach({path!r})
relwork.assert_same(sf.read(), df)               # string arrays now cached over the bytes
size = os.path.getsize({path!r})
os.truncate({path!r}, 0)
relwork.assert_same(sf.read(), df)
with open({path!r}, "r+b") as f:                 # rewritten with other bytes
    f.write(b"\\xff" * size)
relwork.assert_same(sf.read(), df)
sf.verify()
info = sf.info()
print(info["private_copy"], info["object_uid"], oct(info["object_mode"]), info["backend"])
""", check=False)
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    assert p.stdout.split() == ["True", str(NOBODY), "0o644", "file"], p.stdout
    assert_clean_stderr(p.stderr)
    _write_persistent(_plain_frame(100), str(tmp_path / "again.shmc"))
    os.chown(tmp_path / "again.shmc", NOBODY, NOBODY)
    q = run_cli("info", tmp_path / "again.shmc")
    assert q.returncode == 0, q.stderr
    assert f"file owned by uid {NOBODY}, mode 0600, private copy" in q.stdout, q.stdout


@pytest.mark.parametrize("how", ["read", "pickle_bytes"])
def test_chunk_changed_between_check_and_decode_is_refused(shmchunk, monkeypatch, how):
    """Your own segment is mapped shared: a process of your uid may rewrite it between
    Python's checksum pass and the decode. Python hashed a chunk, then had the library
    decode it later from the mapping unchecked, so the rewritten bytes were decoded
    silently (column "a" read as 2s); now every decode hashes the bytes it decodes."""
    from shmchunk import _segment as S

    n = 4096
    df = pd.DataFrame({"a": np.full(n, 1, np.int64), "b": np.full(n, 2, np.int64)})
    with shmchunk.share(df, compression="zstd", rows_per_chunk=n) as sf:
        ca, cb = (sf.chunk_info(sf.chunk_ids(columns=[c])[0]) for c in "ab")
        assert ca["codec"] == "zstd" and ca["stored_len"] == cb["stored_len"], (ca, cb)
        path = "/dev/shm/" + sf.name.removeprefix("shm:")
        done = []

        def swap():  # b's valid zstd payload over a's: decodes cleanly, to 2s
            if not done:
                with open(path, "r+b") as f:
                    f.seek(cb["offset"])
                    payload = f.read(cb["stored_len"])
                    f.seek(ca["offset"])
                    f.write(payload)
                done.append(True)

        one, many = S.Segment.verify_chunk, S.Segment.verify_chunks
        monkeypatch.setattr(S.Segment, "verify_chunk", lambda self, c: (one(self, c), swap()))
        monkeypatch.setattr(S.Segment, "verify_chunks", lambda self, c: (many(self, c), swap()))
        reader = shmchunk.attach(sf.name)
        with pytest.raises(shmchunk.ChunkChecksumError, match="column 0 'a'.*checksum mismatch"):
            reader.read() if how == "read" else reader.pickle_bytes()
        assert done


def test_own_segment_is_mapped_shared_and_trusted(shmchunk):
    with shmchunk.share(_plain_frame(100)) as sf:
        info = shmchunk.attach(sf.name).info()
    assert info["backend"] == "shm" and not info["private_copy"], info
    assert info["object_uid"] == os.getuid() and info["object_mode"] == 0o600, info
    assert info["untrusted_reason"] is None, info


def test_group_writable_own_segment_is_not_trusted(shmchunk):
    """Ours, but others may write it: copied at attach and its pickles not run."""
    df = _plain_frame(NROWS, with_object=True)
    with shmchunk.share(df, rows_per_chunk=1024) as sf:
        os.chmod(relwork.shm_path(sf.name), 0o620)
        other = shmchunk.attach(sf.name)
        with pytest.raises(shmchunk.PickleNotAllowedError, match="mode 0620"):
            other.read()
        info = other.info()
        relwork.assert_same(shmchunk.attach(sf.name, allow_pickle=True).read(), df)
    assert info["private_copy"] and "mode 0620" in info["untrusted_reason"], info


def _patch(path, offset, data: bytes):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_bool_and_mask_bytes_other_than_0_1_are_normalised(shmchunk):
    """A stored bool or mask byte of 2 reads as True / missing (nonzero), so that
    value_counts, nunique and drop_duplicates count it as what it means."""
    n = 64
    df = pd.DataFrame({"b": np.arange(n) % 2 == 0,
                       "ni": pd.array(np.where(np.arange(n) % 4 == 0, None, np.arange(n) % 3),
                                      dtype="Int64")})
    with shmchunk.share(df) as sf:
        info = sf.info()
        path = relwork.shm_path(sf.name)
        cols = {c["label"]: c for c in info["columns"]}
        vals = next(sf.chunk_info(c) for c in range(sf.nchunks)
                    if sf.chunk_info(c)["column"] == cols["b"]["id"]
                    and sf.chunk_info(c)["role"] == "values")
        mask = next(sf.chunk_info(c) for c in range(sf.nchunks)
                    if sf.chunk_info(c)["column"] == cols["ni"]["id"]
                    and sf.chunk_info(c)["role"] == "mask")
        _patch(path, vals["offset"], b"\x02")          # row 0: True stored as 2
        _patch(path, vals["offset"] + 1, b"\x07")      # row 1: False stored as 7 -> True
        _patch(path, mask["offset"], b"\x02")          # row 0: missing stored as 2
        _patch(path, mask["offset"] + 1, b"\x09")      # row 1: present stored as 9 -> missing
        got = shmchunk.attach(sf.name, verify=False).read()
    want_b = df["b"].copy()
    want_b.iloc[1] = True
    assert got["b"].tolist() == want_b.tolist()
    assert got["b"].nunique() == 2
    assert got["b"].value_counts().to_dict() == want_b.value_counts().to_dict()
    assert len(got["b"].drop_duplicates()) == 2
    want_ni = df["ni"].copy()
    want_ni.iloc[1] = pd.NA
    assert got["ni"].isna().tolist() == want_ni.isna().tolist()
    assert got["ni"].value_counts(dropna=False).to_dict() == \
        want_ni.value_counts(dropna=False).to_dict()
    assert len(got["ni"].drop_duplicates()) == len(want_ni.drop_duplicates())


def _utc_zone_file() -> bytes:
    if os.path.isfile("/usr/share/zoneinfo/UTC"):
        with open("/usr/share/zoneinfo/UTC", "rb") as f:
            return f.read()
    from importlib.resources import files
    return files("tzdata").joinpath("zoneinfo", "UTC").read_bytes()


@pytest.mark.parametrize("zone", ["dateutil/{path}", "dateutil/../../../..{path}", "{path}",
                                  "Europe/../../../..{path}"])
def test_time_zone_that_names_a_path_is_refused(shmchunk, tmp_path, monkeypatch, zone):
    """pandas hands "dateutil/<path>" to dateutil, which opens any file: the library
    refuses a segment storing such a zone name when it opens it (so read(),
    pickle_bytes() and `shmchunk unpack` alike), and the error names the column."""
    import shmchunk._write as W

    tzfile = tmp_path / "zone"  # a real zone file: unrefused, dateutil would load it
    tzfile.write_bytes(_utc_zone_file())
    stored = zone.format(path=tzfile)
    monkeypatch.setattr(W, "_tz_name", lambda dtype: stored)
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=5, tz="UTC")})
    seg = tmp_path / "seg.shmc"
    _write_persistent(df, str(seg))
    with pytest.raises(shmchunk.CorruptSegmentError, match="'when': time zone .* is not a zone name"):
        shmchunk.attach(str(seg), allow_pickle=True)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Argentina/Cordoba",
                                  "dateutil/Europe/Berlin", "UTC+01:00"])
def test_time_zone_names_that_are_zones_still_read(shmchunk, tmp_path, monkeypatch, zone):
    """The zone rule keeps every IANA key, fixed offset and "dateutil/"-prefixed key."""
    import shmchunk._write as W

    monkeypatch.setattr(W, "_tz_name", lambda dtype: zone)
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=5, tz=zone)})
    seg = tmp_path / "seg.shmc"
    _write_persistent(df, str(seg))
    got = shmchunk.attach(str(seg)).read()
    assert str(got["when"].dtype.tz) == str(df["when"].dtype.tz)
    assert got["when"].tolist() == df["when"].tolist()
    again = pickle.loads(shmchunk.attach(str(seg)).pickle_bytes())
    assert again["when"].tolist() == df["when"].tolist()


def test_sparse_dtype_over_fixed_width_values_is_a_typed_error(shmchunk, monkeypatch):
    import shmchunk._write as W

    monkeypatch.setattr(W, "dtype_name", lambda dtype: "Sparse[int64]")
    df = pd.DataFrame({"sp": pd.array([1, None, 3], dtype="Int64"), "p": np.arange(3)})
    with shmchunk.share(df) as sf:
        with pytest.raises(shmchunk.CorruptSegmentError, match="'sp'.*Sparse"):
            shmchunk.attach(sf.name).read()
