#!/usr/bin/env python3
"""shmchunk against its peers: how fast and how cheaply can a pool of workers read
one DataFrame?  See tools/bench/README.md for what is measured and how to read it.

    tools/dev.sh bench [--rows N] [--procs P] [--out DIR] [--peers a,b] [--shapes A,B]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
# Pool workers (spawn, loky) must import these modules too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (HERE, os.environ.get("PYTHONPATH", "")) if p)

from peerbench import frame, micro, peers, report, runner  # noqa: E402


def write_outputs(args, meta, runs, tgts, mic=None):
    """The Markdown table (stdout and results.md), results.json and chart.png in args.out."""
    md = report.markdown(meta, runs, tgts, mic)
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    report.write_json(os.path.join(args.out, "results.json"), meta, runs, tgts, mic)
    if not args.no_chart:
        report.chart(os.path.join(args.out, "chart.png"), meta, runs)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows of the frame (2,000,000)")
    ap.add_argument("--procs", type=int, default=2, help="worker processes (2)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-out"),
                    help="directory for results.md, results.json, chart.png (bench-out/)")
    ap.add_argument("--peers", default=",".join(peers.PEERS),
                    help="comma-separated subset of: " + ",".join(peers.PEERS))
    ap.add_argument("--shapes", default="A,B", help="A (column tasks), B (row ranges)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="timed maps per pool (1); later maps run warm (attachments cached, "
                         "chunks verified); wall = best, per-task figures pooled; maps "
                         "slower than 2 s are not repeated")
    ap.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    ap.add_argument("--micro-bytes", default="512M",
                    help="frame size for the C microbenchmark run after the peers (512M; "
                         "suffix K/M/G); 0 skips it")
    ap.add_argument("--from-json", metavar="PATH",
                    help="measure nothing: re-render results.md/chart.png (and targets) "
                         "from an earlier results.json into --out")
    args = ap.parse_args(argv)
    args.peers = [p for p in args.peers.split(",") if p]
    unknown = [p for p in args.peers if p not in peers.PEERS]
    if unknown:
        ap.error(f"unknown peers: {', '.join(unknown)}")
    args.shapes = [s for s in args.shapes.split(",") if s]
    if not set(args.shapes) <= {"A", "B"} or args.rows < 1 or args.procs < 1 \
            or args.repeat < 1:
        ap.error("--shapes takes A and/or B; --rows, --procs, --repeat must be positive")
    return args


def versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for mod in ("pandas", "numpy", "pyarrow", "joblib", "blosc2", "shmchunk"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except Exception:
            out.append(f"{mod} n/a")
    return ", ".join(out)


def shmchunk_origin() -> dict:
    out = {k: os.environ.get(k) for k in ("SHMCHUNK_LIBRARY", "SHMCHUNK_BUILD")}
    try:
        import shmchunk
        out["package"] = os.path.dirname(shmchunk.__file__)
    except Exception as e:
        out["package"] = f"not importable: {type(e).__name__}"
    return out


def rerender(args) -> int:
    with open(args.from_json) as f:
        data = json.load(f)
    meta, runs, mic = data["meta"], data["runs"], data.get("micro")
    tgts = report.targets(runs, mic)
    write_outputs(args, meta, runs, tgts, mic)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        return rerender(args)
    started = time.perf_counter()
    t = time.perf_counter()
    df = frame.make_frame(args.rows)
    gen_s = time.perf_counter() - t
    rpc = frame.rows_per_chunk_for(args.rows, args.procs)
    shapes = {}
    for shape in args.shapes:
        tasks = frame.make_tasks(df, shape, args.procs, rpc)
        shapes[shape] = (tasks, [frame.reduce_part(frame.select(df, t)) for t in tasks])
    nbytes = frame.frame_nbytes(df)
    print(f"frame: {args.rows:,} rows x {df.shape[1]} columns, {nbytes / 1e6:.1f} MB, "
          f"generated in {gen_s:.1f} s; rows_per_chunk {rpc:,}", file=sys.stderr)

    runs = []
    for order, key in enumerate(args.peers):
        t = time.perf_counter()
        recs = runner.run_peer(peers.PEERS[key], df, shapes, args.procs, rpc, args.repeat)
        for rec in recs:
            rec.update(order=order, frame_bytes=nbytes)
            _progress(rec)
        print(f"  ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
        runs += recs

    meta = {"rows": args.rows, "columns": int(df.shape[1]), "procs": args.procs,
            "rows_per_chunk": rpc, "repeat": args.repeat, "frame_bytes": nbytes, "cpus": os.cpu_count(),
            "versions": versions(), "ntasks_B": len(shapes.get("B", ([],))[0]),
            "shapes": {s: [list(t) for t in v[0]] for s, v in shapes.items()},
            "reference": {s: v[1] for s, v in shapes.items()},
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "generate_s": gen_s, "shmchunk_from": shmchunk_origin()}
    mic = None
    if args.micro_bytes not in ("0", ""):
        print("C microbenchmark ...", file=sys.stderr)
        mic = micro.run(ROOT, args.micro_bytes)
        print(f"  {mic['status']}", file=sys.stderr)
    tgts = report.targets(runs, mic)
    meta["runtime_s"] = time.perf_counter() - started
    write_outputs(args, meta, runs, tgts, mic)
    print(f"wrote {args.out}/results.md, results.json{'' if args.no_chart else ', chart.png'} "
          f"in {meta['runtime_s']:.0f} s total", file=sys.stderr)
    failed = [r for r in runs if r.get("status") not in ("ok", "skipped")]
    if mic is not None and mic["status"] == "failed":
        failed.append({"peer": "shmc_microbench", "shape": "-", "error": mic["error"]})
    for r in failed:
        print(f"FAILED {r['peer']} {r['shape']}: {r.get('error') or r.get('mismatches')}",
              file=sys.stderr)
    return 1 if failed else 0


def _progress(rec):
    if rec.get("status") == "ok":
        msg = (f"wall {rec['wall_s']:.3f} s, task p50 {rec['task_p50_s'] * 1e3:.2f} ms, "
               f"mem {rec['mem_growth_bytes'] / 1e6:.1f} MB")
    else:
        msg = f"{rec.get('status')}: {rec.get('error') or rec.get('mismatches')}"
    print(f"{rec['peer']:>16} {rec['shape']}: {msg}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
