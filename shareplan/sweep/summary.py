"""What a finished sweep prints: counts, statuses, and each sharing pattern's range."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..report import money
from .journal import journal_path
from .patterns import describe, letters


def _value(path: str, v) -> str:
    if v is None or v != v:  # NaN
        return "-"
    return money(v) if path.endswith("_gbp") else f"{v:g}"


def _span(path: str, values) -> str:
    values = sorted(v for v in values if v == v)
    if not values:
        return "-"
    lo, hi = values[0], values[-1]
    return _value(path, lo) if lo == hi else f"{_value(path, lo)} to {_value(path, hi)}"


def print_summary(df, paths: list[str], outcome, out: str, plot_path: str | None,
                  console: Console | None = None) -> None:
    con = console or Console(highlight=False)
    run_sum = df["run_s"].fillna(0).sum()
    where = (f"on {outcome.workers} worker{'s' if outcome.workers != 1 else ''}"
             if outcome.workers else "on the Dask cluster")
    con.print(f"sweep: {len(df)} scenarios in {outcome.wall_s:.1f} s: {outcome.ran} run now "
              f"{where}, {outcome.reused} from the journal (their own times add up to "
              f"{run_sum:.1f} s)")
    counts = df["status"].value_counts()
    con.print("status: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lettered = letters(df.sort_values("scenario")["pattern"])
    if lettered:
        text = describe(lettered)
        table = Table(title="Sharing patterns", title_justify="left", show_lines=False)
        table.add_column("", style="bold")
        table.add_column("scenarios", justify="right")
        for p in paths:
            table.add_column(p, overflow="fold")
        table.add_column("shared units: functions: host[members]", overflow="fold")
        for pattern, letter in lettered.items():
            rows = df[df["pattern"] == pattern]
            table.add_row(letter, str(len(rows)), *[_span(p, rows[p]) for p in paths],
                          escape(text[letter]))
        con.print(table)
    failed = df[df["status"] == "error"]
    for _, r in failed.head(5).iterrows():
        con.print(f"[red]scenario {r['scenario']} failed:[/red] {escape(r['error'])}")
    if len(failed) > 5:
        con.print(f"... {len(failed) - 5} more failed (see the error column)")
    wrote = f"wrote {out} ({len(df)} rows)" + (f" and {plot_path}" if plot_path else "")
    con.print(f"{wrote}; journal {journal_path(out)}")
