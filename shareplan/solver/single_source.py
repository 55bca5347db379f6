"""Single-source capacitated facility location: an exact-knapsack Lagrangian bound, a
Lagrangian heuristic, reduced-cost fixing of sites and arcs, then the backend's MIP.

The structure (see :meth:`Structure.of`) is a minimising 0-1 programme with only

    assign    sum_i x_ij = 1                  every customer j
    link      x_ij <= y_i                     every arc
    capacity  sum_j d_j x_ij <= K_i y_i       every site i (d_j, K_i whole numbers)
    cover     sum_i K_i y_i >= D, sum_i y_i >= k   (implied by the others)

and cost c0 + sum_i f_i y_i + sum_ij c_ij x_ij. Relaxing ``assign`` with free multipliers
lambda_j, and keeping D = sum_j d_j <= sum_i K_i y_i (implied, so the bound stays valid):

    L(lambda) = c0 + sum_j lambda_j + min { sum_i g_i y_i : sum_i K_i y_i >= D, y 0-1 }
    g_i = f_i - V_i(K_i),  V_i(C) = max { sum_j (lambda_j - c_ij) z_j : sum_j d_j z_j <= C }

with z 0-1. Each V_i is a 0-1 knapsack solved exactly by dynamic programming over
C = 0..K_i, the y problem a covering knapsack solved by dynamic programming over the
capacity still needed. L(lambda) is at most the cost of every plan, for every lambda; it
is raised by subgradient steps (s_j = 1 - sum_i x_ij, Polyak step towards the best plan).

Fixing against a plan of cost UB (exact: only plans costing more than UB are removed):

    L(lambda | y_i = 1) > UB  => y_i = 0;       L(lambda | y_i = 0) > UB  => y_i = 1
    L(lambda | x_ij = 1) >= L(lambda | y_i = 1) + (c_ij - lambda_j) + V_i(K_i) - V_i(K_i - d_j)
                          > UB => x_ij = 0

(forcing j into site i's knapsack leaves room K_i - d_j for the others, whose best value
is at most V_i(K_i - d_j); the y problem with y_i forced open is solved exactly again).
The plans come from the Lagrangian subproblem (its open sites, widened by the sites of
least g_i, customers assigned greedily within capacity, then improved by moves, swaps
and site closings); the best is the MIP start of the backend's solve of the fixed
programme. When that MIP proves its optimum, that optimum (or UB when it is not
better) is the optimum of the whole; else the bound reported is
max(L, min(MIP bound, UB)).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from . import deadline
from .core import BackendResult, SolveOptions, Status, honest_status
from .formulation import FAMILY
from .guard import call_backend
from .lp import LinearProgram
from .reduce import LinkStructure

#: The row families of a single-source facility-location programme (the registry's names).
_FAMILIES = {row for name in ("assignment", "linking", "capacity", "capacity_cover")
             for row in FAMILY[name].rows}
#: False solves these programmes whole (benchmarks set it to measure what the method pays).
ENABLED = True
#: Programmes with fewer arcs are solved whole: the backends prove them in about a
#: second (Holmberg p1..p24, at most 1,000 arcs), where the bound phase costs as much.
MIN_ARCS = 5_000
#: Share of the time limit (600 s without one) spent raising the bound and finding
#: plans before the fixing and the MIP.
LAGRANGIAN_SHARE = 0.15
#: The knapsack tables hold at most this many entries (sites x capacity); beyond it the
#: dynamic programmes cost more than they save and the programme is solved whole.
MAX_TABLE = 2_000_000


@dataclass
class Structure:
    """The single-source facility-location view of a programme (dense, sites x customers)."""

    y: np.ndarray  # column of each site's y_i
    x: np.ndarray  # (m, n) column of x_ij, -1 where there is no arc
    fixed: np.ndarray  # f_i
    cost: np.ndarray  # (m, n) c_ij, +inf where there is no arc
    demand: np.ndarray  # d_j, whole numbers
    capacity: np.ndarray  # K_i, whole numbers (rounded down: d is whole)
    offset: float

    @property
    def total(self) -> int:
        return int(self.demand.sum())

    @classmethod
    def of(cls, lp: LinearProgram) -> Structure | None:
        """The structure when lp has exactly the rows of the module docstring, else None."""
        if lp.maximize or not lp.n_cols or {b.family for b in lp.row_blocks} - _FAMILIES:
            return None
        if not (np.all(lp.integer) and np.all(lp.lb == 0) and np.all(lp.ub == 1)):
            return None
        links = LinkStructure.of(lp)
        assign = lp.row_block(FAMILY["assignment"].rows[0])
        cap = lp.row_block(FAMILY["capacity"].rows[0])
        if links is None or assign is None or cap is None or np.any(links.t != 1):
            return None
        hosts = np.unique(links.y)
        site_of = np.full(lp.n_cols, -1)
        site_of[hosts] = np.arange(len(hosts))
        arows = np.arange(assign.start, assign.stop)
        if np.any(lp.row_lo[arows] != 1) or np.any(lp.row_hi[arows] != 1):
            return None
        sub = lp.A[arows].tocoo()
        if (np.any(sub.data != 1) or len(sub.col) != len(links.x)
                or not np.array_equal(np.sort(sub.col), np.sort(links.x))):
            return None
        cust_of = np.full(lp.n_cols, -1)
        cust_of[sub.col] = sub.row
        arc_site = np.full(lp.n_cols, -1)
        arc_site[links.x] = site_of[links.y]
        m, n = len(hosts), len(arows)
        si, cj = site_of[links.y], cust_of[links.x]
        if len(np.unique(si * n + cj)) != len(si):
            return None
        X = np.full((m, n), -1)
        X[si, cj] = links.x
        # capacity rows, one per site: sum_j d_j x_ij - K_i y_i <= 0 over that site's arcs
        crows = np.arange(cap.start, cap.stop)
        if (len(crows) != m or np.any(lp.row_hi[crows] != 0)
                or np.any(np.isfinite(lp.row_lo[crows]))):
            return None
        csub = lp.A[crows].tocoo()
        is_y = site_of[csub.col] >= 0
        row_site = np.full(len(crows), -1)
        row_site[csub.row[is_y]] = site_of[csub.col[is_y]]
        if (np.bincount(csub.row[is_y], minlength=len(crows)).max() != 1 or np.any(row_site < 0)
                or len(np.unique(row_site)) != m or np.any(csub.data[is_y] >= 0)):
            return None
        arcs = ~is_y
        if np.any(arc_site[csub.col[arcs]] != row_site[csub.row[arcs]]):
            return None
        K = np.zeros(m)
        K[row_site[csub.row[is_y]]] = -csub.data[is_y]
        demand = np.full(n, np.nan)
        demand[cust_of[csub.col[arcs]]] = csub.data[arcs]
        weights_agree = np.array_equal(csub.data[arcs], demand[cust_of[csub.col[arcs]]])
        if not weights_agree or np.any(np.isnan(demand)) or np.any(demand <= 0):
            return None
        if np.any(demand != np.round(demand)) or m * (np.floor(K).max() + 1) > MAX_TABLE:
            return None
        cost = np.full((m, n), np.inf)
        has = X >= 0
        cost[has] = lp.obj[X[has]]
        return cls(hosts, X, lp.obj[hosts].astype(float), cost, demand.astype(np.int64),
                   np.floor(K).astype(np.int64), float(lp.obj_offset))

    def plan_cost(self, site: np.ndarray) -> float:
        """Cost of the plan serving customer j from site[j]."""
        n = len(self.demand)
        return float(self.offset + self.fixed[np.unique(site)].sum()
                     + self.cost[site, np.arange(n)].sum())

    def vector(self, site: np.ndarray, n_cols: int) -> np.ndarray:
        """The programme's column vector of the plan serving customer j from site[j]."""
        x = np.zeros(n_cols)
        x[self.y[np.unique(site)]] = 1.0
        x[self.x[site, np.arange(len(self.demand))]] = 1.0
        return x


