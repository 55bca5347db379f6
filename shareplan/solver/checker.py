"""Independent verification of a plan against its instance (docs/model.md section 10).

:func:`check_plan` takes the pydantic :class:`Instance` and a plan dict (the JSON
of ``Plan.to_dict()``) and recomputes every constraint and every money and
officer figure from the plan's ``units`` alone, in plain Python, scalar by
scalar. It imports no solver package and none of ``models.network``,
``solver.formulation`` or ``solver.plan`` (only the status names of ``solver.core``):
it is a second, independent implementation of the algebra of docs/model.md sections 3
to 7, so a bug in one shows up as a disagreement with the other. Its rule names are the
names of the formulation's families (``formulation.FAMILIES``; tests/test_families.py
ties them).

Notation: ``x_sih`` is a member's ``fraction`` in the unit of function s at site
h; ``x0`` the status quo (every existing unit as listed, fraction 1)::

    alpha     = sum_{k=1..Y} (1+r)^-k
    m_sih     = v_s d_si + (a_sih if given, else tau_s d_si dist_ih)
    t'_sih    = 0 if i is a listed member of an existing unit of s at h (sunk), else t_si
    G'_sh     = 0 if an existing unit of s sits at h (sunk), else G_sh
    C_sh      = alpha F_sh + G'_sh
    share_sih = k_si x_sih / sum_j k_sj x_sjh        (exact allocation, key k by rule)
    plan_i    = alpha sum_s c_si
                + sum_units [(alpha (m_sih - c_si) + t'_sih) x_sih + C_sh share_sih]
    baseline_i = plan_i(x0),  savings_i = baseline_i - plan_i
    one_off_i  = sum_units (t'_sih x_sih + G'_sh share_sih)
    frontline_i = L_i + sum_units (o_si - rho_s d_si) x_sih - sum_x0 (o_si - rho_s d_si)
    objective  = sum_i plan_i

Timing (models/instance.py): with go-live g_sh, paid from p_sh = max(1, g_sh - D_s)
and one-offs at q_sh (default p_sh), all 1 at an existing unit, alpha in the plan
terms above becomes A_run_sh = sum_k (1+r)^-k clip(k+1-p_sh, 0, 1) for the unit's
running and fixed costs, A_live_sh (the same from g_sh) for the c_si it replaces,
and one-offs are multiplied by B_sh = (1+r)^-(q_sh-1)::

    coef_sih  = (A_run m_sih - A_live c_si + B t'_sih) x_sih,   C_sh = A_run F_sh + B G'_sh

t' adds the relocation cost l_si when s is co-located and i owns none of the unit's
sites; jointly managed functions have no travel (m = v d) and no distance rule. F_sh
adds the fixed cost of each further site of a multi-site unit; distance is to its
nearest site. yearly_savings_gbp[k] (cash) and staff_released_fte are recomputed
when a plan reports them.

Money is compared with an absolute tolerance of two pennies (plans round money to
pennies; a figure's error does not grow with its size), plus 1e-12 |value| of float
rounding; officers with ``max(1e-3, tol * |value|)`` (plans round FTE to 3 dp).
Fractions of divisible functions are rounded to 6 dp in plans, so each such
member adds ``1e-6 * (|alpha (m - c) + t'| + C_sh)`` of money slack and
``1e-6 * |o - rho d|`` of officer slack to its force's tolerances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..models.instance import Force, Function, Instance
from ..text import money
from .core import Status

EARTH_RADIUS_KM = 6371.0088  # the radius models/network.py uses
SOLVED = (Status.OPTIMAL.value, Status.FEASIBLE.value)
STATUSES = tuple(s.value for s in Status)  # the plan file's statuses are the solver's
FORCE_FIGURES = ("baseline_gbp", "plan_gbp", "savings_gbp", "one_off_gbp", "frontline_fte")
FRACTION_SLACK = 1e-6  # plans round fractions to 6 dp (error <= 5e-7)
MONEY_TOL = 0.02  # GBP: pennies rounded in the plan, never scaled by the figure's size
FLOAT_REL = 1e-12  # float rounding of sums of large figures


@dataclass(frozen=True)
class Violation:
    """One broken rule: its family, where in the plan (or instance), and planner words."""

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.where}: {self.message}"


# ---------------------------------------------------------------- formatting


def _exact(value: float, kind: str = "gbp") -> str:
    """Full precision for mismatches: £1,234,567.89, 1,234.567 FTE or 1,234.567 (units)."""
    if kind == "gbp":
        return ("-" if value < 0 else "") + f"£{abs(value):,.2f}"
    return f"{value:,.3f}" + (" FTE" if kind == "fte" else "")


def _is_num(value: Any) -> bool:
    """A finite JSON number (bool is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------- instance data


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance: 2 R asin(sqrt(sin²(dphi/2) + cos phi1 cos phi2 sin²(dlambda/2)))."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))


@dataclass
class _Data:
    """The instance as plain lookups; every default resolved here, scalar by scalar."""

    inst: Instance
    forces: dict[str, Force]
    functions: dict[str, Function]
    sites: dict
    costs: dict[tuple[str, str], Any]  # (function, force) -> Cost
    alpha: float
    existing_hosts: set[tuple[str, str]]  # (function, site) with an existing unit
    sunk_arcs: set[tuple[str, str, str]]  # (function, site, force) listed in an existing unit

    @classmethod
    def of(cls, inst: Instance) -> _Data:
        """alpha = sum_{k=1..Y} (1+r)^-k; existing units make hosts and arcs sunk."""
        r = inst.discount_rate
        alpha = sum((1.0 + r) ** -k for k in range(1, inst.horizon_years + 1))
        return cls(inst, {f.id: f for f in inst.forces}, {s.id: s for s in inst.functions},
                   {h.id: h for h in inst.sites},
                   {(c.function, c.force): c for c in inst.costs}, alpha,
                   {(e.function, e.site) for e in inst.existing},
                   {(e.function, e.site, m) for e in inst.existing for m in e.members})

    def c(self, s: str, i: str) -> float:
        """c_si: standalone annual cost."""
        return self.costs[(s, i)].standalone_cost_gbp

    def d(self, s: str, i: str) -> float:
        """d_si: demand, defaulting to c_si."""
        rec = self.costs[(s, i)]
        return rec.standalone_cost_gbp if rec.demand is None else rec.demand

    def delta(self, s: str, i: str) -> float:
        """Officers returned to the frontline by sharing: o_si - rho_s d_si."""
        return self.costs[(s, i)].officers_fte - self.functions[s].officers_per_unit * self.d(s, i)

    def t(self, s: str, h: str, i: str) -> float:
        """t'_sih: transition cost (plus relocation when s is co-located and i owns none of
        the unit's sites), 0 for a listed member of an existing unit at h (sunk)."""
        if (s, h, i) in self.sunk_arcs:
            return 0.0
        rec = self.costs[(s, i)]
        owns = any(self.sites[x].owner == i for x in self.unit_sites(s, h))
        moves = self.functions[s].mechanism == "co_located" and not owns
        return rec.transition_cost_gbp + (rec.relocation_cost_gbp if moves else 0.0)

    def k(self, s: str, i: str) -> float:
        """k_si: d_si (demand), 1 (equal) or allocation_key, else budget_gbp (key)."""
        rule = self.inst.allocation
        if rule == "demand":
            return self.d(s, i)
        if rule == "equal":
            return 1.0
        f = self.forces[i]
        return float(f.allocation_key if f.allocation_key is not None else f.budget_gbp or 0.0)

    def host(self, s: str, h: str):
        """The Host override of site h for s; None when every site is a candidate."""
        fn = self.functions[s]
        return next((hh for hh in fn.hosts or [] if hh.site == h), None)

    def is_candidate(self, s: str, h: str) -> bool:
        """h in H_s: the function's listed hosts, or every site when none are listed."""
        fn = self.functions[s]
        return h in self.sites if fn.hosts is None else any(hh.site == h for hh in fn.hosts)

    def _pick(self, s: str, h: str, attr: str, default):
        """The host's own value of attr when set, else the function's default."""
        hh = self.host(s, h)
        value = getattr(hh, attr) if hh is not None else None
        return default if value is None else value

    def F(self, s: str, h: str) -> float:
        """F_sh: the host's fixed_cost_gbp (else the function's unit_fixed_cost_gbp) plus
        each further site's fixed_cost_gbp."""
        hh = self.host(s, h)
        extra = sum(x.fixed_cost_gbp for x in hh.also_sites) if hh is not None else 0.0
        return float(self._pick(s, h, "fixed_cost_gbp",
                                self.functions[s].unit_fixed_cost_gbp)) + extra

    def unit_sites(self, s: str, h: str) -> list[str]:
        """Every site of the unit of s at h: h, then a multi-site unit's further sites."""
        hh = self.host(s, h)
        return [h] + ([x.site for x in hh.also_sites] if hh is not None else [])

    def g(self, s: str, h: str) -> float:
        """g_sh: go-live (host's, else function's); 1 at an existing unit."""
        if (s, h) in self.existing_hosts:
            return 1.0
        return float(self._pick(s, h, "go_live_year", self.functions[s].go_live_year))

    def p(self, s: str, h: str) -> float:
        """p_sh = max(1, g_sh - D_s): from when the unit's costs are paid."""
        if (s, h) in self.existing_hosts:
            return 1.0
        return max(1.0, self.g(s, h) - self.functions[s].dual_running_years)

    def q(self, s: str, h: str) -> float:
        """q_sh: when one-offs fall (the function's one_off_year, else p_sh)."""
        q = self.functions[s].one_off_year
        return self.p(s, h) if q is None or (s, h) in self.existing_hosts else float(q)

    def share_of_year(self, k: int, start: float) -> float:
        """The part of horizon year k (1-based) from start on: clip(k + 1 - start, 0, 1)."""
        return min(1.0, max(0.0, k + 1 - start))

    def A(self, start: float) -> float:
        """sum_{k=1..Y} (1+r)^-k clip(k + 1 - start, 0, 1)."""
        r = self.inst.discount_rate
        return sum((1.0 + r) ** -k * self.share_of_year(k, start)
                   for k in range(1, self.inst.horizon_years + 1))

    def B(self, s: str, h: str) -> float:
        """B_sh = (1+r)^-(q_sh - 1)."""
        return (1.0 + self.inst.discount_rate) ** -(self.q(s, h) - 1.0)

    def staff_delta(self, s: str, i: str) -> float:
        """Staff posts no longer needed by sharing: e_si - sigma_s d_si."""
        return self.costs[(s, i)].staff_fte - self.functions[s].staff_per_unit * self.d(s, i)

    def G(self, s: str, h: str) -> float:
        """G'_sh: set-up cost (host override, else function default); 0 at an existing host."""
        if (s, h) in self.existing_hosts:
            return 0.0
        return float(self._pick(s, h, "setup_cost_gbp", self.functions[s].unit_setup_cost_gbp))

    def K(self, s: str, h: str) -> float:
        """K_sh: capacity (host override, else function default); inf when none."""
        value = self._pick(s, h, "capacity", self.functions[s].unit_capacity)
        return math.inf if value is None else float(value)

    def dist(self, i: str, h: str, s: str | None = None) -> float:
        """Haversine km from force i to site h (to the nearest site of s's unit at h when s
        is given); nan when no pair has coordinates."""
        f = self.forces[i]
        best = math.nan
        for x in (self.unit_sites(s, h) if s is not None else [h]):
            site = self.sites[x]
            if None in (f.lat, f.lon, site.lat, site.lon):
                continue
            km = haversine_km(f.lat, f.lon, site.lat, site.lon)
            best = km if math.isnan(best) else min(best, km)
        return best

    def m(self, s: str, i: str, h: str) -> float:
        """m_sih = v_s d_si + a_sih (explicit arc cost) or tau_s d_si dist_ih (when tau_s > 0)."""
        fn = self.functions[s]
        run = fn.variable_cost_gbp_per_unit * self.d(s, i)
        if fn.mechanism == "jointly_managed":
            return run  # the work stays in each force: no travel
        explicit = (fn.arc_cost_gbp or {}).get(i, {}).get(h)
        if explicit is not None:
            return run + explicit
        if fn.travel_cost_gbp_per_unit_km > 0:
            return run + fn.travel_cost_gbp_per_unit_km * self.d(s, i) * self.dist(i, h, s)
        return run

    def site_region(self, h: str) -> str | None:
        """A site's region, defaulting to its owner's region."""
        site = self.sites[h]
        if site.region is not None or site.owner is None:
            return site.region
        return self.forces[site.owner].region


# ---------------------------------------------------------------- reading the plan


@dataclass
class _Member:
    pos: int  # index in the unit's members list
    force: str
    x: float


@dataclass
class _Unit:
    pos: int  # index in plan["units"]
    function: str
    site: str
    members: list[_Member]
    raw: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        """Its path in the plan: units[k]."""
        return f"units[{self.pos}]"


class _Out:
    """Collects violations in the order found."""

    def __init__(self) -> None:
        self.items: list[Violation] = []

    def add(self, rule: str, where: str, message: str) -> None:
        self.items.append(Violation(rule, where, message))


def _check_top(plan: Any, out: _Out) -> str | None:
    """The plan is a JSON object with a known status; returns the status (None if broken)."""
    if not isinstance(plan, dict):
        out.add("format", "(top level)", f"a plan is a JSON object, not {type(plan).__name__}")
        return None
    status = plan.get("status")
    if status not in STATUSES:
        out.add("format", "status", f"{status!r} is not one of {', '.join(STATUSES)}")
        return None
    for key in ("units", "forces"):
        if key in plan and not isinstance(plan[key], list):
            out.add("format", key, f"must be a list, not {type(plan[key]).__name__}")
    if status not in SOLVED and plan.get("units"):
        out.add("format", "units", f"a plan with status {status} has no solution, yet lists "
                "units")
    return status


def _read_member(data: _Data, u: int, j: int, raw: Any, out: _Out) -> _Member | None:
    """One member: {force: known id, fraction: number >= 0}."""
    where = f"units[{u}].members[{j}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("force"), str):
        out.add("format", where, "a member is an object with a string 'force'")
        return None
    frac = raw.get("fraction")
    if not _is_num(frac) or frac < 0:
        out.add("format", where, f"fraction must be a number >= 0, not {frac!r}")
        return None
    if raw["force"] not in data.forces:
        out.add("unknown_id", where, f"unknown force '{raw['force']}'")
        return None
    return _Member(j, raw["force"], float(frac))


def _read_unit(data: _Data, u: int, raw: Any, out: _Out) -> _Unit | None:
    """One unit: {function, site: known ids, members: list}; local functions are refused."""
    where = f"units[{u}]"
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str)
                                            for k in ("function", "site")):
        out.add("format", where, "a unit is an object with string 'function' and 'site'")
        return None
    if not isinstance(raw.get("members"), list):
        out.add("format", where, "a unit needs a 'members' list")
        return None
    s, h = raw["function"], raw["site"]
    if s not in data.functions:
        out.add("unknown_id", where, f"unknown function '{s}'")
        return None
    if h not in data.sites:
        out.add("unknown_id", where, f"unknown site '{h}'")
        return None
    if not data.functions[s].shareable:
        out.add("local_policing", where, f"'{s}' is a local function and is never shared, "
                f"yet the plan shares it at {h}")
        return None
    members = [_read_member(data, u, j, m, out) for j, m in enumerate(raw["members"])]
    return _Unit(u, s, h, [m for m in members if m is not None], raw)


