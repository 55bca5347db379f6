"""Host fixing by a Lagrangian bound: an exact reduction for large programmes.

Keep the linking rows  x_a <= t_a y_h, each host's knapsack row (capacity) and the
"at least k hosts" rows, with the column bounds; relax every other row i with a
multiplier pi_i (pi_i >= 0 on >= rows, <= 0 on <= rows, free on equalities). With
reduced costs r = c - A'pi, the arc terms fold into their host,

    r~_h = r_h + sum_{a at h} r_a x_a      (x: the host's best fill when open, see _fill)
    L(pi) = pi'b + sum_{c not an arc} r~_c z_c      (b: the side pi binds; z: the
            subproblem's choice, hosts with r~ < 0 open, then the cheapest up to k)

and L(pi) is a lower bound on the cost of every plan, for any pi of the right signs.
Forcing a shut host open (or an open one shut) gives a bound of its own (see
LagrangianBound.fixings); when it exceeds the cost UB of a known plan, the host is
shut (open) in every better plan. Probing re-ascends pi with one host fixed. The
fixing is exact; what is left is solved by the backend as an ordinary MIP.

The multipliers come from subgradient steps (rows scaled to unit largest
coefficient); the known plan from the MIP restricted to the hosts with the lowest r~.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from . import deadline
from .core import BackendResult, SolveOptions, Status, honest_status
from .deadline import stopped
from .formulation import FAMILY
from .guard import call_backend
from .lp import LinearProgram

#: Programmes with fewer arcs than this are solved whole (the reduction does not pay).
MIN_ARCS = 20_000
#: Hosts kept for the heuristic plan: at least MIN_CANDIDATES, and CANDIDATE_FACTOR times
#: as many as the Lagrangian subproblem opens.
MIN_CANDIDATES = 20
CANDIDATE_FACTOR = 2


@dataclass
class LinkStructure:
    """The linking rows x_a - t_a y_h <= 0 of a programme, one per arc column."""

    rows: np.ndarray  # row index of each link row
    x: np.ndarray  # arc column
    y: np.ndarray  # host column
    t: np.ndarray  # t_a

    @classmethod
    def of(cls, lp: LinearProgram) -> LinkStructure | None:
        blocks = [b for b in lp.row_blocks if b.family in FAMILY["linking"].rows]
        if not blocks:
            return None
        rows = np.concatenate([np.arange(b.start, b.stop) for b in blocks])
        sub = lp.A[rows].tocoo()
        if sub.nnz != 2 * len(rows) or np.any(lp.row_hi[rows] != 0):
            return None
        pos = sub.data > 0
        x = np.zeros(len(rows), np.int64)
        y = np.zeros(len(rows), np.int64)
        t = np.zeros(len(rows))
        x[sub.row[pos]] = sub.col[pos]
        y[sub.row[~pos]] = sub.col[~pos]
        t[sub.row[~pos]] = -sub.data[~pos]
        if pos.sum() != len(rows) or np.any(sub.data[pos] != 1.0) or np.any(lp.lb[x] != 0):
            return None
        return cls(rows, x, y, t)


class LagrangianBound:
    """L(pi) and the host reduced costs r~ for the programme's relaxed rows (minimising).

    Two kinds of rows stay in the subproblem, where they are solved exactly:
    - a knapsack row of a host, sum_{a at h} d_a x_a <= K_h y_h (capacity, at most one per
      host): an open host fills K_h with its arcs of least r_a / d_a (r_a < 0), so r~_h
      becomes r_h + sum_a r_a x_a of that greedy fill instead of the whole reach;
    - "at least k of these hosts open" (sum_{h in S} y_h >= k, disjoint sets S): the
      subproblem opens the hosts with r~ < 0, then the cheapest others up to k.
    """

    def __init__(self, lp: LinearProgram, links: LinkStructure):
        self.lp, self.links = lp, links
        relaxed = np.ones(lp.n_rows, bool)
        relaxed[links.rows] = False
        self.counts = self._count_rows(relaxed)
        for row, _, _ in self.counts:
            relaxed[row] = False
        self.weight, self.room = self._knapsack_rows(relaxed)
        self.rows = np.nonzero(relaxed)[0]
        A = lp.A[self.rows].tocsr()
        largest = abs(A).max(axis=1).toarray().ravel() if A.shape[1] else np.ones(A.shape[0])
        scale = 1.0 / np.maximum(1e-12, largest)
        self.A = (sp.diags(scale) @ A).tocsr()
        self.AT = self.A.T.tocsr()
        self.lo, self.hi = lp.row_lo[self.rows] * scale, lp.row_hi[self.rows] * scale
        self.nonneg = np.isfinite(self.lo) & ~np.isfinite(self.hi)
        self.nonpos = ~np.isfinite(self.lo) & np.isfinite(self.hi)
        self.other = np.ones(lp.n_cols, bool)
        self.other[links.x] = False
        self.reach = np.minimum(links.t, lp.ub[links.x])  # largest x_a when y_h = 1

    def _count_rows(self, candidates: np.ndarray) -> list[tuple[int, np.ndarray, int]]:
        """(row, host columns S, k) of rows sum_S y_h >= k over disjoint binary host sets."""
        lp = self.lp
        is_host = np.zeros(lp.n_cols, bool)
        is_host[self.links.y] = True
        out, seen = [], np.zeros(lp.n_cols, bool)
        A = lp.A.tocsr()
        for r in np.nonzero(candidates & np.isfinite(lp.row_lo) & ~np.isfinite(lp.row_hi))[0]:
            cols, vals = A.indices[A.indptr[r]:A.indptr[r + 1]], A.data[A.indptr[r]:A.indptr[r + 1]]
            if (len(cols) and np.all(vals == 1.0) and np.all(is_host[cols])
                    and np.all(lp.integer[cols]) and not seen[cols].any()
                    and lp.row_lo[r] == np.ceil(lp.row_lo[r])):
                seen[cols] = True
                out.append((int(r), cols, int(lp.row_lo[r])))
        return out

    def _knapsack_rows(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d_a per arc, 0 where its host has no knapsack row; K_h per column, inf if none);
        the rows found are taken out of ``candidates``."""
        lp, lk = self.lp, self.links
        host_of = np.full(lp.n_cols, -1)
        host_of[lk.x] = lk.y
        arc_of = np.full(lp.n_cols, -1)
        arc_of[lk.x] = np.arange(len(lk.x))
        weight, room = np.zeros(len(lk.x)), np.full(lp.n_cols, np.inf)
        is_host = np.zeros(lp.n_cols, bool)
        is_host[lk.y] = True
        A = lp.A.tocsr()
        for r in np.nonzero(candidates & ~np.isfinite(lp.row_lo) & (lp.row_hi == 0))[0]:
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            vals = A.data[A.indptr[r]:A.indptr[r + 1]]
            hosts = is_host[cols] & (vals < 0)
            if hosts.sum() != 1:
                continue
            h = cols[hosts][0]
            arcs = cols[~hosts]
            if (np.isfinite(room[h]) or np.any(host_of[arcs] != h)
                    or np.any(vals[~hosts] < 0)):
                continue
            room[h] = -vals[hosts][0]
            weight[arc_of[arcs]] = vals[~hosts]
            candidates[r] = False
        return weight, room

    def _fill(self, r_arc: np.ndarray) -> np.ndarray:
        """x_a of each host's best fill when open: whole reach for r_a < 0 without a
        knapsack row; else greedy by r_a / d_a up to K_h (the continuous knapsack)."""
        lk, d = self.links, self.weight
        x = np.where((r_arc < 0) & (d == 0), self.reach, 0.0)
        idx = np.nonzero((r_arc < 0) & (d > 0))[0]
        if len(idx):
            idx = idx[np.lexsort((r_arc[idx] / d[idx], lk.y[idx]))]
            used = d[idx] * self.reach[idx]
            cum = np.cumsum(used)
            first = np.r_[True, lk.y[idx][1:] != lk.y[idx][:-1]]
            base = np.maximum.accumulate(np.where(first, cum - used, 0.0))
            room = self.room[lk.y[idx]] - (cum - used - base)
            x[idx] = np.clip(room / d[idx], 0.0, self.reach[idx])
        return x

    def _subproblem(self, pi: np.ndarray):
        """(r~ by column, z = the subproblem's minimiser, extra = r~ of the dearest host
        each count row opened beyond those with r~ < 0, per column of its set, else 0)."""
        lp, lk = self.lp, self.links
        red = lp.obj - self.AT @ pi
        fill = self._fill(red[lk.x])
        folded = red.copy()
        np.add.at(folded, lk.y, red[lk.x] * fill)
        z = np.zeros(lp.n_cols)
        o = self.other
        z[o] = np.where(folded[o] < 0, lp.ub[o], lp.lb[o])
        extra = np.zeros(lp.n_cols)
        for _, S, k in self.counts:
            short = k - int(z[S].sum())
            if short <= 0:
                continue
            closed = S[(z[S] < 0.5) & (lp.ub[S] > 0)]
            if len(closed) < short:
                return folded, None, extra  # the hosts cannot meet the count: no bound
            chosen = closed[np.argsort(folded[closed], kind="stable")[:short]]
            z[chosen] = 1.0
            extra[S] = folded[chosen].max()
        z[lk.x] = np.where(z[lk.y] > 0.5, fill, 0.0)
        return folded, z, extra

    def evaluate(self, pi: np.ndarray):
        """(L(pi), subgradient, r~, z, extra); L = -inf and no subgradient when unbounded."""
        folded, z, extra = self._subproblem(pi)
        o = self.other
        if z is None or not np.all(np.isfinite(z[o])):
            return -np.inf, None, folded, z, extra
        side = np.where(pi > 0, self.lo, np.where(pi < 0, self.hi, 0.0))
        value = float(pi @ np.where(np.isfinite(side), side, 0.0) + folded[o] @ z[o])
        ax = self.A @ z
        below = np.isfinite(self.lo) & (ax < self.lo)
        above = np.isfinite(self.hi) & (ax > self.hi)
        g = np.where(below, self.lo - ax, 0.0) + np.where(above, self.hi - ax, 0.0)
        g = np.where(pi > 0, self.lo - ax, np.where(pi < 0, self.hi - ax, g))
        g = np.where(np.isfinite(g), g, 0.0)
        return value + self.lp.obj_offset, g, folded, z, extra

    def ascend(self, pi: np.ndarray, target: float, iterations: int, deadline: float):
        """Best (L, pi) from Polyak subgradient steps towards ``target``."""
        best, best_pi, theta, stalled = -np.inf, pi.copy(), 2.0, 0
        for _ in range(iterations):
            value, g, *_ = self.evaluate(pi)
            if g is None:
                break
            if value > best:
                best, best_pi, stalled = value, pi.copy(), 0
            else:
                stalled += 1
                if stalled >= 20:
                    theta, stalled, pi = theta / 2, 0, best_pi.copy()
            norm = float(g @ g)
            if (value >= target or theta < 1e-3 or norm < 1e-12
                    or time.perf_counter() > deadline or stopped()):
                break
            pi = pi + theta * (target - value) / norm * g
            pi = np.where(self.nonneg, np.maximum(pi, 0.0),
                          np.where(self.nonpos, np.minimum(pi, 0.0), pi))
        return best, best_pi

    def fixings(self, pi: np.ndarray, incumbent: float) -> tuple[np.ndarray, np.ndarray]:
        """(closed, opened): host columns shut, and open, in every plan cheaper than
        ``incumbent``.

        Opening a shut host h raises the bound by r~_h, less the dearest host its count
        row opened beyond the cheap ones (h takes that one's place). Shutting an open
        host lowers it by r~_h, plus the cheapest shut host of its count row when the
        row has no host to spare.
        """
        value, g, folded, z, extra = self.evaluate(pi)
        none = np.zeros(0, np.int64)
        if g is None:
            return none, none
        refill = np.zeros(self.lp.n_cols)
        for _, S, k in self.counts:
            if z[S].sum() <= k:
                spare = S[(z[S] < 0.5) & (self.lp.ub[S] > 0)]
                refill[S] = folded[spare].min() if len(spare) else np.inf
        hosts = self.hosts()
        shut = z[hosts] < 0.5
        if_open = value + folded[hosts] - extra[hosts]
        with np.errstate(invalid="ignore"):
            if_shut = value - folded[hosts] + refill[hosts]
        tol = 1e-9 * max(1.0, abs(incumbent)) + 1e-6
        return (hosts[shut & (if_open > incumbent + tol)],
                hosts[~shut & (if_shut > incumbent + tol)])

    def with_host(self, h: int, value: float) -> LagrangianBound:
        """The same relaxation with y_h fixed to value (0 or 1)."""
        lb, ub = self.lp.lb.copy(), self.lp.ub.copy()
        lb[h] = ub[h] = value
        fixed = copy.copy(self)
        fixed.lp = replace(self.lp, lb=lb, ub=ub)
        return fixed

    def hosts(self) -> np.ndarray:
        """Host columns free to close (lb 0)."""
        h = np.unique(self.links.y)
        return h[(self.lp.lb[h] == 0) & (self.lp.ub[h] > 0)]


