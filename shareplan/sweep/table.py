"""One row per scenario: its parameters, what the solve found, the sharing pattern.

Columns, in order: ``scenario``; ``varied`` (one at a time only); one column per
``--vary`` path, named by the path; ``status``, ``objective_gbp``, ``gap``,
``savings_total_gbp``, ``savings_<force>_gbp`` and ``frontline_<force>_fte`` per
force, ``pattern`` (e.g. ``custody@welwyn_garden_city[beds+herts]; hr@kempston[beds+cambs+herts]``,
``standalone`` when nothing is shared), ``message``, ``error`` and ``run_s``
(the scenario's own time: load, build, solve). Written atomically; the format
follows the suffix of the output (.csv, .parquet or .xlsx).
"""

from __future__ import annotations

import math
from pathlib import Path

from .patterns import pattern_of


def _num(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _money(value) -> float | None:
    value = _num(value)
    return None if value is None else round(value, 2)


def result_from_plan(plan) -> dict:
    """The JSON-safe figures of a plan a sweep keeps."""
    has = plan.has_solution
    return {
        "status": plan.status.value,
        "objective_gbp": _money(plan.objective) if has else None,
        "gap": _num(plan.gap) if has else None,
        "savings_gbp": {f.force: _num(f.savings_gbp) for f in plan.forces} if has else {},
        "frontline_fte": {f.force: _num(f.frontline_fte) for f in plan.forces} if has else {},
        "pattern": pattern_of(plan.units) if has else "",
        "message": plan.message or "",
        "error": "",
    }


def columns(paths: list[str], forces: list[str], one_at_a_time: bool) -> list[str]:
    return (["scenario"] + (["varied"] if one_at_a_time else []) + list(paths)
            + ["status", "objective_gbp", "gap", "savings_total_gbp"]
            + [f"savings_{f}_gbp" for f in forces] + [f"frontline_{f}_fte" for f in forces]
            + ["pattern", "message", "error", "run_s"])


def row(scenario, result: dict, forces: list[str], one_at_a_time: bool) -> dict:
    savings = result.get("savings_gbp") or {}
    frontline = result.get("frontline_fte") or {}
    out: dict = {"scenario": scenario.index}
    if one_at_a_time:
        out["varied"] = scenario.varied
    out.update(scenario.params)
    total = [savings.get(f) for f in forces]
    out.update({
        "status": result.get("status", "error"),
        "objective_gbp": result.get("objective_gbp"),
        "gap": result.get("gap"),
        "savings_total_gbp": (round(sum(total), 2) if total and None not in total else None),
        **{f"savings_{f}_gbp": savings.get(f) for f in forces},
        **{f"frontline_{f}_fte": frontline.get(f) for f in forces},
        "pattern": result.get("pattern", ""),
        "message": result.get("message", ""),
        "error": result.get("error", ""),
        "run_s": result.get("run_s"),
    })
    return out


def table_of(results, paths: list[str], forces: list[str], one_at_a_time: bool):
    """The DataFrame of a sweep: ``results`` as :class:`.runner.Outcome` holds them."""
    return frame([row(sc, result, forces, one_at_a_time) for sc, result in results],
                 columns(paths, forces, one_at_a_time))


def frame(rows: list[dict], cols: list[str]):
    """A pandas DataFrame with the columns in order (numbers as floats, text as text)."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=cols)
    for c in ("pattern", "message", "error", "status") + (("varied",) if "varied" in cols
                                                          else ()):
        df[c] = df[c].fillna("").astype(str)
    return df


def units_of(cols: list[str]) -> dict[str, str]:
    """The unit of each sweep column, by its name."""
    money = "GBP over the horizon, present value at the scenario's discount rate"
    out = {}
    for c in cols:
        if c.endswith("_gbp"):
            out[c] = money
        elif c.endswith("_fte"):
            out[c] = "frontline officers, FTE, under the plan"
        elif c == "run_s":
            out[c] = "seconds (load, build, solve)"
        elif c == "gap":
            out[c] = "relative"
    return out


def write_table(df, out: str | Path) -> None:
    """CSV, Parquet or an Excel workbook by suffix, written atomically."""
    from ..formats.tables import write_table as write_by_suffix

    write_by_suffix(df, out, sheet="sweep", units=units_of([str(c) for c in df.columns]))
