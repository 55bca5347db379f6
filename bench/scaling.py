"""Scaling curve: build time, solve time and peak memory from 3 to 200 forces.

Each size runs in its own process so its peak resident memory (ru_maxrss) is its
own. Instances come from ``shareplan.generate`` (seeded); the national instance
is measured the same way. ``--one-block`` lays the generated forces out like England
and Wales so the distance rule joins them into one block (``solve generate
--one-block``), and ``--modes off,on`` solves each size with the compact model and with
the unit-column decomposition (solver/decompose.py) side by side.

    .venv/bin/python bench/scaling.py [--sizes 3,10,25,43,100,200] [--backend highs]
                                      [--time-limit 60] [--functions 11]
    .venv/bin/python bench/scaling.py --one-block --sizes 10,25,43,100,200 --modes off,on
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


def measure(spec: str, backend: str, time_limit: float, functions: int,
            one_block: bool = False, mode: str = "auto") -> dict:
    """One run in this process: spec is a force count or 'national'."""
    from shareplan.generate import generate_instance
    from shareplan.models.load import instance_from_data, load_instance
    from shareplan.solver.core import SolveOptions
    from shareplan.solver.run import solve_instance

    if spec == "national":
        inst = load_instance(ROOT / "instances/england-wales-43.json")[0]
    else:
        inst = instance_from_data(generate_instance(forces=int(spec), functions=functions,
                                                    seed=1, one_block=one_block))
    t0 = time.perf_counter()
    plan = solve_instance(inst, backend, SolveOptions(time_limit=time_limit, gap=1e-4,
                                                      decomposition=mode), explain=False)
    wall = time.perf_counter() - t0
    return {"instance": spec, "mode": mode, "forces": len(inst.forces),
            "status": plan.status.value,
            "gap": plan.gap, "build_s": plan.times["build_s"], "solve_s": plan.times["solve_s"],
            "wall_s": round(wall, 3), "groups": plan.message.split(" independent")[0]
            if "independent" in plan.message else "1",
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,10,25,43,100,200,national")
    parser.add_argument("--backend", default="highs")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--functions", type=int, default=11)
    parser.add_argument("--one-block", action="store_true",
                        help="generated forces joined into one block by the distance rule")
    parser.add_argument("--modes", default="auto",
                        help="decomposition settings to run side by side, e.g. off,on")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.backend, args.time_limit, args.functions,
                                 args.one_block, args.mode)))
        return
    print(f"backend {args.backend}, time limit {args.time_limit:g} s, gap 1e-4, "
          f"{args.functions} functions (generated, seed 1"
          + (", one block" if args.one_block else "") + ")")
    head = (f"{'instance':>9} {'forces':>6} {'model':>10} {'status':>11} {'gap':>8} "
            f"{'build s':>8} {'solve s':>8} {'wall s':>7} {'peak MiB':>8}")
    print(head)
    print("-" * len(head))
    for spec in args.sizes.split(","):
        for mode in args.modes.split(","):
            out = subprocess.run([sys.executable, __file__, "--one", spec, "--backend",
                                  args.backend, "--time-limit", str(args.time_limit),
                                  "--functions", str(args.functions), "--mode", mode]
                                 + (["--one-block"] if args.one_block else []),
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{spec:>9} {mode} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout)
            gap = "-" if r["gap"] is None else f"{r['gap']:.1e}"
            model = {"off": "monolithic", "on": "decomposed"}.get(mode, mode)
            print(f"{r['instance']:>9} {r['forces']:>6} {model:>10} {r['status']:>11} "
                  f"{gap:>8} {r['build_s']:>8.3f} {r['solve_s']:>8.2f} {r['wall_s']:>7.2f} "
                  f"{r['peak_mib']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
