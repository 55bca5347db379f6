"""Firm and open decisions over a set of near-optimal plans (see alternatives.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..solver.plan import Plan
    from .alternatives import AlternativesResult


@dataclass
class FunctionSummary:
    """Whether one function's arrangement is the same in every plan, and what varies."""

    function: str
    firm: bool
    arrangements: list[dict]  # {"units": {site: members}, "plans": [ranks]}
    forces: list[dict]  # {"force", "firm", "choices": {site or "alone": [ranks]}}
    text: str


def _units_of(plan: Plan, function: str) -> dict[str, list[str]]:
    return {u.site: sorted(m.force for m in u.members) for u in plan.units
            if u.function == function}


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plans(ranks: list[int]) -> str:
    return f"{len(ranks)} plan" + ("s" if len(ranks) != 1 else "")


def summarise(result: AlternativesResult, force_ids: list[str], function_ids: list[str]
              ) -> list[FunctionSummary]:
    """Per function: one arrangement in every plan (firm), or the arrangements and each
    force's choices with the plans (ranks) that make them (open).

    Over the plans that keep the --keep-local rules; what they speak for is
    :meth:`AlternativesResult.scope`.
    """
    alts = [a for a in result.alternatives if a.meets_constraints]
    if not alts:
        return []
    names = {f.force: f.name for f in result.alternatives[0].plan.forces}
    out = []
    for s in function_ids:
        arrangements: dict[tuple, list[int]] = {}
        choices: dict[str, dict[str, list[int]]] = {f: {} for f in force_ids}
        for a in alts:
            units = _units_of(a.plan, s)
            key = tuple(sorted((site, tuple(ms)) for site, ms in units.items()))
            arrangements.setdefault(key, []).append(a.rank)
            for f in force_ids:
                sites = sorted(site for site, ms in units.items() if f in ms)
                choices[f].setdefault("+".join(sites) or "alone", []).append(a.rank)
        firm = len(arrangements) <= 1
        if firm:
            key = next(iter(arrangements), ())
            text = (f"{s}: firm: " + "; ".join(
                f"shared at {site} by {_join([names.get(m, m) for m in ms])}" for site, ms in key)
                if key else f"{s}: firm: not shared (every force runs it alone)")
        else:
            hosts: dict[str, list[int]] = {}
            for key, ranks in arrangements.items():
                label = "+".join(site for site, _ in key) or "not shared"
                hosts.setdefault(label, []).extend(ranks)
            parts = [("hosted at " + next(iter(hosts)) + " in every plan") if len(hosts) == 1
                     else "host free: " + ", ".join(f"{h} ({_plans(r)})" for h, r in
                                                    hosts.items())]
            groups: dict[tuple, list[int]] = {}
            for key, ranks in arrangements.items():
                groups.setdefault(tuple(sorted(ms for _, ms in key)), []).extend(ranks)
            if len(groups) == 1:
                only = next(iter(groups))
                parts.append("always shared by " + "; and ".join(
                    _join([names.get(m, m) for m in ms]) for ms in only)
                    if only else "never shared")
            for f in force_ids:
                alone = choices[f].get("alone", [])
                if len(groups) > 1 and 0 < len(alone) < len(alts):
                    shared = len(alts) - len(alone)
                    parts.append(f"{names.get(f, f)} alone in {_plans(alone)}, sharing in "
                                 f"{shared} plan" + ("s" if shared != 1 else ""))
            text = f"{s}: open: " + "; ".join(parts)
        out.append(FunctionSummary(
            function=s, firm=firm,
            arrangements=[{"units": {site: list(ms) for site, ms in key}, "plans": ranks}
                          for key, ranks in arrangements.items()],
            forces=[{"force": f, "firm": len(choices[f]) <= 1, "choices": choices[f]}
                    for f in force_ids],
            text=text))
    return out