def _read_units(data: _Data, plan: dict, out: _Out) -> list[_Unit]:
    """Every well-formed unit of a solved plan, with known, shareable ids."""
    raw = plan.get("units")
    if not isinstance(raw, list):
        if "units" not in plan:
            out.add("format", "units", "a solved plan needs a 'units' list")
        return []
    units = [_read_unit(data, u, r, out) for u, r in enumerate(raw)]
    return [u for u in units if u is not None]


def _read_forces(data: _Data, plan: dict, out: _Out) -> dict[str, dict]:
    """forces[*] by id, each with numeric baseline, plan, savings, one-off and frontline."""
    raw = plan.get("forces")
    if not isinstance(raw, list):
        if "forces" not in plan:
            out.add("format", "forces", "a solved plan needs a 'forces' list")
        return {}
    got: dict[str, dict] = {}
    for k, rec in enumerate(raw):
        if not isinstance(rec, dict) or not isinstance(rec.get("force"), str):
            out.add("format", f"forces[{k}]", "an entry is an object with a string 'force'")
            continue
        fid = rec["force"]
        if fid not in data.forces:
            out.add("unknown_id", f"forces[{k}]", f"unknown force '{fid}'")
        elif fid in got:
            out.add("format", f"forces.{fid}", "listed twice; list each force once")
        elif _figures_ok(rec, fid, out):
            got[fid] = rec
    for fid in data.forces:
        if fid not in got and not any(isinstance(r, dict) and r.get("force") == fid
                                      for r in raw):
            out.add("format", f"forces.{fid}", "no entry for this force; a plan reports "
                    "every force")
    return got


