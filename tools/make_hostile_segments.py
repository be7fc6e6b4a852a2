#!/usr/bin/env python3
"""Write the crafted segments of tests/regressions/segment_open/ whose index stores a
time zone that names a file (issue 12).

Why: `shmchunk unpack` copied a segment's zone name into its output pickle, where
pandas hands "dateutil/<path>" to dateutil, which opens the file it names. Each
segment is a real one written by the library (a 4-row tz-aware datetime column),
with the zone name swapped for a hostile one of the same length and the index and
header checksums recomputed: what a forger who knows the format would write.
Run from the repository root with a built library:

    PYTHONPATH=python SHMCHUNK_BUILD=build .venv/bin/python tools/make_hostile_segments.py [OUTDIR]
"""
import ctypes
import os
import struct
import sys
import tempfile

import pandas as pd

HDR_INDEX_OFFSET, HDR_INDEX_LEN, HDR_INDEX_XXH3, HDR_HEADER_XXH3, HDR_SEALED = 56, 64, 72, 88, 120
HEADER_SIZE = 128

# name -> (zone written, hostile zone of the same length stored instead)
SEGMENTS = {
    "tz-dateutil-dotdot-etc-passwd-copied-by-unpack": ("America/Argentina/Cordoba",
                                                       "dateutil/../../etc/passwd"),
    "tz-absolute-path-etc-passwd-copied-by-unpack": ("Europe/Rome", "/etc/passwd"),
}


def hash64(lib, data: bytes) -> int:
    buf = ctypes.create_string_buffer(data, len(data))
    return lib.shmc_hash64(buf, len(data))


def reseal(lib, seg: bytearray) -> None:
    """Index checksum, then the header's (over 128 bytes with its own and the sealed field zeroed)."""
    io_, il = struct.unpack_from("<QQ", seg, HDR_INDEX_OFFSET)
    struct.pack_into("<Q", seg, HDR_INDEX_XXH3, hash64(lib, bytes(seg[io_:io_ + il])))
    hdr = bytearray(seg[:HEADER_SIZE])
    hdr[HDR_HEADER_XXH3:HDR_HEADER_XXH3 + 8] = bytes(8)
    hdr[HDR_SEALED:HDR_SEALED + 8] = bytes(8)
    struct.pack_into("<Q", seg, HDR_HEADER_XXH3, hash64(lib, bytes(hdr)))


def crafted(zone: str, hostile: str) -> bytes:
    import shmchunk
    from shmchunk import _lib as L

    assert len(zone) == len(hostile)
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=4, tz=zone)})
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seg.shmc")
        with shmchunk.share(df, name=path):
            seg = bytearray(open(path, "rb").read())
    io_, il = struct.unpack_from("<QQ", seg, HDR_INDEX_OFFSET)
    index = bytes(seg[io_:io_ + il])
    old = bytes([0xA0 | len(zone)]) + zone.encode()  # msgpack fixstr
    assert index.count(old) == 1, "zone name not found once in the index"
    seg[io_:io_ + il] = index.replace(old, bytes([0xA0 | len(hostile)]) + hostile.encode())
    reseal(L.lib, seg)
    return bytes(seg)


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "regressions", "segment_open")
    os.makedirs(out, exist_ok=True)
    for name, (zone, hostile) in SEGMENTS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(crafted(zone, hostile))
        print(f"{out}/{name}")


if __name__ == "__main__":
    main()
