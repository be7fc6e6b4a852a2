"""Fixtures of the shmchunk.dask suite: one LocalCluster per module, and a second
"host" -- `dask worker` processes in their own mount + IPC namespace over a private
tmpfs /dev/shm -- joined to the same scheduler.

Environment: SHMCHUNK_BUILD (CMake build dir, default <checkout>/build) and
PYTHONPATH reaching <checkout>/python, as for tests/py; the workers inherit both.
The whole directory is skipped (with the reason) where distributed is not installed,
e.g. in .venv-old.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SHMCHUNK_BUILD", CHECKOUT / "build"))
CLI = BUILD / "tools" / "shmchunk"


def child_env() -> dict:
    """This environment with absolute PYTHONPATH and SHMCHUNK_BUILD (the other
    host's processes start from another working directory)."""
    env = dict(os.environ)
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    here = str(Path(__file__).resolve().parent)  # the task functions of shmc_daskhelpers
    env["PYTHONPATH"] = os.pathsep.join([str(CHECKOUT / "python"), here] + paths)
    env["SHMCHUNK_BUILD"] = str(BUILD.resolve())
    return env


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


def unshare_refused() -> str | None:
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "unshare/nsenter not installed"
    p = subprocess.run(["unshare", "--mount", "--ipc", "--fork", "sh", "-c",
                        "mount -t tmpfs -o size=1m tmpfs /dev/shm"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return f"unshare --mount --ipc with a private tmpfs /dev/shm refused: {p.stderr.strip()}"
    return None


class OtherHost:
    """A shell in its own mount + IPC namespace (private tmpfs on /dev/shm) that runs
    `dask worker` processes (each with its nanny) joined to a scheduler."""

    def __init__(self, scheduler: str, shm_size: str = "1g"):
        self.scheduler = scheduler
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--ipc", "--fork", "sh", "-c",
             f"mount -t tmpfs -o size={shm_size} tmpfs /dev/shm && echo ready && exec sleep 100000"],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.root_pid = self._child(self.proc.pid)
        self.workers: list[subprocess.Popen] = []

    @staticmethod
    def _child(pid: int) -> int:
        for _ in range(100):
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if kids:
                return int(kids[0])
            time.sleep(0.05)
        raise RuntimeError("unshare started no child")

    def nsenter(self, *argv, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", "-t", str(self.root_pid), "--mount", "--ipc", *argv],
                              capture_output=True, text=True, env=child_env(), **kw)

    def start_worker(self) -> subprocess.Popen:
        dask = Path(sys.executable).with_name("dask")
        p = subprocess.Popen(
            ["nsenter", "-t", str(self.root_pid), "--mount", "--ipc", str(dask), "worker",
             self.scheduler, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
             "--memory-limit", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env=child_env())
        self.workers.append(p)
        return p

    def shm(self) -> list[str]:
        """Names in this host's /dev/shm."""
        return sorted(os.listdir(f"/proc/{self.root_pid}/root/dev/shm"))

    def shm_path(self, name: str) -> str:
        return f"/proc/{self.root_pid}/root/dev/shm/{name}"

    def stop_workers(self, timeout: float = 30) -> None:
        for p in self.workers:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.workers:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def close(self) -> None:
        self.stop_workers()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
