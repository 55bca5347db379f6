"""Exact decomposition into independent groups of forces.

Two forces are linked when some function has a candidate host both can be served
from (their x variables meet in one linking, size, capacity or allocation row).
Per-force targets and floors only couple a force's own variables, so when no
constraint spans groups (no aggregate target, no max-min objective, no maximum
unit count, no site shared between groups) the programme is block-diagonal: each group is solved on
its own and the optimum is the sum of the groups' optima.
"""

from __future__ import annotations

import numpy as np

from ..models.instance import Host, Instance
from ..models.network import Network


def _groups(net: Network) -> list[list[int]]:
    """Connected components of forces (union-find over shared candidate hosts)."""
    parent = list(range(net.n_forces))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for fd in net.functions:
        for h in np.unique(fd.arc_host):
            members = fd.arc_force[fd.arc_host == h]
            root = find(int(members[0]))
            for i in members[1:]:
                parent[find(int(i))] = root
    groups: dict[int, list[int]] = {}
    for i in range(net.n_forces):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def _site_groups(net: Network, group_of: list[int]) -> dict[str, set[int]] | None:
    """site -> the groups whose forces can use it or own it; None if a site spans groups."""
    owner = {h.id: h.owner for h in net.inst.sites}
    fidx = {f: i for i, f in enumerate(net.force_ids)}
    used: dict[str, set[int]] = {}
    for fd in net.functions:
        for h in np.unique(fd.arc_host):
            site = fd.hosts[h]
            used.setdefault(site, set()).update(group_of[i] for i in fd.arc_force[fd.arc_host == h])
    for site, gs in used.items():
        if owner[site] is not None:
            gs.add(group_of[fidx[owner[site]]])
        if len(gs) > 1:
            return None
    return used


def split_instance(inst: Instance, net: Network) -> list[Instance] | None:
    """Independent sub-instances (one per group of forces), or None if the model does not split."""
    if inst.objective.aggregate_savings_target_gbp is not None \
            or inst.objective.sense != "min_cost" \
            or any(fn.max_units is not None for fn in inst.functions if fn.shareable):
        return None  # an aggregate target, a max-min objective or a unit count spans groups
    if any(hs.also_sites for fn in inst.functions for hs in fn.hosts or []):
        return None  # a multi-site unit's further sites tie their owners' groups together
    groups = _groups(net)
    if len(groups) < 2:
        return None
    group_of = [0] * net.n_forces
    for g, members in enumerate(groups):
        for i in members:
            group_of[i] = g
    used = _site_groups(net, group_of)
    if used is None:
        return None
    parts = []
    for g, members in enumerate(groups):
        keep = {net.force_ids[i] for i in members}
        sites = [h for h in inst.sites if (h.id in used and g in used[h.id])
                 or (h.id not in used and h.owner in keep)]
        site_ids = {h.id for h in sites}
        functions = []
        for fn in inst.functions:
            update = {}
            if fn.hosts is not None:
                update["hosts"] = [hs for hs in fn.hosts if hs.site in site_ids]
            elif fn.shareable:
                update["hosts"] = [Host(site=h.id) for h in sites]
            if fn.arc_cost_gbp:
                update["arc_cost_gbp"] = {f: {h: c for h, c in row.items() if h in site_ids}
                                          for f, row in fn.arc_cost_gbp.items() if f in keep}
            functions.append(fn.model_copy(update=update) if update else fn)
        policy = inst.policy.model_copy(update={
            "opt_outs": [r for r in inst.policy.opt_outs if r.force in keep],
            "must_share": [r for r in inst.policy.must_share if r.force in keep],
            "forbidden_partners": [p for p in inst.policy.forbidden_partners
                                   if set(p.forces) <= keep]})
        parts.append(Instance.model_validate({
            **inst.model_dump(exclude={"forces", "sites", "costs", "existing", "functions",
                                       "policy"}),
            "forces": [f.model_dump() for f in inst.forces if f.id in keep],
            "sites": [h.model_dump() for h in sites],
            "costs": [c.model_dump() for c in inst.costs if c.force in keep],
            "existing": [e.model_dump() for e in inst.existing if set(e.members) <= keep],
            "functions": [fn.model_dump() for fn in functions],
            "policy": policy.model_dump()}))
    return parts
