"""Near-optimal alternatives in the planner's terms: terminal tables, CSV files, plan files."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from ..formats.tables import write_tables
from ..io import atomic_write_json
from ..report import fte, make_console, money
from ..tables import Column
from ..tables import Table as DataTable
from .alternatives import (
    COMPLETE,
    REACHED_N,
    SOLVER_ERROR,
    TIME_LIMIT,
    UNPROVEN,
    AlternativesResult,
)

#: Up to this many forces the tables show a column per force.
WIDEST = 6


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"


def slack_sentence(r: AlternativesResult) -> str:
    """What the slack is measured against, in pounds."""
    years = f"{r.horizon_years} year" + ("s" if r.horizon_years != 1 else "")
    if r.basis == "decisions":
        what = (f"{_pct(r.slack)} of the part of the cost that decisions change "
                f"({money(abs(r.optimum_gbp - r.fixed_gbp))}: the least cost against the "
                f"{money(r.fixed_gbp)} no decision changes, i.e. local policing plus every "
                "function each force may run alone, at standalone cost)")
    else:
        what = f"{_pct(r.slack)} of the least total cost"
    return (f"slack: {what} = {money(r.budget_gbp)} over {years}; every plan below costs at "
            f"most {money(r.cap_gbp)}")


def search_sentence(r: AlternativesResult, n: int) -> str:
    found = r.n_summarised
    kept = f" that keeps {', '.join(r.keep_local)} local" if r.keep_local else ""
    if r.search == COMPLETE:
        return (f"search complete: these {found} are every distinct plan within the slack{kept}"
                if found else f"search complete: no plan within the slack{kept}")
    return {REACHED_N: f"search stopped at --n {n}: more distinct plans may lie within the slack",
            TIME_LIMIT: f"search stopped by the time limit after {len(r.alternatives)} plan(s): "
                        "more may lie within the slack",
            UNPROVEN: f"search stopped after {len(r.alternatives)} plan(s): the solver found no "
                      "other plan within the slack but cannot prove there is none",
            SOLVER_ERROR: "search stopped by a solver failure",
            }.get(r.search, r.search)


#: Column heading of the direction's value per plan.
DIRECTION_VALUE = {"fewest_units": "units at {}", "most_units": "units at {}",
                   "even_spread": "spread of hosted units", "closest": "decisions from the plan"}


def print_alternatives(r: AlternativesResult, n: int, console: Console | None = None) -> None:
    con = console or make_console()
    con.print(f"[bold]{r.instance_name}[/bold]: {len(r.alternatives)} plan(s) within the slack "
              f"({r.backend}); least cost {money(r.optimum_gbp)} "
              f"([bold]{r.optimum_status.value}[/bold], bound {money(r.bound_gbp)})")
    if r.optimum_gbp is None or not r.alternatives:
        con.print(r.message)
        return
    con.print(slack_sentence(r))
    con.print(f"plans chosen: {r.direction.describe()}"
              + (f"; keeping {', '.join(r.keep_local)} local" if r.keep_local else ""))
    con.print(search_sentence(r, n))
    if r.message:
        con.print(r.message)
    forces = r.alternatives[0].plan.forces
    wide = len(forces) <= WIDEST
    table = Table(title="Plans (money over the horizon; 0 = the least-cost plan)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    per_force = [f"extra {f.force}" for f in forces] if wide else ["most extra (force)",
                                                                   "most saved (force)"]
    direction = DIRECTION_VALUE.get(r.direction.kind, "").format(r.direction.target)
    rows = []
    for a in r.alternatives:
        if wide:
            cells = [money(a.extra_by_force[f.force]) for f in forces]
        else:
            worst = max(a.extra_by_force, key=a.extra_by_force.get)
            best = min(a.extra_by_force, key=a.extra_by_force.get)
            cells = [f"{money(a.extra_by_force[worst])} ({worst})",
                     f"{money(-a.extra_by_force[best])} ({best})"]
        value = [] if not direction else [
            "-" if a.direction_value is None else f"{a.direction_value + 0.0:g}"]
        rows.append([str(a.rank), money(a.plan.objective), money(a.extra_gbp), *cells,
                     str(a.distance), *value,
                     a.note + ("" if a.meets_constraints else " (breaks --keep-local)")])
    heads = ("#", "total cost", "extra", *per_force, "changes",
             *([direction] if direction else []), "note")
    for k, col in enumerate(heads):  # headers wrap, figures never do
        table.add_column(col, justify="left" if col == "note" else "right",
                         min_width=None if col == "note" else max(len(r_[k]) for r_ in rows))
    for row in rows:
        table.add_row(*row)
    con.print(table)
    if wide:
        figures = Table(title="Each force's savings against its status quo, and frontline "
                        "officers", title_justify="left")
        figures.add_column("#", justify="right")
        for f in forces:
            figures.add_column(f"{f.force} savings", justify="right")
            figures.add_column(f"{f.force} FTE", justify="right")
        for a in r.alternatives:
            figures.add_row(str(a.rank), *[v for f in a.plan.forces
                                           for v in (money(f.savings_gbp),
                                                     fte(f.frontline_fte))])
        con.print(figures)
    else:
        con.print(f"({len(forces)} forces: each force's extra cost, savings and frontline "
                  "officers per plan are in --csv alternatives.csv and --json)")
    for a in r.alternatives[1:]:
        con.print(f"#{a.rank} against the least-cost plan (+{money(a.extra_gbp)}):")
        for line in a.changes or ["the same units (ties in cost)"]:
            con.print(f"  - {line}")
    if r.summary:
        con.print(f"Firm and open decisions {r.scope()}:")
    for s in sorted(r.summary, key=lambda s: not s.firm):
        con.print(f"  {s.text}")
    con.print("Money: GBP over the horizon, present values at the instance's discount rate, "
              "as every plan counts them (each unit from its go-live, one-offs in the year "
              "they fall).")
    t = r.times
    con.print(f"times: build {t.get('build_s', 0):.2f} s, solves {t.get('solve_s', 0):.2f} s, "
              f"total {t.get('total_s', 0):.2f} s")


def tables(r: AlternativesResult) -> list[DataTable]:
    """alternatives (one row per plan and force), decisions (per function and force) and
    changes (what differs from the least-cost plan)."""
    money = (f"GBP over the {r.horizon_years}-year horizon, present value at the instance's "
             "discount rate")
    plans = DataTable("alternatives", [
        Column("rank", "0 = the least-cost plan"), Column("total_cost_gbp", money),
        Column("extra_gbp", money), Column("force"), Column("plan_gbp", money),
        Column("extra_force_gbp", money), Column("savings_gbp", money),
        Column("target_gbp", money), Column("frontline_fte", "frontline officers, FTE"),
        Column("floor_fte", "frontline officers, FTE"),
        Column("decisions_changed", "unit decisions that differ from the least-cost "
                                    "plan's"), Column("note")],
        [[a.rank, a.plan.objective, round(a.extra_gbp, 2), f.force, f.plan_gbp,
          round(a.extra_by_force[f.force], 2), f.savings_gbp, f.target_gbp, f.frontline_fte,
          f.floor_fte, a.distance, a.note] for a in r.alternatives for f in a.plan.forces])
    decisions = DataTable("decisions", [
        Column("function"), Column("function_firm"), Column("force"), Column("force_firm"),
        Column("choice"), Column("plans", "ranks of the plans that make this choice")],
        [[s.function, s.firm, f["force"], f["firm"], choice, " ".join(map(str, ranks))]
         for s in r.summary for f in s.forces for choice, ranks in f["choices"].items()])
    changes = DataTable("changes", [Column("rank"), Column("change")],
                    [[a.rank, line] for a in r.alternatives for line in a.changes])
    return [plans, decisions, changes]


def write_csv(r: AlternativesResult, directory: str | Path) -> list[Path]:
    """alternatives.csv, decisions.csv and changes.csv (see :func:`tables`)."""
    return write_tables({Path(directory) / f"{t.name}.csv": t for t in tables(r)})


def write_plans(r: AlternativesResult, directory: str | Path) -> list[Path]:
    """plan-00.json (the least-cost plan), plan-01.json, ...: ordinary plan files."""
    directory = Path(directory)
    paths = []
    for a in r.alternatives:
        path = directory / f"plan-{a.rank:02d}.json"
        atomic_write_json(path, a.plan.to_dict())
        paths.append(path)
    return paths
