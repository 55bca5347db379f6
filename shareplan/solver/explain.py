"""Why an instance is infeasible, in the planner's words (docs/model.md section 9).

First cheap pre-checks: a force's savings target above the most it could save if
every function it may share were shared on the best terms, or a frontline floor
above what any plan reaches. Then an elastic re-solve: every savings target,
frontline floor, capacity and policy row gets a slack ``e >= 0``

    a'x - e <= hi   or   a'x + e >= lo,      minimise  sum_r e_r / scale_r

(scale: the target, the floor, the capacity, or 1), so the least relative
violation is found and each non-zero slack is reported in its own terms.

Two rules shape the programme rather than sit in rows, so the elastic programme
writes them as rows to relax them: ``max_members`` (member sets are enumerated up
to it, so its rows alone cannot be relaxed) becomes ``sum_i x_sih - maxm_s y_sh <= 0``
on a network built with twice the limit (a unit may grow to double its maximum; the
programme's own rows at that limit stay hard); and a force that must share s
(``sum_h x_sih = 1``) has its standalone cost ``c_si`` left out of its plan cost, so
the slack ``e`` of that row (the share of s it would run alone) adds ``alpha c_si e``
to its savings rows.

Rules that prune arcs (maximum distance, same region, opt-outs) have no rows at
all. When they prune any arc, a second elastic programme is built on the network
without them, with a row ``x_a - e_a <= 0`` for every arc one of them forbids and
every other rule kept hard: its non-zero slacks are the fewest exceptions to those
rules that would allow a plan (given as an alternative when there is one).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..models.network import Network, build_network
from ..text import money
from .core import SolveOptions, Status
from .formulation import ARC_RULES, FAMILIES, FAMILY, FAMILY_OF_ROW, Formulation, build_formulation
from .lp import Block
from .programme import solve_programme

#: The row families that get a slack in the least-violation programme (the registry's
#: ``Relax`` entries), and the rows of the arc rules' programme.
ELASTIC_ROWS = tuple(row for f in FAMILIES if f.relax is not None and not f.relax.drop
                     for row in (f.relax.rows or f.rows))
ARC_RULE_ROWS = ("arc_rule",)
#: The network without the arc-pruning rules is used only while it stays this small,
#: and its re-solve gets at most this many seconds (its plan then may not be the fewest
#: exceptions, and says so).
MAX_RELAXED_ARCS = 5_000
EXCEPTIONS_TIME_S = 10.0


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


def _append_rows(lp, family: str, labels: list[tuple], rows, cols, vals, hi: float):
    """lp with rows ``sum vals x <= hi`` (one per label) added as the family ``family``."""
    extra = sp.csr_matrix((vals, (rows, cols)), shape=(len(labels), lp.n_cols))
    block = Block(family, lp.n_rows, labels)
    return replace(lp, A=sp.vstack([lp.A, extra]).tocsr(),
                   row_lo=np.append(lp.row_lo, np.full(len(labels), -np.inf)),
                   row_hi=np.append(lp.row_hi, np.full(len(labels), hi)),
                   row_blocks=[*lp.row_blocks, block])


def _max_members_rows(form: Formulation, limits: dict[str, int]):
    """sum_i x_sih - maxm_s y_sh <= 0 for every host of every function with a limit."""
    labels, rows, cols, vals = [], [], [], []
    for fd, x, y in zip(form.net.functions, form.x, form.y):
        m = limits.get(fd.fn.id)
        if m is None:
            continue
        for h in np.unique(fd.arc_host):
            r = len(labels)
            labels.append((fd.fn.id, fd.hosts[h]))
            at = x[fd.arc_host == h]
            rows += [r] * (len(at) + 1)
            cols += [*at.tolist(), int(y[h])]
            vals += [1.0] * len(at) + [-float(m)]
    if not labels:
        return form.lp
    return _append_rows(form.lp, FAMILY["unit_size"].relax.rows[0], labels, rows, cols, vals,
                        0.0)


def _arc_rule_rows(form: Formulation, lp, inst):
    """x_a <= 0 for every arc the instance's distance, region or opt-out rules forbid
    (``form`` is built without them); labels (function, force, site, rules)."""
    from ..models.network import haversine_km

    policy = inst.policy
    opt_outs = {(r.function, r.force) for r in policy.opt_outs}
    forces = {f.id: f for f in inst.forces}
    sites = {h.id: h for h in inst.sites}
    labels, cols = [], []
    for fd, x in zip(form.net.functions, form.x):
        s = fd.fn.id
        maxd = policy.max_distance_km.get(s, policy.max_distance_km.get("*"))
        for a in range(len(x)):
            if fd.status_quo[a] > 0.5:
                continue  # an existing unit's arc is allowed whatever the rules say
            i, h = form.net.force_ids[fd.arc_force[a]], fd.hosts[fd.arc_host[a]]
            f, site = forces[i], sites[h]
            broken = []
            if maxd is not None and None not in (f.lat, f.lon, site.lat, site.lon) and \
                    haversine_km(f.lat, f.lon, site.lat, site.lon) > maxd:
                broken.append("max_distance")
            region = site.region or (forces[site.owner].region if site.owner else None)
            if s in policy.same_region and f.region != region:
                broken.append("same_region")
            if (s, i) in opt_outs:
                broken.append("opt_out")
            if broken:
                labels.append((s, i, h, "+".join(broken)))
                cols.append(int(x[a]))
    if not labels:
        return None
    return _append_rows(lp, "arc_rule", labels, np.arange(len(labels)), cols,
                        np.ones(len(labels)), 0.0)


def _elastic(form: Formulation, lp=None, families=ELASTIC_ROWS):
    """The programme with a slack column on every row of the elastic row families, each
    weighted as its family's ``Relax`` says (labels: (family name, row label)).

    The slack e of a must-share row (sum_h x_sih + e >= 1) is the share of s that force i
    would run alone: alpha c_si e joins its savings rows (c_si is outside its constant).
    """
    lp = form.lp if lp is None else lp
    net = form.net
    savings_rows = {}
    for block in lp.row_blocks:
        if block.family in FAMILY["savings_target"].rows:
            savings_rows.update({lab[0]: block.start + k for k, lab in enumerate(block.labels)})
        elif block.family in FAMILY["aggregate_target"].rows:
            savings_rows["*all*"] = block.start
    fidx = {fid: i for i, fid in enumerate(net.force_ids)}
    cost_of = {fd.fn.id: fd.cost for fd in net.functions}
    extra_rows, extra_cols, extra_vals = [], [], []
    cols, rows, signs, weights, labels = [], [], [], [], []
    for block in lp.row_blocks:
        if block.family not in families:
            continue
        family = FAMILY_OF_ROW.get(block.family)
        relax = family.relax if family is not None else None
        for k, label in enumerate(block.labels):
            r = block.start + k
            lo, hi = lp.row_lo[r], lp.row_hi[r]
            must_share = relax is not None and relax.lower_side_only
            if must_share and lo < 0.5:
                continue  # only must-share / no-standalone rows are policy to relax
            scale = max(1.0, relax.scale(net, label) or 1.0) if relax is not None else 1.0
            sign = 1.0 if must_share or not np.isfinite(hi) else -1.0
            if must_share:
                standalone = net.alpha * float(cost_of[label[0]][fidx[label[1]]])
                for key in (label[1], "*all*"):
                    if key in savings_rows:
                        extra_rows.append(savings_rows[key])
                        extra_cols.append(len(cols))
                        extra_vals.append(standalone)
            rows.append(r)
            signs.append(sign)
            weights.append(1.0 / scale)
            labels.append((family.name if family is not None else block.family, label))
            cols.append(lp.n_cols + len(cols))
    m = len(cols)
    S = sp.csr_matrix((signs + extra_vals, (rows + extra_rows, [*range(m), *extra_cols])),
                      shape=(lp.n_rows, m))
    block = Block("slack", lp.n_cols, [(f, *lab) for f, lab in labels])
    row_lo = lp.row_lo.copy()  # valid inequalities would hide another family's slack
    for block in lp.row_blocks:
        family = FAMILY_OF_ROW.get(block.family)
        if family is not None and family.relax is not None and family.relax.drop:
            row_lo[block.start:block.stop] = -np.inf
    elastic = replace(
        lp, A=sp.hstack([lp.A, S]).tocsr(), row_lo=row_lo, lb=np.append(lp.lb, np.zeros(m)),
        ub=np.append(lp.ub, np.full(m, np.inf)), integer=np.append(lp.integer, np.zeros(m, bool)),
        obj=np.append(np.zeros(lp.n_cols), weights), obj_offset=0.0, maximize=False,
        col_blocks=[*lp.col_blocks, block])
    return elastic, labels


def _describe(form: Formulation, family: str, label: tuple, slack: float, alone: bool,
              limits: dict | None = None) -> dict:
    net = form.net
    inst = net.inst
    lead = "can" if alone else "in the least-violation plan could"
    if family == "savings_target":
        f = next(f for f in inst.forces if f.id == label[0])
        got = f.savings_target_gbp - slack
        return {"rule": "savings_target", "force": f.id, "target": f.savings_target_gbp,
                "achievable": got, "shortfall": slack,
                "message": f"{f.name or f.id} {lead} save at most {money(got)} over "
                           f"{_years(net)} against a target of {money(f.savings_target_gbp)}"}
    if family == "aggregate_target":
        t = inst.objective.aggregate_savings_target_gbp
        return {"rule": "aggregate_target", "target": t, "achievable": t - slack,
                "shortfall": slack,
                "message": f"all forces together {lead} save at most {money(t - slack)} over "
                           f"{_years(net)} against an aggregate target of {money(t)}"}
    if family == "frontline_floor":
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
    if family == "assignment":  # its lower side: a must-share rule or no standalone option
        fd = next(f for f in net.functions if f.fn.id == label[0])
        by_policy = (label[0], net.force_ids.index(label[1])) in net.must_share
        why = "policy.must_share" if by_policy or fd.fn.standalone_allowed else \
            f"functions.{label[0]}.standalone_allowed is false"
        return {"rule": "must_share" if by_policy else "assignment", "function": label[0],
                "force": label[1],
                "message": f"{_name(net, label[1])} must be served by a shared {label[0]} unit "
                           f"({why}) but no unit can take it under the other rules"}
    if family == "forbidden_partners":
        return {"rule": "forbidden_partners", "function": label[0], "forces": list(label[1:3]),
                "message": f"{_name(net, label[1])} and {_name(net, label[2])} would have to "
                           f"share {label[0]} at {_site_name(net, label[3])} although they "
                           "are forbidden partners"}
    if family == "unit_count":
        limit = next(f for f in net.functions if f.fn.id == label[0]).fn.max_units
        return {"rule": "unit_count", "function": label[0], "extra_units": slack,
                "message": f"{label[0]} would need {slack:,.0f} more unit(s) than its maximum "
                           f"of {limit}"}
    if family == "unit_size":  # the rows of _max_members_rows
        limit = (limits or {}).get(label[0])
        return {"rule": "unit_size", "function": label[0], "site": label[1],
                "extra_members": slack, "max_members": limit,
                "message": f"the {label[0]} unit at {_site_name(net, label[1])} would need "
                           f"{slack:,.0f} more member(s) than its maximum of {limit} "
                           f"(functions.{label[0]}.max_members)"}
    # a family with no sentence of its own: the registry's words and fields
    entry = FAMILY[family]
    return {"rule": family, "row": list(label), "excess": slack,
            "message": f"the {entry.words} ({entry.fields.format(*label)}) would have to "
                       f"give way by {slack:,.4g} at {', '.join(map(str, label))}"}


def _relaxed_instance(inst, arc_rules: bool):
    """The instance with max_members doubled (rows hold the real limit, relaxable: see
    :func:`_max_members_rows`; doubling, not removing, keeps member sets few) and, with
    ``arc_rules``, without its distance, region and opt-out rules."""
    n = len(inst.forces)
    update = {"functions": [fn.model_copy(update={"max_members": min(n, 2 * fn.max_members)})
                            if fn.max_members is not None else fn for fn in inst.functions]}
    if arc_rules:
        update["policy"] = inst.policy.model_copy(update={"opt_outs": [], "same_region": [],
                                                          "max_distance_km": {}})
    return inst.model_copy(update=update)


def _least_violation(inst, limits: dict, backend: str, options: SolveOptions) -> list[dict]:
    """The elastic re-solve of every target, floor, capacity and policy row."""
    # capacity is relaxed below, so arcs and member sets must not be pruned by it
    form = build_formulation(build_network(_relaxed_instance(inst, False),
                                           capacity_prunes=False), capacity_prunes=False)
    lp = _max_members_rows(form, limits)
    elastic, labels = _elastic(form, lp)
    res = solve_programme(elastic, backend, options)
    if res.x is None:
        relaxed = [f.words for f in FAMILIES if f.relax is not None and not f.relax.drop]
        return [{"rule": "structure", "message": "no plan exists even with every "
                 f"{', '.join(relaxed[:-1])} and {relaxed[-1]} relaxed: the fixed existing "
                 "units or the unit-size rules (min_members, host must be a member) cannot be "
                 "met by the forces allowed to join"}]
    slack = res.x[lp.n_cols:]
    violated = [(labels[k], float(slack[k])) for k in np.argsort(-slack) if slack[k] > 1e-6]
    alone = len(violated) == 1 and res.status is Status.OPTIMAL
    return [_describe(form, fam, lab, s, alone, limits) for (fam, lab), s in violated]


def _rule_exceptions(inst, limits: dict, backend: str, options: SolveOptions) -> list[dict]:
    """The fewest exceptions to the distance, region and opt-out rules that would allow a
    plan keeping every other rule; [] when those rules forbid no arc, when no exceptions
    would do (or none are found in EXCEPTIONS_TIME_S), or when the network without them
    would have more than MAX_RELAXED_ARCS arcs."""
    p = inst.policy
    if not (p.opt_outs or p.max_distance_km or p.same_region):
        return []
    n_sites = len(inst.sites)
    every_arc = sum(len(inst.forces) * (len(fn.hosts) if fn.hosts is not None else n_sites)
                    for fn in inst.functions if fn.shareable)
    if every_arc > MAX_RELAXED_ARCS:  # checked before building: the network could be huge
        return []
    limit = EXCEPTIONS_TIME_S if options.time_limit is None else min(options.time_limit,
                                                                      EXCEPTIONS_TIME_S)
    options = replace(options, time_limit=limit)
    net = build_network(_relaxed_instance(inst, True))
    form = build_formulation(net)
    lp = _arc_rule_rows(form, _max_members_rows(form, limits), inst)
    if lp is None:
        return []
    elastic, labels = _elastic(form, lp, ARC_RULE_ROWS)
    res = solve_programme(elastic, backend, options)
    if res.x is None or res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        return []
    slack = res.x[lp.n_cols:]
    needed = [lab for k, (_, lab) in enumerate(labels) if slack[k] > 0.5]
    fewest = res.status is Status.OPTIMAL
    return [_describe_exception(inst, lab, k + 1, len(needed), fewest)
            for k, lab in enumerate(needed)]


def _describe_exception(inst, label: tuple, k: int, n: int, fewest: bool) -> dict:
    """Exception k of the n that together allow a plan: one arc a distance, region or
    opt-out rule forbids, in words, with its figures."""
    from ..models.network import haversine_km

    s, i, h, rules = label
    rules = rules.split("+")
    f = next(f for f in inst.forces if f.id == i)
    site = next(x for x in inst.sites if x.id == h)
    out = {"rule": rules[0], "rules": rules, "function": s, "force": i, "site": h,
           "alternative": True, "fewest": fewest}
    words = []
    for rule in rules:
        name, fields = ARC_RULES[rule]
        if rule == "max_distance":
            limit = inst.policy.max_distance_km.get(s, inst.policy.max_distance_km.get("*"))
            km = float(haversine_km(f.lat, f.lon, site.lat, site.lon))
            out.update(distance_km=round(km, 1), limit_km=limit)
            words.append(f"the {limit:,.0f} km {name} on {s} ({fields}; it is {km:,.0f} km "
                         "away)")
        elif rule == "same_region":
            owner = next((g for g in inst.forces if g.id == site.owner), None)
            region = site.region or (owner.region if owner else None)
            words.append(f"the {name} on {s} ({fields}; "
                         f"{f.region or 'no region'} against {region or 'no region'})")
        else:
            words.append(f"its {name} of {s} ({fields})")
    count = "one exception" if n == 1 else f"{n} exceptions"
    lead = (f"a plan meeting every other rule needs {count} (the fewest)" if fewest else
            f"a plan meeting every other rule exists with {count} (not proven the fewest)")
    lead += ": " if n == 1 else f"; {k} of {n}: "
    out["message"] = (f"{lead}{f.name or f.id} to get {s} from {site.name or site.id}, "
                      "against " + " and ".join(words))
    return out


def explain_infeasible(form: Formulation, backend: str, options: SolveOptions,
                       whole=None) -> list[dict]:
    """Reasons an infeasible instance cannot be planned, each with figures and a message:
    the pre-checks or the least violation of the rows' rules, then (``alternative``) the
    fewest exceptions to the distance, region and opt-out rules that would allow a plan.

    ``form`` may be one group of forces that can never share with the others (see
    :mod:`shareplan.solver.components`); ``whole`` is then the whole instance, which the
    exceptions are sought in (a distance rule is what keeps the groups apart).
    """
    from .backends import DEFAULT_BACKEND, capabilities

    inst = form.net.inst
    can = capabilities(backend)
    if not (can.continuous_columns and can.proves_infeasibility):
        backend = DEFAULT_BACKEND  # the slacks are continuous, and "none" must be a proof
    limits = {fn.id: fn.max_members for fn in inst.functions
              if fn.shareable and fn.max_members is not None}
    if options.time_limit is not None:  # two elastic solves share the time
        options = replace(options, time_limit=options.time_limit / 2)
    reasons = precheck(form) or _least_violation(inst, limits, backend, options)
    whole = whole if whole is not None else inst
    limits = {fn.id: fn.max_members for fn in whole.functions
              if fn.shareable and fn.max_members is not None}
    return reasons + _rule_exceptions(whole, limits, backend, options)
