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
import stat

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
        "version_2": ({"version": 2}, "BadVersionError"),
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