def knapsack(profit: np.ndarray, weight: np.ndarray, room: int, table: bool = False):
    """(best value, chosen mask, V(C) for C = 0..room or None) of the 0-1 knapsack
    max profit'z s.t. weight'z <= room; items of profit <= 0 are never chosen."""
    good = np.nonzero(profit > 0)[0]
    p, w = profit[good], weight[good]
    chosen = np.zeros(len(profit), bool)
    if w.sum() <= room and not table:
        chosen[good] = True
        return float(p.sum()), chosen, None
    dp = np.zeros(room + 1)
    keep = np.zeros((len(good), room + 1), bool)
    for k in range(len(good)):
        wk = int(w[k])
        if wk > room:
            continue
        cand = dp[:room + 1 - wk] + p[k]
        better = cand > dp[wk:]
        keep[k, wk:] = better
        dp[wk:] = np.where(better, cand, dp[wk:])
    c = room
    for k in range(len(good) - 1, -1, -1):
        if keep[k, c]:
            chosen[good[k]] = True
            c -= int(w[k])
    return float(dp[room]), chosen, dp if table else None


def cover(g: np.ndarray, K: np.ndarray, need: int, open_: np.ndarray | None = None,
          shut: np.ndarray | None = None) -> tuple[float, np.ndarray | None]:
    """(min g'y, y) subject to K'y >= need, y 0-1, y_i = 1 on ``open_``, 0 on ``shut``;
    (inf, None) when the capacity cannot reach ``need``."""
    m = len(g)
    forced = np.zeros(m, bool) if open_ is None else open_.copy()
    banned = np.zeros(m, bool) if shut is None else shut
    y = (forced | (g <= 0)) & ~banned
    value = float(g[y].sum())
    short = int(need - K[y].sum())
    if short <= 0:
        return value, y
    free = np.nonzero(~y & ~banned)[0]
    if K[free].sum() < short:
        return np.inf, None
    dp = np.full(short + 1, np.inf)
    dp[0] = 0.0
    keep = np.zeros((len(free), short + 1), bool)
    covered = np.arange(short + 1)
    for t, i in enumerate(free):
        cand = dp[np.maximum(covered - int(K[i]), 0)] + g[i]
        keep[t] = cand < dp
        dp = np.where(keep[t], cand, dp)
    c, y = short, y.copy()
    for t in range(len(free) - 1, -1, -1):
        if keep[t, c]:
            y[free[t]] = True
            c = max(0, c - int(K[free[t]]))
    return value + float(dp[short]), y


