"""How much the choice of host matters: the same members at the next-best site.

For a unit of function s at host h with members M (fractions x_a), moving it whole to
another candidate host h' keeps every other decision and changes the total horizon
cost by::

    extra(h') = sum_{i in M} coef_{s,i,h'} x_i + C_sh'  -  (sum_{i in M} coef_{s,i,h} x_i + C_sh)

(coef and C = A_run F + B G as in formulation.py). h' qualifies when every member has
an arc there, its owner is a member (if the function requires it), the members' demand
fits its capacity, and no fixed existing unit sits at h or h'. Savings targets and
floors are not re-checked: the figure says what the site costs, not that the move is
allowed. The smallest extra is the price of the host choice.
"""

from __future__ import annotations

import numpy as np


def next_best_host(fd, coef: np.ndarray, xa: np.ndarray, h: int) -> tuple[str, float] | None:
    """(site, extra horizon cost) of the cheapest other host for the unit at h; None if none."""
    fixed = {u.host for u in fd.existing if not u.reoptimisable}
    if h in fixed:
        return None
    at = np.nonzero((fd.arc_host == h) & (xa > 1e-9))[0]
    members = fd.arc_force[at]
    here = float(coef[at] @ xa[at] + fd.unit_charge[h])
    demand = float(fd.demand[members] @ xa[at])
    best = None
    for h2 in range(len(fd.hosts)):
        if h2 == h or h2 in fixed or demand > fd.capacity[h2] + 1e-9:
            continue
        if fd.fn.host_must_be_member and fd.owner[h2] >= 0 and fd.owner[h2] not in members:
            continue
        arcs = [np.nonzero((fd.arc_host == h2) & (fd.arc_force == i))[0] for i in members]
        if any(len(a) == 0 for a in arcs):
            continue
        idx = np.array([a[0] for a in arcs])
        there = float(coef[idx] @ xa[at] + fd.unit_charge[h2])
        if best is None or there - here < best[1]:
            best = (fd.hosts[h2], there - here)
    return best
