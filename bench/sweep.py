"""Sweep throughput: 100 scenarios of the BCH instance, in-process and on worker processes.

    python bench/sweep.py                       # 1 and 2 local workers
    python bench/sweep.py --workers 2 --dask    # also a Dask LocalCluster with 2 workers
    python bench/sweep.py --cli                 # also `solve sweep` as a whole process

The 100 scenarios are a 10 x 10 grid: Hertfordshire's savings target from £10m to
£32.5m times the discount rate from 0 to 5%. Each configuration starts from an empty
journal. Columns: wall s = the sweep from start to table written (validation of every
scenario, worker start, runs, journal, table); sum of run s = the scenarios' own times
(load, build, solve, measured inside the workers); ratio = wall / sum of run (targets
in docs/benchmarks.md: at most 0.6 on 2 cores, and 100 scenarios in at most 30 s). The
`cli` row is the whole `python -m shareplan.sweep` process, interpreter start-up and
imports included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shareplan.models.load import instance_from_data, read_instance_data
from shareplan.solver.core import SolveOptions
from shareplan.sweep.runner import Job, run_sweep
from shareplan.sweep.spec import prepare
from shareplan.sweep.table import table_of, write_table

ROOT = Path(__file__).resolve().parents[1]
VARY = ["forces.herts.savings_target_gbp=0..9e6:10", "discount_rate=0..0.05:10"]


def one(instance: Path, workers: int | None, scheduler: str | None, backend: str,
        tmp: Path, label: str) -> dict:
    """Run the sweep as the command does (validate, run, write the table); its figures."""
    out = tmp / f"{label}.csv"
    t0 = time.perf_counter()
    data, digest = read_instance_data(instance)
    inst = instance_from_data(data, str(instance))
    varies, scenarios = prepare(data, VARY, source=str(instance))
    job = Job(data, digest, str(instance), backend, SolveOptions())
    outcome = run_sweep(job, scenarios, str(out), workers=workers, scheduler=scheduler,
                        quiet=True)
    df = table_of(outcome.results, [v.target.path for v in varies],
                  [f.id for f in inst.forces], False)
    write_table(df, out)
    wall = time.perf_counter() - t0
    run_sum = float(df["run_s"].sum())
    return {"mode": label, "scenarios": len(df), "workers": workers or "dask", "wall": wall,
            "run": run_sum, "statuses": df["status"].value_counts().to_dict()}


def cli_row(instance: Path, workers: int, backend: str, tmp: Path) -> dict:
    out = tmp / "cli.csv"
    cmd = [sys.executable, "-m", "shareplan.sweep", str(instance), "--out", str(out),
           "--workers", str(workers), "--backend", backend, "-q"]
    for v in VARY:
        cmd += ["--vary", v]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    import pandas as pd

    df = pd.read_csv(out)
    return {"mode": "cli", "scenarios": len(df), "workers": workers, "wall": wall,
            "run": float(df["run_s"].sum()), "statuses": df["status"].value_counts().to_dict()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instance", default=str(ROOT / "instances" / "bch-2013.json"))
    ap.add_argument("--workers", default="1,2", help="comma-separated local worker counts")
    ap.add_argument("--backend", default="cbc")
    ap.add_argument("--dask", action="store_true", help="also on a Dask LocalCluster")
    ap.add_argument("--cli", action="store_true", help="also the whole command as a process")
    args = ap.parse_args()
    instance = Path(args.instance)
    if not instance.exists():
        print(f"{instance}: no such instance (give --instance)", file=sys.stderr)
        return 2
    counts = [int(w) for w in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        for w in counts:
            rows.append(one(instance, w, None, args.backend, tmp, f"local-{w}"))
        if args.cli:
            rows.append(cli_row(instance, max(counts), args.backend, tmp))
        if args.dask:
            from distributed import LocalCluster

            n = max(counts)
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster:
                rows.append(one(instance, None, cluster.scheduler_address, args.backend, tmp,
                                f"dask-{n}"))
    print(f"instance {instance.name}, backend {args.backend}, {os.cpu_count()} cores; "
          f"grid: {' x '.join(VARY)}")
    print(f"{'mode':<9} {'scenarios':>9} {'workers':>7} {'wall s':>8} {'sum of run s':>12} "
          f"{'ratio':>6}  statuses")
    for r in rows:
        print(f"{r['mode']:<9} {r['scenarios']:>9} {r['workers']!s:>7} {r['wall']:>8.2f} "
              f"{r['run']:>12.2f} {r['wall'] / r['run']:>6.2f}  "
              + ", ".join(f"{n} {s}" for s, n in r["statuses"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
