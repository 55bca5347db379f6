"""Near-optimal alternatives: ten plans within 1% for BCH (target < 10 s) and the national
instance (target < 2 minutes), per backend.

Each run is ``find_alternatives(n=10, slack=1%)`` in a fresh process (build, every solve,
the checker on every plan). The table gives the wall time of the call and of the whole
``solve alternatives`` process, how the search ended, the plans found, the slack budget,
the largest extra cost and the decisions changed (Hamming distance on the unit
decisions) from the least-cost plan, least and largest, and the functions left open.
CPU seconds (this process and its children, CBC included) are given beside the wall
time because the machine is shared: wall time grows with the load, CPU time much less.

    .venv/bin/python bench/alternatives.py [--backends highs,cbc,ortools]
        [--instances bch-2013,england-wales-43] [--n 10] [--slack 0.01] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(instance: str, backend: str, n: int, slack: float, time_limit: float | None
            ) -> dict:
    from shareplan.analyses.alternatives import find_alternatives
    from shareplan.models.load import load_instance
    from shareplan.solver.checker import check_plan
    from shareplan.solver.core import SolveOptions

    inst, digest = load_instance(ROOT / "instances" / f"{instance}.json")
    t0, cpu0 = time.perf_counter(), _cpu()
    r = find_alternatives(inst, n=n, slack=slack, backend=backend,
                          options=SolveOptions(time_limit=time_limit), digest=digest)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    rejected = sum(bool(check_plan(inst, a.plan.to_dict())) for a in r.alternatives)
    others = r.alternatives[1:]
    return {"instance": instance, "backend": backend, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "search": r.search, "found": len(r.alternatives), "rejected": rejected,
            "optimum": r.optimum_status.value, "budget": r.budget_gbp,
            "max_extra": max((a.extra_gbp for a in others), default=0.0),
            "within": all(a.plan.objective <= r.cap_gbp + 0.05 for a in r.alternatives),
            "distance": (min((a.distance for a in others), default=0),
                         max((a.distance for a in others), default=0)),
            "open": sum(not s.firm for s in r.summary), "functions": len(r.summary),
            "notes": sorted({a.note for a in others})}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (CBC runs as a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def process_wall(instance: str, backend: str, n: int, slack: float) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/solve"), "alternatives", f"instances/{instance}.json",
                    "--n", str(n), "--slack", str(slack), "--backend", backend, "--json"],
                   cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="highs,cbc,ortools")
    parser.add_argument("--instances", default="bch-2013,england-wales-43")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--slack", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.n, args.slack, args.time_limit)))
        return
    print(f"n {args.n}, slack {args.slack:g} of the cost decisions change, time limit "
          f"{args.time_limit or 'none'}")
    head = (f"{'instance':<17} {'backend':<8} {'wall s':>7} {'cpu s':>6} {'proc s':>7} "
            f"{'search':<10} "
            f"{'plans':>5} {'bad':>3} {'budget':>10} {'max extra':>10} {'changed':>9} "
            f"{'open':>7}")
    print(head)
    print("-" * len(head))
    for instance in args.instances.split(","):
        for backend in args.backends.split(","):
            cmd = [sys.executable, __file__, "--one", instance, backend, "--n", str(args.n),
                   "--slack", str(args.slack)]
            if args.time_limit:
                cmd += ["--time-limit", str(args.time_limit)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{instance:<17} {backend:<8} failed: {out.stderr.strip()[-300:]}")
                continue
            r = json.loads(out.stdout)
            proc = process_wall(instance, backend, args.n, args.slack) \
                if instance == "bch-2013" else float("nan")
            bad = r["rejected"] + (0 if r["within"] else 1)
            print(f"{instance:<17} {backend:<8} {r['wall_s']:>7.2f} {r['cpu_s']:>6.1f} "
                  f"{proc:>7.2f} "
                  f"{r['search']:<10} {r['found']:>5} {bad:>3} {r['budget']:>10,.0f} "
                  f"{r['max_extra']:>10,.0f} {r['distance'][0]:>4}-{r['distance'][1]:<4} "
                  f"{r['open']:>3}/{r['functions']:<3}", flush=True)
            if any(note != "most diverse" for note in r["notes"]):
                print(f"{'':<27}notes: {'; '.join(r['notes'])}")


if __name__ == "__main__":
    main()