def _figures_ok(rec: dict, fid: str, out: _Out) -> bool:
    """Every reported figure of a force is a finite number."""
    bad = [k for k in FORCE_FIGURES if not _is_num(rec.get(k))]
    for k in bad:
        out.add("format", f"forces.{fid}", f"{k} must be a number, not {rec.get(k)!r}")
    return not bad


# ---------------------------------------------------------------- constraints


def _check_arc(data: _Data, u: _Unit, mb: _Member, out: _Out) -> None:
    """(s, i, h) in A_s: not opted out, within max distance, same region (existing arcs kept)."""
    s, h, i = u.function, u.site, mb.force
    if (s, h, i) in data.sunk_arcs:
        return
    where = f"{u.where}.members[{mb.pos}]"
    policy = data.inst.policy
    if any(r.force == i and r.function == s for r in policy.opt_outs):
        out.add("opt_out", where, f"{i} opts out of {s}, yet is in the {s} unit at {h}")
    maxd = policy.max_distance_km.get(s, policy.max_distance_km.get("*"))
    if maxd is not None and data.functions[s].mechanism == "co_located":
        dist = data.dist(i, h, s)
        if math.isnan(dist):
            out.add("max_distance", where, f"{s} has a {maxd:,.1f} km limit, but {i} or {h} "
                    "has no coordinates")
        elif dist > maxd + 1e-9:
            out.add("max_distance", where, f"{i} is {dist:,.1f} km from {h}, beyond the "
                    f"{maxd:,.1f} km limit for {s}")
    if s in policy.same_region and data.forces[i].region != data.site_region(h):
        out.add("same_region", where, f"{s} units serve only their own region: {i} is in "
                f"{data.forces[i].region}, {h} in {data.site_region(h)}")


