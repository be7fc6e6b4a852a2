"""Shared fixtures of the reliability suite.

Environment:
  SHMCHUNK_BUILD  CMake build directory (library in lib/, CLI in tools/); default <checkout>/build
  PYTHONPATH      must reach <checkout>/python
  SHMC_LONG=1     long variants: more processes, iterations and injected faults

Tests that need an exact view of /dev/shm (gc, space) run their processes in a
private mount namespace with its own small tmpfs over /dev/shm, so other
processes on the machine (and their gc) cannot disturb them and nothing leaks
out. They skip with the reason when unshare is not permitted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relutil import CLI, FIGURES, TOOLS, child_env  # noqa: E402

@pytest.fixture(scope="session")
def shmchunk():
    """The Python package; skips (naming what is missing) until it has landed."""
    from relutil import BUILD

    if not (BUILD / "lib" / "libshmchunk.so").is_file():
        pytest.skip(f"libshmchunk not built in {BUILD}")
    import shmchunk as mod  # a library that is there but does not load is an error
    missing = [n for n in ("share", "attach") if not hasattr(mod, n)]
    if missing:
        pytest.skip(f"shmchunk package lacks {', '.join(missing)} (not landed yet)")
    return mod


@pytest.fixture(scope="session")
def cli():
    if not CLI.is_file():
        pytest.skip(f"CLI not built at {CLI}")
    return CLI


def _can_unshare() -> str | None:
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "unshare/nsenter not installed"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=1m tmpfs /dev/shm"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return f"cannot mount a private tmpfs over /dev/shm: {p.stderr.strip()}"
    return None


class PrivateShm:
    """A mount namespace whose /dev/shm is a fresh tmpfs of `size`.

    One placeholder process (`sleep`) holds the namespace; commands enter it with
    nsenter; the test looks at the namespace's /dev/shm through /proc/<pid>/root."""

    def __init__(self, size: str):
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             f"mount -t tmpfs -o size={size},mode=1777 tmpfs /dev/shm && echo ready && "
             "exec sleep 3600"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError("private /dev/shm namespace did not start")
        self.pid = self.proc.pid
        self.root = f"/proc/{self.pid}/root"
        self.shm = Path(self.root + "/dev/shm")
        self.prefix = ["nsenter", "-t", str(self.pid), "-m", "--"]

    def listdir(self) -> list[str]:
        return sorted(os.listdir(self.shm))

    def popen(self, argv, env_extra=None, **kw) -> subprocess.Popen:
        return subprocess.Popen(self.prefix + argv, env=child_env(**(env_extra or {})),
                                text=True, **kw)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class OwnerFactory:
    """Owner processes forked from one interpreter (relwork.factory_main), so each
    owner costs a fork, not a pandas import. Optionally inside a PrivateShm."""

    def __init__(self, ns: PrivateShm | None = None):
        argv = [sys.executable, str(TOOLS / "relwork.py"), "factory"]
        kw = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.proc = ns.popen(argv, **kw) if ns else subprocess.Popen(
            argv, env=child_env(), text=True, **kw)
        self.pids: list[int] = []

    def share(self, uid: int = -1, objects: bool = False, nrows: int = 5000, seed: int = 0,
              codec: str = "raw") -> tuple[str, int]:
        self.proc.stdin.write(f"share {uid} {int(objects)} {nrows} {seed} {codec}\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply and not reply.startswith("ERROR"), reply or self.proc.stderr.read()
        name, pid = reply.split()
        self.pids.append(int(pid))
        return name, int(pid)

    def kill(self, pid: int) -> None:
        """SIGKILL an owner and wait until it is gone (the factory reaps it)."""
        os.kill(pid, signal.SIGKILL)
        self._wait_gone(pid)

    def close_owner(self, pid: int) -> None:
        """Ask an owner to close its segment and exit normally."""
        os.kill(pid, signal.SIGUSR1)
        self._wait_gone(pid)

    def _wait_gone(self, pid: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while os.path.exists(f"/proc/{pid}"):
            assert time.monotonic() < deadline, f"owner {pid} did not go away"
            time.sleep(0.01)
        self.pids.remove(pid)

    def close(self) -> str:
        # Close owners cleanly: a killed owner of another uid would be an orphan that
        # our gc (rightly) never removes, i.e. a leak in the real /dev/shm.
        for pid in list(self.pids):
            try:
                self.close_owner(pid)
            except AssertionError:
                self.kill(pid)
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        return self.proc.stderr.read()


@pytest.fixture
def owners():
    """Factory: owners(ns=None) -> OwnerFactory; every owner left is killed at teardown."""
    made = []

    def make(ns: PrivateShm | None = None) -> OwnerFactory:
        f = OwnerFactory(ns)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


@pytest.fixture
def private_shm():
    """Factory: private_shm('16m') -> PrivateShm; closed at teardown."""
    reason = _can_unshare()
    if reason:
        pytest.skip(reason)
    made = []

    def make(size: str = "64m") -> PrivateShm:
        ns = PrivateShm(size)
        made.append(ns)
        return ns

    yield make
    for ns in made:
        ns.close()


@pytest.fixture
def pickle_file(tmp_path):
    """Factory: write a relwork frame with DataFrame.to_pickle, return its path."""
    import relwork

    def make(nrows: int, seed: int = 0, name: str = "df.pkl") -> Path:
        path = tmp_path / name
        relwork.make_frame(nrows, seed).to_pickle(path)
        return path

    return make


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for k, v in FIGURES.items():
        terminalreporter.write_line(f"{k}: {json.dumps(v)}")
    out = os.environ.get("SHMC_RELIABILITY_FIGURES")
    if out:
        Path(out).write_text(json.dumps(FIGURES, indent=1))
