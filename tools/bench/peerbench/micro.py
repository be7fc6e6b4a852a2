"""The C microbenchmark (tests/bench/shmc_microbench.c) run inside the benchmark, so that
the pack targets are ratios measured in the same run as the peers."""
from __future__ import annotations

import os
import re
import subprocess

# One pattern per figure the targets use; the tool's whole output is kept as well.
_PATTERNS = {
    "memcpy_gbps": r"^memcpy\s+([\d.]+) GB/s",
    "memcpy_fresh_gbps": r"into fresh pages: ([\d.]+) GB/s",
    "xxh3_gbps": r"^XXH3-64\s+([\d.]+) GB/s",
    "raw_pack_gbps": r"^raw pack to shm\s+([\d.]+) GB/s",
    "zstd_pack_gbps": r"^zstd-1\+shuffle pack\s+([\d.]+) GB/s",
    "zstd_ratio": r"^zstd-1\+shuffle pack.*ratio ([\d.]+)",
    "zstd_decode_gbps": r"^zstd-1\+shuffle dec\s+([\d.]+) GB/s",
    "raw_pack_1t_gbps": r"^pack on 1 thread\s+raw ([\d.]+) GB/s",
    "zstd_pack_1t_gbps": r"^pack on 1 thread.*zstd ([\d.]+) GB/s",
    "threads": r"^pack on 1 thread.*: (\d+) threads are",
    "open_index_ms": r"^open \+ index, 1000 columns x 1 row groups .*: ([\d.]+) ms",
    "open_index_chunks_ms": r"^open \+ index, 16 columns x 4096 row groups .*: ([\d.]+) ms",
}


def find_tool(root: str) -> str | None:
    """The microbenchmark of the build the Python side uses ($SHMCHUNK_BUILD, else build/)."""
    build = os.environ.get("SHMCHUNK_BUILD") or os.path.join(root, "build")
    path = os.path.join(build, "tools", "shmc_microbench")
    return path if os.access(path, os.X_OK) else None


def parse(text: str) -> dict:
    out: dict = {"output": text}
    for key, pat in _PATTERNS.items():
        m = re.search(pat, text, re.MULTILINE)
        if m:
            out[key] = float(m.group(1))
    return out


def run(root: str, size: str) -> dict:
    """Figures of one microbenchmark run; {"status": ...} says why there are none."""
    tool = find_tool(root)
    if tool is None:
        return {"status": "skipped", "error": "shmc_microbench not built (tools/dev.sh build)"}
    cmd = [tool, size]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return {"status": "failed", "command": " ".join(cmd),
                "error": (p.stderr or p.stdout)[-500:]}
    shown = " ".join([os.path.relpath(tool, root), size])
    return {"status": "ok", "command": shown, **parse(p.stdout)}
