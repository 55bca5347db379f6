"""Cost-sharing game timings: BCH exact, the national instance per region, and a 43-force
distance-rule instance by sampling and row generation.

    python bench/shares.py                 # all three cases
    python bench/shares.py --only bch      # one case (bch | national | distance)
    python bench/shares.py --only distance-lc   # the distance case: least core + Shapley only

Each case starts from an empty coalition cache and solves its plan first (not timed).
Columns: forces; groups (independent games) and the largest; coalition values solved;
wall s = the whole analysis (coalition solves on 2 local workers, the LPs, the checks,
the separation MIPs); then per case the least-core value and, for the large group,
the separation MIPs, the Shapley interval and the nucleolus rounds. Targets (docs/benchmarks.md,
issue 10): BCH exact under 2 s; the 43-force distance-rule instance's least core and sampled
Shapley within 10 minutes on 2 cores.

The distance-rule instance is ``generate_instance(forces=43, functions=3, seed=0,
max_distance_km=KM, targets=False)`` (``--km``, default 90): groups of 14, 14, 10 and 5
forces that can share within themselves; with ``--max-exact 8`` (the default here)
the three largest go by sampling and row generation (enumeration would need 2^14
coalition values each). At 100 km the groups are 24, 14 and 5 forces, at 130 km 38
and 5 (see docs/benchmarks.md for what those cost).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from shareplan.analyses.shares import Solver, analyse
from shareplan.generate import generate_instance
from shareplan.models.load import instance_from_data, load_instance
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance

ROOT = Path(__file__).resolve().parents[1]


def case(label: str, inst, backend: str, samples: int, workers: int, max_exact: int) -> dict:
    plan = solve_instance(inst, backend).to_dict()
    with tempfile.TemporaryDirectory() as tmp:
        solver = Solver(backend, SolveOptions(), Path(tmp) / "c", workers=workers)
        t0 = time.perf_counter()
        rep = analyse(inst, plan, solver, samples=samples, max_exact=max_exact)
        wall = time.perf_counter() - t0
    big = max(rep.groups, key=lambda g: len(g.forces))
    row = {"case": label, "forces": len(inst.forces), "groups": len(rep.groups),
           "largest": len(big.forces), "exact": all(g.exact for g in rep.groups),
           "coalitions": solver.solved, "wall_s": round(wall, 2),
           "least_core_eps_gbp": round(big.least_core_eps),
           "unproven": sum(len(g.unproven) for g in rep.groups)}
    large = [g for g in rep.groups if g.rowgen]
    if large:
        def total(key):
            return round(sum(g.rowgen[key] for g in large), 2)

        row.update({"large_groups": [len(g.forces) for g in large],
                    "separation_mips": total("separation_mips"),
                    "separation_s": total("separation_s"),
                    "least_core_s": total("least_core_s"),
                    "nucleolus_s": total("nucleolus_s"),
                    "shapley_orders": large[0].shapley_samples,
                    "shapley_max_half_width_gbp": round(max(
                        max(g.rowgen["shapley_half_width"]) for g in large)),
                    "least_core_eps_large_gbp": [round(g.least_core_eps) for g in large],
                    "separation_proven": all(g.rowgen["separation_proven"] for g in large)})
    return row


def least_core_and_shapley(inst, backend: str, samples: int, workers: int,
                           max_exact: int) -> list[dict]:
    """What the 10-minute target covers: per group, the least core (exact or by row
    generation) and the Shapley value (exact or sampled); one row per group and a total."""
    from shareplan.analyses import game
    from shareplan.analyses.shares import Separation, make_groups

    plan = solve_instance(inst, backend).to_dict()
    saved = {f["force"]: f["savings_gbp"] for f in plan["forces"]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        solver = Solver(backend, SolveOptions(), Path(tmp) / "c", workers=workers)
        t_all = time.perf_counter()
        for g in make_groups(inst):
            if g.n < 2:
                continue
            t0, before = time.perf_counter(), solver.solved
            total = sum(saved[f] for f in g.forces)
            row = {"group": g.n}
            if g.n <= max_exact:
                solver.values(g, range(1, 1 << g.n))
                table = game.full_table(g.n, {m: cv.value for m, cv in g.values.items()})
                table[-1] = total
                row.update(how="exact", eps_gbp=round(game.least_core(g.n, table)[0]))
            else:
                sep = Separation(g, solver)
                solver.values(g, [*(1 << i for i in range(g.n)), g.grand])
                orders = game.sample_orders(g.n, samples, seed=0)
                solver.values(g, game.prefix_masks(orders))
                sh = game.shapley_from_orders(
                    g.n, orders, lambda m, g=g, total=total:
                    total if m == g.grand else g.values[m].value)
                t1 = time.perf_counter()
                lc = game.least_core_rowgen(g.n, total, sep, {
                    m: cv.value for m, cv in g.values.items() if m != g.grand})
                row.update(how="sampled+rowgen", eps_gbp=round(lc.eps), rounds=lc.iterations,
                           mips=sep.calls, from_cache=sep.cached, mip_s=round(sep.mip_s, 1),
                           rowgen_s=round(time.perf_counter() - t1, 1),
                           orders=samples, max_half_width_gbp=round(max(sh.half_width)),
                           proven=lc.proven)
            row.update(coalitions=solver.solved - before,
                       unproven=sum(not cv.proven for cv in g.values.values()),
                       wall_s=round(time.perf_counter() - t0, 1))
            rows.append(row)
        rows.append({"total_wall_s": round(time.perf_counter() - t_all, 1),
                     "coalitions": solver.solved})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["bch", "national", "distance", "distance-lc"])
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--samples", type=int, default=8, help="Shapley orders (large groups)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--km", type=float, default=90.0, help="distance rule of the 43 forces")
    ap.add_argument("--max-exact", type=int, default=8,
                    help="largest group enumerated in the distance case (12 for the others)")
    args = ap.parse_args()
    cases = {
        "bch": lambda: load_instance(ROOT / "instances/bch-2013.json")[0],
        "national": lambda: load_instance(ROOT / "instances/england-wales-43.json")[0],
        "distance": lambda: instance_from_data(generate_instance(
            forces=43, functions=3, seed=0, max_distance_km=args.km, targets=False)),
    }
    if args.only == "distance-lc":  # the least core and sampled Shapley only
        for row in least_core_and_shapley(cases["distance"](), args.backend, args.samples,
                                          args.workers, args.max_exact):
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        return
    for label, make in cases.items():
        if args.only and label != args.only:
            continue
        row = case(label, make(), args.backend, args.samples, args.workers,
                   args.max_exact if label == "distance" else 12)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
