"""Reproducer: Python reads of zstd chunks skip the chunk checksum (silent corruption).

shmchunk/_segment.py opens segments with SHMC_OPEN_NO_VERIFY (verify-once-per-process
cache), and Segment.decode_into() marks the chunk verified, assuming that
shmc_segment_chunk_decode() checked it -- it does not under NO_VERIFY. Raw chunks go
through verify_chunk() and are fine; compressed ones are never checked.

  SHMCHUNK_BUILD=build-rel PYTHONPATH=python .venv/bin/python \
      tools/reliability/repro_zstd_unverified.py [--patched]

Prints how many single-bit flips in one compressed chunk were detected / returned
wrong data. --patched verifies before decoding (the proposed one-line fix) to show it
closes the hole.
"""
import sys

import relwork
import shmchunk
from shmchunk import _segment

if "--patched" in sys.argv:
    orig = _segment.Segment.decode_into

    def decode_into(self, cid, dst):
        self.verify_chunk(cid)
        orig(self, cid, dst)
    _segment.Segment.decode_into = decode_into

df = relwork.make_frame(4096, 3)
counts = {"detected": 0, "WRONG": 0, "same": 0}
with shmchunk.share(df, rows_per_chunk=1024, compression="zstd", level=3) as sf:
    name = relwork.bare_name(sf.name)
    path = relwork.shm_path(name)
    ch = next(c for c in relwork.layout("shm:" + name)["chunks"]
              if c["codec"] == 1 and c["label"] == "flag")
    for off in range(ch["offset"], ch["offset"] + ch["stored_len"]):
        relwork.flip_bit(path, off, 0)
        try:
            h = shmchunk.attach(name)
            got = h.read(chunks=list(range(h.nchunks)))
            h.close()
            try:
                relwork.assert_same(got, df)
                counts["same"] += 1
            except AssertionError:
                counts["WRONG"] += 1
        except shmchunk.CorruptSegmentError:
            counts["detected"] += 1
        finally:
            relwork.flip_bit(path, off, 0)
print(f"chunk {ch['id']} (column {ch['label']!r}, zstd, {ch['stored_len']} bytes): {counts}")
sys.exit(1 if counts["WRONG"] else 0)