def _check_member_fractions(data: _Data, u: _Unit, tol: float, out: _Out) -> None:
    """Binary x for non-divisible s; each force once per unit; x <= 1."""
    fn = data.functions[u.function]
    seen: set[str] = set()
    for mb in u.members:
        where = f"{u.where}.members[{mb.pos}]"
        if mb.force in seen:
            out.add("assignment", where, f"{mb.force} is listed twice in the {u.function} "
                    f"unit at {u.site}")
        seen.add(mb.force)
        if mb.x > 1 + tol:
            out.add("assignment", where, f"{mb.force} has fraction {mb.x:g} > 1")
        elif not fn.divisible and abs(mb.x - 1) > tol and mb.x > tol:
            out.add("assignment", where, f"{mb.force} is served {mb.x:g} of {u.function} "
                    f"at {u.site}, but {u.function} is not divisible (whole forces only)")


def _check_unit_size(data: _Data, u: _Unit, tol: float, out: _Out) -> None:
    """minm_s <= sum_i x_sih <= maxm_s (with minm_s = 1: at least one member)."""
    fn = data.functions[u.function]
    total = sum(mb.x for mb in u.members)
    slack = tol * max(1, len(u.members))
    if fn.min_members <= 1:
        small = not any(mb.x > 0 for mb in u.members)
    else:
        small = total < fn.min_members - slack
    if small:
        out.add("unit_size", u.where, f"the {u.function} unit at {u.site} has {total:g} "
                f"member(s); a unit needs at least {fn.min_members}")
    if fn.max_members is not None and total > fn.max_members + slack:
        out.add("unit_size", u.where, f"the {u.function} unit at {u.site} has {total:g} "
                f"members; at most {fn.max_members} allowed")


def _check_capacity(data: _Data, u: _Unit, tol: float, out: _Out) -> None:
    """sum_i d_si x_sih <= K_sh."""
    cap = data.K(u.function, u.site)
    load = sum(data.d(u.function, mb.force) * mb.x for mb in u.members)
    slack = tol * max(1.0, cap) + FRACTION_SLACK * sum(data.d(u.function, mb.force)
                                                         for mb in u.members)
    if load > cap + slack:
        out.add("capacity", u.where, f"the {u.function} unit at {u.site} serves demand "
                f"{load:,.1f}, over its capacity {cap:,.1f}")


def _check_host_membership(data: _Data, u: _Unit, tol: float, out: _Out) -> None:
    """h in H_s (linking to a candidate host); x_{s,o(h),h} = 1 when host_must_be_member."""
    s, h = u.function, u.site
    if not data.is_candidate(s, h):
        out.add("linking", u.where, f"{h} is not a candidate host of {s}")
    owner = data.sites[h].owner
    if owner is None or not data.functions[s].host_must_be_member:
        return
    x = sum(mb.x for mb in u.members if mb.force == owner)
    if x < 1 - tol:
        out.add("host_membership", u.where, f"{h} belongs to {owner}, who must be a member "
                f"of the {s} unit it hosts, but is not")


def _check_forbidden_partners(data: _Data, u: _Unit, out: _Out) -> None:
    """x_sih + x_sjh <= 1 for each forbidden pair {i, j} (for its functions, default all)."""
    present = {mb.force for mb in u.members if mb.x > 0}
    for k, pair in enumerate(data.inst.policy.forbidden_partners):
        if pair.functions is not None and u.function not in pair.functions:
            continue
        a, b = pair.forces
        if a in present and b in present:
            out.add("forbidden_partners", u.where, f"{a} and {b} may not share "
                    f"{u.function} (policy.forbidden_partners[{k}]), yet both are in the "
                    f"unit at {u.site}")


def _check_units(data: _Data, units: list[_Unit], tol: float, out: _Out) -> None:
    """Per unit: linking, host membership, arcs, unit size, capacity, forbidden partners."""
    seen: dict[tuple[str, str], int] = {}
    for u in units:
        key = (u.function, u.site)
        if key in seen:
            out.add("linking", u.where, f"a second {u.function} unit at {u.site} (first is "
                    f"units[{seen[key]}]); a site hosts one unit per function")
        seen.setdefault(key, u.pos)
        _check_host_membership(data, u, tol, out)
        _check_member_fractions(data, u, tol, out)
        for mb in u.members:
            _check_arc(data, u, mb, out)
        _check_unit_size(data, u, tol, out)
        _check_capacity(data, u, tol, out)
        _check_forbidden_partners(data, u, out)


def _check_assignment(data: _Data, units: list[_Unit], tol: float, out: _Out) -> None:
    """sum_h x_sih <= 1; = 1 when standalone is not allowed (assignment) or i must share s."""
    total: dict[tuple[str, str], float] = {}
    where: dict[tuple[str, str], list[str]] = {}
    for u in units:
        for mb in u.members:
            total[(u.function, mb.force)] = total.get((u.function, mb.force), 0.0) + mb.x
            where.setdefault((u.function, mb.force), []).append(u.where)
    must = {(r.function, r.force) for r in data.inst.policy.must_share}
    for s, fn in data.functions.items():
        if not fn.shareable:
            continue
        for i in data.forces:
            x, places = total.get((s, i), 0.0), where.get((s, i), [])
            slack = tol * max(1, len(places))
            if x > 1 + slack:
                out.add("assignment", f"forces.{i}", f"{i} is served {s} {x:g} times "
                        f"({', '.join(places)}); a force gets a function from one unit at most")
            elif x < 1 - slack and (s, i) in must:
                out.add("must_share", f"forces.{i}", f"{i} must share {s} (policy), but the "
                        f"plan shares only {x:.0%} of it")
            elif x < 1 - slack and not fn.standalone_allowed:
                out.add("assignment", f"forces.{i}", f"{s} cannot be run standalone, but "
                        f"the plan shares only {x:.0%} of {i}'s {s}")


