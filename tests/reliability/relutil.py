"""Helpers of the reliability suite (imported by its tests and conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
TOOLS = CHECKOUT / "tools" / "reliability"
sys.path.insert(0, str(TOOLS))

LONG = os.environ.get("SHMC_LONG") == "1"
BUILD = Path(os.environ.get("SHMCHUNK_BUILD", CHECKOUT / "build"))
CLI = BUILD / "tools" / "shmchunk"

# Figures reported at the end of the run (processes x iterations, faults injected, detected).
FIGURES: dict[str, object] = {}

# Messages that must never appear on a process's stderr.
BAD_STDERR = ("resource_tracker", "leaked shared_memory", "Traceback", "Segmentation fault",
              "AddressSanitizer", "runtime error:")


def child_env(**extra) -> dict:
    env = dict(os.environ)
    env["SHMCHUNK_BUILD"] = str(BUILD)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CHECKOUT / "python"), str(TOOLS)] + env.get("PYTHONPATH", "").split(os.pathsep))
    env["PYTHONWARNINGS"] = "default"  # show ResourceWarning/UserWarning from the stdlib
    env.update(extra)
    return env


def assert_clean_stderr(stderr: str, allow: tuple[str, ...] = ()) -> None:
    for bad in BAD_STDERR:
        if bad in allow:
            continue
        assert bad not in stderr, f"{bad!r} on stderr:\n{stderr}"


def run_py(code: str, *, prefix: list[str] | None = None, timeout: float = 60,
           check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter (optionally through `prefix`, e.g. nsenter)."""
    argv = (prefix or []) + [sys.executable, "-c", code]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=child_env(),
                       **kw)
    if check:
        assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def run_cli(*args, prefix: list[str] | None = None, timeout: float = 60,
            **kw) -> subprocess.CompletedProcess:
    return subprocess.run((prefix or []) + [str(CLI), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=child_env(), **kw)


def record(key: str, value) -> None:
    FIGURES[key] = value


# Acting as another uid (setuid in a forked owner, chown of a segment) needs root.
def needs_root(fn):
    import pytest

    return pytest.mark.skipif(os.geteuid() != 0,
                              reason="needs root to act as another uid (setuid/chown)")(fn)
