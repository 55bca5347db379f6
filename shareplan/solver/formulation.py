"""The sharing MIP of docs/model.md section 5, one builder per constraint family.

Index sets: forces ``I``; shareable functions ``S``; candidate hosts ``H_s``;
candidate arcs ``a = (s, i, h) ∈ A_s``. Variables: ``x_a`` (force i gets s from
the unit at h; binary, or in [0,1] when s is divisible), ``y_sh`` (a unit for s
is open at h), and for exact cost allocation either ``lambda_hM`` (unit at h with
member set M) or ``p_sh`` (charge per key unit) with ``z_a = p_sh x_a``.
Standalone is ``u_si = 1 - sum_h x_sih``.

Money is over the horizon: annual figures times ``alpha = sum_{k=1..Y} (1+r)^-k``,
or, for a unit's running costs and the standalone costs it replaces, the timed
factors A_run_h and A_live_h of models/network.py; one-off figures (set-up G,
transition and relocation t) times B_h, discounted to when they fall (1 when
they fall at the start). For force i::

    plan_i(x) = alpha (L_i^loc + sum_s c_si)
                + sum_a [A_run_h m_a - A_live_h c_si + B_h t_a] x_a + charge_i(x)

where ``m_a = v_s d_si + a_sih`` is the arc's annual running cost and L^loc the
local (never shared) functions' cost; ``charge_i`` is i's exact share of its
units' C_sh = A_run_h F_sh + B_h G_sh (see :func:`allocation`). ``baseline_i =
plan_i(x0)`` for the status quo ``x0`` (existing units), so
``Savings_i = baseline_i - plan_i(x)``. Where force i
may not run s alone, ``sum_h x_sih = 1`` and its ``c_si`` terms cancel; the model
leaves them out of both the constant and ``coef_a`` (see ``_force_constants``).

:data:`FAMILIES` at the end is the registry: every family in build order with its
builder, rows, elastic relaxation, words and the instance fields behind it; the
formulation, explain.py, run.py, reduce.py and the tests all read it.

This module never imports a solver package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from ..models.network import FunctionData, Network
from .lp import Labels, LinearProgram, LPBuilder


@dataclass
class Formulation:
    """The built programme and the index maps needed to read a solution back."""

    net: Network
    lp: LinearProgram
    x: list[np.ndarray]  # per function: columns of its arcs
    y: list[np.ndarray]  # per function: columns of its hosts
    arc_coef: list[np.ndarray]  # per function: coef_a (FunctionData.arc_coefficients)
    force_const: np.ndarray  # the part of each force's plan cost no decision changes
    baseline: np.ndarray  # baseline_i over the horizon
    primary: tuple[np.ndarray, float] | None = None  # (objective, offset) maximised first


#: (force, column, coefficient) triples: each force's allocated share of unit costs, as
#: :func:`allocation` returns them for the families that read them.
Charges = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BuildContext:
    """What every family's builder reads, complete before the first family is built.

    Builders write their rows into ``b``; anything one family needs from another is
    returned by the one and passed to the other by name (``Family.needs``).
    """

    net: Network
    b: LPBuilder
    x: list[np.ndarray]  # per function: columns of its arcs
    y: list[np.ndarray]  # per function: columns of its hosts
    arc_coef: list[np.ndarray]  # per function: coef_a
    baseline: np.ndarray  # baseline_i
    force_const: np.ndarray  # the part of plan_i no decision changes
    capacity_prunes: bool = True  # member sets above capacity are left out

    def arcs(self):
        """(function data, its x columns, its y columns) for every shareable function."""
        return zip(self.net.functions, self.x, self.y)


def _standalone_possible(net: Network, fd: FunctionData) -> np.ndarray:
    """Per force: may it run s alone (standalone allowed and no must-share rule)?"""
    return np.array([fd.fn.standalone_allowed and (fd.fn.id, i) not in net.must_share
                     for i in range(net.n_forces)], dtype=bool)


def _force_constants(net: Network) -> np.ndarray:
    """The part of plan_i no decision changes: alpha (L^loc_i + sum_s c_si [i may run s alone]).

    Where i may not run s alone, sum_h x_sih = 1 and the c_si of u_si = 1 - sum_h x_sih is
    zero in every plan; leaving it out keeps the solver's relative gap on the cost that
    decisions change (a 1e9 standalone cost nobody can incur would otherwise dwarf it).
    """
    const = net.local_cost.copy()
    for fd in net.functions:
        const += fd.cost * _standalone_possible(net, fd)
    return net.alpha * const


def _status_quo_baseline(net: Network) -> np.ndarray:
    """baseline_i = plan_i(x0): every function alone except existing units as listed.

    = alpha (L^loc_i + sum_s c_si) + sum_{a in x0} alpha (m_a - c_si) + exact shares of
    alpha F_sh at existing units (their set-up and transitions are sunk).
    """
    base = net.alpha * (net.local_cost + net.shareable_cost)
    for fd in net.functions:
        coef = fd.arc_coefficients(net.alpha, fd.cost)
        np.add.at(base, fd.arc_force, coef * fd.status_quo)
        for unit in fd.existing:
            keys = fd.key[unit.members]
            share = fd.unit_charge[unit.host] * keys / keys.sum()
            np.add.at(base, unit.members, share)
    return base


def _arc_labels(net: Network, fd: FunctionData, arcs: np.ndarray | None = None) -> Labels:
    """(function, force, site) of each arc (of the selected arcs)."""
    arcs = np.arange(len(fd.arc_force)) if arcs is None else arcs
    return Labels(fd.fn.id, (net.force_ids, fd.arc_force[arcs]), (fd.hosts, fd.arc_host[arcs]))


def declare_variables(b: LPBuilder, net: Network):
    """x_a in {0,1} ([0,1] if divisible) per candidate arc; y_sh in {0,1} per host.

    Returns the per-function columns of x and y and the arc coefficients coef_a.
    """
    xs, ys, coefs = [], [], []
    for fd in net.functions:
        sid = fd.fn.id
        xs.append(b.add_vars("x", _arc_labels(net, fd), 0.0, 1.0, integer=not fd.fn.divisible))
        has_arc = np.bincount(fd.arc_host, minlength=len(fd.hosts)) > 0
        ys.append(b.add_vars("y", [(sid, h) for h in fd.hosts], 0.0, has_arc.astype(float),
                             integer=True))
        alone = fd.cost * _standalone_possible(net, fd)
        coefs.append(fd.arc_coefficients(net.alpha, alone))
    return xs, ys, coefs


def assignment(ctx: BuildContext) -> None:
    """sum_h x_sih <= 1 for every (s, i); = 1 when standalone is not allowed or i must share s."""
    for fd, x, _ in ctx.arcs():
        n = ctx.net.n_forces
        must = np.array([not fd.fn.standalone_allowed or (fd.fn.id, i) in ctx.net.must_share
                         for i in range(n)])
        ctx.b.add_rows("assignment", [(fd.fn.id, f) for f in ctx.net.force_ids], fd.arc_force, x,
                       1.0, np.where(must, 1.0, -np.inf), 1.0)


def linking(ctx: BuildContext) -> None:
    """Strong linking x_sih <= y_sh; for divisible s the tighter x_sih <= min(1, K_sh / d_si) y_sh.

    (A single-source arc with d_si > K_sh is pruned, or, in the elastic re-solve,
    kept at coefficient 1 so that relaxing capacity can serve it.)
    """
    for fd, x, y in ctx.arcs():
        m = len(x)
        if m == 0:
            continue
        d = fd.demand[fd.arc_force]
        cap = fd.capacity[fd.arc_host]
        tight = np.minimum(1.0, np.where(np.isfinite(cap), cap / d, 1.0)) if fd.fn.divisible \
            else np.ones(m)
        rows = np.repeat(np.arange(m), 2)
        cols = np.column_stack([x, y[fd.arc_host]]).ravel()
        vals = np.column_stack([np.ones(m), -tight]).ravel()
        ctx.b.add_rows("linking", _arc_labels(ctx.net, fd), rows, cols, vals, -np.inf, 0.0)


def host_membership(ctx: BuildContext) -> None:
    """x_{s,o(h),h} >= y_sh when site h has an owner o(h) and the function requires it."""
    for fd, x, y in ctx.arcs():
        if not fd.fn.host_must_be_member:
            continue
        own = fd.owner[fd.arc_host] == fd.arc_force
        arcs = np.nonzero(own)[0]
        if len(arcs) == 0:
            continue
        hosts = fd.arc_host[arcs]
        rows = np.repeat(np.arange(len(arcs)), 2)
        cols = np.column_stack([x[arcs], y[hosts]]).ravel()
        vals = np.tile([1.0, -1.0], len(arcs))
        ctx.b.add_rows("host_membership", [(fd.fn.id, fd.hosts[h]) for h in hosts], rows,
                       cols, vals, 0.0, np.inf)


def _per_host_rows(ctx: BuildContext, family: str, fd: FunctionData, x, y, arc_vals, y_vals, lo, hi,
                   hosts=None):
    """Rows  lo <= sum_{a at h} arc_vals_a x_a + y_vals_h y_h <= hi  for each host h (in hosts)."""
    hosts = np.arange(len(fd.hosts)) if hosts is None else hosts
    if len(hosts) == 0:
        return
    pos = np.full(len(fd.hosts), -1)
    pos[hosts] = np.arange(len(hosts))
    sel = pos[fd.arc_host] >= 0
    rows = np.concatenate([pos[fd.arc_host[sel]], np.arange(len(hosts))])
    cols = np.concatenate([x[sel], y[hosts]])
    vals = np.concatenate([np.broadcast_to(arc_vals, x.shape)[sel], y_vals[hosts]])
    ctx.b.add_rows(family, [(fd.fn.id, fd.hosts[h]) for h in hosts], rows, cols, vals, lo, hi)


def unit_size(ctx: BuildContext) -> None:
    """minm_s y_sh <= sum_i x_sih <= maxm_s y_sh (members counted; minm defaults to 2).

    With minm_s = 1 the lower row is implied by cost and left out.
    """
    for fd, x, y in ctx.arcs():
        H = len(fd.hosts)
        if fd.fn.min_members > 1:
            _per_host_rows(ctx, "unit_size_min", fd, x, y, 1.0,
                           np.full(H, -float(fd.fn.min_members)), 0.0, np.inf)
        if fd.fn.max_members is not None:
            _per_host_rows(ctx, "unit_size_max", fd, x, y, 1.0,
                           np.full(H, -float(fd.fn.max_members)), -np.inf, 0.0)


def capacity(ctx: BuildContext) -> None:
    """sum_i d_si x_sih <= K_sh y_sh for every host with finite capacity."""
    for fd, x, y in ctx.arcs():
        finite = np.nonzero(np.isfinite(fd.capacity))[0]
        K = np.where(np.isfinite(fd.capacity), -fd.capacity, 0.0)
        _per_host_rows(ctx, "capacity", fd, x, y, fd.demand[fd.arc_force], K, -np.inf, 0.0,
                       hosts=finite)


def capacity_cover(ctx: BuildContext) -> None:
    """Valid inequalities when every force must be served and every host has a capacity.

    sum_h K_sh y_sh >= D_s  (D_s = sum_i d_si), and its cardinality form
    sum_h y_sh >= k_s, k_s = the fewest hosts whose largest capacities reach D_s.
    Both are implied by assignment (= 1) and the capacity rows for integer y, but not
    by their LP relaxation: they cut fractional openings below total demand.
    """
    for fd, _, y in ctx.arcs():
        if fd.fn.standalone_allowed or not np.all(np.isfinite(fd.capacity)) or not len(y):
            continue
        total = fd.demand.sum()
        can_open = np.bincount(fd.arc_host, minlength=len(fd.hosts)) > 0
        largest_first = np.cumsum(np.sort(fd.capacity[can_open])[::-1])
        fewest = int(np.searchsorted(largest_first, total * (1 - 1e-12)) + 1)
        rows = [0] * len(y)
        cols, vals, lo, labels = list(y), list(fd.capacity), [total], [(fd.fn.id, "capacity")]
        if fewest <= len(largest_first):  # else the capacity row alone is infeasible
            rows += [1] * len(y)
            cols += list(y)
            vals += [1.0] * len(y)
            lo.append(float(fewest))
            labels.append((fd.fn.id, "count"))
        ctx.b.add_rows("capacity_cover", labels, rows, cols, vals, lo, np.inf)


def unit_count(ctx: BuildContext) -> None:
    """sum_h y_sh <= U_s."""
    for fd, _, y in ctx.arcs():
        if fd.fn.max_units is not None:
            ctx.b.add_rows("unit_count", [(fd.fn.id,)], np.zeros(len(y)), y, 1.0, -np.inf,
                           float(fd.fn.max_units))


def existing_units(ctx: BuildContext) -> None:
    """Fixed existing units: y_sh = 1, x = 1 for members, x = 0 for other forces at h."""
    for fd, x, y in ctx.arcs():
        for unit in fd.existing:
            if unit.reoptimisable:
                continue
            at_h = fd.arc_host == unit.host
            member = at_h & np.isin(fd.arc_force, unit.members)
            ctx.b.set_bounds(y[[unit.host]], lb=1.0)
            ctx.b.set_bounds(x[member], lb=1.0)
            ctx.b.set_bounds(x[at_h & ~member], ub=0.0)


def forbidden_partners(ctx: BuildContext) -> None:
    """Policy: x_sih + x_sjh <= 1 for each forbidden pair {i, j}, function s and host h.

    Opt-outs, maximum distance and regional rules remove arcs from A_s instead;
    must-share sets the assignment row to = 1.
    """
    net = ctx.net
    for fd, x, _ in ctx.arcs():
        labels, rows, cols = [], [], []
        for i, j, functions in net.forbidden_pairs:
            if functions is not None and fd.fn.id not in functions:
                continue
            for h in range(len(fd.hosts)):
                ai = np.nonzero((fd.arc_force == i) & (fd.arc_host == h))[0]
                aj = np.nonzero((fd.arc_force == j) & (fd.arc_host == h))[0]
                if len(ai) and len(aj):
                    rows += [len(labels)] * 2
                    cols += [x[ai[0]], x[aj[0]]]
                    labels.append((fd.fn.id, net.force_ids[i], net.force_ids[j], fd.hosts[h]))
        ctx.b.add_rows("forbidden_partners", labels, rows, cols, 1.0, -np.inf, 1.0)


#: Largest number of candidate member sets per function for which the allocation
#: is written over enumerated sets rather than McCormick products.
MAX_ENUMERATED_SETS = 20_000


def _member_sets(fd: FunctionData, h: int, within_capacity: bool) -> list[tuple[int, ...]]:
    """Feasible member sets M of a unit at h: owner in M (if required), minm <= |M| <= maxm,
    and (if within_capacity) sum_{i in M} d_si <= K_sh; indices into the arcs of fd."""
    arcs = np.nonzero(fd.arc_host == h)[0]
    required = [a for a in arcs if fd.fn.host_must_be_member and fd.arc_force[a] == fd.owner[h]]
    free = [a for a in arcs if a not in required]
    lo = max(fd.fn.min_members, 1)
    hi = min(fd.fn.max_members or len(arcs), len(arcs))
    out = []
    for size in range(max(lo, len(required)), hi + 1):
        for rest in combinations(free, size - len(required)):
            members = (*required, *rest)
            if not within_capacity or \
                    fd.demand[fd.arc_force[list(members)]].sum() <= fd.capacity[h] + 1e-9:
                out.append(members)
    return out


def _count_member_sets(fd: FunctionData, h: int) -> int:
    """An upper bound on len(_member_sets(fd, h)) without listing them."""
    n = int(np.sum(fd.arc_host == h))
    hi = min(fd.fn.max_members or n, n)
    return sum(comb(n, k) for k in range(max(fd.fn.min_members, 1), hi + 1))


def allocation(ctx: BuildContext) -> Charges:
    """Exact share of C_sh = A_run F_sh + B G_sh among members by keys: k_si / sum_{j in M} k_sj.

    Per function, over enumerated member sets when they are few (see
    :func:`allocation_by_sets`), else with McCormick products (:func:`allocation_mccormick`).
    Only when per-force charges enter the model (:func:`needs_allocation`); returns the
    charges (none otherwise).
    """
    charges: Charges = []
    if not needs_allocation(ctx.net):
        return charges
    for fd, x, y in ctx.arcs():
        C = fd.unit_charge
        if not np.any(C[fd.arc_host] > 0) or fd.fn.divisible:
            continue
        hosts = [h for h in range(len(fd.hosts)) if C[h] > 0 and np.any(fd.arc_host == h)]
        if sum(_count_member_sets(fd, h) for h in hosts) <= MAX_ENUMERATED_SETS:
            charges.append(allocation_by_sets(ctx, fd, x, y, C, hosts))
        else:
            charges.append(allocation_mccormick(ctx, fd, x, y, C, hosts))
    return charges


def allocation_by_sets(ctx: BuildContext, fd: FunctionData, x, y, C, hosts):
    """lambda_hM in {0,1} per feasible member set M at h, with each member's charge a constant:

    x_a = sum_{M at h(a), M contains i(a)} lambda_hM   (allocation_x),
    y_h = sum_{M at h} lambda_hM                        (allocation_y),
    charge_i = sum_M C_h k_si / (sum_{j in M} k_sj) lambda_hM    (returned as charges).
    """
    sid = fd.fn.id
    sets = [(h, m) for h in hosts for m in _member_sets(fd, h, ctx.capacity_prunes)]
    names = ["&".join(ctx.net.force_ids[fd.arc_force[a]] for a in m) for _, m in sets]
    lam = ctx.b.add_vars("unit", Labels(sid, (fd.hosts, np.array([h for h, _ in sets], int)),
                                        (names, np.arange(len(sets)))), 0.0, 1.0, integer=True)
    arc_rows, lam_cols, charge_force, charge_val = [], [], [], []
    for col, (h, members) in zip(lam, sets):
        keys = fd.key[fd.arc_force[list(members)]]
        for a, share in zip(members, keys / keys.sum()):
            arc_rows.append(a)
            lam_cols.append(col)
            charge_force.append(fd.arc_force[a])
            charge_val.append(C[h] * share)
    arcs_at = np.nonzero(np.isin(fd.arc_host, hosts))[0]
    pos = np.full(len(x), -1)
    pos[arcs_at] = np.arange(len(arcs_at))
    ctx.b.add_rows("allocation_x", _arc_labels(ctx.net, fd, arcs_at),
                   np.concatenate([np.arange(len(arcs_at)), pos[arc_rows]]),
                   np.concatenate([x[arcs_at], lam_cols]),
                   np.concatenate([np.ones(len(arcs_at)), -np.ones(len(lam_cols))]), 0.0, 0.0)
    hpos = {h: r for r, h in enumerate(hosts)}
    ctx.b.add_rows("allocation_y", [(sid, fd.hosts[h]) for h in hosts],
                   np.concatenate([np.arange(len(hosts)), [hpos[h] for h, _ in sets]]),
                   np.concatenate([y[hosts], lam]),
                   np.concatenate([np.ones(len(hosts)), -np.ones(len(sets))]), 0.0, 0.0)
    return (np.asarray(charge_force, int), np.asarray(lam_cols, int),
            np.asarray(charge_val, float))


def allocation_mccormick(ctx: BuildContext, fd: FunctionData, x, y, C, hosts):
    """z_a = p_sh x_a with sum_i k_si z_sih = C_sh y_sh; charge_i = k_si z_a (returned).

    McCormick with P_sh = C_sh / (sum of the minm_s smallest keys at h), exact for binary x:
    z_a <= P x_a,  z_a <= p_sh,  z_a >= p_sh - P (1 - x_a),  0 <= z, p <= P.
    """
    net = ctx.net
    H = len(fd.hosts)
    P = np.zeros(H)
    for h in hosts:
        keys = np.sort(fd.key[fd.arc_force[fd.arc_host == h]])
        P[h] = C[h] / keys[: max(1, fd.fn.min_members)].sum()
    sid = fd.fn.id
    p = ctx.b.add_vars("p", [(sid, h) for h in fd.hosts], 0.0, P)
    arcs = np.nonzero(np.isin(fd.arc_host, hosts))[0]
    Pa = P[fd.arc_host[arcs]]
    z = ctx.b.add_vars("z", _arc_labels(net, fd, arcs), 0.0, Pa)
    labels = _arc_labels(net, fd, arcs)
    m = len(arcs)
    two = np.repeat(np.arange(m), 2)
    three = np.repeat(np.arange(m), 3)
    ph = p[fd.arc_host[arcs]]
    ctx.b.add_rows("allocation_z_x", labels, two, np.column_stack([z, x[arcs]]).ravel(),
                   np.column_stack([np.ones(m), -Pa]).ravel(), -np.inf, 0.0)
    ctx.b.add_rows("allocation_z_p", labels, two, np.column_stack([z, ph]).ravel(),
                   np.tile([1.0, -1.0], m), -np.inf, 0.0)
    ctx.b.add_rows("allocation_z_lb", labels, three, np.column_stack([z, ph, x[arcs]]).ravel(),
                   np.column_stack([np.ones(m), -np.ones(m), -Pa]).ravel(), -Pa, np.inf)
    hosts = np.asarray(hosts, int)
    pos = np.full(H, -1)
    pos[hosts] = np.arange(len(hosts))
    rows = np.concatenate([pos[fd.arc_host[arcs]], np.arange(len(hosts))])
    cols = np.concatenate([z, y[hosts]])
    vals = np.concatenate([fd.key[fd.arc_force[arcs]], -C[hosts]])
    ctx.b.add_rows("allocation_z_sum", [(sid, fd.hosts[h]) for h in hosts], rows, cols, vals,
                   0.0, 0.0)
    return fd.arc_force[arcs], z, fd.key[fd.arc_force[arcs]]


def _plan_cost_terms(ctx: BuildContext, forces: np.ndarray, charges: Charges):
    """(row, col, val) of sum_a coef_a x_a + charges_i for each force in ``forces``."""
    pos = np.full(ctx.net.n_forces, -1)
    pos[forces] = np.arange(len(forces))
    R, Cc, V = [], [], []
    terms = [(fd.arc_force, x, coef) for fd, x, coef in zip(ctx.net.functions, ctx.x,
                                                            ctx.arc_coef)]
    for force, col, val in terms + charges:
        sel = pos[force] >= 0
        R.append(pos[force[sel]])
        Cc.append(col[sel])
        V.append(val[sel])
    cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt))
    return cat(R, np.int64), cat(Cc, np.int64), cat(V, float)


def savings_target(ctx: BuildContext, allocation: Charges) -> None:
    """Savings_i = baseline_i - plan_i(x) >= T_i for every force with a target.

    plan_i(x) - force_const_i = sum_a coef_a x_a + charge_i(x), the charges from
    :func:`allocation`.
    """
    targets = ctx.net.savings_target
    forces = np.nonzero(~np.isnan(targets))[0]
    if len(forces):
        r, c, v = _plan_cost_terms(ctx, forces, allocation)
        ctx.b.add_rows("savings_target", [(ctx.net.force_ids[i],) for i in forces], r, c, v,
                       -np.inf, ctx.baseline[forces] - ctx.force_const[forces] - targets[forces])


def aggregate_target(ctx: BuildContext) -> None:
    """sum_i Savings_i >= T: sum_a coef_a x_a + sum_sh C_sh y_sh <= sum_i (baseline_i -
    force_const_i) - T (the charges sum to the units' costs: no allocation needed)."""
    total = ctx.net.aggregate_target
    if total is not None:
        cols = np.concatenate(ctx.x + ctx.y)
        vals = np.concatenate(ctx.arc_coef + [fd.unit_charge for fd in ctx.net.functions])
        ctx.b.add_rows("aggregate_target", [("all",)], np.zeros(len(cols)), cols, vals,
                       -np.inf, float(ctx.baseline.sum() - ctx.force_const.sum() - total))


def frontline_floor(ctx: BuildContext) -> None:
    """L_i + sum_a (o_si - rho_s d_si)(x_a - x0_a) >= Lmin_i."""
    net = ctx.net
    forces = np.nonzero(~np.isnan(net.frontline_floor))[0]
    if not len(forces):
        return
    pos = np.full(net.n_forces, -1)
    pos[forces] = np.arange(len(forces))
    rhs = net.frontline_floor[forces] - net.frontline[forces]
    R, Cc, V = [], [], []
    for fd, x, _ in ctx.arcs():
        delta = fd.officer_delta
        sel = pos[fd.arc_force] >= 0
        R.append(pos[fd.arc_force[sel]])
        Cc.append(x[sel])
        V.append(delta[sel])
        np.add.at(rhs, pos[fd.arc_force[sel]], (delta * fd.status_quo)[sel])
    ctx.b.add_rows("frontline_floor", [(ctx.net.force_ids[i],) for i in forces],
                   np.concatenate(R) if R else [], np.concatenate(Cc) if Cc else [],
                   np.concatenate(V) if V else [], rhs, np.inf)


def needs_allocation(net: Network) -> bool:
    """Per-force charges enter the model only through per-force targets or the ratio objective."""
    return bool(np.any(~np.isnan(net.savings_target))
                or net.objective_sense == "max_min_savings_ratio")


def build_formulation(net: Network, capacity_prunes: bool = True) -> Formulation:
    """The whole model: the variables, every family of :data:`FAMILIES` (docs/model.md
    section 5) in order, the objective.

    Local policing (docs/model.md section 5.8) has no variables: network.build_network gives
    non-shareable functions no arcs, and their cost enters as the constant
    ``alpha * L^loc_i`` in every force's baseline and plan. ``capacity_prunes=False``
    keeps member sets above capacity (for the elastic re-solve, which relaxes it).
    """
    b = LPBuilder()
    x, y, arc_coef = declare_variables(b, net)
    force_const = _force_constants(net)
    baseline = _status_quo_baseline(net)
    ctx = BuildContext(net, b, x, y, arc_coef, baseline, force_const, capacity_prunes)
    built: dict[str, object] = {}
    for family in FAMILIES:
        built[family.name] = family.build(ctx, **{need: built[need] for need in family.needs})

    # objective: total horizon cost  sum_i plan_i = const + sum_a coef_a x_a + sum_sh C_sh y_sh
    for fd, xs, ys, coef in zip(net.functions, x, y, arc_coef):
        b.add_objective(xs, coef)
        b.add_objective(ys, fd.unit_charge)
    primary = _primary_objective(ctx, built["allocation"])
    lp = b.build(obj_offset=float(force_const.sum()))
    return Formulation(net, lp, x, y, arc_coef, force_const, baseline, primary)


#: The min savings ratio is maximised in basis points (w x 1e4); CBC's absolute
#: objective increment otherwise ends the search early on a value of about 0.03.
RATIO_SCALE = 1e4


def _primary_objective(ctx: BuildContext, charges: Charges) -> tuple[np.ndarray, float] | None:
    """The objective maximised before cost when the instance asks for another sense.

    max_frontline: sum_i sum_a (o - rho d)_a x_a (total frontline officers, less a constant).
    max_min_savings_ratio: a free variable w with plan_i(x) - force_const_i + w baseline_i
    <= baseline_i - force_const_i, i.e. Savings_i >= w baseline_i for every force.
    """
    sense = ctx.net.objective_sense
    if sense == "min_cost":
        return None
    if sense == "max_frontline":
        n_before = ctx.b.n_cols
        vec = np.zeros(n_before)
        for fd, x, _ in ctx.arcs():
            vec[x] += fd.officer_delta
        offset = float(ctx.net.frontline.sum())
        offset -= sum(float(fd.officer_delta @ fd.status_quo) for fd in ctx.net.functions)
        return vec, float(offset)
    w = ctx.b.add_vars("ratio", [("min",)], -np.inf, 1.0)
    forces = np.arange(ctx.net.n_forces)
    r, c, v = _plan_cost_terms(ctx, forces, charges)
    r = np.concatenate([r, forces])
    c = np.concatenate([c, np.full(len(forces), w[0])])
    v = np.concatenate([v, ctx.baseline])
    ctx.b.add_rows("ratio", [(f,) for f in ctx.net.force_ids], r, c, v, -np.inf,
                   ctx.baseline - ctx.force_const)
    vec = np.zeros(ctx.b.n_cols)
    vec[w[0]] = RATIO_SCALE  # in basis points: CBC stops early on objectives of ~0.03
    return vec, 0.0


# ---------------------------------------------------------------- the registry of families


def _force_scale(figures: Callable[[Network], np.ndarray]) -> Callable[[Network, tuple], float]:
    """The slack scale of a per-force row labelled (force,): that force's figure."""
    def scale(net: Network, label: tuple) -> float:
        return float(figures(net)[net.force_ids.index(label[0])])
    return scale


def _capacity_scale(net: Network, label: tuple) -> float:
    """The slack scale of a capacity row labelled (function, site): K_sh."""
    fd = next(f for f in net.functions if f.fn.id == label[0])
    return float(fd.capacity[fd.hosts.index(label[1])])


@dataclass(frozen=True)
class Relax:
    """How the elastic re-solve (solver/explain.py) relaxes a family.

    Each relaxed row gets a slack e >= 0 weighted 1 / max(1, scale(net, label)) in the
    least-violation objective. ``rows``: the row families carrying the slack when not the
    family's own (explain.py writes them); ``lower_side_only``: only rows whose lower
    bound is 1 (must share: sum_h x_sih = 1) are relaxed; ``drop``: valid inequalities
    left out of the elastic programme (they would hide the slack of another family).
    """

    scale: Callable[[Network, tuple], float] = lambda net, label: 1.0
    rows: tuple[str, ...] = ()
    lower_side_only: bool = False
    drop: bool = False


@dataclass(frozen=True)
class Family:
    """One constraint family: its single name (builder, rows, checker rule, explanation
    rule), its builder, the row families it writes, how the elastic re-solve relaxes it
    (None: it stays hard), the words explanations use, the instance fields behind its
    figures (``{0}`` is the row's first id), and the families whose output it reads."""

    name: str
    build: Callable
    rows: tuple[str, ...]
    relax: Relax | None
    words: str
    fields: str
    needs: tuple[str, ...] = ()


_MONEY_FIELDS = "costs and functions (money figures)"

#: Every constraint family in the order the model is built (docs/model.md section 5; 5.8
#: has no rows: local functions get no variables at all).
FAMILIES: tuple[Family, ...] = (
    Family("assignment", assignment, ("assignment",), Relax(lower_side_only=True),
           "must-share rule", "policy.must_share and functions '{0}' standalone_allowed"),
    Family("linking", linking, ("linking",), None, "link of a member to its unit",
           "functions '{0}' capacity and the costs' demand"),
    Family("host_membership", host_membership, ("host_membership",), None,
           "host-must-be-a-member rule", "functions '{0}' host_must_be_member, sites' owner"),
    Family("unit_size", unit_size, ("unit_size_min", "unit_size_max"),
           Relax(rows=("unit_size_limit",)), "maximum unit size",
           "functions '{0}' min_members and max_members"),
    Family("capacity", capacity, ("capacity",), Relax(scale=_capacity_scale), "unit capacity",
           "functions '{0}' capacity and the costs' demand"),
    Family("capacity_cover", capacity_cover, ("capacity_cover",), Relax(drop=True),
           "capacity cover", "functions '{0}' capacity and the costs' demand"),
    Family("unit_count", unit_count, ("unit_count",), Relax(), "maximum number of units",
           "functions '{0}' max_units"),
    Family("existing_units", existing_units, (), None, "existing collaboration",
           "existing (function, site, members, reoptimisable)"),
    Family("forbidden_partners", forbidden_partners, ("forbidden_partners",), Relax(),
           "forbidden-partners rule", "policy.forbidden_partners"),
    Family("allocation", allocation, ("allocation_x", "allocation_y", "allocation_z_x",
                                      "allocation_z_p", "allocation_z_lb", "allocation_z_sum"),
           None, "cost allocation", "functions '{0}' unit costs and the allocation keys"),
    Family("savings_target", savings_target, ("savings_target",),
           Relax(scale=_force_scale(lambda net: net.savings_target)), "savings target",
           "costs of force '{0}' (standalone_cost_gbp, transition_cost_gbp) and the "
           "functions' unit costs", needs=("allocation",)),
    Family("aggregate_target", aggregate_target, ("aggregate_target",),
           Relax(scale=lambda net, label: net.aggregate_target), "aggregate savings target",
           "objective.aggregate_savings_target_gbp and " + _MONEY_FIELDS),
    Family("frontline_floor", frontline_floor, ("frontline_floor",),
           Relax(scale=_force_scale(lambda net: net.frontline_floor)), "frontline floor",
           "forces '{0}' frontline figures, costs officers_fte, functions "
           "officers_per_unit x demand"),
)

#: Rules that remove arcs (models/network.py) instead of writing rows: their words and
#: fields for explanations; the checker checks each under the same name. The elastic
#: re-solve may waive the policy ones (explain._rule_exceptions), never local policing.
ARC_RULES: dict[str, tuple[str, str]] = {
    "opt_out": ("opt-out", "policy.opt_outs"),
    "max_distance": ("distance limit", "policy.max_distance_km"),
    "same_region": ("same-region rule", "policy.same_region"),
    "local_policing": ("local policing, never shared", "functions[].shareable"),
}

#: Rows of the objective rather than of a family (the max-min savings ratio).
OBJECTIVE_ROWS: dict[str, str] = {
    "ratio": "costs of force '{0}' (standalone_cost_gbp, transition_cost_gbp) and the "
             "functions' unit costs"}

FAMILY: dict[str, Family] = {f.name: f for f in FAMILIES}
FAMILY_OF_ROW: dict[str, Family] = {row: f for f in FAMILIES for row in (*f.rows, *(
    f.relax.rows if f.relax else ()))}