def _check_unit_count(data: _Data, units: list[_Unit], out: _Out) -> None:
    """sum_h y_sh <= U_s: open units per function."""
    for s, fn in data.functions.items():
        n = sum(1 for u in units if u.function == s)
        if fn.max_units is not None and n > fn.max_units:
            out.add("unit_count", f"functions.{s}", f"{n} {s} units open; at most "
                    f"{fn.max_units} allowed")


def _check_existing_units(data: _Data, units: list[_Unit], tol: float, out: _Out) -> None:
    """Fixed existing units: open, every listed member at x = 1, no other force there."""
    for k, e in enumerate(data.inst.existing):
        if e.reoptimisable or e.function not in data.functions:
            continue
        where = f"existing[{k}]"
        found = [u for u in units if (u.function, u.site) == (e.function, e.site)]
        label = f"the existing {e.function} unit at {e.site} ({', '.join(e.members)})"
        if not found:
            out.add("existing_units", where, f"{label} is fixed in place but missing from the plan")
            continue
        got = {mb.force: mb.x for u in found for mb in u.members}
        for m in e.members:
            if got.get(m, 0.0) < 1 - tol:
                out.add("existing_units", where, f"{label}: member {m} is missing from the plan")
        for m in sorted(set(got) - set(e.members)):
            out.add("existing_units", where, f"{label}: {m} is in the plan's unit but is not a "
                    "listed member; fixed units keep their members")


# ---------------------------------------------------------------- figures


@dataclass
class _Figures:
    """One force's recomputed figures, with the slack fraction rounding allows."""

    baseline: float = 0.0
    plan: float = 0.0
    one_off: float = 0.0
    frontline: float = 0.0
    money_slack: float = 0.0
    fte_slack: float = 0.0

    @property
    def savings(self) -> float:
        """savings_i = baseline_i - plan_i."""
        return self.baseline - self.plan

    def as_dict(self) -> dict[str, float]:
        """The figures under the names plans use (forces[*])."""
        return {"baseline_gbp": self.baseline, "plan_gbp": self.plan,
                "savings_gbp": self.savings, "one_off_gbp": self.one_off,
                "frontline_fte": self.frontline}


def _standalone(data: _Data) -> dict[str, _Figures]:
    """Before any sharing: baseline_i = plan_i = alpha sum_s c_si (all functions), frontline L_i."""
    figs = {}
    for i, f in data.forces.items():
        total = data.alpha * sum(data.c(s, i) for s in data.functions)
        figs[i] = _Figures(baseline=total, plan=total, frontline=f.frontline_officers_fte)
    return figs


def _unit_charges(data: _Data, s: str, h: str, xs: dict[str, float]) -> dict[str, dict]:
    """Per member i of the unit (s, h) with fractions xs, its charges:

    running = m_sih x_i,  fixed = F_sh share_i,  setup = G'_sh share_i,
    transition = t'_sih x_i,  coef = (alpha (m_sih - c_si) + t'_sih) x_i,
    share_i = k_si x_i / sum_j k_sj x_j.
    """
    weight = sum(data.k(s, j) * x for j, x in xs.items())
    out = {}
    for i, x in xs.items():
        share = data.k(s, i) * x / weight if weight > 0 else 0.0
        m = data.m(s, i, h)
        a_run, a_live, b = data.A(data.p(s, h)), data.A(data.g(s, h)), data.B(s, h)
        out[i] = {"running": m * x, "fixed": data.F(s, h) * share,
                  "setup": data.G(s, h) * share, "transition": data.t(s, h, i) * x,
                  "coef": (a_run * m - a_live * data.c(s, i) + b * data.t(s, h, i)) * x,
                  "a_run": a_run, "b": b}
    return out


def _add_unit(data: _Data, figs: dict[str, _Figures], s: str, h: str, xs: dict[str, float],
              baseline: bool) -> None:
    """Add one unit's charges, cost_i = coef_i + alpha F share_i + G' share_i.

    Plan unit: plan_i += cost_i, one_off_i += t' x + G' share, frontline_i += (o - rho d) x.
    Existing unit (baseline): baseline_i += cost_i, frontline_i -= (o - rho d) x0.
    """
    divisible = data.functions[s].divisible
    C = data.A(data.p(s, h)) * data.F(s, h) + data.B(s, h) * data.G(s, h)
    for i, ch in _unit_charges(data, s, h, xs).items():
        cost = ch["coef"] + ch["a_run"] * ch["fixed"] + ch["b"] * ch["setup"]
        fig = figs[i]
        if baseline:
            fig.baseline += cost
            fig.frontline -= data.delta(s, i) * xs[i]  # the status quo x0 is already in L_i
            continue
        fig.plan += cost
        fig.one_off += ch["transition"] + ch["setup"]
        fig.frontline += data.delta(s, i) * xs[i]
        if divisible and xs[i] > 0:
            fig.money_slack += FRACTION_SLACK * (abs(ch["coef"]) / xs[i] + C)
            fig.fte_slack += FRACTION_SLACK * abs(data.delta(s, i))


def _figures(data: _Data, units: list[_Unit]) -> dict[str, _Figures]:
    """baseline_i from the existing units as listed; plan_i, one_off_i, frontline_i from units."""
    figs = _standalone(data)
    for e in data.inst.existing:
        _add_unit(data, figs, e.function, e.site, {m: 1.0 for m in e.members}, baseline=True)
    for u in units:
        xs: dict[str, float] = {}
        for mb in u.members:
            xs[mb.force] = xs.get(mb.force, 0.0) + mb.x
        _add_unit(data, figs, u.function, u.site, xs, baseline=False)
    return figs


def _check_money(where: str, name: str, reported: float, value: float, tol: float,
                 slack: float, rule: str, out: _Out, kind: str = "gbp") -> None:
    """|reported - value| <= MONEY_TOL + FLOAT_REL |value| + slack for money (absolute: an
    objective off by £1,000 is wrong however large it is); for FTE and demand units
    (3 dp in plans) max(1e-3, tol |value|) + slack."""
    if kind == "gbp":
        allowed = MONEY_TOL + FLOAT_REL * abs(value) + slack
    else:
        allowed = max(1e-3, tol * abs(value)) + slack
    if abs(reported - value) > allowed:
        out.add(rule, where, f"{name} reported {_exact(reported, kind)}, recomputed "
                f"{_exact(value, kind)} (difference {_exact(reported - value, kind)})")


