"""Every exception type: the status mapping, and the real failures that raise them."""
import os
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import frame_all_dtypes, shm_exists, unique_name

import shmchunk
from shmchunk import _lib, errors

EXPECTED = {
    1: errors.InvalidArgumentError, 2: errors.OutOfMemoryError, 3: errors.ShmchunkIOError,
    4: errors.SegmentNotFoundError, 5: errors.SegmentExistsError, 6: errors.NoSpaceError,
    7: errors.SegmentPermissionError, 8: errors.InvalidNameError, 9: errors.BadMagicError,
    10: errors.BadVersionError, 11: errors.BadLayoutError, 12: errors.UnsealedError,
    13: errors.TruncatedError, 14: errors.HeaderChecksumError, 15: errors.IndexChecksumError,
    16: errors.ChunkChecksumError, 17: errors.CorruptSegmentError,
    18: errors.CompressedChunkError, 19: errors.OutOfRangeError, 20: errors.LimitError,
    21: errors.UnsupportedError, 22: errors.PickleFormatError, 23: errors.CodecError,
    24: errors.CancelledError,
}


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_every_status_has_its_class(status):
    exc = errors.error_for_status(status, "chunk 7 of column 'x' at byte 4096", "shmc_f",
                                  _lib.strerror(status))
    assert type(exc) is EXPECTED[status]
    assert exc.status == status and exc.function == "shmc_f"
    assert "chunk 7 of column 'x' at byte 4096" in str(exc)
    assert _lib.strerror(status) in str(exc)
    assert isinstance(exc, shmchunk.ShmchunkError)


def test_status_table_matches_library():
    assert _lib.SHMC_STATUS_COUNT == len(EXPECTED) + 1
    names = {_lib.strerror(s) for s in EXPECTED}
    assert len(names) == len(EXPECTED) and "unknown status" not in names
    assert _lib.strerror(_lib.SHMC_STATUS_COUNT) == "unknown status"



def test_status_names_come_from_the_library():
    """_lib's constants, errors.STATUS_NAMES and every class's .status are the
    library's one list (SHMC_STATUS_LIST in include/shmchunk.h), with nothing missing."""
    import re
    from pathlib import Path
    header = Path(__file__).resolve().parents[2] / "include" / "shmchunk.h"
    listed = {int(v): n for n, v in re.findall(r"X\((SHMC_(?:OK|ERR_\w+)), (\d+),", header.read_text())}
    lib_names = {s: _lib.lib.shmc_status_name(s).decode() for s in range(_lib.lib.shmc_status_count())}
    assert listed == lib_names == errors.STATUS_NAMES
    assert _lib.lib.shmc_status_name(len(lib_names)) is None
    assert _lib.lib.shmc_status_name(-1) is None
    for code, name in lib_names.items():
        assert getattr(_lib, name) == code
        if code:
            cls = type(errors.error_for_status(code))
            assert cls.status == code and cls.status_name == name

def test_builtin_bases_and_families():
    assert issubclass(errors.SegmentNotFoundError, FileNotFoundError)
    assert issubclass(errors.SegmentExistsError, FileExistsError)
    assert issubclass(errors.SegmentPermissionError, PermissionError)
    assert issubclass(errors.InvalidNameError, ValueError)
    for cls in (errors.HeaderChecksumError, errors.IndexChecksumError, errors.ChunkChecksumError):
        assert issubclass(cls, errors.ChecksumError)
        assert issubclass(cls, errors.CorruptSegmentError)
    for cls in (errors.BadMagicError, errors.BadVersionError, errors.BadLayoutError,
                errors.UnsealedError, errors.TruncatedError):
        assert issubclass(cls, errors.CorruptSegmentError)
        assert not issubclass(cls, errors.ChecksumError)


# ---------------------------------------------------------------- real failures
def test_not_found():
    with pytest.raises(errors.SegmentNotFoundError) as info:
        shmchunk.attach(unique_name("missing"))
    assert info.value.status == 4 and info.value.function == "shmc_segment_open"


def test_exists(shared):
    sf = shared(pd.DataFrame({"a": [1]}))
    with pytest.raises(errors.SegmentExistsError):
        shmchunk.share(pd.DataFrame({"b": [2]}), name=sf.name)
    assert shmchunk.attach(sf.name).read()["a"].tolist() == [1]  # the first is untouched


