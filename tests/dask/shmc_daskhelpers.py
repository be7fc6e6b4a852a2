"""Frames, task functions and /dev/shm probes shared by the shmchunk.dask tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

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