@dataclass
class Restricted:
    """lp with some hosts closed: their y and arcs dropped; ``cols`` maps back."""

    lp: LinearProgram
    cols: np.ndarray
    links: LinkStructure

    def lift(self, x: np.ndarray, n: int) -> np.ndarray:
        full = np.zeros(n)
        full[self.cols] = x
        return full


def restrict(lp: LinearProgram, links: LinkStructure, closed: np.ndarray,
             opened: np.ndarray | None = None) -> Restricted:
    """The programme with y_h = 0 for the closed hosts (their arcs and link rows removed)
    and y_h = 1 for the opened ones."""
    keep_col = np.ones(lp.n_cols, bool)
    gone = np.isin(links.y, closed)
    keep_col[links.x[gone]] = False
    keep_col[closed] = False
    keep_row = np.ones(lp.n_rows, bool)
    keep_row[links.rows[gone]] = False
    cols, rows = np.nonzero(keep_col)[0], np.nonzero(keep_row)[0]
    A = lp.A[rows][:, cols].tocsr()
    lb = lp.lb.copy()
    if opened is not None:
        lb[opened] = 1.0
    sub = replace(lp, A=A, row_lo=lp.row_lo[rows], row_hi=lp.row_hi[rows], lb=lb[cols],
                  ub=lp.ub[cols], obj=lp.obj[cols], integer=lp.integer[cols],
                  col_blocks=[], row_blocks=[])
    new_row = np.cumsum(keep_row) - 1
    new_col = np.cumsum(keep_col) - 1
    kept = LinkStructure(new_row[links.rows[~gone]], new_col[links.x[~gone]],
                         new_col[links.y[~gone]], links.t[~gone])
    return Restricted(sub, cols, kept)


