"""The benchmark's deterministic frame, its task shapes and the per-task reduction.

Every peer computes `reduce_part()` on exactly the rows/columns of its task, so
the results of all peers can be compared value by value (`compare_results`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

SEED = 20261127
VOCAB_SIZE = 50_000
NUMERIC_KINDS = "iuf"


def make_frame(nrows: int, seed: int = SEED, vocab_size: int = VOCAB_SIZE) -> pd.DataFrame:
    """2M x 13 by default: a realistic mix of compressible and noisy columns."""
    rng = np.random.default_rng(seed)
    n = nrows
    cols = {}
    cols["id"] = rng.permutation(n).astype(np.int64) + 10_000_000
    cols["small"] = rng.integers(0, 100, n, dtype=np.int64)
    cols["walk"] = np.cumsum(rng.integers(-5, 6, n, dtype=np.int64))
    sparse = np.zeros(n, dtype=np.int64)
    hit = rng.random(n) < 0.01
    sparse[hit] = rng.integers(1, 1_000_000, int(hit.sum()), dtype=np.int64)
    cols["sparse"] = sparse
    cols["f_walk"] = np.cumsum(rng.normal(0.0, 1.0, n))
    cols["f_noise"] = rng.normal(0.0, 1.0, n)
    cols["price"] = np.round(rng.uniform(1.0, 1000.0, n), 2)
    f_nan = rng.normal(100.0, 15.0, n)
    f_nan[rng.random(n) < 0.05] = np.nan
    cols["f_nan"] = f_nan
    cols["f32"] = rng.normal(0.0, 1.0, n).astype(np.float32)
    cols["flag"] = rng.random(n) < 0.3
    start = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
    jitter = rng.integers(0, 1_000_000_000, n, dtype=np.int64)
    ts = start + np.arange(n, dtype=np.int64) * 1_000_000_000 + jitter
    cols["ts"] = ts.astype("datetime64[ns]")
    cols["cat"] = _skewed_categorical(rng, n)
    cols["text"] = _vocabulary_strings(rng, n, vocab_size)
    return pd.DataFrame(cols)


def _skewed_categorical(rng: np.random.Generator, n: int) -> pd.Categorical:
    # Zipf-like weights: a few levels dominate, as in real code/country columns.
    weights = 1.0 / np.arange(1, 101) ** 1.2
    codes = rng.choice(100, size=n, p=weights / weights.sum()).astype(np.int8)
    levels = [f"level_{i:03d}" for i in range(100)]
    return pd.Categorical.from_codes(codes, categories=levels)


def _vocabulary_strings(rng: np.random.Generator, n: int, vocab_size: int) -> pd.Series:
    lengths = rng.integers(8, 17, vocab_size)
    pool = rng.integers(ord("a"), ord("z") + 1, (vocab_size, 16), dtype=np.uint8)
    vocab = np.array([row[:k].tobytes().decode("ascii") for row, k in zip(pool, lengths)],
                     dtype=object)
    words = vocab[rng.integers(0, vocab_size, n)]
    return pd.Series(words, dtype="str")


# --- task shapes ---------------------------------------------------------------

def rows_per_chunk_for(nrows: int, procs: int) -> int:
    """Row-group size shared by every peer: the largest power of two that still
    gives at least 2*procs row groups (capped at shmchunk's default, 1 << 20).

    Row-range tasks are unions of whole row groups so that chunked peers
    (shmchunk) and slicing peers read exactly the same rows.
    """
    q = max(1, (nrows - 1) // max(1, 2 * procs - 1))
    return min(max(1 << (q.bit_length() - 1), 1024), 1 << 20)


def make_tasks(df: pd.DataFrame, shape: str, procs: int, rows_per_chunk: int) -> list:
    """Shape A: one column per task. Shape B: 2*procs row ranges of all columns."""
    if shape == "A":
        return [("col", name) for name in df.columns]
    ngroups = max(1, math.ceil(len(df) / rows_per_chunk))
    nranges = min(2 * procs, ngroups)
    bounds = np.linspace(0, ngroups, nranges + 1).round().astype(int)
    tasks = []
    for g0, g1 in zip(bounds[:-1], bounds[1:]):
        lo = int(g0) * rows_per_chunk
        hi = min(len(df), int(g1) * rows_per_chunk)
        tasks.append(("rows", lo, hi))
    return tasks


def select(df: pd.DataFrame, task):
    """The part of a whole frame that `task` covers (a view where pandas allows)."""
    if task[0] == "col":
        return df[task[1]]
    return df.iloc[task[1]:task[2]]


def task_label(task) -> str:
    return task[1] if task[0] == "col" else f"rows {task[1]}:{task[2]}"


# --- reduction ----------------------------------------------------------------

def reduce_series(s: pd.Series) -> tuple:
    """(kind, non-null count, a dtype-appropriate sum): touches every value, is cheap
    (about memory speed) and makes no full-size temporary copies of the column."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(s.cat.codes)
        return ("cat", int(np.count_nonzero(codes >= 0)), int(codes.sum(dtype=np.int64)))
    if dtype.kind == "M":
        vals = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
        nat = np.iinfo(np.int64).min
        # Wrapping int64 sum: an exact checksum, equal across peers.
        return ("dt", int(np.count_nonzero(vals != nat)), int(vals.sum(dtype=np.int64)))
    if dtype.kind == "b":
        vals = np.asarray(s)
        return ("bool", len(vals), int(np.count_nonzero(vals)))
    if dtype.kind in "iu":
        vals = np.asarray(s)
        return ("int", len(vals), int(vals.sum(dtype=np.int64)))
    if dtype.kind == "f":
        vals = np.asarray(s)
        valid = vals == vals          # False exactly at NaN
        return ("float", int(np.count_nonzero(valid)),
                float(np.sum(vals, where=valid, dtype=np.float64)))
    # strings: count and total length in bytes (ASCII data: bytes == characters)
    if hasattr(s.array, "__arrow_array__"):
        import pyarrow.compute as pc
        arr = s.array.__arrow_array__()
        return ("str", len(arr) - arr.null_count, int(pc.sum(pc.binary_length(arr)).as_py() or 0))
    return ("str", int(s.notna().sum()), int(s.str.len().sum()))


def reduce_part(part) -> dict:
    """`part`: a Series, a DataFrame, or a {column: Series} dict."""
    if isinstance(part, pd.Series):
        return {str(part.name): reduce_series(part)}
    if isinstance(part, dict):
        return {str(name): reduce_series(s) for name, s in part.items()}
    return {str(name): reduce_series(part[name]) for name in part.columns}


def results_equal(a: dict, b: dict, rel: float = 1e-9) -> list:
    """Differences between two {column: reduction} dicts (empty list = agree).

    Floats get a relative tolerance because summation order may legitimately
    differ (e.g. a column decoded in pieces); everything else must be exact.
    """
    problems = []
    if set(a) != set(b):
        return [f"columns differ: {sorted(a)} vs {sorted(b)}"]
    for col in a:
        ra, rb = a[col], b[col]
        if ra[0] != rb[0] or ra[1] != rb[1]:
            problems.append(f"{col}: {ra} vs {rb}")
        elif ra[0] == "float":
            if not math.isclose(ra[2], rb[2], rel_tol=rel, abs_tol=1e-6):
                problems.append(f"{col}: {ra} vs {rb}")
        elif ra[2] != rb[2]:
            problems.append(f"{col}: {ra} vs {rb}")
    return problems


def compare_results(reference: list, got: list) -> list:
    """Per-task comparison of two result lists (one dict per task)."""
    if len(reference) != len(got):
        return [f"{len(got)} task results, expected {len(reference)}"]
    problems = []
    for i, (ra, rb) in enumerate(zip(reference, got)):
        problems += [f"task {i}: {p}" for p in results_equal(ra, rb)]
    return problems


def frame_nbytes(df: pd.DataFrame) -> int:
    return int(df.memory_usage(index=False, deep=True).sum())
