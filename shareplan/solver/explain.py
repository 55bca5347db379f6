"""Why an instance is infeasible, in the planner's words (SPEC section 6).

First cheap pre-checks: a force's savings target above the most it could save if
every function it may share were shared on the best terms, or a frontline floor
above what any plan reaches. Then an elastic re-solve: every savings target,
frontline floor, capacity and policy row gets a slack ``e >= 0``

    a'x - e <= hi   or   a'x + e >= lo,      minimise  sum_r e_r / scale_r

(scale: the target, the floor, the capacity, or 1), so the least relative
violation is found and each non-zero slack is reported in its own terms.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..models.network import Network, build_network
from ..text import money
from .backends.base import SolveOptions, Status
from .formulation import Formulation, build_formulation
from .lp import Block

ELASTIC_FAMILIES = ("savings", "savings_total", "frontline", "capacity", "assign", "forbidden",
                    "max_units", "max_members")


def _years(net: Network) -> str:
    y = net.inst.horizon_years
    return f"{y} year" + ("s" if y != 1 else "")


def _name(net: Network, force_id: str) -> str:
    f = next(f for f in net.inst.forces if f.id == force_id)
    return f.name or f.id


def _site_name(net: Network, site_id: str) -> str:
    s = next((h for h in net.inst.sites if h.id == site_id), None)
    return (s.name or s.id) if s else site_id


def precheck(form: Formulation) -> list[dict]:
    """Targets above each force's most optimistic saving; floors above the best frontline.

    max saving_i <= sum_s max(0, max_{a in A_s(i), not fixed}
                              A_live c - A_run m_a - B t_a - C_h k_i / K_h),
    with K_h the largest key total a unit at h can reach (i plus the biggest others);
    max frontline_i <= L_i + sum_s (max(0, max_a delta_a) - delta(x0)) over functions where
    i is not a fixed member of an existing unit.
    """
    net = form.net
    inst = net.inst
    n = net.n_forces
    best_saving = np.zeros(n)
    best_frontline = np.array([f.frontline_officers_fte for f in inst.forces], dtype=float)
    for fd in net.functions:
        fixed_members = {int(i) for u in fd.existing if not u.reoptimisable for i in u.members}
        delta = fd.officer_delta
        C = fd.unit_charge
        gain_alone = -fd.arc_coefficients(net.alpha, fd.cost)  # A_live c - A_run m - B t
        cap = fd.fn.max_members or n
        for i in range(n):
            arcs = np.nonzero(fd.arc_force == i)[0]
            if i in fixed_members or not len(arcs):
                continue  # a fixed member's x equals its status quo: no change either way
            best_frontline[i] -= float(delta[arcs] @ fd.status_quo[arcs])
            gains = []
            for a in arcs:
                h = fd.arc_host[a]
                others = np.sort(fd.key[fd.arc_force[(fd.arc_host == h) & (fd.arc_force != i)]])
                keys = fd.key[i] + others[::-1][: cap - 1].sum()
                gains.append(gain_alone[a] - C[h] * fd.key[i] / keys)
            best_saving[i] += max(0.0, max(gains))
            best_frontline[i] += max(0.0, float(delta[arcs].max()))
    # a member of an existing unit can also gain when others join its unit or it leaves;
    # the bound above does not cover that, so such forces are left to the elastic re-solve
    in_existing = {m for e in inst.existing for m in e.members}
    out = []
    for i, f in enumerate(inst.forces):
        if f.savings_target_gbp is not None and f.id not in in_existing \
                and f.savings_target_gbp > best_saving[i] + 1e-6:
            out.append({"rule": "savings_target", "force": f.id, "target": f.savings_target_gbp,
                        "achievable": float(best_saving[i]),
                        "message": f"{f.name or f.id} can save at most "
                                   f"{money(best_saving[i])} over {_years(net)} even if every "
                                   f"function it may share were shared on the best terms, "
                                   f"against a target of {money(f.savings_target_gbp)}"})
        if f.frontline_floor_fte is not None and f.frontline_floor_fte > best_frontline[i] + 1e-6:
            out.append({"rule": "frontline_floor", "force": f.id, "floor": f.frontline_floor_fte,
                        "achievable": float(best_frontline[i]),
                        "message": f"{f.name or f.id} can keep at most "
                                   f"{best_frontline[i]:,.1f} frontline officers against a "
                                   f"floor of {f.frontline_floor_fte:,.1f}"})
    return out


def _elastic(form: Formulation):
    """The programme with a slack column on every row of the elastic families."""
    lp = form.lp
    net = form.net
    forces = {f.id: f for f in net.inst.forces}
    cols, rows, signs, weights, labels = [], [], [], [], []
    for block in lp.row_blocks:
        if block.family not in ELASTIC_FAMILIES:
            continue
        for k, label in enumerate(block.labels):
            r = block.start + k
            lo, hi = lp.row_lo[r], lp.row_hi[r]
            if block.family == "assign" and lo < 0.5:
                continue  # only must-share / no-standalone rows are policy to relax
            scale = 1.0
            if block.family == "savings":
                scale = max(1.0, forces[label[0]].savings_target_gbp or 1.0)
            elif block.family == "savings_total":
                scale = max(1.0, net.inst.objective.aggregate_savings_target_gbp or 1.0)
            elif block.family == "frontline":
                scale = max(1.0, forces[label[0]].frontline_floor_fte or 1.0)
            elif block.family == "capacity":
                fd = next(f for f in net.functions if f.fn.id == label[0])
                scale = max(1.0, float(fd.capacity[fd.hosts.index(label[1])]))
            sign = 1.0 if block.family == "assign" or not np.isfinite(hi) else -1.0
            rows.append(r)
            signs.append(sign)
            weights.append(1.0 / scale)
            labels.append((block.family, label))
            cols.append(lp.n_cols + len(cols))
    m = len(cols)
    S = sp.csr_matrix((signs, (rows, np.arange(m))), shape=(lp.n_rows, m))
    block = Block("slack", lp.n_cols, [(f, *lab) for f, lab in labels])
    row_lo = lp.row_lo.copy()  # the cover inequalities would hide capacity slack: drop them
    for cover in lp.row_blocks:
        if cover.family == "cover":
            row_lo[cover.start:cover.stop] = -np.inf
    elastic = replace(
        lp, A=sp.hstack([lp.A, S]).tocsr(), row_lo=row_lo, lb=np.append(lp.lb, np.zeros(m)),
        ub=np.append(lp.ub, np.full(m, np.inf)), integer=np.append(lp.integer, np.zeros(m, bool)),
        obj=np.append(np.zeros(lp.n_cols), weights), obj_offset=0.0, maximize=False,
        col_blocks=[*lp.col_blocks, block])
    return elastic, labels


def _describe(form: Formulation, family: str, label: tuple, slack: float, alone: bool) -> dict:
    net = form.net
    inst = net.inst
    lead = "can" if alone else "in the least-violation plan could"
    if family == "savings":
        f = next(f for f in inst.forces if f.id == label[0])
        got = f.savings_target_gbp - slack
        return {"rule": "savings_target", "force": f.id, "target": f.savings_target_gbp,
                "achievable": got, "shortfall": slack,
                "message": f"{f.name or f.id} {lead} save at most {money(got)} over "
                           f"{_years(net)} against a target of {money(f.savings_target_gbp)}"}
    if family == "savings_total":
        t = inst.objective.aggregate_savings_target_gbp
        return {"rule": "aggregate_target", "target": t, "achievable": t - slack,
                "shortfall": slack,
                "message": f"all forces together {lead} save at most {money(t - slack)} over "
                           f"{_years(net)} against an aggregate target of {money(t)}"}
    if family == "frontline":
        f = next(f for f in inst.forces if f.id == label[0])
        got = f.frontline_floor_fte - slack
        return {"rule": "frontline_floor", "force": f.id, "floor": f.frontline_floor_fte,
                "achievable": got, "shortfall": slack,
                "message": f"{f.name or f.id} {lead} keep at most {got:,.1f} frontline officers "
                           f"against a floor of {f.frontline_floor_fte:,.1f}"}
    if family == "capacity":
        fd = next(f for f in net.functions if f.fn.id == label[0])
        cap = float(fd.capacity[fd.hosts.index(label[1])])
        return {"rule": "capacity", "function": label[0], "site": label[1], "capacity": cap,
                "needed": cap + slack,
                "message": f"{label[0]} at {_site_name(net, label[1])} would need capacity "
                           f"{cap + slack:,.0f} against {cap:,.0f}"}
    if family == "assign":
        return {"rule": "must_share", "function": label[0], "force": label[1],
                "message": f"{_name(net, label[1])} must be served by a shared {label[0]} unit "
                           "(must-share or no standalone option) but no unit can take it "
                           "under the other rules"}
    if family == "forbidden":
        return {"rule": "forbidden_partners", "function": label[0], "forces": list(label[1:3]),
                "message": f"{_name(net, label[1])} and {_name(net, label[2])} would have to "
                           f"share {label[0]} at {_site_name(net, label[3])} although they "
                           "are forbidden partners"}
    if family == "max_units":
        limit = next(f for f in net.functions if f.fn.id == label[0]).fn.max_units
        return {"rule": "unit_count", "function": label[0], "extra_units": slack,
                "message": f"{label[0]} would need {slack:,.0f} more unit(s) than its maximum "
                           f"of {limit}"}
    return {"rule": "unit_size", "function": label[0], "site": label[1], "extra_members": slack,
            "message": f"the {label[0]} unit at {_site_name(net, label[1])} would need "
                       f"{slack:,.0f} more member(s) than its maximum"}


def explain_infeasible(form: Formulation, backend: str, options: SolveOptions) -> list[dict]:
    """Reasons an infeasible instance cannot be planned, each with figures and a message."""
    from .backends import get_backend
    from .run import solve_programme

    reasons = precheck(form)
    if reasons:
        return reasons
    # capacity is relaxed below, so arcs and member sets must not be pruned by it
    form = build_formulation(build_network(form.net.inst, capacity_prunes=False),
                             capacity_prunes=False)
    elastic, labels = _elastic(form)
    if not get_backend(backend).supports_continuous:
        backend = "ortools"  # slacks are continuous; CP-SAT would round them
    res = solve_programme(elastic, backend, options)
    if res.x is None:
        return [{"rule": "structure", "message": "no plan exists even with every target, floor, "
                 "capacity and policy rule relaxed: the fixed existing units or the unit-size "
                 "rules (min_members, host must be a member) cannot be met by the forces "
                 "allowed to join"}]
    slack = res.x[form.lp.n_cols:]
    violated = [(labels[k], float(slack[k])) for k in np.argsort(-slack) if slack[k] > 1e-6]
    alone = len(violated) == 1 and res.status is Status.OPTIMAL
    return [_describe(form, fam, lab, s, alone) for (fam, lab), s in violated]
