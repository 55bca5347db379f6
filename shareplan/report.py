"""A plan in the planner's terms: the briefing on the terminal (fitted to its width), CSV
files for spreadsheets, comparisons and diffs."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from .formats.tables import write_tables
from .reports.briefing import Briefing
from .reports.briefing import Table as BriefTable
from .solver.plan import Plan
from .tables import Column
from .tables import Table as DataTable
from .text import money as text_money

if TYPE_CHECKING:
    from .analyses.compare import Comparison


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Output piped into `head` and closed early: print the rest to nowhere and keep the
        plan's exit code (rich would exit 1, which here means an internal error)."""
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def make_console() -> Console:
    """Rich console: the terminal's width, or $COLUMNS, or 120 columns when piped."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return _Console(highlight=False, width=width)


def money(value: float | None) -> str:
    """Table money: £1,836.29m / £450.0k / £120.00."""
    if value is not None and abs(value) >= 1e6:
        return text_money(value, dp=2)
    return text_money(value)


def fte(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_plan(plan: Plan, briefing: Briefing | None = None,
               console: Console | None = None) -> None:
    """The plan as a briefing (see :mod:`shareplan.reports.briefing`), fitted to the width.

    Without a briefing (no instance at hand) only the model's figures are printed."""
    con = console or make_console()
    width = con.width
    if briefing is None:
        con.print(f"{plan.instance_name}: {plan.status.value}", markup=False)
        if plan.message:
            con.print(plan.message, markup=False)
        return
    for line in briefing_lines(briefing, width):
        con.print(line, markup=False, highlight=False, soft_wrap=True)


def briefing_lines(b: Briefing, width: int = 80) -> list[str]:
    """Every section of the briefing as text lines of at most ``width`` characters.

    Tables that do not fit wrap their text columns, then stack each row as
    ``label: value`` lines; figures are never cut."""
    out: list[str] = []
    out += textwrap.wrap(b.headline, width) or [b.headline]
    out += textwrap.wrap(b.accounting["text"], width)
    for msg in b.messages:
        out += textwrap.wrap(msg, width, initial_indent="- ", subsequent_indent="  ")
    if b.has_solution:
        out.append("")
        out += _section(b.summary, width, key_value=True)
        for t in b.tables:
            if not t.rows and t.name in ("units", "unshared", "years"):
                if t.name == "units":
                    out += ["", "No function is shared: every force runs every function "
                            "alone."]
                continue
            out.append("")
            out += _section(t, width)
    if b.solver is not None:
        out += ["", b.solver.title, "-" * len(b.solver.title)]
        rows = {r["figure"].split(" (")[0]: r for r in b.solver.rows}
        money_of = lambda key: format_value(rows[key]["value"], "gbp")  # noqa: E731
        out += textwrap.wrap(
            f"objective (total cost, {b.accounting['horizon_basis']}, local policing "
            f"included): {money_of('objective')}   bound: {money_of('bound')}   "
            f"gap: {rows['gap']['value']}", width, subsequent_indent="  ")
        out += textwrap.wrap(f"times: {rows['times']['value']}", width,
                             subsequent_indent="  ")
    return out


def format_value(value, kind: str) -> str:
    """A figure as the briefing prints it (money in GBP with m/k, FTE with 1 dp)."""
    if kind == "years":
        return "never" if value is None else ("none" if value == 0 else f"{value:,.1f} y")
    if value is None:
        return "-"
    if kind == "gbp":
        return money(value)
    if kind == "fte":
        return fte(value)
    if kind == "pct":
        return f"{value:.2%}".replace(".00%", "%")
    if kind == "flag":
        return "yes" if value else ""
    if kind == "figure":  # already formatted by the caller: aligned right, never wrapped
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _cells(t: BriefTable) -> list[list[str]]:
    rows = []
    for r in t.rows:
        cells = []
        for c in t.columns:
            kind = r.get("kind", "text") if c.kind == "value" else c.kind
            text = format_value(r.get(c.key), kind)
            if c.key in ("function_name", "name") and r.get("existing"):
                text += " (existing)"
            cells.append(text)
        rows.append(cells)
    return rows