@pytest.mark.parametrize("bad", ["sp ace", "x" * 300, ".hidden", "tab\t"])
def test_bad_name(bad):
    with pytest.raises(errors.InvalidNameError) as info:
        shmchunk.share(pd.DataFrame({"a": [1]}), name=bad)
    assert info.value.detail


def test_invalid_arguments(shared):
    with pytest.raises(errors.InvalidArgumentError):
        shmchunk.share([1, 2, 3])
    with pytest.raises(errors.InvalidArgumentError):
        shmchunk.share(pd.DataFrame({"a": [1]}), compression="lz4")
    sf = shared(pd.DataFrame({"a": np.arange(10)}))
    with pytest.raises(errors.InvalidArgumentError):
        sf.plan(0)
    with pytest.raises(errors.InvalidArgumentError):
        sf.plan(2, by="diagonal")
    with pytest.raises(errors.InvalidArgumentError):
        sf.read(rows=slice(0, 10, 2))
    with pytest.raises(errors.OutOfRangeError):
        sf.read(chunks=[sf.nchunks])
    with pytest.raises(KeyError):
        sf.column("nope")


def test_closed(shared):
    sf = shared(pd.DataFrame({"a": [1]}))
    sf.close()
    sf.close()  # idempotent
    for call in (sf.read, lambda: sf.column("a"), lambda: sf.nchunks, lambda: sf.plan(2),
                 lambda: sf.columns):
        with pytest.raises(errors.ClosedError):
            call()


def test_identity_mismatch():
    name = unique_name("reuse")
    df = pd.DataFrame({"a": np.arange(10)})
    with shmchunk.share(df, name=name) as sf:
        handle = pickle.dumps(sf)
    shmchunk.detach_all()
    with shmchunk.share(df, name=name):  # same name, another segment
        reused = pickle.loads(handle)   # unpickling never fails (issue 16.2); using it does
        with pytest.raises(errors.IdentityMismatchError, match="name now holds another"):
            reused.read()
    with pytest.raises(errors.SegmentNotFoundError):
        pickle.loads(handle).read()
    assert not shm_exists(name)


def test_unsupported_missing_function(monkeypatch):
    stub = _lib._missing("shmc_imaginary")
    with pytest.raises(errors.UnsupportedError, match="shmc_imaginary"):
        stub()


# ---------------------------------------------------------------- corruption
@pytest.fixture
def seg_file(tmp_path):
    """A file segment of a mixed frame (raw chunks) and a pristine copy of its bytes."""
    df = frame_all_dtypes(400)
    src = tmp_path / "orig.shmc"
    with shmchunk.share(df, name=str(src), rows_per_chunk=128) as sf:
        copy = tmp_path / "copy.shmc"
        shutil.copy(src, copy)
        info = sf.info()
        first = sf.chunk_info(0)
    return copy, info, first, df


def patch(path, offset, fn):
    data = bytearray(path.read_bytes())
    fn(data, offset)
    path.write_bytes(bytes(data))


def flip(data, offset):
    data[offset] ^= 0x40