def _check_force_figures(figs: dict[str, _Figures], reported: dict[str, dict], tol: float,
                         out: _Out) -> None:
    """Each reported forces[*] figure equals its recomputation (cost_mismatch)."""
    for i, rec in reported.items():
        fig = figs[i]
        for name, value in fig.as_dict().items():
            fte = name == "frontline_fte"
            slack = fig.fte_slack if fte else fig.money_slack
            _check_money(f"forces.{i}", name, float(rec[name]), value, tol, slack,
                         "cost_mismatch", out, "fte" if fte else "gbp")


def _unit_expected(data: _Data, u: _Unit) -> tuple[dict, dict[int, dict], dict]:
    """A unit's figures: annual = F + sum m x, one-off = G' + sum t' x, demand = sum d x;
    per member j: annual = m x + F share, one-off = t' x + G' share; and the slack per figure
    that 6-dp fractions allow (divisible functions only)."""
    s, h = u.function, u.site
    ch = _unit_charges(data, s, h, {mb.force: mb.x for mb in u.members})
    unit = {"annual_cost_gbp": data.F(s, h) + sum(c["running"] for c in ch.values()),
            "one_off_cost_gbp": data.G(s, h) + sum(c["transition"] for c in ch.values()),
            "demand": sum(data.d(s, mb.force) * mb.x for mb in u.members)}
    # saving a year once live: sum_i c_si x_i - annual cost
    unit["saving_per_year_gbp"] = sum(data.c(s, mb.force) * mb.x for mb in u.members) \
        - unit["annual_cost_gbp"]
    members = {mb.pos: {"annual_gbp": ch[mb.force]["running"] + ch[mb.force]["fixed"],
                        "one_off_gbp": ch[mb.force]["transition"] + ch[mb.force]["setup"],
                        "saving_per_year_gbp": data.c(s, mb.force) * mb.x
                        - ch[mb.force]["running"] - ch[mb.force]["fixed"]}
               for mb in u.members}
    slack = {"demand": 0.0, "gbp": 0.0}
    if data.functions[s].divisible:
        C = data.A(data.p(s, h)) * data.F(s, h) + data.B(s, h) * data.G(s, h)
        slack = {"demand": FRACTION_SLACK * unit["demand"],
                 "gbp": FRACTION_SLACK * sum(abs(c["running"]) + abs(c["transition"]) + C
                                             for c in ch.values())}
    return unit, members, slack


def _compare(where: str, raw: dict, expect: dict, tol: float, slack: dict, out: _Out) -> None:
    """Figures a plan may leave out; when given they are numbers equal to the recomputation."""
    for name, value in expect.items():
        if name not in raw:
            continue
        if not _is_num(raw[name]):
            out.add("format", where, f"{name} must be a number, not {raw[name]!r}")
            continue
        kind = "units" if name == "demand" else "gbp"
        _check_money(where, name, float(raw[name]), value, tol,
                     slack["demand" if kind == "units" else "gbp"], "cost_mismatch", out, kind)


def _check_unit_figures(data: _Data, units: list[_Unit], tol: float, out: _Out) -> None:
    """Each unit's optional cost figures and its members' agree with :func:`_unit_expected`."""
    for u in units:
        if len({mb.force for mb in u.members}) != len(u.members):
            continue  # a force listed twice: reported already, its figures are ambiguous
        unit, members, slack = _unit_expected(data, u)
        _compare(u.where, u.raw, unit, tol, slack, out)
        for pos, expect in members.items():
            _compare(f"{u.where}.members[{pos}]", u.raw["members"][pos], expect, tol, slack,
                     out)


def _check_objective(plan: dict, figs: dict[str, _Figures], tol: float, out: _Out) -> None:
    """objective = sum_i plan_i (total horizon cost of all forces)."""
    value = plan.get("objective")
    if not _is_num(value):
        out.add("format", "objective", f"a solved plan needs a numeric objective, not {value!r}")
        return
    total = sum(f.plan for f in figs.values())
    slack = sum(f.money_slack for f in figs.values())
    _check_money("objective", "objective", float(value), total, tol, slack,
                 "objective_mismatch", out)


def _check_savings_target(data: _Data, figs: dict[str, _Figures], tol: float, out: _Out
                          ) -> None:
    """savings_i >= T_i per force."""
    for i, f in data.forces.items():
        T = f.savings_target_gbp
        fig = figs[i]
        if T is not None and fig.savings < T - max(0.02, tol * abs(T)) - fig.money_slack:
            out.add("savings_target", f"forces.{i}", f"{i} saves {money(fig.savings)} against "
                    f"a target of {money(T)} over {data.inst.horizon_years} years")


def _check_aggregate_target(data: _Data, figs: dict[str, _Figures], tol: float, out: _Out
                            ) -> None:
    """sum_i savings_i >= T over all forces."""
    T = data.inst.objective.aggregate_savings_target_gbp
    if T is None:
        return
    total = sum(f.savings for f in figs.values())
    slack = sum(f.money_slack for f in figs.values())
    if total < T - max(0.02, tol * abs(T)) - slack:
        out.add("aggregate_target", "objective.aggregate_savings_target_gbp",
                f"all forces together save {money(total)} against a target of {money(T)} "
                f"over {data.inst.horizon_years} years")


def _check_frontline_floor(data: _Data, figs: dict[str, _Figures], tol: float, out: _Out) -> None:
    """frontline_i = L_i + sum (o - rho d)(x - x0) >= Lmin_i."""
    for i, f in data.forces.items():
        floor = f.frontline_floor_fte
        fig = figs[i]
        if floor is not None and fig.frontline < floor - tol * max(1.0, floor) - fig.fte_slack:
            out.add("frontline_floor", f"forces.{i}", f"{i} keeps {fig.frontline:,.1f} "
                    f"frontline officers against a floor of {floor:,.1f}")


