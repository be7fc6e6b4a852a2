"""Corruption: every single flipped bit in a chunk, the index or the header is reported.

For each sampled (byte, bit) the bit is flipped in the live shared-memory segment,
then
  - `shmchunk verify shm:NAME` must exit 1 (naming the chunk when the bit is in one),
  - a fresh shmchunk.attach() + read of every chunk must raise CorruptSegmentError
    (ChecksumError for checksum mismatches) naming the chunk when the bit is in one,
and the bit is flipped back. Never a crash, never wrong data returned silently.

Positions are systematic: every header byte (all 8 bits with SHMC_LONG=1, else one
rotating bit), first/last/spread bytes of every chunk, spread bytes of the index.
Alignment padding between chunks is covered by no checksum by design; flips there
must simply not change what is read.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import relwork
from relutil import LONG, assert_clean_stderr, child_env, record, run_cli

NROWS = 4096
RPC = 1024
PER_CHUNK = 8 if LONG else 3
INDEX_SAMPLES = 400 if LONG else 40
CLI_EVERY = 1 if LONG else 2  # CI: CLI verify on every other flip (process start cost)


def _read_all(shmchunk, name):
    sf = shmchunk.attach(name)
    try:
        return sf.read(chunks=list(range(sf.nchunks)))
    finally:
        sf.close()


def _check_python(shmchunk, name, df, region, chunk, lay=None):
    """'detected', 'unnamed' (error that does not name the bad chunk), 'harmless' (no
    error, data equal) or 'WRONG' (silent corruption)."""
    try:
        got = _read_all(shmchunk, name)
    except shmchunk.CorruptSegmentError as e:
        if region == "chunk":
            c = lay["chunks"][chunk]
            if not relwork.names_chunk(str(e), chunk, c["column"], c["rowgroup"]):
                return "unnamed"
        return "detected"
    try:
        relwork.assert_same(got, df)
    except AssertionError:
        return "WRONG"
    return "harmless"


def _check_cli(name, region, chunk):
    p = run_cli("verify", "shm:" + name)
    assert p.returncode in (0, 1), f"verify crashed or misused: {p.returncode} {p.stderr}"
    assert "AddressSanitizer" not in p.stderr
    if p.returncode == 1:
        if region == "chunk":
            assert relwork.names_chunk(p.stdout + p.stderr, chunk), (chunk, p.stdout, p.stderr)
        assert p.stderr.strip(), "exit 1 without a line on stderr"
        return "detected"
    return "harmless"


@pytest.mark.parametrize("codec", ["raw", "zstd"])
def test_single_bit_flips_detected(shmchunk, cli, codec):
    df = relwork.make_frame(NROWS, 3)
    kw = {"compression": "zstd", "level": 3, "shuffle": True} if codec == "zstd" else {}
    with shmchunk.share(df, rows_per_chunk=RPC, **kw) as sf:
        name = relwork.bare_name(sf.name)
        path = relwork.shm_path(name)
        lay = relwork.layout("shm:" + name)
        if codec == "zstd":
            assert any(c["codec"] == 1 for c in lay["chunks"]), "nothing was compressed"
        positions = relwork.sample_positions(lay, PER_CHUNK, INDEX_SAMPLES, header_all=LONG)
        stats = {"injected": 0, "py_detected": 0, "py_unnamed": 0, "py_silent_wrong": 0,
                 "verify_detected": 0, "cli_checked": 0, "cli_detected": 0}
        missed = []
        for i, (region, chunk, off, bit) in enumerate(positions):
            relwork.flip_bit(path, off, bit)
            try:
                stats["injected"] += 1
                verdict = _check_python(shmchunk, name, df, region, chunk, lay)
                if verdict == "detected":
                    stats["py_detected"] += 1
                else:
                    stats["py_silent_wrong"] += verdict == "WRONG"
                    stats["py_unnamed"] += verdict == "unnamed"
                    missed.append((f"python:{verdict}", region, chunk, off, bit))
                # The owner's long-lived handle: SharedFrame.verify() re-checks chunks
                # (header and index: test_verify_of_open_handle_rechecks_header_and_index).
                if region == "chunk":
                    try:
                        sf.verify()
                        missed.append(("verify", region, chunk, off, bit))
                    except shmchunk.CorruptSegmentError as e:
                        if relwork.names_chunk(str(e), chunk):
                            stats["verify_detected"] += 1
                        else:
                            missed.append(("verify:unnamed", region, chunk, off, bit))
                if i % CLI_EVERY == 0:
                    stats["cli_checked"] += 1
                    if _check_cli(name, region, chunk) == "detected":
                        stats["cli_detected"] += 1
                    else:
                        missed.append(("cli", region, chunk, off, bit))
            finally:
                relwork.flip_bit(path, off, bit)
        # Restored: the segment is whole again.
        assert run_cli("verify", "shm:" + name).returncode == 0
        relwork.assert_same(_read_all(shmchunk, name), df)
    stats["chunks"] = lay["nchunks"]
    stats["bytes"] = lay["total_size"]
    record(f"bitflips_{codec}", stats)
    assert not missed, f"{len(missed)} of {stats['injected']} flips not reported: {missed[:20]}"


def test_verify_of_open_handle_rechecks_header_and_index(shmchunk):
    """shmc_segment_verify() / SharedFrame.verify() promise to check "everything: header,
    index, every chunk" -- also on a handle opened before the damage happened."""
    df = relwork.make_frame(NROWS, 3)
    missed = []
    with shmchunk.share(df, rows_per_chunk=RPC) as sf:
        path = relwork.shm_path(sf.name)
        lay = relwork.layout(sf.name if sf.name.startswith("shm:") else "shm:" + sf.name)
        offs = [("header", o) for o in (0, 8, 24, 48, 56, 64, 72, 88, 100)] + \
               [("index", lay["index_offset"] + lay["index_len"] * k // 8) for k in range(8)]
        for region, off in offs:
            relwork.flip_bit(path, off, 1)
            try:
                sf.verify()
                missed.append((region, off))
            except shmchunk.CorruptSegmentError:
                pass
            finally:
                relwork.flip_bit(path, off, 1)
    record("verify_open_handle", {"injected": len(offs), "detected": len(offs) - len(missed)})
    assert not missed, f"verify() on an open handle missed {len(missed)}/{len(offs)}: {missed}"


def _padding_ranges(lay):
    ranges = sorted((c["offset"], c["offset"] + c["stored_len"]) for c in lay["chunks"])
    ranges.append((lay["index_offset"], lay["index_offset"] + lay["index_len"]))
    gaps, end = [], relwork.HEADER_SIZE
    for start, stop in ranges:
        if start > end:
            gaps.append((end, start))
        end = max(end, stop)
    if lay["total_size"] > end:
        gaps.append((end, lay["total_size"]))
    return gaps


def test_padding_flips_never_change_data(shmchunk, cli):
    df = relwork.make_frame(NROWS - 7, 4)  # odd row count: partial last row group
    with shmchunk.share(df, rows_per_chunk=RPC) as sf:
        name = relwork.bare_name(sf.name)
        path = relwork.shm_path(name)
        gaps = _padding_ranges(relwork.layout("shm:" + name))
        flips = [(a + (b - a) // 2, 5) for a, b in gaps][: 200 if LONG else 30]
        for off, bit in flips:
            relwork.flip_bit(path, off, bit)
            try:
                assert _check_python(shmchunk, name, df, "padding", None) != "WRONG", (off, bit)
            finally:
                relwork.flip_bit(path, off, bit)
    record("padding_flips", {"gaps": len(gaps), "injected": len(flips), "silent_wrong": 0})


NO_VERIFY = """
import json, sys, inspect, relwork, shmchunk
df = relwork.make_frame(4096, 5)
codec, kwname = sys.argv[1], sys.argv[2]
kw = {"compression": "zstd", "shuffle": True} if codec == "zstd" else {}
out = {"flips": 0, "errors": 0, "wrong": 0, "same": 0}
with shmchunk.share(df, rows_per_chunk=1024, **kw) as sf:
    name = relwork.bare_name(sf.name); path = relwork.shm_path(name)
    lay = relwork.layout("shm:" + name)
    for c in lay["chunks"]:
        for off in (c["offset"], c["offset"] + c["stored_len"] // 2,
                    c["offset"] + c["stored_len"] - 1):
            relwork.flip_bit(path, off, 3)
            out["flips"] += 1
            try:
                h = shmchunk.attach(name, **{kwname: False})
                got = h.read(chunks=list(range(h.nchunks)))
                try:
                    relwork.assert_same(got, df); out["same"] += 1
                except AssertionError:
                    out["wrong"] += 1
                del got; h.close()
            except shmchunk.ShmchunkError:
                out["errors"] += 1
            finally:
                relwork.flip_bit(path, off, 3)
print(json.dumps(out))
"""


NO_VERIFY_C = """
import ctypes, json, sys, relwork, shmchunk
from shmchunk import _lib
L = _lib.lib
df = relwork.make_frame(4096, 5)
kw = {"compression": "zstd", "shuffle": True} if sys.argv[1] == "zstd" else {}

def decode_all(src):
    seg = _lib.segment_open(src, _lib.SHMC_OPEN_NO_VERIFY)
    out = []
    try:
        for c in relwork.layout(src)["chunks"]:
            buf = ctypes.create_string_buffer(c["raw_len"])
            try:
                L.shmc_segment_chunk_decode(seg, c["id"], buf, c["raw_len"])
                out.append(buf.raw)
            except shmchunk.ShmchunkError:
                out.append(None)
    finally:
        L.shmc_segment_free(seg)
    return out

res = {"flips": 0, "errors": 0, "wrong": 0, "same": 0}
with shmchunk.share(df, rows_per_chunk=1024, **kw) as sf:
    name = relwork.bare_name(sf.name); path = relwork.shm_path(name); src = "shm:" + name
    good = decode_all(src)
    for c in relwork.layout(src)["chunks"]:
        for off in range(c["offset"], c["offset"] + c["stored_len"], max(1, c["stored_len"] // int(sys.argv[2]))):
            relwork.flip_bit(path, off, 3)
            res["flips"] += 1
            try:
                got = decode_all(src)[c["id"]]
                key = "errors" if got is None else ("same" if got == good[c["id"]] else "wrong")
                res[key] += 1
            finally:
                relwork.flip_bit(path, off, 3)
print(json.dumps(res))
"""


@pytest.mark.parametrize("codec", ["raw", "zstd"])
def test_c_decode_with_verification_off_never_crashes(shmchunk, codec):
    """SHMC_OPEN_NO_VERIFY: a flipped bit may decode to wrong bytes (documented), or be
    refused by the codec, but never crashes, overflows or hangs."""
    import json

    p = subprocess.run([sys.executable, "-c", NO_VERIFY_C, codec, "16" if LONG else "5"],
                       capture_output=True,
                       text=True, timeout=300, env=child_env())
    assert p.returncode == 0, f"exit {p.returncode} (negative = signal)\n{p.stderr[-3000:]}"
    assert_clean_stderr(p.stderr)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["flips"] == out["errors"] + out["wrong"] + out["same"] > 0
    if codec == "raw":
        assert out["wrong"] == out["flips"], out  # raw bytes come back as they are
    record(f"no_verify_c_{codec}", out)


@pytest.mark.parametrize("codec", ["raw", "zstd"])
def test_verification_off_never_crashes(shmchunk, codec):
    """With chunk verification off, a flipped bit may come back as wrong data (that is
    what "off" means, and it is documented) -- but never as a crash or a hang."""
    import json

    params = inspect.signature(shmchunk.attach).parameters
    kwname = next((k for k in ("verify", "verify_checksums", "check") if k in params), None)
    if kwname is None:
        pytest.skip(f"shmchunk.attach has no switch to turn verification off: {list(params)}")
    p = subprocess.run([sys.executable, "-c", NO_VERIFY, codec, kwname], capture_output=True,
                       text=True, timeout=300, env=child_env())
    assert p.returncode == 0, f"exit {p.returncode} (negative = signal)\n{p.stderr[-3000:]}"
    assert_clean_stderr(p.stderr)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["flips"] == out["errors"] + out["wrong"] + out["same"]
    record(f"no_verify_{codec}", out)


def test_truncated_copies_refused(shmchunk, cli, tmp_path):
    """A segment cut short anywhere (copied partially, a file on a full disk) is refused
    at attach and by verify -- never read past its end."""
    import shutil

    df = relwork.make_frame(NROWS, 6)
    with shmchunk.share(df, rows_per_chunk=RPC, compression="zstd") as sf:
        name = relwork.bare_name(sf.name)
        lay = relwork.layout("shm:" + name)
        whole = tmp_path / "whole.seg"
        shutil.copyfile(relwork.shm_path(name), whole)
    assert run_cli("verify", whole).returncode == 0
    relwork.assert_same(_read_all(shmchunk, str(whole)), df)
    size = lay["total_size"]
    cuts = sorted({0, 7, 64, 127, 128, size // 3, size // 2, lay["index_offset"],
                   lay["index_offset"] + lay["index_len"] // 2, size - 1}
                  | {c["offset"] + c["stored_len"] // 2 for c in lay["chunks"][:: 7]})
    data = whole.read_bytes()
    cut_file = tmp_path / "cut.seg"
    for cut in cuts:
        cut_file.write_bytes(data[:cut])
        with pytest.raises(shmchunk.CorruptSegmentError):
            _read_all(shmchunk, str(cut_file))
        p = run_cli("verify", cut_file)
        assert p.returncode == 1 and p.stderr.strip(), (cut, p.returncode, p.stderr)
    record("truncations", {"cuts": len(cuts), "refused": len(cuts)})
