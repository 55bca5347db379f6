"""Figures in planners' words, shared by reports, explanations and the checker (no imports)."""

from __future__ import annotations


def money(value: float | None, dp: int = 1) -> str:
    """£24.1m / £350.0k / £12.50 (sign kept; ``dp`` decimals on millions and thousands)."""
    if value is None:
        return "-"
    sign, v = ("-" if value < 0 else ""), abs(value)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:,.{dp}f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:,.{dp}f}k"
    return f"{sign}£{v:,.2f}"


def year_label(first_financial_year: int | None, k: int) -> str:
    """'2015/16' for horizon year k (1-based) when the plan knows its first year, else
    'year 2'."""
    if first_financial_year is None:
        return f"year {k}"
    y = first_financial_year + k - 1
    return f"{y}/{(y + 1) % 100:02d}"


def go_live_label(first_financial_year: int | None, point: float) -> str:
    """A go-live point of the horizon clock in planner words: '2015/16 + 67%' or '2016/17'."""
    k = int(point)
    part = point - k
    return year_label(first_financial_year, k) + (f" + {part:.0%}" if part > 1e-9 else "")
