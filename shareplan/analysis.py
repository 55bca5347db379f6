"""Plans side by side: what changed between two plans, and whether backends agree.

Works on plan dicts (the JSON contract), so plans from files and fresh solves
compare the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _MemberShape(_Loose):
    force: str


class _UnitShape(_Loose):
    function: str
    site: str
    members: list[_MemberShape]


class _ForceShape(_Loose):
    force: str
    name: str | None = None
    savings_gbp: float | None = None
    target_gbp: float | None = None
    frontline_fte: float | None = None
    one_off_gbp: float | None = None


class PlanShape(_Loose):
    """What diff and compare read from a plan file (other fields pass through)."""

    status: str
    units: list[_UnitShape]
    forces: list[_ForceShape]
    objective: float | None = None
    solver: dict = {}
    options: dict | None = None
    times: dict | None = None
    instance_name: str | None = None
    instance_sha256: str | None = None
    backend: str | None = None


def _units_by_function(plan: dict) -> dict[str, dict[str, list[str]]]:
    """function -> {site: sorted member ids}."""
    out: dict[str, dict[str, list[str]]] = {}
    for u in plan.get("units", []):
        out.setdefault(u["function"], {})[u["site"]] = sorted(m["force"] for m in u["members"])
    return out


def _names(plan: dict) -> dict[str, str]:
    return {f["force"]: f.get("name") or f["force"] for f in plan.get("forces", [])}


def _join(ids, names) -> str:
    ids = [names.get(i, i) for i in ids]
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


@dataclass
class PlanDiff:
    """Changes from plan A to plan B: sentences per function and per-force figures."""

    changes: list[str] = field(default_factory=list)
    forces: list[dict] = field(default_factory=list)
    provenance: list[dict] = field(default_factory=list)
    same_instance: bool = True

    @property
    def identical(self) -> bool:
        return not self.changes


def _function_changes(fid: str, a: dict[str, list[str]], b: dict[str, list[str]],
                      names: dict[str, str]) -> list[str]:
    """Planner sentences for one function's units in A (a) and B (b)."""
    if a == b:
        return []
    if not a:
        return [f"{fid}: newly shared at {site} by {_join(m, names)}" for site, m in b.items()]
    if not b:
        return [f"{fid}: unit at {site} dissolved; {_join(m, names)} run it alone again"
                for site, m in a.items()]
    out = []
    home_a = {f: s for s, ms in a.items() for f in ms}
    home_b = {f: s for s, ms in b.items() for f in ms}
    moves: dict[str, str] = {}  # old host -> new host when a whole unit relocated
    for site in sorted(set(a) - set(b)):
        movers = [f for f in a[site] if f in home_b]
        target = {home_b[f] for f in movers}
        if movers and len(target) == 1 and set(target) - set(a):
            moves[site] = target.pop()
            out.append(f"{fid}: host moved from {site} to {moves[site]}")
        else:
            out.append(f"{fid}: unit at {site} closed")
    for site in sorted(set(b) - set(a)):
        if site not in moves.values():
            out.append(f"{fid}: new unit at {site} with {_join(b[site], names)}")
    for f in sorted(set(home_a) | set(home_b)):
        sa, sb = home_a.get(f), home_b.get(f)
        if sa == sb:
            continue
        who = names.get(f, f)
        if sa is None:
            out.append(f"{fid}: {who} joins the unit at {sb}")
        elif sb is None:
            out.append(f"{fid}: {who} leaves the unit at {sa} and runs it alone")
        elif moves.get(sa) != sb:
            out.append(f"{fid}: {who} moves from the unit at {sa} to the unit at {sb}")
    return out


def diff_plans(plan_a: dict, plan_b: dict) -> PlanDiff:
    """What changed from A to B, in planner terms."""
    names = {**_names(plan_a), **_names(plan_b)}
    ua, ub = _units_by_function(plan_a), _units_by_function(plan_b)
    diff = PlanDiff(same_instance=plan_a.get("instance_sha256") == plan_b.get("instance_sha256"))
    for fid in sorted(set(ua) | set(ub)):
        diff.changes += _function_changes(fid, ua.get(fid, {}), ub.get(fid, {}), names)
    fa = {f["force"]: f for f in plan_a.get("forces", [])}
    fb = {f["force"]: f for f in plan_b.get("forces", [])}
    for fid in list(fa) + [f for f in fb if f not in fa]:
        a, b = fa.get(fid, {}), fb.get(fid, {})
        diff.forces.append({
            "force": fid, "name": names.get(fid, fid),
            "savings_a": a.get("savings_gbp"), "savings_b": b.get("savings_gbp"),
            "target_a": a.get("target_gbp"), "target_b": b.get("target_gbp"),
            "frontline_a": a.get("frontline_fte"), "frontline_b": b.get("frontline_fte"),
            "one_off_a": a.get("one_off_gbp"), "one_off_b": b.get("one_off_gbp")})
    for label, p in (("A", plan_a), ("B", plan_b)):
        diff.provenance.append(provenance(p, label))
    return diff


def provenance(plan: dict, label: str = "") -> dict:
    """Where a plan came from: instance, backend, solver, options, times, status."""
    solver = plan.get("solver") or {}
    return {"plan": label, "instance": plan.get("instance_name"),
            "instance_sha256": plan.get("instance_sha256"), "backend": plan.get("backend"),
            "solver": f"{solver.get('name', '')} {solver.get('version', '')}".strip(),
            "options": plan.get("options"), "times": plan.get("times"),
            "status": plan.get("status"), "objective": plan.get("objective")}


def total_savings(plan: dict) -> float:
    return sum(f.get("savings_gbp") or 0.0 for f in plan.get("forces", []))


def optima_disagree(plans: list[dict], tol: float = 1e-6) -> list[tuple[str, str, float]]:
    """Pairs of proven optima whose objectives differ beyond tolerance.

    Tolerance: max(tol, the larger requested gap) x max(1, |total savings|) + 2p,
    i.e. relative to the part of the cost that decisions change, plus rounding.
    """
    proven = [p for p in plans if p.get("status") == "optimal" and p.get("objective") is not None]
    out = []
    for k, a in enumerate(proven):
        for b in proven[k + 1:]:
            gap = max(tol, (a.get("options") or {}).get("gap") or 0.0,
                      (b.get("options") or {}).get("gap") or 0.0)
            scale = max(1.0, abs(total_savings(a)), abs(total_savings(b)))
            diff = abs(a["objective"] - b["objective"])
            if diff > gap * scale + 0.02:
                out.append((a["backend"], b["backend"], diff))
    return out
