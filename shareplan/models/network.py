"""The instance resolved into index sets and arrays the formulation builds from.

For every shareable function ``s``: its candidate hosts ``H_s`` with F, G, K; the
per-force parameters c, d, o, t, k; and the candidate arcs ``A_s ⊆ I × H_s``
after pruning (opt-outs, maximum distance, regional rules, capacity below a
single-source force's demand, hosts whose owner cannot be served). Existing
units are arcs that are always kept, whatever the pruning rules say.

Timing (per host h of s, on the horizon's clock where year k spans [k, k+1)):
go-live ``g_h`` (the host's, else the function's), dual running ``D_s``, the unit
is paid from ``p_h = max(1, g_h - D_s)`` and one-offs fall at ``q_h`` (default
``p_h``). With ``w_k = (1+r)^-k`` and ``frac_k(t) = clip(k + 1 - t, 0, 1)`` (the
part of year k from t on)::

    A_run_h  = sum_k w_k frac_k(p_h)    (years the unit's running costs are paid)
    A_live_h = sum_k w_k frac_k(g_h)    (years members no longer run s alone)
    B_h      = (1+r)^-(q_h - 1)         (one-offs, discounted to when they fall)

Existing units are live from the start (A_run = A_live = alpha, B = 1). With the
defaults (g = 1, D = 0) all three reduce to the untimed model: alpha, alpha, 1.
A jointly managed function has no travel and no relocation: its work stays put.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .instance import Function, Instance

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (broadcasts over arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def year_fractions(start: float, years: int) -> np.ndarray:
    """frac_k = clip(k + 1 - start, 0, 1) for k = 1..Y: the part of each year from start on."""
    k = np.arange(1, years + 1, dtype=float)
    return np.clip(k + 1 - start, 0.0, 1.0)


@dataclass
class ExistingUnit:
    host: int  # index into FunctionData.hosts
    members: np.ndarray  # force indices
    reoptimisable: bool


@dataclass
class FunctionData:
    """One shareable function: hosts, per-force data and candidate arcs (all indices)."""

    fn: Function
    hosts: list[str]  # site ids, H_s
    fixed: np.ndarray  # F_sh annual
    setup: np.ndarray  # G_sh one-off (0 at existing units: sunk)
    capacity: np.ndarray  # K_sh (inf = unlimited)
    owner: np.ndarray  # force index owning the host, -1 if none
    cost: np.ndarray  # c_si
    demand: np.ndarray  # d_si
    officers: np.ndarray  # o_si
    key: np.ndarray  # k_si for allocation, scaled to mean 1
    arc_force: np.ndarray  # i of each arc
    arc_host: np.ndarray  # index into hosts of each arc
    arc_annual: np.ndarray  # v_s d_si + a_sih (explicit or tau_s d_si dist_ih)
    arc_transition: np.ndarray  # t_si, 0 for existing members of that unit (sunk)
    existing: list[ExistingUnit] = field(default_factory=list)
    status_quo: np.ndarray | None = None  # per arc: 1.0 if the arc is in an existing unit
    staff: np.ndarray | None = None  # e_si police staff today
    go_live: np.ndarray | None = None  # g_h per host
    paid_from: np.ndarray | None = None  # p_h per host
    one_off_at: np.ndarray | None = None  # q_h per host
    a_run: np.ndarray | None = None  # A_run_h per host
    a_live: np.ndarray | None = None  # A_live_h per host
    b_one_off: np.ndarray | None = None  # B_h per host

    @property
    def unit_charge(self) -> np.ndarray:
        """C_sh = A_run_h F_sh + B_h G_sh: a unit's fixed and set-up costs over the horizon."""
        return self.a_run * self.fixed + self.b_one_off * self.setup

    def arc_coefficients(self, alpha: float, alone: np.ndarray) -> np.ndarray:
        """coef_a = A_run m_a - A_live c_si + B t_a + alpha c_si [i may not run s alone].

        ``alone`` is c_si where force i may run s alone, else 0 (its c_si leaves the
        constant: see formulation._force_constants).
        """
        h, i = self.arc_host, self.arc_force
        return (self.a_run[h] * self.arc_annual - self.a_live[h] * self.cost[i]
                + alpha * (self.cost[i] - alone[i]) + self.b_one_off[h] * self.arc_transition)

    @property
    def staff_delta(self) -> np.ndarray:
        """Police staff posts no longer needed per arc: e_si - sigma_s d_si."""
        return self.staff[self.arc_force] - self.fn.staff_per_unit * self.demand[self.arc_force]

    @property
    def officer_delta(self) -> np.ndarray:
        """Officers returned to the frontline per arc: o_si - rho_s d_si."""
        return self.officers[self.arc_force] - self.fn.officers_per_unit * self.demand[
            self.arc_force]


