"""Issue 16.5: tools/dev.sh works on a machine whose only Python is Debian 12's 3.11:
it picks Python >= 3.12 with tools/requirements.txt when there is one, else 3.11
with tools/requirements-py311.txt, and says so (`tools/dev.sh python`)."""
import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("bash", "dirname", "nproc", "sha256sum", "cut", "cat", "env")


def interpreter(version: str) -> str | None:
    """A real interpreter of that version (not a pyenv shim, which needs pyenv on PATH)."""
    for cand in [f"/usr/bin/python{version}",
                 *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3"))),
                 shutil.which(f"python{version}")]:
        if cand and "/shims/" not in cand and os.access(cand, os.X_OK):
            return cand
    return None


def run_choice(tmp_path, versions):
    """`tools/dev.sh python` with a PATH holding only the given interpreters."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        os.symlink(shutil.which(tool), bin_dir / tool)
    for v in versions:
        py = interpreter(v)
        if py is None:
            pytest.skip(f"no Python {v} on this machine")
        os.symlink(py, bin_dir / f"python{v}")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")}
    return subprocess.run(["bash", str(ROOT / "tools" / "dev.sh"), "python"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_only_python_3_11_uses_the_3_11_set(tmp_path):
    proc = run_choice(tmp_path, ["3.11"])
    assert proc.returncode == 0, proc.stderr
    assert "version=3.11." in proc.stdout
    assert "requirements=tools/requirements-py311.txt" in proc.stdout


def test_python_3_12_is_preferred(tmp_path):
    proc = run_choice(tmp_path, ["3.11", "3.12"])
    assert proc.returncode == 0, proc.stderr
    assert "version=3.12." in proc.stdout and "requirements=tools/requirements.txt" in proc.stdout


def test_no_usable_python_says_what_is_needed(tmp_path):
    proc = run_choice(tmp_path, ["3.10"])
    assert proc.returncode != 0
    assert "need Python >= 3.11" in proc.stderr


def pins(name):
    lines = (ROOT / "tools" / name).read_text().splitlines()
    return dict(ln.split("==") for ln in lines if ln and not ln.startswith("#"))


def test_the_3_11_set_is_the_main_set_with_numpy_2_4():
    main, py311 = pins("requirements.txt"), pins("requirements-py311.txt")
    assert py311["numpy"].startswith("2.4.")
    assert {k: v for k, v in main.items() if k != "numpy"} == \
        {k: v for k, v in py311.items() if k != "numpy"}
