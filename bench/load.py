"""Load test of sweeps under faults: 2,000 scenarios with workers killed at random.

    python bench/load.py                          # local processes, then Dask
    python bench/load.py --scenarios 400 --modes local --kill-every 1

The base instance is generated (``generate_instance(forces=3, functions=2, seed=1)``,
a solve of some 0.1 s); the scenarios are a grid of its discount rate (0 to 5%) and
the fixed cost of a shared finance unit (x0.5 to x1.5), ``--scenarios`` in all.
Each mode runs the whole sweep as ``solve sweep`` does (journal, workers, table
written) while a killer thread SIGKILLs a random worker process at random moments
(exponential gaps, mean ``--kill-every`` s):

- ``local``: ``--workers`` local processes (forked); a killed worker is replaced
  and its scenario runs again;
- ``dask``: a Dask ``LocalCluster`` of ``--workers`` single-threaded worker
  processes; the nanny restarts a killed worker and the scheduler or the sweep
  resubmits its scenario. Only workers up for 5 s or more are killed (not one
  still starting), and the cluster's ``lost-worker-timeout`` is set to an hour:
  at its default of 15 s, LocalCluster closes for good a worker slot that is
  mid-restart when the timer fires, and under frequent kills the cluster shrinks
  to no workers (the sweep then stops with ``ClusterLost`` after two minutes
  rather than wait for ever, and a rerun resumes).

Columns: kills = workers killed during the run; lost = scenarios of the grid with
no row in the written table (must be 0); duplicated = scenarios with more than one
journal line or table row (must be 0); failed = rows with status error (a
scenario whose worker was killed three times); wrong = scenarios, not failed,
whose objective differs (more than 1e-6 relative) from a fault-free in-process
reference solve, checked on ``--check`` scenarios drawn at random;
throughput = scenarios per second of wall time (the first mode's table also serves
as the reference for the second: "differ" counts scenarios where the two modes
disagree by more than 1e-6 relative).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from shareplan.generate import generate_instance
from shareplan.models.load import instance_from_data
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance
from shareplan.sweep.journal import journal_path
from shareplan.sweep.runner import Job, run_sweep
from shareplan.sweep.spec import apply, prepare
from shareplan.sweep.table import table_of, write_table

LOG_LEVEL = int(os.environ.get("LOAD_LOG_LEVEL", "50"))


def grid(scenarios: int) -> list[str]:
    rates = 40 if scenarios >= 400 else 10
    costs = max(2, scenarios // rates)
    return [f"discount_rate=0..0.05:{rates}",
            f"functions.finance.unit_fixed_cost_gbp=x0.5..x1.5:{costs}"]


def local_workers() -> list[int]:
    """Worker processes of this sweep: python children of this process."""
    me = os.getpid()
    pids = []
    for task in Path(f"/proc/{me}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for c in children:
            try:
                if Path(f"/proc/{c}/comm").read_text().strip().startswith("python"):
                    pids.append(int(c))
            except OSError:
                pass
    return pids


def _pid_and_age() -> tuple[int, float]:
    import psutil

    return os.getpid(), time.time() - psutil.Process().create_time()


class Killer(threading.Thread):
    """SIGKILL one of ``pids()`` after exponential gaps of mean ``every`` s."""

    def __init__(self, pids, every: float, seed: int):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.kills = 0

    def run(self) -> None:
        if self.every <= 0:  # no faults: the throughput to compare with
            return
        while not self.stop.wait(self.rng.expovariate(1 / self.every)):
            try:
                pids = self.pids()
            except Exception:  # noqa: BLE001 - the cluster between states: try later
                continue
            if pids:
                try:
                    os.kill(self.rng.choice(pids), signal.SIGKILL)
                    self.kills += 1
                except ProcessLookupError:
                    pass


def run_mode(mode: str, job: Job, vary: list[str], workers: int, every: float,
             tmp: Path, seed: int) -> dict:
    varies, scenarios = prepare(job.data, vary, source=job.source)
    out = tmp / f"{mode}.csv"
    cluster = client = None
    if mode == "dask":
        import dask
        from distributed import Client, LocalCluster

        # LocalCluster closes for good a worker slot whose worker is missing from the
        # scheduler at the moment lost-worker-timeout (15 s) after a removal: under
        # kills every few seconds that hits a slot mid-restart and the cluster shrinks
        # to nothing. Off here (read when a worker is lost, so set for the whole run),
        # as an operator keeping the cluster at its size would.
        config = dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"})
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=LOG_LEVEL)
        client = Client(cluster, set_as_default=False)

        def pids():  # workers up for 5 s or more: see the module docstring
            ages = client.run(_pid_and_age, on_error="ignore").values()
            return [pid for pid, age in ages if age >= 5]
        kwargs = {"scheduler": cluster.scheduler_address}
    else:
        pids = local_workers
        kwargs = {"workers": workers, "start_method": "fork"}
    killer = Killer(pids, every, seed)
    t0 = time.perf_counter()
    killer.start()
    try:
        outcome = run_sweep(job, scenarios, str(out), quiet=True, **kwargs)
    finally:
        killer.stop.set()
        killer.join()
    inst = instance_from_data(job.data, job.source)
    df = table_of(outcome.results, [v.target.path for v in varies],
                  [f.id for f in inst.forces], False)
    write_table(df, out)
    wall = time.perf_counter() - t0
    if client is not None:
        client.close()
        cluster.close()
        config.__exit__(None, None, None)

    import pandas as pd

    table = pd.read_csv(out, keep_default_na=False)
    lines = [json.loads(x) for x in journal_path(out).read_text().splitlines()]
    per_key = Counter(rec["key"] for rec in lines)
    per_row = Counter(table["scenario"])
    wanted = {sc.index for sc in scenarios}
    return {
        "mode": f"{mode}-{workers}", "scenarios": len(scenarios), "kills": killer.kills,
        "lost": len(wanted - set(per_row)),
        "duplicated": sum(n > 1 for n in per_key.values()) + sum(n > 1 for n in per_row.values()),
        "failed": int((table["status"] == "error").sum()),
        "errors": Counter(table.loc[table["status"] == "error", "error"]).most_common(2),
        "wall": wall, "table": table, "scenario_list": scenarios,
    }


def _number(cell) -> float | None:
    return None if cell == "" else float(cell)


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > 1e-6 * max(1.0, abs(b))


def wrong(job: Job, row: dict, sample: int, seed: int) -> int:
    """Scenarios of ``row`` whose objective differs from a fault-free reference solve."""
    rng = random.Random(seed)
    table = row["table"].set_index("scenario")
    bad = 0
    for sc in rng.sample(row["scenario_list"], min(sample, len(row["scenario_list"]))):
        plan = solve_instance(instance_from_data(apply(job.data, sc.assign)), job.backend,
                              job.options, digest=job.digest)
        if table.loc[sc.index, "status"] == "error":
            continue  # counted as failed
        want = plan.objective if plan.has_solution else None
        bad += _differs(_number(table.loc[sc.index, "objective_gbp"]), want)
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-every", type=float, default=5.0,
                    help="mean seconds between kills of a random worker (0: none)")
    ap.add_argument("--modes", default="local,dask")
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--check", type=int, default=100,
                    help="scenarios per mode checked against a fault-free solve")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/load.py finds local workers in /proc: Linux only", file=sys.stderr)
        return 2
    data = generate_instance(forces=3, functions=2, seed=1)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        base = tmp / "generated.json"
        base.write_text(json.dumps(data))
        from shareplan.models.load import read_instance_data

        data, digest = read_instance_data(base)
        job = Job(data, digest, str(base), args.backend, SolveOptions())
        vary = grid(args.scenarios)
        rows = []
        for k, mode in enumerate(args.modes.split(",")):
            row = run_mode(mode, job, vary, args.workers, args.kill_every, tmp, args.seed + k)
            row["wrong"] = wrong(job, row, args.check, args.seed + k)
            rows.append(row)
    differ = None
    if len(rows) == 2:
        a, b = (r["table"].set_index("scenario")["objective_gbp"].sort_index() for r in rows)
        differ = sum(_differs(_number(x), _number(y)) for x, y in zip(a, b))
    print(f"load: generate_instance(forces=3, functions=2, seed=1), backend {args.backend}, "
          f"grid {' x '.join(vary)}, {os.cpu_count()} cores, a random worker killed every "
          f"{args.kill_every:g} s on average")
    print(f"{'mode':<8} {'scenarios':>9} {'kills':>5} {'lost':>4} {'duplicated':>10} "
          f"{'failed':>6} {'wrong':>9} {'wall s':>7} {'scenarios/s':>11}")
    for r in rows:
        checked = f"{r['wrong']}/{min(args.check, r['scenarios'])}"
        print(f"{r['mode']:<8} {r['scenarios']:>9} {r['kills']:>5} {r['lost']:>4} "
              f"{r['duplicated']:>10} {r['failed']:>6} {checked:>9} "
              f"{r['wall']:>7.1f} {r['scenarios'] / r['wall']:>11.1f}")
        for text, n in r["errors"]:
            print(f"  {n} failed: {text}")
    if differ is not None:
        print(f"objectives that differ between the two modes: {differ} of "
              f"{rows[0]['scenarios']}")
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