class Lagrangian:
    """L(lambda) of the module docstring for one structure."""

    def __init__(self, st: Structure):
        self.st = st

    def evaluate(self, lam: np.ndarray, tables: bool = False):
        """(L, g, y, X, V tables or None): X[i, j] = 1 when site i's knapsack takes j."""
        st = self.st
        profit = lam[None, :] - st.cost
        m = len(st.fixed)
        g, X, V = np.empty(m), np.zeros(profit.shape, bool), []
        for i in range(m):
            value, X[i], table = knapsack(profit[i], st.demand, int(st.capacity[i]), tables)
            g[i] = st.fixed[i] - value
            V.append(table)
        value, y = cover(g, st.capacity, st.total)
        return st.offset + float(lam.sum()) + value, g, y, X, (V if tables else None)

    def ascend(self, lam: np.ndarray, target: float, iterations: int, until: float,
               plans: list | None = None):
        """(best L, its lambda) after Polyak subgradient steps towards ``target``; every
        ``plan_every`` steps the subproblem's open sites are turned into a plan, appended
        to ``plans`` (cost, site per customer)."""
        best, best_lam, theta, stalled = -np.inf, lam.copy(), 2.0, 0
        for it in range(iterations):
            value, g, y, X, _ = self.evaluate(lam)
            if y is None:
                break
            if value > best + 1e-9 * abs(value):
                best, best_lam, stalled = value, lam.copy(), 0
            else:
                stalled += 1
                if stalled >= 15:
                    theta, stalled, lam = theta / 2, 0, best_lam.copy()
            if plans is not None and it % 10 == 0:
                plan = plan_from(self.st, g, y, X)
                if plan is not None:
                    plans.append(plan)
                    target = min(target, plan[0])
            s = 1.0 - X[y].sum(axis=0)
            norm = float(s @ s)
            if (norm == 0 or value >= target - 1e-9 * abs(target) or theta < 5e-3
                    or time.perf_counter() > until or deadline.stopped()):
                break
            lam = lam + theta * (target - value) / norm * s
        return best, best_lam


