"""Fixtures for the Python binding tests; helpers live in shmc_pyhelpers.py."""
import pytest
from shmc_pyhelpers import frame_all_dtypes, shm_exists, unique_name  # noqa: F401

import shmchunk


@pytest.fixture
def shared():
    """share(df, **kw) that remembers every segment; the test fails if any is left."""
    made = []

    def make(df, **kw):
        kw.setdefault("name", unique_name())
        sf = shmchunk.share(df, **kw)
        made.append(sf)
        return sf

    yield make
    names = [sf.name for sf in made]
    for sf in made:
        sf.close()
    left = [n for n in names if shm_exists(n)]
    assert not left, f"segments left in /dev/shm: {left}"


@pytest.fixture
def all_dtypes():
    return frame_all_dtypes()
