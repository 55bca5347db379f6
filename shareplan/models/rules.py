"""Rules that cross objects of an instance, checked at load (SPEC section 4).

Each broken rule becomes a :class:`Problem` naming the path into the file and
the fix, e.g. ``forces[2].frontline_floor_fte: must be <= frontline_officers_fte
(1,910) or the plan is infeasible before any sharing``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .instance import Instance


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


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

    def ref(path: str, value: str, table: dict, what: str) -> bool:
        if value in table:
            return True
        add(path, f"unknown {what} '{value}'; use one of the ids in '{what}s'"[:400])
        return False

    for k, f in enumerate(inst.forces):
        p = f"forces[{k}]"
        if f.frontline_floor_fte is not None and f.frontline_floor_fte > f.frontline_officers_fte:
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
    for s in inst.functions:
        for f in inst.forces:
            if (f.id, s.id) not in seen_costs and s.id in functions and f.id in forces:
                add("costs", f"no entry for force '{f.id}' and function '{s.id}'; "
                    "add {\"force\": ..., \"function\": ..., \"standalone_cost_gbp\": ...}")
                break  # one message per function is enough to show the gap

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

    _mechanism_rules(inst, add, sites)
    for label, items in (("forces", inst.forces), ("functions", inst.functions),
                         ("sites", inst.sites), ("costs", inst.costs)):
        for k, obj in enumerate(items):
            for field in obj.provenance:
                if field not in type(obj).model_fields or field == "provenance":
                    add(f"{label}[{k}].provenance.{field}", "names no field of this object")
    return problems


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