def greedy_plan(st: Structure, open_: np.ndarray, X: np.ndarray | None = None
                ) -> np.ndarray | None:
    """Site per customer from the subproblem's open sites: a customer taken by one open
    site's knapsack stays there (the cheapest when taken by several, each knapsack fits
    its site); the others, by decreasing regret x demand, go to their cheapest open site
    with room (opening the cheapest closed one that fits when none has room); then
    :func:`improve`."""
    m, n = st.cost.shape
    is_open = open_.copy()
    site = np.full(n, -1)
    if X is not None:
        taken = X & is_open[:, None]
        some = taken.any(axis=0)
        site[some] = np.argmin(np.where(taken, st.cost, np.inf), axis=0)[some]
    used = np.bincount(site[site >= 0], weights=st.demand[site >= 0], minlength=m)
    left = np.where(is_open, st.capacity - used, 0).astype(np.int64)
    c = np.where(is_open[:, None], st.cost, np.inf)
    part = np.sort(c, axis=0)
    regret = (part[1] - part[0]) if m > 1 else np.zeros(n)
    regret = np.where(np.isfinite(regret), regret, 1e300)
    for j in np.argsort(-regret * st.demand, kind="stable"):
        if site[j] >= 0:
            continue
        fits = is_open & (left >= st.demand[j]) & np.isfinite(st.cost[:, j])
        if fits.any():
            i = int(np.argmin(np.where(fits, st.cost[:, j], np.inf)))
        else:
            can = ~is_open & (st.capacity >= st.demand[j]) & np.isfinite(st.cost[:, j])
            if not can.any():
                return None
            i = int(np.argmin(np.where(can, st.fixed + st.cost[:, j], np.inf)))
            is_open[i] = True
            left[i] = st.capacity[i]
        site[j] = i
        left[i] -= st.demand[j]
    return improve(st, site, left)


