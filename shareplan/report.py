"""A plan in the planner's terms: rich tables on the terminal, CSV files for spreadsheets."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from .io import atomic_write_csv
from .solver.plan import Plan


def money(value: float | None) -> str:
    """£12.3m / £450k / £120 (sign kept)."""
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:,.2f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:,.1f}k"
    return f"{sign}£{v:,.2f}"


def fte(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_plan(plan: Plan, console: Console | None = None) -> None:
    """Status line, shared units, standalone functions, per-force figures, times."""
    con = console or Console(highlight=False)
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
    """units.csv (one row per member of each unit) and forces.csv in ``directory``."""
    directory = Path(directory)
    units_path, forces_path = directory / "units.csv", directory / "forces.csv"
    atomic_write_csv(units_path, ["function", "site", "existing", "force", "fraction",
                                  "member_annual_gbp", "member_one_off_gbp",
                                  "unit_annual_cost_gbp", "unit_one_off_cost_gbp"],
                     [[u.function, u.site, u.existing, m.force, m.fraction, m.annual_gbp,
                       m.one_off_gbp, u.annual_cost_gbp, u.one_off_cost_gbp]
                      for u in plan.units for m in u.members])
    atomic_write_csv(forces_path, ["force", "name", "baseline_gbp", "plan_gbp", "savings_gbp",
                                   "target_gbp", "one_off_gbp", "frontline_fte", "floor_fte"],
                     [[f.force, f.name, f.baseline_gbp, f.plan_gbp, f.savings_gbp, f.target_gbp,
                       f.one_off_gbp, f.frontline_fte, f.floor_fte] for f in plan.forces])
    return [units_path, forces_path]