def table_lines(t: BriefTable, width: int = 80) -> list[str]:
    """A titled table fitted to ``width`` (text wraps, figures stay whole), then its note."""
    return _section(t, width)


def _section(t: BriefTable, width: int, key_value: bool = False) -> list[str]:
    out = [t.title, "-" * min(width, len(t.title))]
    cells = _cells(t)
    if key_value:  # figure, value, unit: "figure ..... value  unit"
        fw = min(max(len(r[0]) for r in cells), width // 2) if cells else 0
        vw = max((len(r[1]) for r in cells), default=0)
        for fig, value, unit in cells:
            line = f"{fig.ljust(fw)}  {value.rjust(vw)}"
            if len(line) > width:
                line = f"{fig}\n{' ' * (fw + 2)}{value}"
            if unit and len(line.split(chr(10))[-1]) + 2 + len(unit) <= width:
                out += f"{line}  {unit}".split("\n")
            else:
                out += line.split("\n")
                if unit:
                    pad = " " * (fw + vw + 4 if fw + vw + 4 < width // 2 else 4)
                    out += textwrap.wrap(unit, width, initial_indent=pad,
                                         subsequent_indent=pad)
        return out if t.name == "summary" else out + _note(t, width)
    return out + _fitted(t, cells, width) + _note(t, width)


def _fitted(t: BriefTable, cells: list[list[str]], width: int) -> list[str]:
    """The table whole if it fits; else its columns in two or three parts (each led by
    the first column); else one block per row."""
    grid = _grid(t, cells, width)
    if grid is not None:
        return grid
    rest = list(range(1, len(t.columns)))
    for parts in (2, 3):
        size = -(-len(rest) // parts)
        chunks = [[0, *rest[k:k + size]] for k in range(0, len(rest), size)]
        grids = [_grid(BriefTable(t.name, t.title, [t.columns[j] for j in chunk], []),
                       [[r[j] for j in chunk] for r in cells], width) for chunk in chunks]
        if all(g is not None for g in grids):
            return [line for k, g in enumerate(grids) for line in ([""] if k else []) + g]
    return _stacked(t, cells, width)


def _note(t: BriefTable, width: int) -> list[str]:
    return textwrap.wrap(t.note, width, initial_indent="  ", subsequent_indent="  ") \
        if t.note else []


def _grid(t: BriefTable, cells: list[list[str]], width: int) -> list[str] | None:
    """Columns side by side, text wrapped, numbers whole; None if it cannot fit."""
    numeric = [c.kind not in ("text",) for c in t.columns]
    widths = []
    for k, c in enumerate(t.columns):
        longest_word = max((len(w) for w in c.label.split()), default=1)
        values = [len(r[k]) for r in cells]
        widths.append(max([longest_word, *values]) if numeric[k]
                      else max([len(c.label), *values]))
    sep = 2
    total = lambda: sum(widths) + sep * (len(widths) - 1)  # noqa: E731
    text_cols = [k for k, n in enumerate(numeric) if not n]
    while total() > width and text_cols:
        k = max(text_cols, key=lambda j: widths[j])
        floor = max(12, max((len(w) for r in cells for w in r[k].split()), default=1))
        if widths[k] <= floor:
            text_cols.remove(k)
            continue
        widths[k] = max(floor, widths[k] - (total() - width))
    if total() > width:
        return None

    def render(row: list[str]) -> list[str]:
        parts = [textwrap.wrap(v, widths[k]) or [""] if not numeric[k] or len(v) > widths[k]
                 else [v] for k, v in enumerate(row)]
        lines = []
        for j in range(max(len(p) for p in parts)):
            segs = []
            for k, p in enumerate(parts):
                v = p[j] if j < len(p) else ""
                segs.append(v.rjust(widths[k]) if numeric[k] else v.ljust(widths[k]))
            lines.append((" " * sep).join(segs).rstrip())
        return lines

    return render([c.label for c in t.columns]) + ["  ".join("-" * w for w in widths)] + [
        line for r in cells for line in render(r)]


def _stacked(t: BriefTable, cells: list[list[str]], width: int) -> list[str]:
    """One block per row: the first column as its heading, then label: value pairs."""
    out = []
    for r in cells:
        out += textwrap.wrap(r[0], width) or [""]
        pairs = [f"{c.label}: {v}" for c, v in zip(t.columns[1:], r[1:])]
        line = " "
        for p in pairs:
            if len(line) + 2 + len(p) > width and line.strip():
                out.append(line.rstrip())
                line = " "
            if len(p) + 2 > width:  # a long text value wraps on its own lines
                out += textwrap.wrap(p, width, initial_indent="  ", subsequent_indent="    ")
                continue
            line += " " + p
        if line.strip():
            out.append(line.rstrip())
    return out


def briefing_tables(b: Briefing) -> list[DataTable]:
    """briefing_<table> per briefing table (figures in raw units: GBP, FTE, years) and
    briefing_columns naming the unit of every column (money says whether discounted)."""
    tables, units = [], []
    for t in [b.summary, *b.tables] + ([b.solver] if b.solver else []):
        keys = [c.key for c in t.columns]
        extra = list(dict.fromkeys(k for r in t.rows for k in r if k not in keys))
        cols = [Column(c.key, c.unit or "") for c in t.columns] + [Column(k) for k in extra]
        tables.append(DataTable(f"briefing_{t.name}", cols,
                            [[r.get(c.name) for c in cols] for r in t.rows]))
        units += [[t.name, c.key, c.label, c.unit] for c in t.columns]
    tables.append(DataTable("briefing_columns", [Column("table"), Column("column"),
                                                 Column("label"), Column("unit")], units))
    return tables


def write_csv(plan: Plan, directory: str | Path, briefing: Briefing | None = None
              ) -> list[Path]:
    """The plan's CSV folder: one file per table of the plan (units.csv, forces.csv,
    yearly.csv, unit_years.csv: see :meth:`Plan.tables`) and, when a briefing is given,
    per briefing table; every file written before any replaces its old one (a full disk
    leaves all of them old)."""
    directory = Path(directory)
    tables = plan.tables() + (briefing_tables(briefing) if briefing is not None else [])
    return write_tables({directory / f"{t.name}.csv": t for t in tables})


def print_comparison(c: Comparison, console: Console | None = None) -> None:
    """One row per backend: status, objective, bound, gap, times; then plan differences."""
    con = console or make_console()
    table = Table(title=f"{c.instance_name}: backends side by side", title_justify="left")
    for col in ("backend", "solver", "status", "objective", "bound", "gap", "build s",
                "solve s"):
        table.add_column(col, justify="left" if col in ("backend", "solver", "status")
                         else "right")
    for p in c.plans:
        gap = "-" if p.gap is None else f"{p.gap:.1e}"
        table.add_row(p.backend, p.solver.get("name", ""), p.status.value, money(p.objective),
                      money(p.bound), gap, f"{p.times.get('build_s', 0):.3f}",
                      f"{p.times.get('solve_s', 0):.3f}")
    con.print(table)
    for p in c.plans:
        if p.message:
            con.print(f"{p.backend}: {p.message}")
    for backend, changes in c.diffs.items():
        if changes:
            con.print(f"plan of {backend} differs from {c.reference}'s:")
            for line in changes:
                con.print(f"  - {line}")
        else:
            con.print(f"plan of {backend}: same units as {c.reference}'s")
    for a, b, d in c.disagreements:
        con.print(f"[bold red]DISAGREE[/bold red]: {a} and {b} both claim optimal, "
                  f"objectives differ by {money(d)}")
    if not c.disagreements:
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
