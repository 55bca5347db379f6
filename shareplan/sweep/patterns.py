"""Sharing patterns: the signature of a plan's shared units, and readable differences.

A pattern is ``function@site[member+member]`` per shared unit, sorted and joined
by ``; `` (``standalone`` when nothing is shared), so equal plans have equal
patterns. Patterns are lettered A, B, ... in order of first appearance; the first
is spelt out with functions grouped by unit, each later one as what changed from
the pattern lettered before it.
"""

from __future__ import annotations

NO_SHARING = "standalone"


def pattern_of(units) -> str:
    """The pattern of a plan's units (``Unit`` objects of :mod:`shareplan.solver.plan`)."""
    parts = []
    for u in units:
        members = "+".join(m.force if m.fraction >= 1 - 1e-6 else f"{m.force}:{m.fraction:.0%}"
                           for m in sorted(u.members, key=lambda m: m.force))
        parts.append(f"{u.function}@{u.site}[{members}]")
    return "; ".join(sorted(parts)) or NO_SHARING


def letters(patterns) -> dict[str, str]:
    """Pattern -> A, B, ... in order of first appearance (no plan, '': no letter)."""
    out: dict[str, str] = {}
    for p in patterns:
        if p and p not in out:
            k = len(out)
            out[p] = chr(ord("A") + k) if k < 26 else f"P{k + 1}"
    return out


def units_by_function(pattern: str) -> dict[str, tuple[str, ...]]:
    """'custody@wgc[a+b]; hr@k[a+c]' -> {'custody': ('wgc[a+b]',), 'hr': ('k[a+c]',)}."""
    out: dict[str, list[str]] = {}
    if pattern and pattern != NO_SHARING:
        for unit in pattern.split("; "):
            function, _, rest = unit.partition("@")
            out.setdefault(function, []).append(rest)
    return {f: tuple(sorted(u)) for f, u in out.items()}


def _change(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    if not before:
        return "shared at " + " & ".join(after)
    if not after:
        return "back to standalone"
    if len(before) == len(after) == 1:
        (s1, _, m1), (s2, _, m2) = before[0].partition("["), after[0].partition("[")
        if m1 == m2:
            return f"{s1} → {s2} [{m2}"
        if s1 == s2:
            return f"[{m1} → [{m2} at {s1}"
    return " & ".join(before) + " → " + " & ".join(after)


def _grouped(items: dict[str, str]) -> str:
    """{function: text} -> 'f1, f2: text; f3: text2' (functions with one text grouped)."""
    groups: dict[str, list[str]] = {}
    for function, text in items.items():
        groups.setdefault(text, []).append(function)
    return "; ".join(f"{', '.join(fns)}: {text}" for text, fns in groups.items())


def describe(lettered: dict[str, str]) -> dict[str, str]:
    """Letter -> description: the first in full, the others as changes from the one before."""
    out: dict[str, str] = {}
    prev: tuple[str, dict] | None = None
    for pattern, letter in lettered.items():
        units = units_by_function(pattern)
        if prev is None:
            text = _grouped({f: " & ".join(u) for f, u in units.items()}) or "nothing shared"
        else:
            old = prev[1]
            diff = {f: _change(old.get(f, ()), units.get(f, ()))
                    for f in sorted(set(old) | set(units)) if old.get(f, ()) != units.get(f, ())}
            text = f"= {prev[0]}, but " + _grouped(diff)
        out[letter] = text
        prev = (letter, units)
    return out