def improve(st: Structure, site: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Local search until no move saves money: move one customer to a site with room
    (an open one, or shutting a site its last customer leaves), or swap the sites of
    two customers where both still fit."""
    n = len(site)
    served = np.bincount(site, minlength=len(st.fixed))
    d, cols = st.demand, np.arange(n)
    for _ in range(50):
        moved = False
        for j in range(n):
            i = site[j]
            gain_close = st.fixed[i] if served[i] == 1 else 0.0
            fits = (served > 0) & (left >= d[j])
            fits[i] = False
            if fits.any():
                delta = np.where(fits, st.cost[:, j], np.inf) - st.cost[i, j] - gain_close
                k = int(np.argmin(delta))
                if delta[k] < -1e-9:
                    left[i] += d[j]
                    left[k] -= d[j]
                    served[i] -= 1
                    served[k] += 1
                    site[j] = k
                    moved = True
                    continue
            # swap j (at i) with q (at b = site[q]): both sites must keep room
            b = site
            ok = (b != i) & (left[i] + d[j] - d >= 0) & (left[b] + d - d[j] >= 0)
            if not ok.any():
                continue
            delta = st.cost[b, j] + st.cost[i, cols] - st.cost[i, j] - st.cost[b, cols]
            delta = np.where(ok & np.isfinite(delta), delta, np.inf)
            q = int(np.argmin(delta))
            if delta[q] < -1e-9:
                k = site[q]
                left[i] += d[j] - d[q]
                left[k] += d[q] - d[j]
                site[j], site[q] = k, i
                moved = True
        if not moved and not _close_one(st, site, left, served):
            break
    return site


def _close_one(st: Structure, site: np.ndarray, left: np.ndarray, served: np.ndarray) -> bool:
    """Shut the open site whose customers move (largest first, each to its cheapest
    other open site with room) at the greatest saving; False when no site saves."""
    d = st.demand
    best_gain, best_moves = 1e-9, None
    for i in np.nonzero(served > 0)[0]:
        room = left.copy()
        room[i] = -1
        members = np.nonzero(site == i)[0]
        gain, moves = st.fixed[i], []
        for j in members[np.argsort(-d[members], kind="stable")]:
            fits = (served > 0) & (room >= d[j])
            if not fits.any():
                break
            k = int(np.argmin(np.where(fits, st.cost[:, j], np.inf)))
            gain -= st.cost[k, j] - st.cost[i, j]
            room[k] -= d[j]
            moves.append((j, k))
        else:
            if gain > best_gain:
                best_gain, best_moves = gain, (i, moves)
    if best_moves is None:
        return False
    i, moves = best_moves
    for j, k in moves:
        site[j] = k
        left[k] -= d[j]
        served[k] += 1
    served[i], left[i] = 0, st.capacity[i]
    return True


def plan_from(st: Structure, g: np.ndarray, y: np.ndarray, X: np.ndarray
              ) -> tuple[float, np.ndarray] | None:
    """The best of :func:`greedy_plan` from the subproblem's open sites, widened by the
    sites of least g_i until their capacity exceeds total demand by 0, 5 or 10 per cent
    (an open set that barely covers demand rarely packs)."""
    best = None
    order = np.argsort(g, kind="stable")
    for slack in (0.0, 0.05, 0.10):
        open_ = y.copy()
        for i in order:
            if st.capacity[open_].sum() >= (1 + slack) * st.total:
                break
            open_[i] = True
        site = greedy_plan(st, open_, X)
        if site is not None:
            cost = st.plan_cost(site)
            if best is None or cost < best[0]:
                best = (cost, site)
    return best


def fixings(lag: Lagrangian, lam: np.ndarray, ub: float):
    """(bound L, shut sites, open sites, removed arcs (m, n) mask) against a plan of cost ub."""
    st = lag.st
    value, g, y, _, V = lag.evaluate(lam, tables=True)
    m, n = st.cost.shape
    tol = 1e-9 * max(1.0, abs(ub)) + 1e-6
    base = st.offset + float(lam.sum())
    if_open, if_shut = np.empty(m), np.empty(m)
    for i in range(m):
        one = np.zeros(m, bool)
        one[i] = True
        if_open[i] = base + cover(g, st.capacity, st.total, open_=one)[0]
        if_shut[i] = base + cover(g, st.capacity, st.total, shut=one)[0]
    shut = if_open > ub + tol
    must = if_shut > ub + tol
    gone = np.zeros((m, n), bool)
    for i in range(m):
        room = st.capacity[i] - st.demand
        fits = room >= 0
        rest = np.full(n, np.inf)
        rest[fits] = V[i][-1] - V[i][room[fits]]
        arc = if_open[i] + (st.cost[i] - lam) + rest
        gone[i] = shut[i] | ~np.isfinite(st.cost[i]) | (arc > ub + tol)
    return value, shut, must, gone


def restricted(lp: LinearProgram, st: Structure, shut: np.ndarray, must: np.ndarray,
               gone: np.ndarray) -> tuple[LinearProgram, np.ndarray]:
    """(lp without the removed arcs and shut sites, with the must-open sites at 1; the kept
    columns). Link rows of removed arcs go; every other row stays, on the kept columns."""
    keep = np.ones(lp.n_cols, bool)
    keep[st.x[gone & (st.x >= 0)]] = False
    keep[st.y[shut]] = False
    cols = np.nonzero(keep)[0]
    A = lp.A.tocsc()[:, cols].tocsr()
    # a link row whose arc is gone now reads -y_i <= 0: always true, drop it
    link = lp.row_block(FAMILY["linking"].rows[0])
    row_keep = np.ones(lp.n_rows, bool)
    lrows = np.arange(link.start, link.stop)
    has_x = np.asarray(A[lrows].multiply(A[lrows] > 0).sum(axis=1)).ravel() > 0
    row_keep[lrows[~has_x]] = False
    rows = np.nonzero(row_keep)[0]
    lb = lp.lb.copy()
    lb[st.y[must & ~shut]] = 1.0
    sub = replace(lp, A=A[rows].tocsr(), row_lo=lp.row_lo[rows], row_hi=lp.row_hi[rows],
                  lb=lb[cols], ub=lp.ub[cols], obj=lp.obj[cols], integer=lp.integer[cols],
                  col_blocks=[], row_blocks=[])
    return sub, cols


def applies(lp: LinearProgram) -> Structure | None:
    """The structure when the method is enabled and applies to lp (at least MIN_ARCS
    arcs), else None."""
    if not ENABLED or lp.n_cols < MIN_ARCS:
        return None
    st = Structure.of(lp)
    return st if st is not None and int((st.x >= 0).sum()) >= MIN_ARCS else None


def solve(lp: LinearProgram, st: Structure, backend_name: str, options: SolveOptions
          ) -> BackendResult | None:
    """Bound, plan, fixing, then the backend's MIP on what is left (see the module
    docstring); None when no plan is found (the caller then solves lp whole)."""
    t0 = time.perf_counter()
    budget = options.time_limit if options.time_limit is not None else 600.0
    lag = Lagrangian(st)
    finite = np.where(np.isfinite(st.cost), st.cost, np.nan)
    lam = np.nanmin(finite, axis=0)
    best, g, y, X, _ = lag.evaluate(lam)
    plan = plan_from(st, g, y, X) if y is not None else None
    if plan is None:
        return None
    plans = [plan]
    until = t0 + LAGRANGIAN_SHARE * budget
    while time.perf_counter() < until and not deadline.stopped():
        ub = min(p[0] for p in plans)
        bound, lam = lag.ascend(lam, ub, 400, until, plans)
        best = max(best, bound)
        if min(p[0] for p in plans) >= ub:  # no better plan on the way: the bound settled
            break
    ub, site = min(plans, key=lambda p: p[0])
    x_best = st.vector(site, lp.n_cols)
    deadline.offer(x_best, best if np.isfinite(best) else None)
    value, shut, must, gone = fixings(lag, lam, ub)
    best = max(best, value)
    sub, cols = restricted(lp, st, shut, must, gone)
    note = (f"exact-knapsack Lagrangian bound {best:.10g} against a plan costing {ub:.10g}: "
            f"{int(shut.sum())} of {len(shut)} sites shut, {int(must.sum())} opened, "
            f"{int((~gone).sum())} of {int((st.x >= 0).sum())} arcs kept")
    # the MIP ends a little before the limit: the guard, reading and checking follow
    left = None if options.time_limit is None else max(
        0.01, 0.97 * options.time_limit - 0.5 - (time.perf_counter() - t0))
    final = call_backend(sub, backend_name, replace(options, time_limit=left),
                         start=x_best[cols])
    if final.status is not Status.ERROR and final.x is not None and \
            final.objective < ub - 1e-9 * max(1.0, abs(ub)):
        x_best = np.zeros(lp.n_cols)
        x_best[cols] = final.x
        ub = float(lp.obj @ x_best + lp.obj_offset)
    elapsed = time.perf_counter() - t0
    bound = best  # plans the fixing removed cost more than ub: min(sub bound, ub) holds
    if final.status is Status.INFEASIBLE:
        bound = ub
    elif final.status is not Status.ERROR and final.bound is not None:
        bound = max(best, min(final.bound, ub))
    bound = min(bound, ub)
    status = honest_status(Status.OPTIMAL, ub, bound, lp.obj_offset, options.gap)
    return replace(final, status=status, x=x_best, objective=ub, bound=bound,
                   solve_s=elapsed, reported=None,
                   message=note + (f"; the fixed programme: {final.status.value}"
                                   + (f" ({final.message})" if final.message else "")))
