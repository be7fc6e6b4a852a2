"""Shared-memory housekeeping: list shmchunk segments, remove orphans (README.md, Guarantees: Lifecycle)."""

from __future__ import annotations

import ctypes
import os

from . import _lib as L

__all__ = ["list_segments", "gc", "unlink"]


def _entry(e: L.shmc_shm_entry) -> dict:
    return {"name": "shm:" + (e.name or b"").decode("utf-8", "replace"), "size": int(e.size),
            "uid": int(e.uid), "owner_pid": int(e.owner_pid),
            "state": L.OWNER_STATE_NAMES.get(e.owner_state, "?"), "sealed": bool(e.sealed)}


def _collect(call, *extra) -> list[dict]:
    found: list[dict] = []

    @L.SHM_LIST_FN
    def on_entry(_user, entry):
        try:
            found.append(_entry(entry.contents))
        except Exception:  # noqa: BLE001 - never let an exception cross into C
            return 1
        return 0

    call(on_entry, None, *extra)
    return found


def list_segments() -> list[dict]:
    """Every shmchunk segment in shared memory (recognised by header): name ("shm:NAME"), size,
    uid, owner_pid, state ("alive", "orphaned" or "persistent"), sealed."""
    return _collect(L.lib.shmc_shm_list)


def gc() -> list[str]:
    """Remove this user's owned segments whose owner process is dead (never a
    persistent one, one whose owner lives, or another user's). Returns their names
    ("shm:NAME")."""
    removed = ctypes.c_uint32()
    return [e["name"] for e in _collect(L.lib.shmc_shm_gc, ctypes.byref(removed))]


def unlink(name: str) -> None:
    """Remove a segment: "shm:NAME" or a file path (a bare NAME: as attach() says)."""
    L.lib.shmc_segment_unlink(os.fsencode(name))
