"""Space: a full /dev/shm is an error value, never a SIGBUS, and leaves nothing behind.

Each test mounts a small private tmpfs over /dev/shm in its own mount namespace
(a container's /dev/shm is 64 MB by default; 8 MB here keeps the test fast), so
the real /dev/shm is never filled and the listing of the tmpfs is exact.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
from relutil import assert_clean_stderr, child_env, record, run_cli

MB = 1 << 20

# Prints "nospace <message>" / "ok <name>" / "other <type> <message>" per attempt.
SHARE_SCRIPT = """
import os, sys, numpy as np, pandas as pd, relwork, shmchunk
keep = []
for spec in sys.argv[1:]:
    mb, codec = spec.split(":")
    n = int(float(mb) * (1 << 20)) // 8
    df = pd.DataFrame({"x": np.random.default_rng(len(keep)).random(n)})  # incompressible
    kw = {"compression": "zstd"} if codec == "zstd" else {}
    try:
        sf = shmchunk.share(df, **kw)
    except shmchunk.NoSpaceError as e:
        print("nospace", str(e).replace(chr(10), " "), flush=True)
        continue
    except Exception as e:
        print("other", type(e).__name__, str(e).replace(chr(10), " "), flush=True)
        continue
    keep.append((sf, df))
    print("ok", relwork.bare_name(sf.name), flush=True)
# What was shared before the failures must still read back intact.
for sf, df in keep:
    relwork.assert_same(sf.read(chunks=list(range(sf.nchunks))), df)
print("intact", len(keep), flush=True)
"""


def _share(ns, *specs):
    argv = [sys.executable, "-c", SHARE_SCRIPT, *specs]
    return subprocess.run(ns.prefix + argv, capture_output=True, text=True, timeout=120,
                          env=child_env())


def _lines(stdout):
    return [line.split(" ", 1) for line in stdout.strip().splitlines()]


def test_share_bigger_than_shm_raises_nospace_and_leaves_nothing(shmchunk, private_shm):
    ns = private_shm("8m")
    p = _share(ns, "16:raw", "16:zstd")
    assert p.returncode == 0, f"exit {p.returncode} (negative = killed by signal)\n{p.stderr}"
    lines = _lines(p.stdout)
    assert [w[0] for w in lines] == ["nospace", "nospace", "intact"], p.stdout
    assert all("space" in w[1].lower() for w in lines[:2]), p.stdout
    assert ns.listdir() == [], f"left behind: {ns.listdir()}"
    assert_clean_stderr(p.stderr)


def test_share_into_partly_used_shm_no_sigbus(shmchunk, private_shm):
    """6 MB into 8 MB of which 4 MB are taken: ftruncate alone would succeed (tmpfs
    files are sparse) and the first write past the free space would SIGBUS. The
    writer must reserve the space up front and fail cleanly. The segment shared before
    the failures reads back intact afterwards (the script checks it: "intact")."""
    ns = private_shm("8m")
    (ns.shm / "filler").write_bytes(b"\xaa" * (4 * MB))
    p = _share(ns, "1:raw", "6:raw", "6:zstd", "0.5:zstd")
    assert p.returncode == 0, f"exit {p.returncode} (-7 = SIGBUS)\n{p.stderr}"
    kinds = [w[0] for w in _lines(p.stdout)]
    assert kinds == ["ok", "nospace", "nospace", "ok", "intact"], p.stdout
    assert set(ns.listdir()) == {"filler"}, "owner did not unlink, or a failed write left a file"
    assert_clean_stderr(p.stderr)
    record("space_python", {"tmpfs": "8m", "attempts": 4, "nospace_raised": 2,
                            "sigbus": 0, "left_behind": 0})


def test_cli_pack_nospace_exit1_one_line(cli, private_shm, tmp_path):
    ns = private_shm("8m")
    src = tmp_path / "big.pkl"
    n = 12 * MB // 8
    pd.DataFrame({"x": np.random.default_rng(3).random(n)}).to_pickle(src)
    for extra in ([], ["--zstd"]):
        p = run_cli("pack", src, "shm:rel-big", *extra, prefix=ns.prefix, timeout=120)
        assert p.returncode == 1, f"exit {p.returncode}: {p.stderr}"
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert "space" in lines[0].lower() and "rel-big" in lines[0], lines[0]
        assert ns.listdir() == []
    # The same input fits once there is room: the failure was about space only.
    ns2 = private_shm("32m")
    p = run_cli("pack", src, "shm:rel-big", prefix=ns2.prefix, timeout=120)
    assert p.returncode == 0, p.stderr
    assert ns2.listdir() == ["rel-big"]
    record("space_cli", {"tmpfs": "8m", "input_mb": 12, "exit": 1, "left_behind": 0})


def test_nospace_says_how_much_was_free_and_what_to_do(shmchunk, private_shm):
    """Issue 16.7: the NoSpaceError of share() names the free space and the remedies."""
    ns = private_shm("8m")
    p = _share(ns, "16:raw")
    lines = _lines(p.stdout)
    assert lines[0][0] == "nospace", p.stdout
    msg = lines[0][1]
    assert "/dev/shm has" in msg and "MiB free of 8 MiB" in msg, msg
    assert "--shm-size" in msg and 'compression="zstd"' in msg, msg