@pytest.mark.parametrize("where,cls", [
    ("magic", errors.BadMagicError), ("version", errors.BadVersionError),
    ("layout", errors.BadLayoutError), ("sealed", errors.UnsealedError),
    ("header", errors.HeaderChecksumError), ("index", errors.IndexChecksumError),
    ("truncated", errors.TruncatedError),
])
def test_corrupt_segments_refused_at_attach(seg_file, where, cls):
    path, info, _, _ = seg_file
    offsets = {"magic": 0, "version": 8, "layout": 12, "sealed": 120, "header": 100}
    if where == "truncated":
        path.write_bytes(path.read_bytes()[:info["total_size"] // 2])
    elif where == "index":
        # a byte inside the msgpack index (it sits after the chunks)
        idx_off = info["total_size"] - 16
        patch(path, idx_off, flip)
    else:
        patch(path, offsets[where], flip)
    with pytest.raises(errors.CorruptSegmentError) as exc:
        shmchunk.attach(str(path))
    assert isinstance(exc.value, cls), f"{type(exc.value).__name__}: {exc.value}"
    assert exc.value.detail


def test_chunk_checksum_on_read_and_verify(seg_file):
    path, info, first, df = seg_file
    patch(path, first["offset"] + 1, flip)
    sf = shmchunk.attach(str(path))
    bad_label = next(c["label"] for c in info["columns"] if c["id"] == first["column"])
    others = [c for c in df.columns if c != bad_label][:3]
    pd.testing.assert_frame_equal(sf.read(columns=others), df[others])  # others still fine
    with pytest.raises(errors.ChunkChecksumError) as exc:
        sf.read(columns=[bad_label])
    assert exc.value.status == 16
    with pytest.raises(errors.ChecksumError) as exc:
        sf.verify()
    assert "chunk 0" in str(exc.value)


def test_verify_false_trusts_chunk_bytes_but_not_structure(seg_file):
    """verify=False skips the per-chunk XXH3 pass (the flipped byte reaches the
    reader unnoticed) yet verify() still finds it and decoding stays bounded."""
    path, info, first, df = seg_file
    bad_label = next(c["label"] for c in info["columns"] if c["id"] == first["column"])
    patch(path, first["offset"] + 1, flip)
    trusting = shmchunk.attach(str(path), verify=False)
    assert trusting.verify_checksums is False
    got = trusting.read(columns=[bad_label])  # no ChecksumError
    assert len(got) == len(df)
    with pytest.raises(errors.ChunkChecksumError):
        shmchunk.attach(str(path)).read(columns=[bad_label])
    with pytest.raises(errors.ChecksumError, match="chunk 0"):
        trusting.verify()
    # the setting travels with the pickled handle
    assert pickle.loads(pickle.dumps(trusting)).verify_checksums is False
    assert pickle.loads(pickle.dumps(shmchunk.attach(str(path)))).verify_checksums is True


def test_verify_false_still_refuses_bad_string_offsets(tmp_path):
    df = pd.DataFrame({"s": pd.array(["ab", "cde", "f"] * 50, dtype=object)})
    src = tmp_path / "s.shmc"
    with shmchunk.share(df, name=str(src)) as sf:
        offs = next(sf.chunk_info(c) for c in range(sf.nchunks)
                    if sf.chunk_info(c)["role"] == "offsets")
        data = bytearray(src.read_bytes())  # the owner removes src on exit
    # the last offset far past the data: a reader trusting it would read out of bounds
    end = offs["offset"] + offs["stored_len"] - 8
    data[end:end + 8] = (1 << 40).to_bytes(8, "little")
    src.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptSegmentError):
        shmchunk.attach(str(src), verify=False).read()


def test_not_a_segment(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(errors.CorruptSegmentError):
        shmchunk.attach(str(junk))


@pytest.mark.skipif(os.getuid() == 0, reason="root ignores file permissions")
def test_permission(tmp_path):
    path = tmp_path / "p.shmc"
    with shmchunk.share(pd.DataFrame({"a": [1]}), name=str(path)):
        os.chmod(path, 0)
        with pytest.raises(errors.SegmentPermissionError):
            shmchunk.attach(str(path))


# ---------------------------------------------------------------- allow_pickle
def test_allow_pickle_rules(shared, monkeypatch):
    import shmchunk._read as rd
    df = pd.DataFrame({"n": np.arange(6), "o": pd.Series([{1: 2}, (3,), 4.5] * 2, dtype=object),
                       (1, "tuple label"): np.arange(6.0)})
    df.attrs = {"k": "v"}
    sf = shared(df)
    handle = pickle.dumps(sf)
    shmchunk.detach_all()
    # same uid: trusted, everything loads
    pd.testing.assert_frame_equal(pickle.loads(handle).read(), df)
    # another uid wrote it: numbers and safe labels load, object chunks need consent
    monkeypatch.setattr(rd, "current_uid", lambda: os.getuid() + 1)
    foreign = shmchunk.attach(sf.name)
    pd.testing.assert_frame_equal(foreign.read(columns=["n", (1, "tuple label")]),
                                  df[["n", (1, "tuple label")]])
    with pytest.raises(errors.PickleNotAllowedError, match="allow_pickle=True"):
        foreign.read()
    with pytest.raises(errors.PickleNotAllowedError):
        foreign.column("o")
    trusted = shmchunk.attach(sf.name, allow_pickle=True)
    pd.testing.assert_frame_equal(trusted.read(), df)
    assert pickle.loads(pickle.dumps(trusted)).allow_pickle


def test_hostile_pickled_label_not_run(tmp_path, monkeypatch):
    import shmchunk._read as rd

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    df = pd.DataFrame({Evil(): [1]})
    path = tmp_path / "evil.shmc"
    with shmchunk.share(df, name=str(path)):
        monkeypatch.setattr(rd, "current_uid", lambda: os.getuid() + 1)
        with pytest.raises(errors.PickleNotAllowedError, match="posix.system|os.system"):
            shmchunk.attach(str(path))


def test_compressed_chunk_corruption_detected(tmp_path):
    df = pd.DataFrame({"z": np.arange(1 << 14) % 7, "y": np.arange(1 << 14) / 3})
    src, copy = tmp_path / "z.shmc", tmp_path / "zc.shmc"
    with shmchunk.share(df, name=str(src), compression="zstd", rows_per_chunk=1 << 12) as sf:
        shutil.copy(src, copy)
        ck = next(sf.chunk_info(c) for c in range(sf.nchunks)
                  if sf.chunk_info(c)["codec"] == "zstd")
    patch(copy, ck["offset"] + ck["stored_len"] // 2, flip)
    with pytest.raises(errors.ChunkChecksumError):
        shmchunk.attach(str(copy)).read()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to chown")
def test_object_owned_by_another_user_is_foreign(shared):
    """The header says we wrote it, but the shm object belongs to someone else."""
    df = pd.DataFrame({"o": pd.Series([{1: 2}, (3,)], dtype=object)})
    sf = shared(df)
    path = f"/dev/shm/{sf.name[4:]}"
    os.chown(path, 65534, 65534)
    try:
        with pytest.raises(errors.PickleNotAllowedError):
            shmchunk.attach(sf.name).read()
        pd.testing.assert_frame_equal(shmchunk.attach(sf.name, allow_pickle=True).read(), df)
    finally:
        os.chown(path, 0, 0)


def test_list_and_unlink(shared):
    sf = shared(pd.DataFrame({"a": [1]}))
    entry = next(e for e in shmchunk.list_segments() if e["name"] == sf.name)
    assert entry["state"] == "alive" and entry["sealed"] and entry["uid"] == os.getuid()
    assert entry["owner_pid"] == os.getpid() and entry["size"] == sf.nbytes
    shmchunk.unlink(sf.name)
    assert not shm_exists(sf.name)
    with pytest.raises(errors.SegmentNotFoundError):
        shmchunk.unlink(sf.name)


@pytest.mark.skipif("shmc_pickle_write" in _lib.MISSING, reason="C pickle writer not built")
@pytest.mark.parametrize("compression", [None, "zstd"])
def test_pickle_bytes_refuses_corrupt_chunks(tmp_path, compression):
    df = pd.DataFrame({"a": np.arange(1 << 12) % 5, "b": np.arange(1 << 12) / 7},
                      index=pd.Index(np.arange(1 << 12) * 3, name="k"))
    src, copy = tmp_path / "p.shmc", tmp_path / "pc.shmc"
    with shmchunk.share(df, name=str(src), compression=compression, rows_per_chunk=1 << 10) as sf:
        shutil.copy(src, copy)
        ck = sf.chunk_info(sf.chunk_ids(columns=["b"], rows=slice(2048, 2049))[0])
    patch(copy, ck["offset"] + ck["stored_len"] // 2, flip)
    sf2 = shmchunk.attach(str(copy))
    pickle.loads(sf2.pickle_bytes(columns=["a"]))  # the intact column still works
    for call in (lambda: sf2.pickle_bytes(), lambda: sf2.pickle_bytes(columns=["b"]),
                 lambda: sf2.pickle_bytes(oob=True)):
        with pytest.raises(errors.ChunkChecksumError):
            call()


def test_foreign_labels_plain_load_others_need_allow_pickle(shared, monkeypatch):
    """Plain labels (tuples, floats, frozensets...) of another user's segment load without
    allow_pickle; a Timestamp label is not plain (its pickle calls pandas) and needs it."""
    import shmchunk._read as rd
    labels = [(1, "a"), 2.5, frozenset({3}), None, b"b"]
    sf = shared(pd.DataFrame({lab: [i] for i, lab in enumerate(labels)}))
    ts = shared(pd.DataFrame({pd.Timestamp("2021-05-01"): [1], pd.Timedelta("1h"): [2]}))
    monkeypatch.setattr(rd, "current_uid", lambda: os.getuid() + 1)
    assert list(shmchunk.attach(sf.name).read().columns) == labels
    with pytest.raises(errors.PickleNotAllowedError, match=r"_unpickle_timestamp\(\.\.\.\)"):
        shmchunk.attach(ts.name)
    assert list(shmchunk.attach(ts.name, allow_pickle=True).read().columns) == \
        [pd.Timestamp("2021-05-01"), pd.Timedelta("1h")]
