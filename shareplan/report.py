"""A plan in the planner's terms: rich tables on the terminal, CSV files for spreadsheets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .io import atomic_write_files, csv_bytes
from .solver.plan import Plan
from .text import money as text_money


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Output piped into `head` and closed early: print the rest to nowhere and keep the
        plan's exit code (rich would exit 1, which here means an internal error)."""
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def make_console() -> Console:
    """Rich console; 120 columns when not a terminal so piped tables stay legible."""
    return _Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def money(value: float | None) -> str:
    """Table money: £1,836.29m / £450.0k / £120.00."""
    if value is not None and abs(value) >= 1e6:
        return text_money(value, dp=2)
    return text_money(value)


def fte(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_plan(plan: Plan, console: Console | None = None) -> None:
    """Status line, shared units, standalone functions, per-force figures, times."""
    con = console or make_console()
    gap = "-" if plan.gap is None else f"{plan.gap:.2e}"
    con.print(f"[bold]{plan.instance_name}[/bold]: [bold]{plan.status.value}[/bold] "
              f"({plan.backend}: {plan.solver.get('name', '')} {plan.solver.get('version', '')})")
    if plan.message and not plan.explanation:
        con.print(plan.message)
    years = f"{plan.horizon_years} year" + ("s" if plan.horizon_years != 1 else "")
    con.print(f"objective (total cost over {years}): {money(plan.objective)}"
              f"   bound: {money(plan.bound)}   gap: {gap}")
    if plan.has_solution:
        units = Table(title="Shared units", title_justify="left")
        for col in ("function", "host site", "members", "annual cost", "one-off cost"):
            units.add_column(col, justify="right" if "cost" in col else "left")
        for u in plan.units:
            members = ", ".join(m.force if m.fraction >= 1 - 1e-9 else
                                f"{m.force} {m.fraction:.0%}" for m in u.members)
            units.add_row(u.function + (" (existing)" if u.existing else ""), u.site, members,
                          money(u.annual_cost_gbp), money(u.one_off_cost_gbp))
        if plan.units:
            con.print(units)
        else:
            con.print("No function is shared: every force runs every function alone.")
        forces = Table(title=f"Forces (over {years})", title_justify="left")
        for col in ("force", "baseline", "plan", "savings", "target", "one-off",
                    "frontline FTE", "floor FTE"):
            forces.add_column(col, justify="left" if col == "force" else "right")
        for f in plan.forces:
            forces.add_row(f.name, money(f.baseline_gbp), money(f.plan_gbp), money(f.savings_gbp),
                           money(f.target_gbp), money(f.one_off_gbp), fte(f.frontline_fte),
                           fte(f.floor_fte))
        con.print(forces)
    for item in plan.explanation:
        con.print(f"- {item['message']}")
    t = plan.times
    con.print(f"times: build {t.get('build_s', 0):.2f} s, solve {t.get('solve_s', 0):.2f} s, "
              f"total {t.get('total_s', 0):.2f} s")


def write_csv(plan: Plan, directory: str | Path) -> list[Path]:
    """units.csv (one row per member of each unit) and forces.csv in ``directory``, both
    written before either replaces the old one (a full disk leaves both old)."""
    directory = Path(directory)
    units_path, forces_path = directory / "units.csv", directory / "forces.csv"
    atomic_write_files({
        units_path: csv_bytes(["function", "site", "existing", "force", "fraction",
                               "member_annual_gbp", "member_one_off_gbp",
                               "unit_annual_cost_gbp", "unit_one_off_cost_gbp"],
                              [[u.function, u.site, u.existing, m.force, m.fraction,
                                m.annual_gbp, m.one_off_gbp, u.annual_cost_gbp,
                                u.one_off_cost_gbp]
                               for u in plan.units for m in u.members]),
        forces_path: csv_bytes(["force", "name", "baseline_gbp", "plan_gbp", "savings_gbp",
                                "target_gbp", "one_off_gbp", "frontline_fte", "floor_fte"],
                               [[f.force, f.name, f.baseline_gbp, f.plan_gbp, f.savings_gbp,
                                 f.target_gbp, f.one_off_gbp, f.frontline_fte, f.floor_fte]
                                for f in plan.forces]),
    })
    return [units_path, forces_path]


def print_comparison(name: str, plans: list[dict], reference: str, diffs: dict,
                     disagreements: list, console: Console | None = None) -> None:
    """One row per backend: status, objective, bound, gap, times; then plan differences."""
    con = console or make_console()
    table = Table(title=f"{name}: backends side by side", title_justify="left")
    for col in ("backend", "solver", "status", "objective", "bound", "gap", "build s",
                "solve s"):
        table.add_column(col, justify="left" if col in ("backend", "solver", "status")
                         else "right")
    for p in plans:
        t = p.get("times") or {}
        solver = p.get("solver") or {}
        gap = "-" if p.get("gap") is None else f"{p['gap']:.1e}"
        table.add_row(p["backend"], solver.get("name", ""),
                      p["status"], money(p.get("objective")), money(p.get("bound")), gap,
                      f"{t.get('build_s', 0):.3f}", f"{t.get('solve_s', 0):.3f}")
    con.print(table)
    for p in plans:
        if p.get("message"):
            con.print(f"{p['backend']}: {p['message']}")
    for backend, changes in diffs.items():
        if changes:
            con.print(f"plan of {backend} differs from {reference}'s:")
            for line in changes:
                con.print(f"  - {line}")
        else:
            con.print(f"plan of {backend}: same units as {reference}'s")
    for a, b, d in disagreements:
        con.print(f"[bold red]DISAGREE[/bold red]: {a} and {b} both claim optimal, "
                  f"objectives differ by {money(d)}")
    if not disagreements:
        con.print("proven optima agree within tolerance")


def print_diff(diff, label_a: str, label_b: str, console: Console | None = None) -> None:
    """The planner's summary of two plans: sharing changes, then each force's figures."""
    con = console or make_console()
    if not diff.same_instance:
        con.print("[yellow]note[/yellow]: the plans were made from different instance files")
    con.print(f"From {label_a} to {label_b}:")
    if diff.identical:
        con.print("  the same functions are shared by the same forces at the same sites")
    for line in diff.changes:
        con.print(f"  - {line}")
    table = Table(title="Forces", title_justify="left")
    for col in ("force", "savings A", "savings B", "change", "frontline A", "frontline B"):
        table.add_column(col, justify="left" if col == "force" else "right")
    for f in diff.forces:
        a, b = f["savings_a"], f["savings_b"]
        change = money(b - a) if a is not None and b is not None else "-"
        table.add_row(f["name"], money(a), money(b), change, fte(f["frontline_a"]),
                      fte(f["frontline_b"]))
    con.print(table)
    for p in diff.provenance:
        con.print(f"{p['plan']}: {p['instance']} ({(p['instance_sha256'] or '')[:12]}), "
                  f"{p['backend']} {p['solver']}, status {p['status']}, "
                  f"objective {money(p['objective'])}, options {p['options']}")