def _membership_by_year(data: _Data, s: str, h: str, xs: dict[str, float]) -> dict[str, list]:
    """Per member i, its cash cost in each year k relative to running s alone:
    clip(k+1-p) (m x + F share) - clip(k+1-g) c x, plus t' x + G' share in year floor(q)."""
    Y = data.inst.horizon_years
    p, g, q = data.p(s, h), data.g(s, h), data.q(s, h)
    out = {}
    for i, ch in _unit_charges(data, s, h, xs).items():
        row = []
        for k in range(1, Y + 1):
            cost = (data.share_of_year(k, p) * (ch["running"] + ch["fixed"])
                    - data.share_of_year(k, g) * data.c(s, i) * xs[i])
            if math.floor(q) == k:
                cost += ch["transition"] + ch["setup"]
            row.append(cost)
        out[i] = row
    return out


def _yearly_and_staff(data: _Data, units: list[_Unit]) -> tuple[dict, dict]:
    """yearly_i[k] = status quo's cost in year k - plan's (cash); staff_i = sum (e - sigma d)
    (x - x0)."""
    Y = data.inst.horizon_years
    yearly = {i: [0.0] * Y for i in data.forces}
    staff = {i: 0.0 for i in data.forces}
    groups = [(e.function, e.site, {m: 1.0 for m in e.members}, 1.0) for e in data.inst.existing]
    for u in units:
        xs: dict[str, float] = {}
        for mb in u.members:
            xs[mb.force] = xs.get(mb.force, 0.0) + mb.x
        groups.append((u.function, u.site, xs, -1.0))
    for s, h, xs, sign in groups:
        for i, row in _membership_by_year(data, s, h, xs).items():
            yearly[i] = [a + sign * b for a, b in zip(yearly[i], row)]
            staff[i] -= sign * data.staff_delta(s, i) * xs[i]
    return yearly, staff


def _check_yearly(data: _Data, units: list[_Unit], reported: dict[str, dict], tol: float,
                  out: _Out) -> None:
    """yearly_savings_gbp and staff_released_fte, where reported, equal their recomputation."""
    if not any("yearly_savings_gbp" in r or "staff_released_fte" in r for r in reported.values()):
        return
    yearly, staff = _yearly_and_staff(data, units)
    for i, rec in reported.items():
        got = rec.get("yearly_savings_gbp")
        if got is not None:
            if not isinstance(got, list) or len(got) != data.inst.horizon_years \
                    or not all(_is_num(v) for v in got):
                out.add("format", f"forces.{i}", "yearly_savings_gbp must be a list of "
                        f"{data.inst.horizon_years} numbers (one per horizon year)")
            else:
                for k, (r, v) in enumerate(zip(got, yearly[i])):
                    _check_money(f"forces.{i}", f"yearly_savings_gbp[{k}] (year {k + 1})",
                                 float(r), v, tol, 0.0, "cost_mismatch", out)
        if _is_num(rec.get("staff_released_fte")):
            _check_money(f"forces.{i}", "staff_released_fte", float(rec["staff_released_fte"]),
                         staff[i], tol, 0.0, "cost_mismatch", out, "fte")


# ---------------------------------------------------------------- entry points


def recompute(inst: Instance, plan: dict) -> dict:
    """The checker's own figures for a plan's units: {"forces": {id: figures}, "objective"}.

    Malformed or unknown entries are skipped (``check_plan`` reports them).
    """
    data = _Data.of(inst)
    out = _Out()
    units = _read_units(data, plan, out) if isinstance(plan, dict) else []
    figs = _figures(data, units)
    return {"forces": {i: f.as_dict() for i, f in figs.items()},
            "objective": sum(f.plan for f in figs.values())}


def check_plan(inst: Instance, plan: dict, tol: float = 1e-6) -> list[Violation]:
    """Every violation of the plan against the instance; an empty list means it checks out.

    A plan without a solution (status not optimal/feasible) is checked for format only.
    Never raises on a malformed plan: broken structure becomes ``format`` violations.
    """
    out = _Out()
    status = _check_top(plan, out)
    if status not in SOLVED:
        return out.items
    data = _Data.of(inst)
    ftol = max(tol, FRACTION_SLACK)  # fractions are rounded to 6 dp in plans
    units = _read_units(data, plan, out)
    reported = _read_forces(data, plan, out)
    _check_units(data, units, ftol, out)
    _check_assignment(data, units, ftol, out)
    _check_unit_count(data, units, out)
    _check_existing_units(data, units, ftol, out)
    figs = _figures(data, units)
    _check_savings_target(data, figs, tol, out)
    _check_aggregate_target(data, figs, tol, out)
    _check_frontline_floor(data, figs, tol, out)
    _check_force_figures(figs, reported, tol, out)
    _check_unit_figures(data, units, tol, out)
    _check_yearly(data, units, reported, tol, out)
    _check_objective(plan, figs, tol, out)
    return out.items


# ---------------------------------------------------------------- the plan file as a whole


def _force_label(data: _Data, fid: str) -> str:
    """'Hertfordshire (herts)', or the id alone when the force has no name."""
    f = data.forces.get(fid)
    return f"{f.name} ({fid})" if f is not None and f.name and f.name != fid else fid


def _check_instance_hash(plan: dict, digest: str, allow_other: bool, out: _Out) -> None:
    """The plan records the sha256 of the instance it was made from, and it is this one."""
    got = plan.get("instance_sha256")
    if got == digest or allow_other:
        return
    if not isinstance(got, str) or not got:
        out.add("provenance", "instance_sha256", "the plan records no instance hash, so "
                "nothing shows it was made from this instance; pass --allow-other-instance "
                "to check it anyway")
        return
    out.add("provenance", "instance_sha256", f"the plan was made from an instance with sha256 "
            f"{got[:12]}..., not this file ({digest[:12]}...): a different version of the "
            "instance; solve it again, or pass --allow-other-instance to check it anyway")


