"""The instance resolved into index sets and arrays the formulation builds from.

For every shareable function ``s``: its candidate hosts ``H_s`` with F, G, K; the
per-force parameters c, d, o, t, k; and the candidate arcs ``A_s ⊆ I × H_s``
after pruning (opt-outs, maximum distance, regional rules, capacity below a
single-source force's demand, hosts whose owner cannot be served). Existing
units are arcs that are always kept, whatever the pruning rules say.
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

        F = np.array([pick(hs, "fixed_cost_gbp", fn.unit_fixed_cost_gbp) for hs in host_specs])
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
            h_lat = np.array([sites[h].lat if sites[h].lat is not None else np.nan
                              for h in host_ids])
            h_lon = np.array([sites[h].lon if sites[h].lon is not None else np.nan
                              for h in host_ids])
            dist = haversine_km(forces_lat[:, None], forces_lon[:, None], h_lat[None, :],
                                h_lon[None, :])
            maxd = policy.max_distance_km.get(fn.id, policy.max_distance_km.get("*"))
            if maxd is not None:
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
        if dist is not None and fn.travel_cost_gbp_per_unit_km > 0:
            annual = annual + fn.travel_cost_gbp_per_unit_km * d[arc_force] * dist[
                arc_force, arc_host]
        if fn.arc_cost_gbp:
            empty: dict[str, float] = {}
            explicit = np.array([[row.get(h, np.nan) for h in host_ids] for row in (
                fn.arc_cost_gbp.get(fid, empty) for fid in force_ids)], dtype=float
            ).reshape(n, H)[arc_force, arc_host]
            given = ~np.isnan(explicit)
            annual = np.where(given, fn.variable_cost_gbp_per_unit * d[arc_force] + np.nan_to_num(
                explicit), annual)
        transition = t[arc_force].astype(float)
        status_quo = np.zeros(len(arc_force))
        for unit in existing_units:
            in_unit = (arc_host == unit.host) & np.isin(arc_force, unit.members)
            transition[in_unit] = 0.0
            status_quo[in_unit] = 1.0
        functions.append(FunctionData(
            fn=fn, hosts=host_ids, fixed=F.astype(float), setup=G.astype(float), capacity=K,
            owner=owner, cost=c, demand=d.astype(float), officers=o, key=k,
            arc_force=arc_force, arc_host=arc_host, arc_annual=np.asarray(annual, float),
            arc_transition=transition, existing=existing_units, status_quo=status_quo,
        ))
    must_share = {(r.function, fidx[r.force]) for r in policy.must_share}
    return Network(inst, alpha, force_ids, functions, local_cost, shareable_cost, must_share)
