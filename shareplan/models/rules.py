"""Rules that cross objects of an instance, checked at load (docs/model.md section 12).

Each broken rule becomes a :class:`Problem` naming the path into the file and
the fix, e.g. ``forces[2].frontline_floor_fte: must be <= frontline_officers_fte
(1,910) or the plan is infeasible before any sharing``.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

from .instance import Instance


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InstanceError(Exception):
    """An instance that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem], source: str = "", what: str = "instance"):
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + f"invalid {what}\n" + "\n".join(f"  {p}" for p in problems))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def check_rules(inst: Instance) -> list[Problem]:
    """Every cross-object rule; an empty list means the instance is valid."""
    problems: list[Problem] = []
    add = lambda path, msg: problems.append(Problem(path, msg))  # noqa: E731

    force_ids = [f.id for f in inst.forces]
    function_ids = [s.id for s in inst.functions]
    site_ids = [h.id for h in inst.sites]
    for label, ids in (("forces", force_ids), ("functions", function_ids), ("sites", site_ids)):
        for dup, n in Counter(ids).items():
            if n > 1:
                add(f"{label}[{ids.index(dup)}].id",
                    f"'{dup}' appears {n} times; ids must be unique")
    forces = {f.id: f for f in inst.forces}
    functions = {s.id: s for s in inst.functions}
    sites = {h.id: h for h in inst.sites}

    unknown: dict[tuple[str, str], list] = {}  # (what, id) -> [problem index, paths...]
    used: set[tuple[str, str]] = set()  # (what, id) referred to somewhere

    def ref(path: str, value: str, table: dict, what: str) -> bool:
        """True when value is an id of table; else the unknown id is reported once (its
        first place, how many others, the likely meant id and the valid ones)."""
        if value in table:
            used.add((what, value))
            return True
        seen = unknown.get((what, value))
        if seen is None:
            unknown[(what, value)] = [len(problems), path]
            add(path, "")  # the message is written at the end, when every use is known
        else:
            seen.append(path)
        return False

    for k, f in enumerate(inst.forces):
        p = f"forces[{k}]"
        if f.frontline_floor_fte is not None and \
                "frontline_officers_fte" not in f.model_fields_set:
            add(f"{p}.frontline_officers_fte", "missing: give today's frontline officers; "
                f"the frontline_floor_fte of {_fmt(f.frontline_floor_fte)} is kept against it")
        elif f.frontline_floor_fte is not None and \
                f.frontline_floor_fte > f.frontline_officers_fte:
            add(
                f"{p}.frontline_floor_fte",
                f"must be <= frontline_officers_fte ({_fmt(f.frontline_officers_fte)}) "
                "or the plan is infeasible before any sharing",
            )
        if f.officers_fte is not None and f.frontline_officers_fte > f.officers_fte:
            add(
                f"{p}.frontline_officers_fte",
                f"must be <= officers_fte ({_fmt(f.officers_fte)}): frontline officers "
                "are officers",
            )
        if inst.allocation == "key" and f.allocation_key is None and not f.budget_gbp:
            add(f"{p}.allocation_key", "allocation is 'key': give allocation_key or budget_gbp")
    keyed = [f.allocation_key is not None for f in inst.forces]
    if inst.allocation == "key" and any(keyed) and not all(keyed):
        k = keyed.index(False)
        add(f"forces[{k}].allocation_key", "some forces give allocation_key and others fall "
            "back to budget_gbp, which is on another scale; give allocation_key for every "
            "force or for none")

    for k, h in enumerate(inst.sites):
        if h.owner is not None:
            ref(f"sites[{k}].owner", h.owner, forces, "force")

    seen_costs: dict[tuple[str, str], int] = {}
    for k, c in enumerate(inst.costs):
        p = f"costs[{k}]"
        ok = ref(f"{p}.force", c.force, forces, "force") & ref(
            f"{p}.function", c.function, functions, "function"
        )
        if not ok:
            continue
        key = (c.force, c.function)
        if key in seen_costs:
            add(p, f"second entry for force '{c.force}' and function '{c.function}' "
                f"(first is costs[{seen_costs[key]}]); keep one")
        seen_costs[key] = k
        fn = functions[c.function]
        demand = c.demand if c.demand is not None else c.standalone_cost_gbp
        if fn.shareable and demand <= 0:
            add(f"{p}.demand", "must be > 0 for a shareable function: give the workload "
                "(it defaults to standalone_cost_gbp, which is 0 here)")
    missing = [(f.id, s.id) for s in inst.functions for f in inst.forces
               if (f.id, s.id) not in seen_costs]

    for k, s in enumerate(inst.functions):
        p = f"functions[{k}]"
        if s.max_members is not None and s.max_members < s.min_members:
            add(f"{p}.max_members", f"must be >= min_members ({s.min_members})")
        if not s.shareable:
            for field in ("hosts", "arc_cost_gbp"):
                if getattr(s, field):
                    add(f"{p}.{field}", "a local function is never shared; remove it "
                        "or set shareable true")
            continue
        if not s.standalone_allowed and s.shareable and not inst.sites:
            add(f"{p}.standalone_allowed", "no sites to share from; allow standalone or add sites")
        host_ids = [hh.site for hh in s.hosts] if s.hosts is not None else site_ids
        for j, hh in enumerate(s.hosts or []):
            ref(f"{p}.hosts[{j}].site", hh.site, sites, "site")
        for dup, n in Counter(host_ids).items():
            if n > 1 and s.hosts is not None:
                add(f"{p}.hosts", f"site '{dup}' listed {n} times; list each host once")
        for fid, row in (s.arc_cost_gbp or {}).items():
            if ref(f"{p}.arc_cost_gbp.{fid}", fid, forces, "force"):
                for hid in row:
                    if hid not in host_ids:
                        add(f"{p}.arc_cost_gbp.{fid}.{hid}",
                            f"'{hid}' is not a candidate host of '{s.id}'; use one of its hosts")
        if s.divisible:
            for j, pair in enumerate(inst.policy.forbidden_partners):
                if pair.functions is None or s.id in pair.functions:
                    add(f"policy.forbidden_partners[{j}]", f"'{s.id}' is divisible: a force "
                        "may hold a fraction of several units, so forbidden partners cannot "
                        f"be enforced; list the functions it applies to without '{s.id}'")
            if s.min_members != 1 or s.max_members is not None:
                add(f"{p}.min_members", "a divisible function counts members fractionally: "
                    "set min_members 1 and leave max_members out")
            if any(f.savings_target_gbp is not None for f in inst.forces):
                add(f"{p}.divisible", "per-force savings targets need each force's share of a "
                    "unit's fixed cost, which is not linear when demand may be split; set "
                    "divisible false or remove forces' savings_target_gbp")
            if inst.objective.sense == "max_min_savings_ratio":
                add(f"{p}.divisible", "objective max_min_savings_ratio needs exact per-force "
                    "charges; set divisible false or use min_cost")

    needs_coords: set[str] = set()
    for s in inst.functions:
        if s.shareable and s.travel_cost_gbp_per_unit_km > 0:
            needs_coords.add(s.id)
    for key_ in inst.policy.max_distance_km:
        if key_ == "*":
            needs_coords.update(s.id for s in inst.functions if s.shareable)
        elif ref(f"policy.max_distance_km.{key_}", key_, functions, "function"):
            if functions[key_].shareable:
                needs_coords.add(key_)
            else:
                add(f"policy.max_distance_km.{key_}", f"'{key_}' is a local function and is "
                    "never shared; remove this rule")
    if needs_coords:
        for k, f in enumerate(inst.forces):
            if f.lat is None or f.lon is None:
                add(f"forces[{k}].lat", f"functions {sorted(needs_coords)} use distances: give "
                    "lat and lon (or explicit arc_cost_gbp and no max distance)")
                break
        for k, h in enumerate(inst.sites):
            if h.lat is None or h.lon is None:
                add(f"sites[{k}].lat", f"functions {sorted(needs_coords)} use distances: "
                    "give lat and lon")
                break

    def shareable_ref(path: str, fid: str) -> bool:
        if not ref(path, fid, functions, "function"):
            return False
        if not functions[fid].shareable:
            add(path, f"'{fid}' is a local function and is never shared; remove this rule")
            return False
        return True

    opt_outs = set()
    for k, r in enumerate(inst.policy.opt_outs):
        p = f"policy.opt_outs[{k}]"
        ref(f"{p}.force", r.force, forces, "force")
        ref(f"{p}.function", r.function, functions, "function")
        opt_outs.add((r.force, r.function))
    for k, r in enumerate(inst.policy.must_share):
        p = f"policy.must_share[{k}]"
        ref(f"{p}.force", r.force, forces, "force")
        if shareable_ref(f"{p}.function", r.function) and (r.force, r.function) in opt_outs:
            add(p, f"'{r.force}' both opts out of and must share '{r.function}'; drop one")
    for k, r in enumerate(inst.policy.forbidden_partners):
        p = f"policy.forbidden_partners[{k}]"
        for j, fid in enumerate(r.forces):
            ref(f"{p}.forces[{j}]", fid, forces, "force")
        if r.forces[0] == r.forces[1]:
            add(f"{p}.forces", "name two different forces")
        for j, fid in enumerate(r.functions or []):
            shareable_ref(f"{p}.functions[{j}]", fid)
    for k, fid in enumerate(inst.policy.same_region):
        if shareable_ref(f"policy.same_region[{k}]", fid):
            for j, f in enumerate(inst.forces):
                if f.region is None:
                    add(f"forces[{j}].region", f"same_region applies to '{fid}': give every "
                        "force a region")
                    break

    members_of: dict[str, set[str]] = {}
    units_seen: dict[tuple[str, str], int] = {}
    for k, e in enumerate(inst.existing):
        p = f"existing[{k}]"
        if not shareable_ref(f"{p}.function", e.function):
            continue
        fn = functions[e.function]
        if ref(f"{p}.site", e.site, sites, "site"):
            if fn.hosts is not None and e.site not in {hh.site for hh in fn.hosts}:
                add(f"{p}.site", f"'{e.site}' is not a host of '{e.function}'; add it to "
                    f"functions.{e.function}.hosts")
            owner = sites[e.site].owner
            if owner and fn.host_must_be_member and owner not in e.members:
                add(f"{p}.members", f"the site owner '{owner}' must be a member "
                    "(host_must_be_member)")
        for dup, n in Counter(e.members).items():
            if n > 1:
                add(f"{p}.members", f"'{dup}' listed {n} times")
        if (e.function, e.site) in units_seen:
            add(p, f"a second existing '{e.function}' unit at '{e.site}' (the first is "
                f"existing[{units_seen[(e.function, e.site)]}]); list each unit once")
        units_seen.setdefault((e.function, e.site), k)
        taken = members_of.setdefault(e.function, set())
        for j, m in enumerate(e.members):
            if ref(f"{p}.members[{j}]", m, forces, "force"):
                if m in taken:
                    add(f"{p}.members[{j}]", f"'{m}' is already in another existing "
                        f"'{e.function}' unit; a force is served by one unit")
                if (m, e.function) in opt_outs:
                    add(f"{p}.members[{j}]", f"'{m}' opts out of '{e.function}' in policy; "
                        "drop the opt-out or the membership")
        taken.update(e.members)
        if not e.reoptimisable:
            _fixed_unit_rules(inst, k, e, fn, problems)

    _report_unknown(inst, unknown, problems, used)
    renamed = {problems[idx].message.split("did you mean '")[1].split("'")[0]
               for idx, *_ in unknown.values() if "did you mean '" in problems[idx].message}
    _report_missing_costs(inst, missing, renamed, problems)

    _mechanism_rules(inst, add, sites)
    for label, items in (("forces", inst.forces), ("functions", inst.functions),
                         ("sites", inst.sites), ("costs", inst.costs)):
        for k, obj in enumerate(items):
            for field in obj.provenance:
                if field not in type(obj).model_fields or field == "provenance":
                    add(f"{label}[{k}].provenance.{field}", "names no field of this object")
    return problems


