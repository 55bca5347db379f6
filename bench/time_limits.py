"""Time limits on a large generated instance: every backend, as a user runs it.

    python bench/time_limits.py                       # 200 forces, 11 functions, 60 s
    python bench/time_limits.py --limits 20,60 --backends cbc,highs --no-targets

Generates ``solve generate --forces N --functions K --seed S`` (targets on unless
``--no-targets``), then runs ``solve FILE --time-limit T --backend B --out plan.json``
as a subprocess for each backend and limit, one at a time, and prints a table: the
plan's ``times.total_s`` (what the limit covers: build, solve, read and check) against
limit + margin (max(5%, 2 s), see ``shareplan.solver.deadline.margin``), the process
wall time (adds Python's imports and loading the file), the exit code, status,
objective, bound and gap, and whether ``solve check`` accepts the plan.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shareplan.solver.deadline import margin

SOLVE = [sys.executable, "-m", "shareplan.cli"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", type=int, default=200)
    ap.add_argument("--functions", type=int, default=11)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-targets", action="store_true")
    ap.add_argument("--limits", default="60")
    ap.add_argument("--backends", default="cbc,highs,ortools,ortools-highs,ortools-cpsat")
    args = ap.parse_args(argv)
    over = 0
    with tempfile.TemporaryDirectory() as tmp:
        inst = Path(tmp) / "g.json"
        gen = [*SOLVE, "generate", "--forces", str(args.forces), "--functions",
               str(args.functions), "--seed", str(args.seed), "--out", str(inst)]
        if args.no_targets:
            gen.append("--no-targets")
        subprocess.run(gen, check=True, capture_output=True)
        print(f"instance: {args.forces} forces, {args.functions} functions, seed {args.seed}, "
              f"{'no targets' if args.no_targets else 'targets'}")
        print("backend | limit | limit + margin | total_s | wall | exit | status | objective "
              "| bound | gap | check")
        for limit in (float(t) for t in args.limits.split(",")):
            for backend in args.backends.split(","):
                out = Path(tmp) / f"{backend}.json"
                out.unlink(missing_ok=True)
                t0 = time.perf_counter()
                run = subprocess.run([*SOLVE, str(inst), "--time-limit", f"{limit:g}",
                                      "--backend", backend, "--out", str(out), "--quiet"],
                                     capture_output=True, text=True)
                wall = time.perf_counter() - t0
                if not out.exists():
                    last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:]
                    print(f"{backend} | {limit:g} | {limit + margin(limit):g} | - | {wall:.1f} "
                          f"| {run.returncode} | no plan file: {' '.join(last)[:100]}")
                    continue
                plan = json.loads(out.read_text())
                total = plan["times"]["total_s"]
                over += total > limit + margin(limit)
                check = subprocess.run([*SOLVE, "check", str(inst), str(out)],
                                       capture_output=True, text=True).returncode
                fmt = (lambda v: "-" if v is None else f"{v:,.0f}")
                gap = "-" if plan["gap"] is None else f"{plan['gap']:.2%}"
                print(f"{backend} | {limit:g} | {limit + margin(limit):g} | {total:.1f} | "
                      f"{wall:.1f} | {run.returncode} | {plan['status']} | "
                      f"{fmt(plan['objective'])} | {fmt(plan['bound'])} | {gap} | "
                      f"{'ok' if check == 0 else f'exit {check}'}")
    print(f"runs past limit + margin: {over}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