def _check_status_figures(plan: dict, out: _Out) -> None:
    """Status, objective, bound and gap agree (the objective is minimised):

    bound <= objective;  gap = |objective - bound| / max(1, |objective - offset|) >= 0, so
    gap = 0 exactly when bound = objective and gap <= |objective - bound|; ``optimal``
    needs a bound and gap <= the gap asked (options.gap).
    """
    status, obj, bound, gap = (plan.get(k) for k in ("status", "objective", "bound", "gap"))
    if not _is_num(obj):
        return  # reported by check_plan
    for name, value in (("bound", bound), ("gap", gap)):
        if value is not None and not _is_num(value):
            out.add("format", name, f"must be a number or null, not {value!r}")
            return
    if status == "optimal" and (bound is None or gap is None):
        out.add("status", "status", "optimal, yet the plan gives no bound or gap to prove it; "
                "an unproven plan is 'feasible'")
    if bound is not None and bound > obj + MONEY_TOL + 1e-9 * abs(obj):
        out.add("status", "bound", f"the bound {_exact(bound)} is above the objective "
                f"{_exact(obj)}: a lower bound on a least cost can never exceed a plan's cost")
    if gap is None:
        if bound is not None:
            out.add("status", "gap", "the plan gives a bound but no gap")
        return
    if gap < 0:
        out.add("status", "gap", f"{gap:g} is negative; a gap is |objective - bound| / ...")
        return
    if bound is None:
        out.add("status", "gap", f"a gap of {gap:g} but no bound to measure it against")
        return
    diff = abs(obj - bound)
    if gap > diff + 1e-9 or (gap > 1e-12 and diff <= 1e-9):
        out.add("status", "gap", f"a gap of {gap:g} cannot come from objective {_exact(obj)} "
                f"and bound {_exact(bound)} (gap = |objective - bound| / max(1, ...))")
    elif gap == 0 and diff > MONEY_TOL + FLOAT_REL * abs(obj):
        out.add("status", "gap", f"a gap of 0 while the bound {_exact(bound)} is "
                f"{_exact(diff)} below the objective")
    asked = (plan.get("options") or {}).get("gap") if isinstance(plan.get("options"),
                                                                  dict) else None
    if status == "optimal" and _is_num(asked) and gap > asked * 1.0001 + 1e-9:
        out.add("status", "status", f"optimal with a gap of {gap:.3g}, above the {asked:g} "
                "asked for; such a plan is 'feasible'")


def _check_reported_forces(data: _Data, plan: dict, out: _Out) -> None:
    """Each force's figures agree with each other and with the instance:
    savings = baseline - plan (each rounded to the penny), target and floor as the
    instance states them, the force's name as the instance gives it."""
    for rec in plan.get("forces") or []:
        if not isinstance(rec, dict) or rec.get("force") not in data.forces:
            continue  # reported by check_plan
        fid = rec["force"]
        f = data.forces[fid]
        where = f"forces.{fid}"
        b, p, s = (rec.get(k) for k in ("baseline_gbp", "plan_gbp", "savings_gbp"))
        if all(_is_num(v) for v in (b, p, s)) and abs(s - (b - p)) > MONEY_TOL + \
                FLOAT_REL * (abs(b) + abs(p)):
            out.add("cost_mismatch", where, f"savings_gbp {_exact(s)} is not baseline_gbp "
                    f"{_exact(b)} minus plan_gbp {_exact(p)} ({_exact(b - p)})")
        for key, stated, unit in (("target_gbp", f.savings_target_gbp, "gbp"),
                                  ("floor_fte", f.frontline_floor_fte, "fte")):
            if key not in rec:
                continue
            got = rec[key]
            same = (got is None and stated is None) or (
                _is_num(got) and stated is not None and abs(got - stated) <= 0.005)
            if not same:
                shown = "none" if stated is None else _exact(stated, unit)
                out.add("instance_mismatch", where, f"{key} reported {got!r}, but the instance "
                        f"states {shown} for {_force_label(data, fid)}")
        name = rec.get("name")
        if isinstance(name, str) and name != (f.name or f.id):
            out.add("instance_mismatch", where, f"named {name!r} in the plan, "
                    f"{f.name or f.id!r} in the instance")


def check_plan_file(inst: Instance, plan: Any, digest: str, allow_other_instance: bool = False,
                    tol: float = 1e-6) -> list[Violation]:
    """What ``solve check`` verifies of a plan file; an empty list means it checks out.

    On top of :func:`check_plan`: the plan was made from this instance (its
    ``instance_sha256`` equals ``digest``, unless ``allow_other_instance``), it holds a
    plan (a result without one, such as an infeasible run's, is refused: there is
    nothing to check), its status, bound and gap agree, and its per-force figures agree
    with each other and with the instance.
    """
    out = _Out()
    if isinstance(plan, dict):
        _check_instance_hash(plan, digest, allow_other_instance, out)
        status = plan.get("status")
        if status in STATUSES and status not in SOLVED:
            why = plan.get("message")
            out.add("no_plan", "status", f"the file holds no plan (status {status}"
                    + (f": {why}" if isinstance(why, str) and why else "") + "); there is "
                    "nothing to check")
        elif status in SOLVED:
            _check_status_figures(plan, out)
            _check_reported_forces(_Data.of(inst), plan, out)
    return out.items + check_plan(inst, plan, tol)


def describe_where(inst: Instance, plan: Any, where: str) -> str:
    """A violation's place with names: 'forces.herts' -> 'forces.herts (Hertfordshire)',
    'units[3]' -> 'units[3] (custody at Hertfordshire HQ)'."""
    data = _Data.of(inst)
    if where.startswith("forces."):
        fid = where.split(".", 1)[1]
        label = _force_label(data, fid)
        return where if label == fid else f"{where} ({label.rsplit(' (', 1)[0]})"
    if where.startswith("units[") and isinstance(plan, dict) and isinstance(plan.get("units"),
                                                                            list):
        try:
            k = int(where[6:where.index("]")])
            u = plan["units"][k]
            site = data.sites.get(u.get("site"))
            site_name = (site.name or site.id) if site is not None else u.get("site")
            text = f"{u.get('function')} at {site_name}"
            rest = where[where.index("]") + 1:]
            if rest.startswith(".members["):
                j = int(rest[9:rest.index("]")])
                text += f", member {_force_label(data, u['members'][j].get('force'))}"
            return f"{where} ({text})"
        except (ValueError, IndexError, KeyError, TypeError, AttributeError):
            return where
    return where