def _ids_text(ids: list[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def _report_unknown(inst: Instance, unknown: dict, problems: list[Problem],
                    used: set[tuple[str, str]]) -> None:
    """One message per unknown id, however often it is used: its first place, the number of
    other places, the id probably meant (a close spelling, or the one id of that kind that
    nothing refers to: a renamed id) and the valid ids."""
    tables = {"force": [f.id for f in inst.forces], "function": [s.id for s in inst.functions],
              "site": [h.id for h in inst.sites]}
    unused = {what: [x for x in ids if (what, x) not in used] for what, ids in tables.items()}
    for (what, value), (idx, first, *others) in unknown.items():
        ids = tables[what]
        guess = difflib.get_close_matches(value, ids, n=1, cutoff=0.6)
        if not guess and len(unused.get(what, [])) == 1:
            guess = unused[what]
        msg = f"unknown {what} '{value}'"
        if others:
            msg += f" (also used in {len(others)} other place{'s' if len(others) > 1 else ''})"
        msg += f"; did you mean '{guess[0]}'?" if guess else ";"
        msg += f" the {what} ids are: {_ids_text(ids)}" if ids else f" no {what}s are defined"
        problems[idx] = Problem(first, msg)


def _report_missing_costs(inst: Instance, missing: list[tuple[str, str]], renamed: set[str],
                          problems: list[Problem]) -> None:
    """Missing costs entries, one message per function missing for every force, else one per
    force; none for an id that an unknown reference probably meant (renamed: reported once)."""
    n = len(inst.forces)
    by_function = Counter(s for _, s in missing)
    whole = {s for s, c in by_function.items() if c == n}
    for s in inst.functions:
        if s.id in whole and s.id not in renamed:
            problems.append(Problem("costs", f"no entries for function '{s.id}'; add one per "
                                    "force: {\"force\": ..., \"function\": \"" + s.id +
                                    "\", \"standalone_cost_gbp\": ...}"))
    by_force: dict[str, list[str]] = {}
    for f, s in missing:
        if s not in whole and f not in renamed:
            by_force.setdefault(f, []).append(s)
    for f, fns in by_force.items():
        problems.append(Problem("costs", f"no entry for force '{f}' and function"
                                f"{'s' if len(fns) > 1 else ''} {_ids_text(fns)}; add "
                                "{\"force\": \"" + f + "\", \"function\": ..., "
                                "\"standalone_cost_gbp\": ...} for each"))


def _fixed_unit_rules(inst: Instance, k: int, e, fn, problems: list[Problem]) -> None:
    """A fixed existing unit (not re-optimisable) stays as listed, so it must meet the rules
    every unit meets: min_members <= |members| <= max_members, its demand within capacity,
    no two forbidden partners in it."""
    p = f"existing[{k}]"
    j = next(j for j, s in enumerate(inst.functions) if s.id == fn.id)
    n = len(set(e.members))
    fix = "mark it reoptimisable, or change the rule"
    if n < fn.min_members:
        problems.append(Problem(f"{p}.members", f"{n} member(s), but functions[{j}] "
                                f"('{fn.id}') has min_members {fn.min_members}; the unit is "
                                f"fixed in place, so no plan exists: add members, {fix}"))
    if fn.max_members is not None and n > fn.max_members:
        problems.append(Problem(f"{p}.members", f"{n} members, but functions[{j}] "
                                f"('{fn.id}') has max_members {fn.max_members}; the unit is "
                                f"fixed in place, so no plan exists: {fix}"))
    for q, pair in enumerate(inst.policy.forbidden_partners):
        a, b = pair.forces
        if a in e.members and b in e.members and (pair.functions is None or
                                                  fn.id in pair.functions):
            problems.append(Problem(f"policy.forbidden_partners[{q}]", f"'{a}' and '{b}' are "
                                    f"forbidden partners for '{fn.id}', yet both are members "
                                    f"of {p}, which is fixed in place; drop '{fn.id}' from the "
                                    f"rule, or {fix.split(', or')[0]}"))


def check_warnings(inst: Instance) -> list[Problem]:
    """Figures that are valid but look like the wrong unit, for the planner to confirm:

    - a savings target below £1,000 that is under 1e-5 of the force's spend over the
      horizon (30 meant as £30m);
    - an annual budget below half of what its functions cost a year (a budget in £m, or
      costs in pence).
    """
    out: list[Problem] = []
    alpha = inst.annuity_factor
    spend: dict[str, float] = {}
    for c in inst.costs:
        spend[c.force] = spend.get(c.force, 0.0) + c.standalone_cost_gbp
    years = f"{inst.horizon_years} year{'s' if inst.horizon_years != 1 else ''}"
    for k, f in enumerate(inst.forces):
        annual = spend.get(f.id, 0.0)
        target = f.savings_target_gbp
        if target is not None and 0 < target < 1000 and target < 1e-5 * alpha * annual:
            out.append(Problem(f"forces[{k}].savings_target_gbp", f"£{target:g} over {years}, "
                               f"against £{alpha * annual:,.0f} of spend: the field is in "
                               f"pounds; if £{target:g}m was meant, write {target * 1e6:.0f}"))
        need, other = f.savings_need_gbp, f.savings_from_other_measures_gbp
        if need is not None and other is not None and (
                target is None or abs(target - (need - other)) > 0.5):
            shown = "none" if target is None else f"£{target:,.0f}"
            out.append(Problem(f"forces[{k}].savings_target_gbp", f"{shown}, not the "
                               f"£{need - other:,.0f} that savings_need_gbp less "
                               "savings_from_other_measures_gbp leaves; the target given is "
                               "the one the plan meets (drop it to use the difference)"))
        budget = f.budget_gbp
        if budget is not None and annual > 0 and budget < 0.5 * annual:
            out.append(Problem(f"forces[{k}].budget_gbp", f"£{budget:,.0f} a year, below the "
                               f"£{annual:,.0f} a year its functions cost (costs of "
                               f"'{f.id}'); both are annual pounds: check the units"))
    target = inst.objective.aggregate_savings_target_gbp
    total = alpha * sum(spend.values())
    if target is not None and 0 < target < 1000 and target < 1e-5 * total:
        out.append(Problem("objective.aggregate_savings_target_gbp", f"£{target:g} over {years}, "
                           f"against £{total:,.0f} of spend: the field is in pounds; if "
                           f"£{target:g}m was meant, write {target * 1e6:.0f}"))
    return out


def _mechanism_rules(inst: Instance, add, sites: dict) -> None:
    """Multi-site units name known, distinct sites; a jointly managed function has no
    travel, explicit arc costs or relocation (its work stays in each force)."""
    functions = {s.id: s for s in inst.functions}
    for k, s in enumerate(inst.functions):
        p = f"functions[{k}]"
        for j, hh in enumerate(s.hosts or []):
            names = [hh.site]
            for m, extra in enumerate(hh.also_sites):
                where = f"{p}.hosts[{j}].also_sites[{m}].site"
                if extra.site not in sites:
                    add(where, f"unknown site '{extra.site}'; use one of the ids in 'sites'")
                elif extra.site in names:
                    add(where, f"'{extra.site}' is already a site of this unit; list each "
                        "site once")
                names.append(extra.site)
        if s.mechanism != "jointly_managed":
            continue
        if s.travel_cost_gbp_per_unit_km > 0:
            add(f"{p}.travel_cost_gbp_per_unit_km", "a jointly managed function's work stays "
                "in each force, so nobody travels: set it to 0 or mechanism 'co_located'")
        if s.arc_cost_gbp:
            add(f"{p}.arc_cost_gbp", "a jointly managed function has no cost of serving a "
                "force from a site: remove it or set mechanism 'co_located'")
    for k, c in enumerate(inst.costs):
        fn = functions.get(c.function)
        if fn is not None and fn.mechanism == "jointly_managed" and c.relocation_cost_gbp > 0:
            add(f"costs[{k}].relocation_cost_gbp", f"'{c.function}' is jointly managed: its "
                "work does not move; set it to 0 (put one-off costs in transition_cost_gbp)")