@dataclass
class Network:
    inst: Instance
    alpha: float
    force_ids: list[str]
    functions: list[FunctionData]  # shareable only
    local_cost: np.ndarray  # per force: annual cost of non-shareable functions
    shareable_cost: np.ndarray  # per force: annual standalone cost of shareable functions
    must_share: set[tuple[str, int]]  # (function id, force index)
    # the per-force and whole-instance figures the rows read, so the formulation needs
    # nothing beside the network
    savings_target: np.ndarray  # per force: T_i over the horizon (nan: none)
    aggregate_target: float | None  # T over all forces (objective.aggregate_savings_target_gbp)
    frontline: np.ndarray  # per force: L_i, frontline officers today
    frontline_floor: np.ndarray  # per force: Lmin_i (nan: none)
    forbidden_pairs: list[tuple[int, int, frozenset[str] | None]]  # (i, j, functions or all)
    objective_sense: str  # min_cost, max_frontline or max_min_savings_ratio

    @property
    def n_forces(self) -> int:
        return len(self.force_ids)


def build_network(inst: Instance, capacity_prunes: bool = True) -> Network:
    """Resolve defaults and prune arcs; assumes :func:`check_rules` passed.

    ``capacity_prunes=False`` keeps arcs whose demand exceeds the host's capacity
    (the infeasibility explanation relaxes capacity and needs them).
    """
    force_ids = [f.id for f in inst.forces]
    fidx = {fid: i for i, fid in enumerate(force_ids)}
    sites = {h.id: h for h in inst.sites}
    n = len(force_ids)
    alpha = inst.annuity_factor
    costs = {(c.function, c.force): c for c in inst.costs}
    policy = inst.policy
    opt_outs = {(r.function, r.force) for r in policy.opt_outs}
    same_region = set(policy.same_region)
    forces_lat = np.array([f.lat if f.lat is not None else np.nan for f in inst.forces])
    forces_lon = np.array([f.lon if f.lon is not None else np.nan for f in inst.forces])
    force_region = [f.region for f in inst.forces]

    local_cost = np.zeros(n)
    shareable_cost = np.zeros(n)
    functions: list[FunctionData] = []
    for fn in inst.functions:
        c = np.array([costs[(fn.id, fid)].standalone_cost_gbp for fid in force_ids])
        if not fn.shareable:
            local_cost += c
            continue
        shareable_cost += c
        recs = [costs[(fn.id, fid)] for fid in force_ids]
        d = np.array([r.demand if r.demand is not None else r.standalone_cost_gbp for r in recs])
        o = np.array([r.officers_fte for r in recs])
        t = np.array([r.transition_cost_gbp for r in recs])
        staff_today = np.array([r.staff_fte for r in recs])
        reloc = np.array([r.relocation_cost_gbp for r in recs])
        co_located = fn.mechanism == "co_located"
        if inst.allocation == "demand":
            k = d.copy()
        elif inst.allocation == "equal":
            k = np.ones(n)
        else:
            k = np.array([f.allocation_key if f.allocation_key is not None else f.budget_gbp
                          for f in inst.forces], dtype=float)
        k = k / k.mean()  # shares k_i / sum k_j do not change; the model stays well scaled

        host_specs = fn.hosts if fn.hosts is not None else [None] * len(inst.sites)
        host_ids = [hs.site for hs in fn.hosts] if fn.hosts is not None else list(sites)
        H = len(host_ids)

        def pick(spec, attr, default):
            value = getattr(spec, attr) if spec is not None else None
            return default if value is None else value

        F = np.array([pick(hs, "fixed_cost_gbp", fn.unit_fixed_cost_gbp)
                      + sum(x.fixed_cost_gbp for x in (hs.also_sites if hs else []))
                      for hs in host_specs])
        unit_sites = [[h] + [x.site for x in (hs.also_sites if hs else [])]
                      for h, hs in zip(host_ids, host_specs)]
        g_h = np.array([pick(hs, "go_live_year", fn.go_live_year) for hs in host_specs], float)
        G = np.array([pick(hs, "setup_cost_gbp", fn.unit_setup_cost_gbp) for hs in host_specs])
        K = np.array([pick(hs, "capacity", fn.unit_capacity) for hs in host_specs], dtype=object)
        K = np.array([np.inf if v is None else float(v) for v in K], dtype=float)
        owner = np.array([fidx[sites[h].owner] if sites[h].owner else -1 for h in host_ids],
                         dtype=int)
        site_region = [sites[h].region or (force_region[o_] if o_ >= 0 else None)
                       for h, o_ in zip(host_ids, owner)]

        allowed = np.ones((n, H), dtype=bool)
        for i, fid in enumerate(force_ids):
            if (fn.id, fid) in opt_outs:
                allowed[i, :] = False
        dist = None
        if H:
            dist = np.full((n, H), np.inf)
            for j, names in enumerate(unit_sites):  # a multi-site unit: its nearest site
                for h in names:
                    lat = sites[h].lat if sites[h].lat is not None else np.nan
                    lon = sites[h].lon if sites[h].lon is not None else np.nan
                    dist[:, j] = np.fmin(dist[:, j], haversine_km(forces_lat, forces_lon,
                                                                   lat, lon))
            dist[np.isinf(dist)] = np.nan
            maxd = policy.max_distance_km.get(fn.id, policy.max_distance_km.get("*"))
            if maxd is not None and co_located:
                allowed &= dist <= maxd
            if fn.id in same_region:
                allowed &= np.array([[force_region[i] == site_region[h] for h in range(H)]
                                     for i in range(n)], dtype=bool).reshape(n, H)
            if not fn.divisible and capacity_prunes:
                allowed &= d[:, None] <= K[None, :] + 1e-9

        existing_units: list[ExistingUnit] = []
        hpos = {h: j for j, h in enumerate(host_ids)}
        for e in inst.existing:
            if e.function != fn.id:
                continue
            members = np.array([fidx[m] for m in e.members], dtype=int)
            j = hpos[e.site]
            allowed[members, j] = True
            existing_units.append(ExistingUnit(j, members, e.reoptimisable))
            G[j] = 0.0
        # a host whose owner must be a member but cannot be served never opens
        if fn.host_must_be_member:
            for j in range(H):
                if owner[j] >= 0 and not allowed[owner[j], j]:
                    allowed[:, j] = False

        arc_force, arc_host = np.nonzero(allowed)
        annual = fn.variable_cost_gbp_per_unit * d[arc_force]
        if dist is not None and fn.travel_cost_gbp_per_unit_km > 0 and co_located:
            annual = annual + fn.travel_cost_gbp_per_unit_km * d[arc_force] * dist[
                arc_force, arc_host]
        if fn.arc_cost_gbp and co_located:
            empty: dict[str, float] = {}
            explicit = np.array([[row.get(h, np.nan) for h in host_ids] for row in (
                fn.arc_cost_gbp.get(fid, empty) for fid in force_ids)], dtype=float
            ).reshape(n, H)[arc_force, arc_host]
            given = ~np.isnan(explicit)
            annual = np.where(given, fn.variable_cost_gbp_per_unit * d[arc_force] + np.nan_to_num(
                explicit), annual)
        transition = t[arc_force].astype(float)
        if co_located:  # relocation where the force owns none of the unit's sites
            owns = np.zeros((n, H), dtype=bool)
            for j, names in enumerate(unit_sites):
                for h in names:
                    if sites[h].owner:
                        owns[fidx[sites[h].owner], j] = True
            transition = transition + np.where(owns[arc_force, arc_host], 0.0,
                                               reloc[arc_force])
        status_quo = np.zeros(len(arc_force))
        for unit in existing_units:
            in_unit = (arc_host == unit.host) & np.isin(arc_force, unit.members)
            transition[in_unit] = 0.0
            status_quo[in_unit] = 1.0
        # timing: existing units are live from the start
        is_existing = np.zeros(H, dtype=bool)
        is_existing[[u.host for u in existing_units]] = True
        g_h = np.where(is_existing, 1.0, g_h)
        p_h = np.where(is_existing, 1.0, np.maximum(1.0, g_h - fn.dual_running_years))
        q_h = p_h if fn.one_off_year is None else np.where(is_existing, 1.0, fn.one_off_year)
        w = np.array(inst.year_factors())
        Y = inst.horizon_years
        a_run = np.array([w @ year_fractions(p, Y) for p in p_h])
        a_live = np.array([w @ year_fractions(g, Y) for g in g_h])
        b = (1.0 + inst.discount_rate) ** -(q_h - 1.0)
        functions.append(FunctionData(
            fn=fn, hosts=host_ids, fixed=F.astype(float), setup=G.astype(float), capacity=K,
            owner=owner, cost=c, demand=d.astype(float), officers=o, key=k,
            arc_force=arc_force, arc_host=arc_host, arc_annual=np.asarray(annual, float),
            arc_transition=transition, existing=existing_units, status_quo=status_quo,
            staff=staff_today.astype(float), go_live=g_h, paid_from=p_h, one_off_at=np.asarray(
                q_h, float), a_run=a_run, a_live=a_live, b_one_off=np.asarray(b, float),
        ))
    must_share = {(r.function, fidx[r.force]) for r in policy.must_share}
    def per_force(value) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in map(value, inst.forces)])

    forbidden = [(fidx[p.forces[0]], fidx[p.forces[1]],
                  None if p.functions is None else frozenset(p.functions))
                 for p in policy.forbidden_partners]
    return Network(
        inst, alpha, force_ids, functions, local_cost, shareable_cost, must_share,
        savings_target=per_force(lambda f: f.savings_target_gbp),
        aggregate_target=inst.objective.aggregate_savings_target_gbp,
        frontline=per_force(lambda f: f.frontline_officers_fte),
        frontline_floor=per_force(lambda f: f.frontline_floor_fte),
        forbidden_pairs=forbidden, objective_sense=inst.objective.sense)