def probe(lp: LinearProgram, links: LinkStructure, incumbent: float, deadline: float,
          iterations: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """(closed, opened) by probing: for each free host, the bound with y_h fixed to 1
    (then to 0), from multipliers re-ascended for that subproblem; a bound above the
    incumbent fixes y_h the other way. Stops at ``deadline``."""
    none = np.zeros(0, np.int64)
    if not len(links.x):
        return none, none
    lag = LagrangianBound(lp, links)
    if time.perf_counter() > deadline or stopped():
        return none, none
    _, pi = lag.ascend(np.zeros(len(lag.rows)), incumbent, 3000, deadline)
    tol = 1e-9 * max(1.0, abs(incumbent)) + 1e-6
    closed, opened = [], []
    for h in lag.hosts():
        for value, found in ((1.0, closed), (0.0, opened)):
            if time.perf_counter() > deadline or stopped():
                return np.array(closed, np.int64), np.array(opened, np.int64)
            bound, _ = lag.with_host(h, value).ascend(pi, incumbent, iterations, deadline)
            if bound > incumbent + tol:
                found.append(h)
                break
    return np.array(closed, np.int64), np.array(opened, np.int64)


def applies(lp: LinearProgram) -> LinkStructure | None:
    """The link structure when the reduction is worth trying on lp (a minimising MIP with
    at least MIN_ARCS arcs), else None."""
    if lp.maximize or not lp.integer.any() or lp.n_cols < MIN_ARCS:
        return None
    links = LinkStructure.of(lp)
    if links is None or len(links.x) < MIN_ARCS:
        return None
    return links


def solve_reduced(lp: LinearProgram, links: LinkStructure, backend_name: str,
                  options: SolveOptions, start: np.ndarray | None = None
                  ) -> BackendResult | None:
    """Heuristic plan, host fixing, then the reduced MIP; None when no plan is found
    first (the caller then solves lp whole). ``start``, a plan known to meet every row,
    is the incumbent when the restricted MIP finds none or a dearer one."""
    t0 = time.perf_counter()
    budget = options.time_limit if options.time_limit is not None else 600.0
    lag = LagrangianBound(lp, links)
    setup_s = time.perf_counter() - t0  # probing sets up a relaxation as large again

    pi = np.zeros(len(lag.rows))
    best, pi = lag.ascend(pi, 2 * abs(lp.obj).sum() + 1, 200, t0 + 0.1 * budget)
    for _ in range(10):  # Polyak targets 50% above the best bound so far, until it settles
        before = best
        best, pi = lag.ascend(pi, best + 0.5 * abs(best) + 1, 150, t0 + 0.1 * budget)
        if best - before <= 2e-3 * abs(before):
            break
    _, _, folded, z, _ = lag.evaluate(pi)
    hosts = lag.hosts()
    n_open = int((folded[hosts] < 0).sum()) if z is None else int(z[hosts].sum())
    wanted = max(MIN_CANDIDATES, CANDIDATE_FACTOR * n_open)
    keep = hosts[np.argsort(folded[hosts], kind="stable")[:wanted]]
    if deadline.stopped():
        return None
    heuristic = None
    if len(keep) < len(hosts):  # the MIP restricted to the cheapest hosts
        trial = restrict(lp, links, np.setdiff1d(hosts, keep))
        inside = start is not None and not np.any(np.delete(start, trial.cols))
        heuristic = call_backend(trial.lp, backend_name,
                                 replace(options, time_limit=0.25 * budget,
                                         gap=max(options.gap, 1e-4)),
                                 start=start[trial.cols] if inside else None)
        if heuristic.x is not None and heuristic.status is not Status.ERROR:
            found = trial.lift(heuristic.x, lp.n_cols)
            if start is None or lp.obj @ found < lp.obj @ start:
                start = found
    if start is None:
        return None
    incumbent = float(lp.obj @ start + lp.obj_offset)
    deadline.offer(start, best if np.isfinite(best) else None)

    bound, pi = lag.ascend(pi, incumbent, 3000, t0 + 0.45 * budget)
    bound = max(bound, best)  # the best L(pi) seen: a lower bound on every plan
    closed, opened = lag.fixings(pi, incumbent)
    first = restrict(lp, links, closed, opened)
    none = np.zeros(0, np.int64)
    more_closed, more_opened = none, none
    if t0 + 0.7 * budget - time.perf_counter() > 2 * setup_s and not stopped():
        more_closed, more_opened = probe(first.lp, first.links, incumbent, t0 + 0.7 * budget)
    if stopped():
        return None
    closed = np.concatenate([closed, first.cols[more_closed]])
    opened = np.concatenate([opened, first.cols[more_opened]])
    reduced = restrict(lp, links, closed, opened)
    left = None if options.time_limit is None else max(
        0.01, options.time_limit - (time.perf_counter() - t0))
    lagrangian = bound if np.isfinite(bound) else None
    note = (f"{len(closed)} of {len(hosts)} hosts closed and {len(opened)} opened by a "
            f"Lagrangian bound of "
            f"{bound:.10g} against a heuristic plan costing {incumbent:.10g}")
    if lagrangian is not None:
        deadline.offer(start, lagrangian)
    if left is not None and left < 0.1 * budget:  # too little time for the reduced MIP
        status = honest_status(Status.OPTIMAL, incumbent, _full_bound(None, incumbent,
                               lagrangian), lp.obj_offset, options.gap)
        return BackendResult(status, start, incumbent, _full_bound(None, incumbent, lagrangian),
                             heuristic.solver if heuristic else backend_name,
                             heuristic.version if heuristic else "", time.perf_counter() - t0,
                             message=note + "; no time left for the reduced programme")
    if reduced.lp.n_cols == 0:  # every host closed: the heuristic plan is the only one left
        solver = (heuristic.solver, heuristic.version) if heuristic else (backend_name, "")
        return BackendResult(Status.OPTIMAL, start, incumbent, incumbent, *solver,
                             time.perf_counter() - t0, message=note)
    final = call_backend(reduced.lp, backend_name, replace(options, time_limit=left),
                         start=start[reduced.cols])
    elapsed = time.perf_counter() - t0
    trusted = None if final.status is Status.ERROR else final.bound  # a refused plan's bound
    full_bound = _full_bound(trusted, incumbent, lagrangian)
    if (final.x is None or final.status is Status.ERROR
            or final.objective > incumbent + 1e-9 * max(1.0, abs(incumbent))):
        if final.status is Status.UNBOUNDED:
            return replace(final, solve_s=elapsed, message=f"{note}; {final.message}")
        why = f"; the reduced programme: {final.status.value}" + (
            f" ({final.message})" if final.message else "")
        if final.status is Status.INFEASIBLE:  # it holds every plan cheaper than the start
            full_bound = incumbent
        status = honest_status(Status.OPTIMAL, incumbent, full_bound, lp.obj_offset,
                               options.gap)
        return replace(final, status=status, x=start, objective=incumbent,
                       bound=full_bound, solve_s=elapsed, message=note + why,
                       reported=None)
    return replace(final, x=reduced.lift(final.x, lp.n_cols), bound=full_bound,
                   solve_s=elapsed, message=note)


def _full_bound(reduced: float | None, incumbent: float, lagrangian: float | None
                ) -> float | None:
    """A lower bound on every plan of the whole programme: plans the fixing removed cost
    more than the incumbent, so min(reduced bound, incumbent) holds, and so does the
    Lagrangian bound; the larger of the two."""
    known = [b for b in (None if reduced is None else min(reduced, incumbent), lagrangian)
             if b is not None]
    return min(max(known), incumbent) if known else None
