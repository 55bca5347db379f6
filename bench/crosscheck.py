"""Random cross-check at scale: every backend on many seeded instances, the checker on
every plan.

    python bench/crosscheck.py --n 200
    python bench/crosscheck.py --n 1000 --seed 5000 --backends cbc,highs

Instances come from ``shareplan/testing/randinst.random_instance(random.Random(seed))``: 2-5
forces, 1-3 shareable functions, 1-4 sites, with a random mix of allocation rules
(demand, equal, key), objectives (min_cost, max_frontline, max_min_savings_ratio),
savings targets, aggregate targets, frontline floors, unit and host capacities,
divisible functions (without targets), standalone not allowed, existing units
(fixed or re-optimisable), forbidden partners, opt-outs, must-share, distance
limits, same-region rules, explicit arc costs, min/max members and max units; go-live
timing, dual running, one-off years, jointly managed functions, multi-site units,
relocation costs and police staff.

Each instance is solved on every backend (``ortools-scip`` is ``ortools`` under
another name and is left out); CP-SAT refuses models with continuous columns
(BackendError), which is counted as skipped. Then:

- rejected plan: ``check_plan`` (shareplan.solver.checker) reports a violation,
  or the plan's JSON is not strict JSON (NaN/Infinity);
- disagreement: one backend proves the instance infeasible while another returns
  a plan; two proven optima differ beyond ``analysis.optima_disagree``'s
  tolerance; or (min_cost) a backend's plan costs less than another's proven
  optimum by more than that tolerance;
- error: a backend ends in status ``error`` or raises (other than BackendError).

Prints the run size, statuses per backend, the counts and the first cases of
each kind, and the wall time. Exit status 1 when any disagreement, rejected plan
or error was found.

``--reduced`` checks the host-fixing reduction (``shareplan.solver.reduce``) instead:
each instance is solved on each backend twice, plainly and with the reduction forced on
(MIN_ARCS 0, one candidate host per open host, as ``tests/test_reduce.py`` does), and a
reduced run disagrees when its status or (optimal) objective differs from the plain
one's, when it returns a dearer plan than a proven plain optimum, or when it raises.
Runs where the reduction handed the whole programme back (no heuristic plan) are counted
apart from those it solved. ``--threshold N`` adds N instances at the real threshold
(20,000 arcs: ``shareplan.testing.facility.threshold_instance`` with seeds 1..N).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
import traceback

from shareplan.analysis import optima_disagree
from shareplan.models.load import InstanceError, instance_from_data, parse_json_text
from shareplan.solver.backends import backends_with
from shareplan.solver.core import BackendError, SolveOptions
from shareplan.solver.run import solve_instance
from shareplan.testing.randinst import random_instance

try:
    from shareplan.solver.checker import check_plan
except ImportError:  # the checker is written separately; say so rather than fail
    check_plan = None



def features(data: dict) -> list[str]:
    """The options an instance uses, for the coverage table."""
    fns = [f for f in data["functions"] if f.get("shareable", True)]
    forces = data["forces"]
    out = [f"allocation={data['allocation']}", f"sense={data['objective']['sense']}"]
    checks = {
        "savings targets": any("savings_target_gbp" in f for f in forces),
        "aggregate target": "aggregate_savings_target_gbp" in data["objective"],
        "frontline floors": any("frontline_floor_fte" in f for f in forces),
        "capacities": any("unit_capacity" in f or any("capacity" in h for h in f.get("hosts", []))
                          for f in fns),
        "divisible": any(f.get("divisible") for f in fns),
        "standalone off": any(f.get("standalone_allowed") is False for f in fns),
        "existing units": bool(data.get("existing")),
        "forbidden partners": bool(data.get("policy", {}).get("forbidden_partners")),
        "opt-outs": bool(data.get("policy", {}).get("opt_outs")),
        "must-share": bool(data.get("policy", {}).get("must_share")),
        "max distance": bool(data.get("policy", {}).get("max_distance_km")),
        "same region": bool(data.get("policy", {}).get("same_region")),
        "explicit arc costs": any("arc_cost_gbp" in f for f in fns),
        "travel costs": any(f.get("travel_cost_gbp_per_unit_km") for f in fns),
        "max units": any("max_units" in f for f in fns),
        "max members": any("max_members" in f for f in fns),
        "discounting": data["discount_rate"] > 0,
        "go-live later": any(f.get("go_live_year", 1) > 1 for f in fns),
        "dual running": any(f.get("dual_running_years") for f in fns),
        "one-off year": any("one_off_year" in f for f in fns),
        "jointly managed": any(f.get("mechanism") == "jointly_managed" for f in fns),
        "multi-site units": any("also_sites" in h for f in fns for h in f.get("hosts", [])),
        "relocation": any(c.get("relocation_cost_gbp") for c in data["costs"]),
        "police staff": any(c.get("staff_fte") for c in data["costs"]),
    }
    return out + [k for k, v in checks.items() if v]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="number of instances")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--backends", default="all",
                    help="comma-separated, or 'all' (every registered backend but aliases)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--show", type=int, default=8, help="cases shown per kind")
    ap.add_argument("--reduced", action="store_true",
                    help="check the forced reduction against the plain solve")
    ap.add_argument("--threshold", type=int, default=0,
                    help="with --reduced: instances at the real 20,000-arc threshold")
    args = ap.parse_args(argv)
    if args.reduced:
        return reduced_main(args)
    backends = (backends_with() if args.backends == "all"
                else [b.strip() for b in args.backends.split(",") if b.strip()])
    options = SolveOptions(time_limit=args.time_limit)

    statuses: dict[str, collections.Counter] = {b: collections.Counter() for b in backends}
    coverage: collections.Counter = collections.Counter()
    found: dict[str, list[str]] = collections.defaultdict(list)
    solves = skipped = checked = 0
    invalid = []
    t0 = time.perf_counter()
    for seed in range(args.seed, args.seed + args.n):
        data = random_instance(random.Random(seed))
        coverage.update(features(data))
        try:
            inst = instance_from_data(data)
        except InstanceError as exc:
            invalid.append(f"seed {seed}: {str(exc).splitlines()[1:2]}")
            continue
        plans = []
        for b in backends:
            try:
                plan = solve_instance(inst, b, options)
            except BackendError:
                skipped += 1
                statuses[b]["skipped"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - a crash is a finding
                statuses[b]["raised"] += 1
                found["errors"].append(f"seed {seed} {b}: {type(exc).__name__}: {exc}"
                                       f" @ {traceback.extract_tb(exc.__traceback__)[-1].name}")
                continue
            solves += 1
            statuses[b][plan.status.value] += 1
            d = plan.to_dict()
            if plan.status.value == "error":
                found["errors"].append(f"seed {seed} {b}: status error: {plan.message[:120]}")
            try:
                parse_json_text(json.dumps(d))
            except InstanceError as exc:
                found["rejected"].append(f"seed {seed} {b}: plan is not strict JSON: "
                                         f"{str(exc).splitlines()[-1].strip()}")
            if check_plan is not None:
                checked += 1
                violations = check_plan(inst, d)
                if violations:
                    found["rejected"].append(f"seed {seed} {b} ({plan.status.value}): "
                                             f"{len(violations)} violation(s), first: "
                                             f"{violations[0]}")
            if plan.status.value == "infeasible":
                if not plan.explanation:
                    found["unexplained"].append(f"seed {seed} {b}")
                elif plan.explanation[0]["rule"] == "existing" and not data.get("existing"):
                    found["fallback explanation"].append(f"seed {seed} {b}")
            plans.append(d)

        solved = [p for p in plans if p["status"] in ("optimal", "feasible")]
        infeasible = [p for p in plans if p["status"] == "infeasible"]
        if solved and infeasible:
            found["disagreements"].append(
                f"seed {seed}: infeasible on {[p['backend'] for p in infeasible]}, "
                f"a plan on {[p['backend'] for p in solved]}")
        for a, b, diff in optima_disagree(plans):
            found["disagreements"].append(f"seed {seed}: optima of {a} and {b} differ by "
                                          f"{diff:,.2f}")
        if inst.objective.sense == "min_cost":
            for opt in (p for p in solved if p["status"] == "optimal"):
                for other in solved:
                    if other is opt or other["status"] == "optimal":
                        continue
                    # the same tolerance as two optima, applied in one direction only
                    as_proven = {**other, "status": "optimal"}
                    if (other["objective"] < opt["objective"]
                            and optima_disagree([opt, as_proven])):
                        found["disagreements"].append(
                            f"seed {seed}: {other['backend']} found {other['objective']:,.2f} "
                            f"below the optimum {opt['objective']:,.2f} of {opt['backend']}")
    wall = time.perf_counter() - t0

    n_dis, n_rej, n_err = (len(found[k]) for k in ("disagreements", "rejected", "errors"))
    print(f"crosscheck: {args.n} random instances (seeds {args.seed}..{args.seed + args.n - 1}), "
          f"backends {', '.join(backends)}, time limit {args.time_limit:g} s")
    if invalid:
        print(f"generator produced {len(invalid)} invalid instance(s): {invalid[:3]}")
    print("options covered (instances): " + ", ".join(
        f"{k} {v}" for k, v in sorted(coverage.items())))
    print(f"solves: {solves:,} ({skipped} skipped: CP-SAT refuses continuous columns)")
    for b in backends:
        print(f"  {b}: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses[b].items())))
    if check_plan is None:
        print("checker: shareplan.solver.checker not importable; plans NOT checked")
    else:
        print(f"checker: {checked:,} plans checked")
    print(f"disagreements: {n_dis}")
    print(f"rejected plans: {n_rej}")
    print(f"errors: {n_err}")
    for kind in ("disagreements", "rejected", "errors", "unexplained", "fallback explanation"):
        if found[kind]:
            note = " (informational)" if kind == "fallback explanation" else ""
            print(f"{kind}{note}: {len(found[kind])}")
            for line in found[kind][: args.show]:
                print(f"    {line}")
    print(f"wall time: {wall:.1f} s")
    return 1 if (n_dis or n_rej or n_err or found["unexplained"]) else 0


def _solve_counted(inst, backend, options, forced: bool):
    """(plan, reduction entered?, reduction solved it?) with the reduction forced or off."""
    from shareplan.solver import reduce

    saved = reduce.MIN_ARCS, reduce.MIN_CANDIDATES, reduce.CANDIDATE_FACTOR
    entered = []
    real = reduce.solve_reduced

    def counting(*a, **k):
        entered.append(1)
        return real(*a, **k)

    reduce.MIN_ARCS, reduce.MIN_CANDIDATES, reduce.CANDIDATE_FACTOR = (
        (0, 1, 1) if forced else (10**12, *saved[1:]))
    reduce.solve_reduced = counting
    try:
        plan = solve_instance(inst, backend, options)
    finally:
        reduce.MIN_ARCS, reduce.MIN_CANDIDATES, reduce.CANDIDATE_FACTOR = saved
        reduce.solve_reduced = real
    return plan, bool(entered), "Lagrangian bound" in plan.message


def reduced_main(args) -> int:
    """The reduction against the plain solve, per backend (see the module docstring)."""
    backends = (backends_with() if args.backends == "all"
                else [b.strip() for b in args.backends.split(",") if b.strip()])
    options = SolveOptions(time_limit=args.time_limit)
    counts = {b: collections.Counter() for b in backends}
    found: dict[str, list[str]] = collections.defaultdict(list)
    t0 = time.perf_counter()
    cases = [(f"seed {s}", lambda s=s: random_instance(random.Random(s)), True)
             for s in range(args.seed, args.seed + args.n)]
    if args.threshold:
        from shareplan.testing.facility import threshold_instance

        cases += [(f"threshold {k}", lambda k=k: threshold_instance(seed=k), False)
                  for k in range(1, args.threshold + 1)]
    for label, make, forced in cases:
        try:
            inst = instance_from_data(make())
        except InstanceError:
            continue
        for b in backends:
            try:
                plain, _, _ = _solve_counted(inst, b, options, forced=False)
                red, entered, solved = _solve_counted(inst, b, options, forced=forced)
            except BackendError:
                counts[b]["skipped"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - a crash is a finding
                counts[b]["raised"] += 1
                found["errors"].append(f"{label} {b}: {type(exc).__name__}: {exc}")
                continue
            counts[b]["instances"] += 1
            counts[b]["entered"] += entered
            counts[b]["reduced"] += solved
            if red.status.value == "error":
                counts[b]["error"] += 1
                found["errors"].append(f"{label} {b}: status error: {red.message[:120]}")
            if check_plan is not None and red.has_solution:
                violations = check_plan(inst, red.to_dict())
                if violations:
                    found["rejected"].append(f"{label} {b}: {violations[0]}")
            p, r = plain.to_dict(), red.to_dict()
            bad = (p["status"] != r["status"]
                   or bool(optima_disagree([p, r]))
                   or (p["status"] == "optimal" and r["objective"] is not None
                       and optima_disagree([p, {**r, "status": "optimal"}])
                       and r["objective"] > p["objective"]))
            if bad:
                counts[b]["disagreements"] += 1
                found["disagreements"].append(
                    f"{label} {b}: plain {p['status']} {p['objective']}, reduced "
                    f"{r['status']} {r['objective']} ({r['message'][:100]})")
    wall = time.perf_counter() - t0
    print(f"crosscheck --reduced: seeds {args.seed}..{args.seed + args.n - 1}"
          f"{f' + {args.threshold} at 20,000 arcs' if args.threshold else ''}, backends "
          f"{', '.join(backends)}, time limit {args.time_limit:g} s")
    print("backend | instances | reduction entered | solved by it | disagreements | errors "
          "| raised | skipped")
    for b in backends:
        c = counts[b]
        print(f"{b} | {c['instances']} | {c['entered']} | {c['reduced']} | "
              f"{c['disagreements']} | {c['error']} | {c['raised']} | {c['skipped']}")
    for kind in ("disagreements", "rejected", "errors"):
        if found[kind]:
            print(f"{kind}: {len(found[kind])}")
            for line in found[kind][: args.show]:
                print(f"    {line}")
    print(f"wall time: {wall:.1f} s")
    return 1 if any(found[k] for k in ("disagreements", "rejected", "errors")) else 0


if __name__ == "__main__":
    sys.exit(main())
