"""``solve shares INSTANCE [PLAN]``: the click command and its tables (see :mod:`.shares`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli_common import _bundled, exit_code_for, guarded, make_options, solver_options
from ..reports.briefing import short_force_name
from ..tables import Column, Table
from ..text import money as money_text

LABELS = {"demand": "demand rule", "equal": "equal rule", "key": "key rule",
          "shapley": "Shapley", "nucleolus": "nucleolus", "least_core": "least core",
          "plan_rule_core": "core split", "plan_rule_least-core": "l-core split"}


def money(value) -> str:
    """Shares to the £10k (£6.67m): a split a little below a target must show it."""
    return money_text(value, dp=2)


def _yes(flag) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")


def render(rep) -> str:
    """The planner's tables: savings and charges per force and rule, then the checks."""
    lines = [f"Cost shares for {rep.instance}: savings over {rep.horizon_years} years, GBP, "
             f"present values at {rep.discount_rate:.1%} counted as the plan counts them "
             f"(each unit from its go-live, one-offs in the year they fall); "
             f"plan {rep.plan_source} ({rep.plan_status}); the instance's own rule is "
             f"'{rep.rule}'."]
    shown = [a for a in rep.allocations if a.savings]
    if rep.split and rep.split.get("allocation"):
        shown.append(rep.split["allocation"])
    names = {f: short_force_name(rep.names[f]) for f in rep.forces}
    w = max([len("force"), *map(len, names.values())]) + 2
    head = f"{'force':<{w}}{'target':>10}" + "".join(f"{LABELS.get(a.name, a.name):>14}"
                                                    for a in shown)
    lines += ["", "Savings (what each force saves against running alone)", head]
    for f in rep.forces:
        row = f"{names[f]:<{w}}{money(rep.targets[f]):>10}"
        for a in shown:
            cell = money(a.savings[f])
            if a.half_width:
                cell += f"±{money_text(a.half_width[f], dp=1).lstrip('£')}"
            if a.targets_met.get(f) is False:
                cell += "*"
            row += f"{cell:>14}"
        lines.append(row)
    lines.append("(* below the force's target)")
    lines += ["", "Charges (baseline minus savings: what each force pays over the horizon)",
              f"{'force':<{w}}{'baseline':>10}" + "".join(
                  f"{LABELS.get(a.name, a.name):>14}" for a in shown)]
    for f in rep.forces:
        lines.append(f"{names[f]:<{w}}{money(rep.baseline[f]):>10}" + "".join(
            f"{money(a.charge[f]):>14}" for a in shown))
    lines += ["", f"{'split':<14}{'rational':>9}{'in core':>9}{'targets':>9}  blocking coalition"]
    for a in shown:
        met = [v for v in a.targets_met.values() if v is not None]
        tgt = "-" if not met else ("all" if all(met) else f"{sum(met)}/{len(met)}")
        block = ("+".join(a.blocking) + f" would save {money(a.blocking_gain_gbp)} more alone"
                 if a.blocking else "none")
        if not a.check_exact:
            block += " (check not exact: see below)"
        lines.append(f"{LABELS.get(a.name, a.name):<14}{_yes(a.individually_rational):>9}"
                     f"{_yes(a.in_core):>9}{tgt:>9}  {block}")
    for a in rep.allocations:
        if not a.savings:
            lines.append(f"{LABELS.get(a.name, a.name)}: {a.note}")
    lines.append("")
    for g in rep.groups:
        if len(g.forces) == 1:
            continue
        how = ("every coalition solved" if g.exact else
               f"row generation ({g.rowgen.get('separation_mips')} separation MIPs); Shapley "
               f"from {g.shapley_samples} sampled orders, ±{g.confidence:.0%} interval")
        who = "+".join(g.forces) if len(g.forces) <= 8 else f"{len(g.forces)} forces"
        lines.append(f"Game of {who}: "
                     f"{how}; v(N) = {money(g.v_grand)} (best plan without targets), "
                     f"the plan saves {money(g.plan_total)}; least-core value "
                     f"{money(g.least_core_eps)} "
                     f"({'core empty' if g.core_empty else 'core not empty'}).")
        if g.unproven:
            lines.append(f"  NOT proven optimal ({len(g.unproven)}): "
                         + ", ".join("+".join(c) for c in g.unproven[:5])
                         + " - their values are lower bounds, so a coalition may block by "
                           "more than shown and the game splits rest on them.")
    lines.append(f"Coalition solves: {rep.solves['coalition_solves']} run, "
                 f"{rep.solves['from_cache']} from the cache "
                 f"({rep.solves['cache']}.journal.jsonl).")
    if rep.split:
        lines += ["", f"Split asked for (--plan-rule {rep.split['rule']}): the least-cost plan "
                      "without targets, its savings split by the nucleolus over the splits "
                      "that meet every target."]
        for name, info in rep.split["groups"].items():
            lines.append(f"  {name if len(name) < 60 else 'group'}: {info['verdict']}"
                         + ("" if info.get("exact", True) else " (row generation)"))
    return "\n".join(lines)


