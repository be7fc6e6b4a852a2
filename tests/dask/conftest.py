"""Fixtures of the shmchunk.dask suite: one LocalCluster per module (the second
"host", OtherHost, lives in shmc_daskhelpers.py: a module name of its own, since
tools/dev.sh runs this suite in one pytest with tests/py, which has a conftest too).

Environment: SHMCHUNK_BUILD (CMake build dir, default <checkout>/build) and
PYTHONPATH reaching <checkout>/python, as for tests/py; the workers inherit both.
The whole directory is skipped (with the reason) where distributed is not installed,
e.g. in .venv-old.
"""

from __future__ import annotations

import sys

import pytest


def pytest_collection_modifyitems(config, items):
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        why = f"tests/dask: distributed is not importable ({exc}); pip install 'shmchunk[dask]'"
        print(f"\nSKIP {why}", file=sys.stderr)
        for item in items:
            if "tests/dask" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="module")
def cluster():
    """LocalCluster(n_workers=2, processes=True) and a client on it."""
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None, memory_limit=0)
    client = Client(lc)
    yield lc, client
    client.close()
    lc.close()


