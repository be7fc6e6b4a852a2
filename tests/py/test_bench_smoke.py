"""Smoke test of the peer benchmark (tools/bench/bench.py) on a tiny frame.

Checks the harness, not speed: every peer ran in real worker processes, and
every peer's per-task reductions equal a reference computed here, in this
process, straight from the generated frame.
"""
import json
import os
import subprocess
import sys

import pytest

# The benchmark is a tool of the main environment (.venv); the oldest-pair
# environment does not install its peers' packages.
for _mod in ("joblib", "blosc2", "matplotlib", "pyarrow"):
    pytest.importorskip(_mod)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tools", "bench")
sys.path.insert(0, BENCH)

from peerbench import frame, peers  # noqa: E402

ROWS, PROCS = 20_000, 2
SHMCHUNK_PEERS = {"shmchunk", "shmchunk-noverify", "shmchunk-zstd"}


def _shmchunk_usable():
    return peers.Shmchunk().unavailable() is None


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.join(ROOT, "python"), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, os.path.join(BENCH, "bench.py"), "--rows", str(ROWS),
         "--procs", str(PROCS), "--repeat", "1", "--micro-bytes", "16M", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out / "results.json") as f:
        data = json.load(f)
    return out, data, proc.stdout


@pytest.fixture(scope="module")
def reference():
    df = frame.make_frame(ROWS)
    rpc = frame.rows_per_chunk_for(ROWS, PROCS)
    out = {}
    for shape in ("A", "B"):
        tasks = frame.make_tasks(df, shape, PROCS, rpc)
        out[shape] = [frame.reduce_part(frame.select(df, t)) for t in tasks]
    return out


def _runs(data, key):
    return {r["shape"]: r for r in data["runs"] if r["peer"] == key}


def test_every_peer_ran_in_workers(run):
    _, data, _ = run
    for key in peers.PEERS:
        if key in SHMCHUNK_PEERS:
            continue
        runs = _runs(data, key)
        assert set(runs) == {"A", "B"}, key
        for shape, r in runs.items():
            assert r["status"] == "ok", (key, shape, r.get("error"), r.get("mismatches"))
            assert r["wall_s"] > 0 and r["task_p50_s"] > 0
            assert 1 <= r["workers"] <= PROCS
            assert r["mem_growth_bytes"] is not None
            assert len(r["results"]) == r["ntasks"]


def test_shmchunk_peers_ran(run):
    if not _shmchunk_usable():
        pytest.skip("shmchunk Python package / library not importable here")
    _, data, _ = run
    for key in SHMCHUNK_PEERS:
        for shape, r in _runs(data, key).items():
            assert r["status"] == "ok", (key, shape, r.get("error"), r.get("mismatches"))
            assert r["stored_bytes"] > 0


def test_all_peers_agree_with_independent_reference(run, reference):
    _, data, _ = run
    assert data["meta"]["reference"] == json.loads(json.dumps(reference))
    checked = 0
    for r in data["runs"]:
        if r["status"] == "skipped":
            continue
        got = r["results"]
        problems = frame.compare_results(json.loads(json.dumps(reference[r["shape"]])), got)
        assert problems == [], (r["peer"], r["shape"], problems[:3])
        checked += 1
    assert checked >= 2 * (len(peers.PEERS) - len(SHMCHUNK_PEERS))


def test_tasks_cover_the_frame(reference):
    df = frame.make_frame(ROWS)
    rpc = frame.rows_per_chunk_for(ROWS, PROCS)
    cols = frame.make_tasks(df, "A", PROCS, rpc)
    assert [t[1] for t in cols] == list(df.columns)
    ranges = frame.make_tasks(df, "B", PROCS, rpc)
    assert ranges[0][1] == 0 and ranges[-1][2] == ROWS
    assert all(a[2] == b[1] for a, b in zip(ranges, ranges[1:]))
    assert all(t[1] % rpc == 0 for t in ranges)     # whole row groups only


def test_comparison_detects_a_wrong_result(reference):
    good = json.loads(json.dumps(reference["B"]))
    assert frame.compare_results(good, good) == []
    bad_int = json.loads(json.dumps(good))
    kind, count, total = bad_int[0]["id"]
    bad_int[0]["id"] = [kind, count, total + 1]
    assert frame.compare_results(good, bad_int)
    bad_float = json.loads(json.dumps(good))
    kind, count, total = bad_float[1]["f_noise"]
    bad_float[1]["f_noise"] = [kind, count, total + 1.0]
    assert frame.compare_results(good, bad_float)
    assert frame.compare_results(good, good[:-1])


def test_outputs_written(run):
    out, data, stdout = run
    with open(out / "chart.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    md = (out / "results.md").read_text()
    assert md == stdout.strip() + "\n" or md.strip() == stdout.strip()
    names = {t["name"] for t in data["targets"]}
    assert {"T1", "T2A", "T2B", "T3", "T4A", "T4B", "T5a", "T5b"} <= names
    for t in data["targets"]:
        assert t["verdict"] in ("PASS", "MISS", "N/A", "info")


def test_microbenchmark_feeds_the_pack_targets(run):
    """The C microbenchmark runs in the same benchmark and its figures become T6/T7."""
    _, data, stdout = run
    mic = data["micro"]
    if mic["status"] == "skipped":
        pytest.skip(mic["error"])
    assert mic["status"] == "ok", mic
    keys = ["memcpy_gbps", "memcpy_fresh_gbps", "raw_pack_gbps", "zstd_pack_gbps"]
    if (os.cpu_count() or 1) > 1:  # the one-thread comparison needs a second core
        keys += ["zstd_pack_1t_gbps", "threads"]
    for key in keys:
        assert mic[key] > 0, key
    t6 = next(t for t in data["targets"] if t["name"] == "T6")
    assert t6["verdict"] in ("PASS", "MISS")
    assert t6["value"] == pytest.approx(mic["raw_pack_gbps"] / mic["memcpy_gbps"])
    assert "T7" in {t["name"] for t in data["targets"]}
    assert "C microbenchmark" in stdout and "raw pack to shm" in stdout
