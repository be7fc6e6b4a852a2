"""Issue 16.7: every code block of README.md and python/README.md runs as written.

python blocks run with this interpreter; console blocks ("$ cmd" lines, "[exit status N]"
after a failing one) run in one bash, in a private /dev/shm (they use fixed names and
`shmchunk gc`), with `python` and `shmchunk` on PATH; the C block is compiled against the
build and run. A block preceded by `<!-- readme-test: skip (REASON) -->` is not run.
Outputs are not compared (dates, random names); exit statuses are."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from .conftest import ROOT, cli_path
from .test_cli import private_shm_available

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"<!-- readme-test: skip \((.+?)\) -->\s*$")


def blocks():
    out = []
    for doc in ("README.md", "python/README.md"):
        text = (ROOT / doc).read_text()
        for m in FENCE.finditer(text):
            lang, body = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = SKIP.search(before)
            out.append(pytest.param(lang, body, skip.group(1) if skip else None,
                                    id=f"{doc}:{line}:{lang or 'text'}"))
    return out


def env():
    e = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    e.setdefault("SHMCHUNK_BUILD", str(ROOT / "build"))
    return e


def console_script(body: str, tmp_path) -> str:
    """One bash script: each "$ cmd" must exit with the status the block shows."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "python"   # not a symlink: a venv is found from the invoked path
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    wrapper.chmod(0o755)
    os.symlink(cli_path(), bindir / "shmchunk")
    lines, script = body.splitlines(), [f"export PATH={shlex.quote(str(bindir))}:$PATH",
                                        f"cd {shlex.quote(str(tmp_path))}"]
    for i, ln in enumerate(lines):
        if not ln.startswith("$ "):
            continue
        want = 0
        for nxt in lines[i + 1:]:
            if nxt.startswith("$ "):
                break
            if re.fullmatch(r"\[exit status \d+\]", nxt):
                want = int(nxt[13:-1])
        cmd = ln[2:]
        script.append(f"{{ {cmd}; }} >out.log 2>&1; rc=$?; [ $rc -eq {want} ] || "
                      f"{{ echo {shlex.quote(cmd)}: exit $rc, README says {want}; cat out.log; "
                      f"exit 1; }}")
    return "\n".join(script) + "\n"


@pytest.mark.parametrize("lang,body,skip", blocks())
def test_readme_block_runs(lang, body, skip, tmp_path):
    if skip:
        assert len(skip) > 10, "say why the block cannot run"
        pytest.skip(f"marked: {skip}")
    if lang == "python":
        (tmp_path / "block.py").write_text(body)
        p = subprocess.run([sys.executable, "block.py"], cwd=tmp_path, env=env(),
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
    elif lang == "console":
        if not private_shm_available():
            pytest.skip("needs unshare -m for a private /dev/shm")
        (tmp_path / "block.sh").write_text(console_script(body, tmp_path))
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c",
                            "mount -t tmpfs -o size=256m tmpfs /dev/shm && bash "
                            + shlex.quote(str(tmp_path / "block.sh"))],
                           env=env(), capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
    elif lang == "c":
        incl = [ln for ln in body.splitlines() if ln.startswith("#include")]
        rest = [ln for ln in body.splitlines() if not ln.startswith("#include")]
        src = tmp_path / "block.c"
        src.write_text("\n".join(["#include <stdio.h>", *incl, "int main(void) {", *rest,
                                  "return 0; }"]) + "\n")
        build = os.environ.get("SHMCHUNK_BUILD", str(ROOT / "build"))
        if os.environ.get("SHMCHUNK_TEST_INSTALLED") == "1":
            pytest.skip("links against a CMake build; the wheel carries no C headers")
        exe = tmp_path / "block"
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", str(ROOT / "include"), str(src),
                        "-L", f"{build}/lib", "-lshmchunk", f"-Wl,-rpath,{build}/lib", "-o",
                        str(exe)], check=True, capture_output=True, timeout=120)
        p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "1000 prices" in p.stdout, p.stdout + p.stderr
    elif lang in ("sh", "bash"):
        pytest.fail("an sh block must be marked (it would run for real): add a readme-test marker")
    else:   # output listings (no language): nothing to run
        assert lang == "", f"unknown block language {lang!r}: teach this test to run it"