def shares_table(rep) -> Table:
    """One row per allocation rule and force: its savings and charge under that rule, the
    target check, and the rule's core checks."""
    money = "GBP over the horizon, present value at the instance's discount rate"
    cols = [Column("allocation"), Column("force"), Column("savings_gbp", money),
            Column("charge_gbp", money), Column("target_gbp", money), Column("target_met"),
            Column("ci_half_width_gbp", money + " (95% interval of a sampled Shapley value)"),
            Column("individually_rational"), Column("in_core"),
            Column("blocking_coalition", "forces joined by '+'"),
            Column("blocking_gain_gbp", money)]
    rows = []
    allocs = [a for a in rep.allocations if a.savings]
    if rep.split and rep.split.get("allocation"):
        allocs.append(rep.split["allocation"])
    for a in allocs:
        for f in rep.forces:
            rows.append([a.name, f, a.savings[f], a.charge[f], rep.targets[f],
                         a.targets_met.get(f), (a.half_width or {}).get(f),
                         a.individually_rational, a.in_core, "+".join(a.blocking),
                         round(a.blocking_gain_gbp, 2)])
    return Table("shares", cols, rows)


@click.command("shares")
@click.argument("instance", type=str)
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@solver_options
@click.option("--plan-rule", type=click.Choice(["core", "least-core"]),
              help="Ask for the least-cost plan whose split is in the core (or the least "
                   "core) with every target checked on that split, not on a fixed rule.")
@click.option("--max-exact", type=click.IntRange(min=1, max=20), default=12, show_default=True,
              help="Groups of at most this many forces get every coalition value solved.")
@click.option("--samples", type=click.IntRange(min=2), default=64, show_default=True,
              help="Random orders for the sampled Shapley value of larger groups.")
@click.option("--cache", type=click.Path(dir_okay=False),
              help="Coalition-value cache (a journal CACHE.journal.jsonl) [default: "
                   "~/.cache/shareplan/shares/coalitions].")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes.")
@click.option("--scheduler", metavar="ADDRESS", help="Solve coalitions on a Dask cluster.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on stdout.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
              help="Write one row per allocation and force to this CSV file.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@guarded
def shares_cmd(instance, plan_file, backend, time_limit, gap, threads, seed, log, plan_rule,
               max_exact, samples, cache, workers, scheduler, as_json, csv_path, quiet):
    """Fair cost shares: each force's split under every rule (demand, equal, key,
    Shapley, nucleolus, least core), with core and target checks. PLAN_FILE: a plan
    from 'solve --out' (default: solve INSTANCE first)."""
    from ..formats.tables import table_bytes
    from ..io import atomic_write_bytes
    from ..models.load import InstanceError, Problem, instance_from_data, load_instance
    from ..solver.checker import check_plan
    from ..solver.run import solve_instance
    from .shares import Solver, analyse, default_cache

    inst, digest = load_instance(_bundled(instance))
    options = make_options(time_limit, gap, threads, seed, log)
    if plan_file:
        from ..cli import _read_plan

        plan = _read_plan(plan_file)
        bad = check_plan(inst, plan)
        if bad:
            raise InstanceError([Problem(v.where, f"{v.rule}: {v.message}") for v in bad[:5]]
                                + [Problem("", "the plan does not check out against the "
                                           "instance; run 'solve check' for every violation")],
                                plan_file, "plan")
        source = plan_file
    else:
        target = inst
        if plan_rule:  # targets are checked on the split, not on the instance's rule
            data = inst.model_dump(mode="json")
            for f in data["forces"]:
                f["savings_target_gbp"] = None
            target = instance_from_data(data, inst.name)
        solved = solve_instance(target, backend, options, digest=digest)
        if not solved.has_solution:  # infeasible: exit 3; no plan in the limits: 4
            click.echo(f"{inst.name}: {solved.status.value}: {solved.message}", err=True)
            sys.exit(exit_code_for(solved.status))
        plan = solved.to_dict()
        source = "least cost without targets" if plan_rule else "solved"
    solver = Solver(backend, options, Path(cache) if cache else default_cache(), workers,
                    scheduler, quiet or as_json)
    rep = analyse(inst, plan, solver, max_exact=max_exact, samples=samples, seed=seed,
                  plan_source=source, plan_rule=plan_rule)
    if csv_path:
        atomic_write_bytes(csv_path, table_bytes(shares_table(rep), ".csv"))
    if as_json:
        click.echo(json.dumps(rep.to_dict(), indent=2, default=str))
    else:
        click.echo(render(rep))
