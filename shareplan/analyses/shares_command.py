"""``solve shares INSTANCE [PLAN]``: the click command and its tables (see :mod:`.shares`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli_common import _bundled, _read_plan, exit_code_for, guarded, make_options, solver_options
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


def render(rep, width: int = 80) -> str:
    """The planner's tables, fitted to ``width``: savings and charges per force and rule,
    then the checks of each split and how the game was solved."""
    import textwrap

    from ..report import table_lines
    from ..reports.briefing import Column, Table

    def para(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent)

    lines = para(f"Cost shares for {rep.instance}: savings over {rep.horizon_years} years, "
                 f"GBP, present values at {rep.discount_rate:.1%} counted as the plan counts "
                 f"them (each unit from its go-live, one-offs in the year they fall); plan "
                 f"{rep.plan_source} ({rep.plan_status}); the instance's own rule is "
                 f"'{rep.rule}'.")
    shown = [a for a in rep.allocations if a.savings]
    if rep.split and rep.split.get("allocation"):
        shown.append(rep.split["allocation"])
    names = {f: short_force_name(rep.names[f]) for f in rep.forces}
    rule_cols = [Column(a.name, LABELS.get(a.name, a.name), "figure") for a in shown]

    def savings_cell(a, f: str) -> str:
        cell = money(a.savings[f])
        if a.half_width:
            cell += f"±{money_text(a.half_width[f], dp=1).lstrip('£')}"
        return cell + ("*" if a.targets_met.get(f) is False else "")

    savings = Table("shares_savings", "Savings (what each force saves against running alone)",
                    [Column("force", "force", "text"), Column("target", "target", "figure"),
                     *rule_cols],
                    [{"force": names[f], "target": money(rep.targets[f]),
                      **{a.name: savings_cell(a, f) for a in shown}} for f in rep.forces],
                    note="* below the force's target")
    charges = Table("shares_charges",
                    "Charges (baseline minus savings: what each force pays over the horizon)",
                    [Column("force", "force", "text"), Column("baseline", "baseline", "figure"),
                     *rule_cols],
                    [{"force": names[f], "baseline": money(rep.baseline[f]),
                      **{a.name: money(a.charge[f]) for a in shown}} for f in rep.forces])
    check_rows = []
    for a in shown:
        met = [v for v in a.targets_met.values() if v is not None]
        block = ("+".join(a.blocking) + f" would save {money(a.blocking_gain_gbp)} more alone"
                 if a.blocking else "none")
        if not a.check_exact:
            block += " (check not exact: see below)"
        check_rows.append({"split": LABELS.get(a.name, a.name),
                           "rational": _yes(a.individually_rational), "core": _yes(a.in_core),
                           "targets": "-" if not met else
                           ("all" if all(met) else f"{sum(met)}/{len(met)}"),
                           "blocking": block})
    checks = Table("shares_checks", "Is each split stable?", [
        Column("split", "split", "text"), Column("rational", "rational", "figure"),
        Column("core", "in core", "figure"), Column("targets", "targets met", "figure"),
        Column("blocking", "blocking coalition", "text")], check_rows,
        note="rational: every force saves at least what it would alone; in core: no group "
             "of forces would save more on its own")
    for t in (savings, charges, checks):
        lines += ["", *table_lines(t, width)]
    for a in rep.allocations:
        if not a.savings:
            lines += para(f"{LABELS.get(a.name, a.name)}: {a.note}")
    lines.append("")
    for g in rep.groups:
        if len(g.forces) == 1:
            continue
        how = ("every coalition solved" if g.exact else
               f"row generation ({g.rowgen.get('separation_mips')} separation MIPs); Shapley "
               f"from {g.shapley_samples} sampled orders, ±{g.confidence:.0%} interval")
        who = "+".join(g.forces) if len(g.forces) <= 8 else f"{len(g.forces)} forces"
        lines += para(f"Game of {who}: {how}; v(N) = {money(g.v_grand)} (best plan without "
                      f"targets), the plan saves {money(g.plan_total)}; least-core value "
                      f"{money(g.least_core_eps)} "
                      f"({'core empty' if g.core_empty else 'core not empty'}).")
        if g.unproven:
            lines += para(f"NOT proven optimal ({len(g.unproven)}): "
                          + ", ".join("+".join(c) for c in g.unproven[:5])
                          + " - their values are lower bounds, so a coalition may block by "
                            "more than shown and the game splits rest on them.", "  ")
    lines += para(f"Coalition solves: {rep.solves['coalition_solves']} run, "
                  f"{rep.solves['from_cache']} from the cache "
                  f"({rep.solves['cache']}.journal.jsonl).")
    if rep.split:
        lines += ["", *para(f"Split asked for (--plan-rule {rep.split['rule']}): the least-cost "
                            "plan without targets, its savings split by the nucleolus over "
                            "the splits that meet every target.")]
        for name, info in rep.split["groups"].items():
            lines += para(f"{name if len(name) < 60 else 'group'}: {info['verdict']}"
                          + ("" if info.get("exact", True) else " (row generation)"), "  ")
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
        from ..report import make_console

        click.echo(render(rep, make_console().width))
