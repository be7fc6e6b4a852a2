"""Frames, task functions and /dev/shm probes shared by the shmchunk.dask tests."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd


def frame(n: int = 200_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "k": rng.integers(0, 13, n),
        "v": rng.random(n),
        "w": np.arange(n, dtype=np.int32),
        "s": pd.array([f"s{i % 97}" for i in range(n)], dtype="string"),
        "c": pd.Categorical(rng.integers(0, 5, n).astype(str)),
        "t": pd.date_range("2026-01-01", periods=n, freq="s"),
    })


def unique_name() -> str:
    return f"shmc-dask-test-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def touched(h) -> list[int]:
    """Chunk ids this process has read (verified) from h's segment on this host."""
    return sorted(h.frame()._seg._verified)


def read_task(h, ids):
    """A task: the DataFrame of its chunks, and the chunks this read touched."""
    before = set(touched(h))
    part = h.read(chunks=ids)
    return part.copy(), sorted(set(touched(h)) - before)


def mine(names, h) -> list[str]:
    """Names in a /dev/shm listing that belong to h: the original or its copy."""
    return [n for n in names if n == h.name or n.startswith(h.copy_name)]


def shm_here() -> list[str]:
    return sorted(os.listdir("/dev/shm"))
