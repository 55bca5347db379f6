"""Facility-location benchmarks with published optima, on every chosen backend.

    python bench/orlib.py --set small --backends cbc,ortools,highs
    python bench/orlib.py --set abc --only capa8000,capb5000 --time-limit 120
    python bench/orlib.py --set yang --backends highs --whole   # without the method

Sets (data in bench/data/orlib, see its OPTIMA.md):
  small     cap41..cap134, multi-source, against capopt.txt
  abc       capa/capb/capc with the 4 published capacities each, against capopt_abc.txt
  holmberg  p1..p24 single-source, against holmberg/optimal_values.txt
  yang      Yang, Chu and Chen (2012) p1..p20 single-source (30-80 sites, 200-400
            customers), against yang/optimal_values.txt
  all       the four

Published cap41..cap134 optima are rounded to 3 decimals inconsistently (the true
optima are multiples of 1/80): they are snapped to the nearest 1/80 before comparing
with an absolute tolerance of 1e-3. capa/b/c: 3 decimals, tolerance 1e-3. Holmberg
and Yang optima are integers: tolerance 0.5.

Columns: load s = convert + validate the instance; build s = network and
formulation; solve s = the backend (including hand-off to the solver).
Exit status 1 when any proven optimum differs from the published one by more than
the tolerance, or a run fails with an error; 0 otherwise (runs stopped by the time
limit are reported, not failed).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shareplan.convert import holmberg_to_instance, orlib_to_instance, yang_to_instance
from shareplan.models.load import instance_from_data
from shareplan.solver import single_source
from shareplan.solver.backends import REGISTRY
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance

DEFAULT_DATA = Path(os.environ.get("SHAREPLAN_ORLIB",
                                   Path(__file__).resolve().parent / "data" / "orlib"))
SMALL = [f"cap{g}{k}" for g in (4, 6, 7, 8, 9, 10, 11, 12, 13) for k in (1, 2, 3, 4)]
SMALL.insert(4, "cap51")
ABC_CAPACITIES = {"capa": (8000, 10000, 12000, 14000), "capb": (5000, 6000, 7000, 8000),
                  "capc": (5000, 5750, 6500, 7250)}


@dataclass
class Case:
    name: str
    load: object  # () -> instance dict
    published: float
    tol: float


def read_optima(path: Path) -> dict[str, float]:
    """'name value' per line (blank lines ignored)."""
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = float(parts[1])
    return out


def snap_80(value: float) -> float:
    """The nearest multiple of 1/80 (true cap41..cap134 optima are on that grid)."""
    return round(value * 80) / 80


def cases(which: str, data: Path) -> list[Case]:
    out: list[Case] = []
    if which in ("small", "all"):
        opt = read_optima(data / "capopt.txt")
        for name in SMALL:
            out.append(Case(name, lambda p=data / f"{name}.txt": orlib_to_instance(p),
                            snap_80(opt[name]), 1e-3))
    if which in ("abc", "all"):
        opt = read_optima(data / "capopt_abc.txt")
        for stem, caps in ABC_CAPACITIES.items():
            for cap in caps:
                out.append(Case(f"{stem}{cap}",
                                lambda p=data / f"{stem}.txt", c=cap: orlib_to_instance(p, c),
                                opt[f"{stem}{cap}"], 1e-3))
    if which in ("holmberg", "all"):
        opt = read_optima(data / "holmberg" / "optimal_values.txt")
        for k in range(1, 25):
            name = f"p{k}"
            out.append(Case(name, lambda p=data / "holmberg" / name: holmberg_to_instance(p),
                            opt[name], 0.5))
    if which in ("yang", "all"):
        opt = read_optima(data / "yang" / "optimal_values.txt")
        for k in range(1, 21):
            name = f"p{k}"
            out.append(Case(f"yang_{name}",
                            lambda p=data / "yang" / name: yang_to_instance(p), opt[name], 0.5))
    return out


def _fmt(v, spec: str) -> str:
    """format(v, spec), or '-' padded to the same width when v is missing."""
    if v is None:
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return "-".rjust(int(width)) if width else "-"
    return format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="cbc,ortools,highs",
                    help="comma-separated backend names (default: cbc,ortools,highs)")
    ap.add_argument("--set", dest="which", choices=["small", "abc", "holmberg", "yang", "all"],
                    default="small")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="relative MIP gap (default 0: prove to the solvers' own tolerance)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated instance names to run")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"benchmark directory (default {DEFAULT_DATA}; env SHAREPLAN_ORLIB)")
    ap.add_argument("--whole", action="store_true",
                    help="solve single-source programmes whole, without the Lagrangian "
                         "method of shareplan/solver/single_source.py (to compare)")
    args = ap.parse_args(argv)
    single_source.ENABLED = not args.whole

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in REGISTRY]
    if unknown:
        ap.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(REGISTRY)}")
    if not args.data.is_dir():
        ap.error(f"no benchmark directory {args.data}")
    todo = cases(args.which, args.data)
    if args.only:
        wanted = {s.strip() for s in args.only.split(",") if s.strip()}
        missing = wanted - {c.name for c in todo}
        if missing:
            ap.error(f"not in set '{args.which}': {', '.join(sorted(missing))}")
        todo = [c for c in todo if c.name in wanted]
    options = SolveOptions(time_limit=args.time_limit, gap=args.gap, threads=args.threads)

    head = (f"{'instance':<11} {'backend':<14} {'published':>16} {'objective':>18} "
            f"{'abs diff':>10} {'status':<11} {'load s':>7} {'build s':>8} {'solve s':>8}")
    print(head)
    print("-" * len(head))
    failures: list[str] = []
    counts: dict[str, int] = {}
    for case in todo:
        t0 = time.perf_counter()
        inst = instance_from_data(case.load(), case.name)
        load_s = time.perf_counter() - t0
        for backend in backends:
            try:
                plan = solve_instance(inst, backend, options)
            except Exception as exc:  # report and go on: one failing backend is a result
                failures.append(f"{case.name}/{backend}: {type(exc).__name__}: {exc}")
                print(f"{case.name:<11} {backend:<14} {case.published:>16.4f} {'-':>18} "
                      f"{'-':>10} {'exception':<11} {load_s:>7.2f} {'-':>8} {'-':>8}")
                counts["exception"] = counts.get("exception", 0) + 1
                continue
            status = plan.status.value
            counts[status] = counts.get(status, 0) + 1
            diff = None if plan.objective is None else abs(plan.objective - case.published)
            mark = ""
            if status == "optimal" and (diff is None or not math.isfinite(diff)
                                        or diff > case.tol):
                failures.append(f"{case.name}/{backend}: proven optimum {plan.objective} vs "
                                f"published {case.published} (diff {diff})")
                mark = "  <-- MISMATCH"
            elif status == "error":
                failures.append(f"{case.name}/{backend}: error {plan.message}")
            elif status != "optimal":
                mark = f"  (gap {_fmt(plan.gap, '.2e')})" if plan.gap is not None else ""
            print(f"{case.name:<11} {backend:<14} {case.published:>16.4f} "
                  f"{_fmt(plan.objective, '>18.4f')} {_fmt(diff, '>10.2e')} {status:<11} "
                  f"{load_s:>7.2f} {plan.times['build_s']:>8.3f} {plan.times['solve_s']:>8.2f}"
                  f"{mark}", flush=True)
    print()
    print("runs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print(f"  {f}")
        return 1
    print("every proven optimum matches its published value")
    return 0


if __name__ == "__main__":
    sys.exit(main())
