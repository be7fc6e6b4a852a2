"""Pickled labels and df.attrs go through C's plain pass (shmc_pickle_plain) before
anything unpickles them (issue 12, findings 2 and 7).

A foreign segment's label or attrs used to be loaded by an Unpickler that admitted
numpy.dtype and numpy's scalar(): BUILD and SETITEM then read and wrote memory at a
chosen offset. And a label whose memo references make a DAG (8 nested tuples of 100
references: 10^16 leaves in 1.6 KB) hung `read()` and `unpack`. Hostile reads run
in a child process so that a crash or a hang fails the test instead of killing it.
"""
import ctypes
import math
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import cli_path

import shmchunk
from shmchunk import _lib as L
from shmchunk import _read, errors
from shmchunk._write import FrameBuilder


# ---- hostile pickles, byte by byte -------------------------------------------
class Raw(bytes):
    """Pickle bytes to store as a label as they are."""


def _s(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw          # SHORT_BINUNICODE


def evil_void(write: bool, offset: int = 2**31 - 1) -> bytes:
    """(void,) whose dtype, rebuilt by BUILD (dtype.__setstate__), has a field at
    `offset` in an 8-byte item; with `write`, SETITEM then stores 8 bytes there
    (numpy.void.__setitem__). Without it, reading the label reads there."""
    o = b"\x80\x04" + _s("numpy") + _s("dtype") + b"\x93\x94"          # memo 0: numpy.dtype
    o += _s("V8") + b"\x85R"                                               # dtype('V8')
    # BUILD state (3, '|', None, ('f',), {'f': (dtype('u8'), offset)}, 8, 1, 16)
    o += b"(K\x03" + _s("|") + b"N" + _s("f") + b"\x85"
    o += b"}" + _s("f") + b"h\x00" + _s("u8") + b"\x85R" + b"J" + struct.pack("<i", offset)
    o += b"\x86sK\x08K\x01K\x10tb\x940"                                    # memo 1: the dtype
    o += _s("numpy._core.multiarray") + _s("scalar") + b"\x93"
    o += b"h\x01C\x08" + b"\0" * 8 + b"\x86R"                            # scalar(dtype, 8 bytes)
    if write:
        o += _s("f") + b"\x8a\x08" + b"A" * 8 + b"s"                     # void['f'] = 0x4141...
    return Raw(o + b"\x85.")


def dag_label(levels: int = 8, width: int = 100, in_dict: bool = False) -> bytes:
    """A tuple of `width` references to a tuple of `width` references ... to 'a':
    width**levels leaves as a tree, about 200 * levels bytes as a pickle; with
    in_dict, as the value of {'k': ...} (an attrs dict)."""
    o = b"\x80\x04" + _s("a") + b"\x940"
    for level in range(levels):
        o += b"(" + (b"h" + bytes([level])) * width + b"t\x940"
    top = b"h" + bytes([levels])
    return Raw(o + (b"}" + _s("k") + top + b"s" if in_dict else top) + b".")


# ---- segments with chosen label / attrs bytes ---------------------------------
def _raw_label(blob: bytes, keep: list) -> L.shmc_label:
    lab = L.shmc_label()
    buf = ctypes.create_string_buffer(blob, len(blob))
    keep.append(buf)
    lab.type, lab.str, lab.len = L.SHMC_LABEL_PICKLE, ctypes.cast(buf, ctypes.c_void_p), len(blob)
    return lab


def write_segment(dest: str, labels, attrs: bytes | None = None) -> str:
    """A segment of len(labels) int64 columns of 3 rows; a Raw label is stored as
    those pickle bytes, anything else as the Python writer stores it."""
    fb = FrameBuilder(3, 2)
    try:
        for i, lab in enumerate(labels):
            values = pd.Series(np.arange(3, dtype=np.int64) + i)
            desc = fb.describe(values, 3, allow_object=False)
            desc.label = _raw_label(lab, fb.keep) if isinstance(lab, Raw) else fb.label(lab)
            L.lib.shmc_frame_add_column(fb.frame, ctypes.byref(desc))
        if attrs is not None:
            L.lib.shmc_frame_set_meta(fb.frame, attrs, len(attrs))
        return fb.write(dest, L.write_opts())
    finally:
        fb.free()


# What a child process does with a segment: attach as another user would see it
# (FrameReader compares the creator's uid with ours), read, report in one line.
CHILD = textwrap.dedent("""
    import os, sys, time, warnings
    import shmchunk
    from shmchunk import _read
    _read.current_uid = lambda: os.getuid() + 4242   # a segment of another user
    path, allow = sys.argv[1], sys.argv[2] == "1"
    t = time.monotonic()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sf = shmchunk.attach(path, allow_pickle=allow)
            assert sf._reader.trusted == allow, "the segment must look foreign"
            df = sf.read()
        print("OK", repr(list(df.columns))[:200], repr(df.attrs)[:200],
              [str(w.message)[:300] for w in caught])
    except Exception as exc:
        print("RAISED", type(exc).__name__, str(exc)[:600])
    print("SECONDS", round(time.monotonic() - t, 3))
""")


def read_in_child(path: str, allow_pickle: bool = False, timeout: float = 60):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(shmchunk.__file__).parents[1])] + sys.path))
    proc = subprocess.run([sys.executable, "-c", CHILD, path, "1" if allow_pickle else "0"],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, (f"reader died with status {proc.returncode}\n"
                                  f"stdout: {proc.stdout}\nstderr: {proc.stderr[-2000:]}")
    return proc.stdout


@pytest.fixture
def seg_path(tmp_path):
    return str(tmp_path / "seg.shmc")


# ---- finding 2: memory corruption through a label or attrs --------------------
@pytest.mark.parametrize("write", [False, True], ids=["build_dtype_read", "setitem_void_write"])
def test_hostile_numpy_label_is_refused_not_run(seg_path, write):
    write_segment(seg_path, ["ok", evil_void(write)])
    out = read_in_child(seg_path)
    assert "RAISED PickleNotAllowedError" in out, out
    # the message is C's: the construct and the byte offset where it is
    assert "pickle byte" in out and ("numpy" in out or "SETITEM" in out), out


@pytest.mark.parametrize("write", [False, True], ids=["build_dtype_read", "setitem_void_write"])
def test_hostile_numpy_attrs_are_dropped_not_run(seg_path, write):
    write_segment(seg_path, ["a"], attrs=evil_void(write))
    out = read_in_child(seg_path)
    assert out.startswith("OK ['a'] {}"), out
    assert "df.attrs not restored" in out and "pickle byte" in out, out


def test_hostile_label_as_columns_name(seg_path):
    """The columns name and index names take the same path as column labels."""
    fb = FrameBuilder(3, 2)
    try:
        desc = fb.describe(pd.Series(np.arange(3)), 3, allow_object=False)
        desc.label = fb.label("x")
        L.lib.shmc_frame_add_column(fb.frame, ctypes.byref(desc))
        name = _raw_label(evil_void(True), fb.keep)
        L.lib.shmc_frame_set_columns_name(fb.frame, ctypes.byref(name))
        fb.write(seg_path, L.write_opts())
    finally:
        fb.free()
    assert "RAISED PickleNotAllowedError" in read_in_child(seg_path)


# ---- finding 7: a label that is a DAG --------------------------------------------
def test_dag_label_read_fails_fast(seg_path):
    blob = dag_label()
    assert len(blob) < 2000
    write_segment(seg_path, [blob, "b"])
    for allow in (False, True):     # trusted or not: the plain pass bounds it first
        out = read_in_child(seg_path, allow_pickle=allow, timeout=60)
        assert "RAISED LimitError" in out and "max_nodes" in out, out
        assert float(out.split("SECONDS")[1]) < 5, out


def test_dag_attrs_are_dropped_fast(seg_path):
    write_segment(seg_path, ["a"], attrs=dag_label(in_dict=True))
    out = read_in_child(seg_path, timeout=60)
    assert out.startswith("OK ['a'] {}") and "max_nodes" in out, out


def test_attrs_that_are_not_a_dict_are_dropped(seg_path):
    write_segment(seg_path, ["a"], attrs=pickle.dumps([1, 2], protocol=5))
    out = read_in_child(seg_path)
    assert out.startswith("OK ['a'] {}") and "stores a list, not a dict" in out, out


def test_dag_label_unpack_fails_fast(seg_path, tmp_path):
    cli = cli_path()
    if not cli.is_file():
        pytest.skip(f"no CLI at {cli}")
    write_segment(seg_path, [dag_label(), "b"])
    t = time.monotonic()
    for extra in ([], ["--allow-pickle"]):
        proc = subprocess.run([str(cli), "unpack", seg_path, str(tmp_path / "o.pkl"), *extra],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "max_nodes" in proc.stderr, proc.stderr
    assert time.monotonic() - t < 5


# ---- plain values still round-trip without allow_pickle -------------------------
PLAIN_LABELS = [1.5, None, b"raw\0bytes", True, ("t", 1, (2.5, None)), float("nan"), 2**64 - 1,
                "lone \ud800 surrogate", -2**63]


def _same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("trusted", [False, True])
def test_plain_labels_and_attrs_round_trip(trusted):
    attrs = {"nested": {"list": [1, 2.5, None, "x"], "tuple": (b"b", True)},
             "set": {1, "a"}, "frozen": frozenset({(1, 2)}), 3: bytearray(b"ba")}
    for lab in PLAIN_LABELS:
        got = _read.unpickle(pickle.dumps(lab, protocol=5), trusted)
        assert _same(got, lab), (lab, got)
    assert _read.unpickle(pickle.dumps(attrs, protocol=5), trusted, limits=_read.ATTRS_LIMITS) \
        == attrs


def test_plain_labels_read_from_foreign_segment(seg_path):
    """Labels the Python writer pickles (floats, tuples...) and nested attrs come back
    from another user's segment without allow_pickle."""
    attrs = {"source": {"rows": [1, 2, 3], "ok": True, "k": (1.5, None)}}
    write_segment(seg_path, [1.5, ("a", 2), b"by", None], attrs=pickle.dumps(attrs, protocol=5))
    out = read_in_child(seg_path)
    assert out.startswith("OK [1.5, ('a', 2), b'by', None] " + repr(attrs)), out


def test_multiindex_columns_from_foreign_segment(tmp_path):
    df = pd.DataFrame(np.arange(6).reshape(2, 3),
                      columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1.5)],
                                                        names=["l0", "l1"]))
    df.attrs = {"who": "me"}
    path = str(tmp_path / "mi.shmc")
    sf = shmchunk.share(df, name=path)
    try:
        out = read_in_child(path)
    finally:
        sf.close()
    assert out.startswith(f"OK {list(df.columns)!r} {{'who': 'me'}} []"), out


# ---- not plain: trusted loads it, untrusted refuses naming it ------------------
def test_timestamp_label_needs_trust(seg_path):
    ts = pd.Timestamp("2024-01-02")
    write_segment(seg_path, [Raw(pickle.dumps(ts, protocol=5)), "b"])
    out = read_in_child(seg_path)
    assert "RAISED PickleNotAllowedError" in out and "_unpickle_timestamp" in out, out
    assert "OK [Timestamp('2024-01-02 00:00:00'), 'b']" in read_in_child(seg_path, True)


def test_refusal_is_typed_with_c_message():
    with pytest.raises(errors.PickleNotAllowedError, match=r"pickle byte \d+: the global builtins"):
        _read.unpickle(pickle.dumps(int), False, "column 0")
    with pytest.raises(errors.LimitError, match="column 0: .*max_nodes"):
        _read.unpickle(dag_label(), True, "column 0")
    with pytest.raises(errors.PickleFormatError, match="column 0: .*no STOP"):
        _read.unpickle(b"\x80\x05K\x01", False, "column 0")
