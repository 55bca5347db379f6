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
