"""The version of include/shmchunk.h (SHMC_VERSION_MAJOR/MINOR/PATCH), the one place
the version is written. Imports nothing of the package and loads no library, so that a
checkout's python/shmchunk knows the API version it was written for (an installed
package has _built_version.py instead, written by the CMake build of the wheel)."""

from __future__ import annotations

import re
from pathlib import Path


def header_version(header: Path) -> tuple[int, int, int]:
    text = header.read_text()
    parts = [re.search(rf"^#define SHMC_VERSION_{p}\s+(\d+)\s*$", text, re.M) for p in
             ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        raise RuntimeError(f"{header}: no SHMC_VERSION_MAJOR/MINOR/PATCH")
    major, minor, patch = (int(m.group(1)) for m in parts)
    return major, minor, patch
