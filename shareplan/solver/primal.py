"""A target-meeting primal heuristic: a plan to start from, built without a solver.

Large programmes with per-force savings targets can leave every backend without a plan
within its time limit. This module builds one from the formulation's own figures, in
three steps, and the solve path offers it to the deadline watch and passes it as a MIP
start (see :func:`shareplan.solver.run.solve_formulation`):

1. **Greedy units.** Per function, the unit with the most negative change in total cost
   is opened, repeatedly, among forces not yet in a unit of that function. A unit at h
   with members M changes the total cost by

       delta(h, M) = C_sh + sum_{i in M} coef_{s,i,h}

   (C_sh: the unit's fixed and set-up charge; coef: the arc's cost coefficient, see
   ``FunctionData.arc_coefficients``); the best M of each size is the host's owner (when
   it must be a member) plus the cheapest arcs that fit (capacity, forbidden partners).
2. **Repair.** Each force's plan cost is what its savings row charges it,

       load_i = sum_{units u of i} (coef_{a(i,u)} + C_u k_i / sum_{j in u} k_j)

   (k: allocation keys), which must stay at or below the row's bound (its savings target);
   frontline rows need sum_a (o - rho d)_a x_a at or above theirs. While a row is broken,
   the move (join a unit, leave one, move between units, open a pair, close a unit) that
   most reduces the total violation, each row relative to its own scale, is made; ties
   go to the cheaper plan.
3. **Improvement.** Moves that lower the total cost and break no row, until none does
   (or for as long as the first two steps took).

The plan's remaining columns (allocation products, member-set columns) are completed
by a solve with every x and y fixed, and the whole vector must meet every row of the
programme (``LinearProgram.worst_row``), else there is no plan (None). The heuristic
proves nothing: a plan it cannot find may still exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .formulation import FAMILY, Formulation
from .lp import LinearProgram

#: Programmes with fewer columns than this are left to the solver alone.
MIN_COLUMNS = 5_000
#: Seconds the heuristic may take at most (and at most this share of a time limit).
MAX_SECONDS = 30.0
TIME_SHARE = 0.3


@dataclass
class _Function:
    """One shareable function's figures, indexed by force i and host h."""

    C: np.ndarray  # unit charge per host
    key: np.ndarray  # allocation key per force
    arc_at: np.ndarray  # (forces, hosts) -> arc index, -1 where there is no usable arc
    coef: np.ndarray  # per arc
    front: np.ndarray  # per arc: officers returned to the frontline
    owner: np.ndarray  # per host, -1 when none (or not required to be a member)
    minm: int
    maxm: int
    max_units: int | None
    capacity: np.ndarray
    demand: np.ndarray
    forbidden: set = field(default_factory=set)  # frozenset({i, j})
    must: np.ndarray | None = None  # per force: must be in a unit
    fixed: np.ndarray | None = None  # per arc: lb = 1 (an existing unit kept)


class _State:
    """Units per function, and each force's load and frontline figure."""

    def __init__(self, fns: list[_Function], n: int, hi, lo, scale_hi, scale_lo, charged):
        self.fns, self.n = fns, n
        self.hi, self.lo, self.scale_hi, self.scale_lo = hi, lo, scale_hi, scale_lo
        self.charged = charged  # are unit charges in the savings rows (per-force targets)?
        self.members = [dict() for _ in fns]  # function -> host -> list of forces
        self.unit_of = [np.full(n, -1) for _ in fns]
        self.load = np.zeros(n)
        self.front = np.zeros(n)
        self.cost = 0.0

    def contributions(self, s: int, h: int, members) -> dict:
        """force -> (load, frontline) from the unit of function s at h with these members."""
        f = self.fns[s]
        if not members:
            return {}
        K = float(sum(f.key[j] for j in members))
        out = {}
        for j in members:
            a = f.arc_at[j, h]
            charge = f.C[h] * f.key[j] / K if self.charged and K > 0 else 0.0
            out[j] = (f.coef[a] + charge, f.front[a])
        return out

    def unit_cost(self, s: int, h: int, members) -> float:
        f = self.fns[s]
        if not members:
            return 0.0
        return float(f.C[h] + sum(f.coef[f.arc_at[j, h]] for j in members))

    def violation_of(self, load: np.ndarray, front: np.ndarray, idx=slice(None)
                     ) -> np.ndarray:
        """Per force (of idx): how far its rows are broken, each relative to its scale."""
        over = np.maximum(0.0, load - self.hi[idx]) / self.scale_hi[idx]
        under = np.maximum(0.0, self.lo[idx] - front) / self.scale_lo[idx]
        return over + under

    def must_missing(self) -> int:
        return sum(int(np.sum(f.must & (u < 0))) for f, u in zip(self.fns, self.unit_of)
                   if f.must is not None)

    def violation(self) -> float:
        return float(self.violation_of(self.load, self.front).sum()) + self.must_missing()

    def evaluate(self, changes: list[tuple[int, int, list]]):
        """(violation change, cost change) of giving each (function, host) its new member
        list, without applying it."""
        d_load: dict[int, float] = {}
        d_front: dict[int, float] = {}
        d_cost = 0.0
        d_must = 0
        for s, h, new in changes:
            old = self.members[s].get(h, [])
            d_cost += self.unit_cost(s, h, new) - self.unit_cost(s, h, old)
            for sign, group in ((-1.0, old), (1.0, new)):
                for j, (ld, fr) in self.contributions(s, h, group).items():
                    d_load[j] = d_load.get(j, 0.0) + sign * ld
                    d_front[j] = d_front.get(j, 0.0) + sign * fr
            must = self.fns[s].must
            if must is not None:
                d_must += sum(1 for j in old if must[j] and j not in new)
                d_must -= sum(1 for j in new if must[j] and j not in old)
        if not d_load:
            return 0.0, d_cost
        idx = np.fromiter(d_load, int)
        load = self.load[idx] + np.fromiter((d_load[j] for j in idx), float)
        front = self.front[idx] + np.fromiter((d_front[j] for j in idx), float)
        before = self.violation_of(self.load[idx], self.front[idx], idx).sum()
        after = self.violation_of(load, front, idx).sum()
        return float(after - before) + d_must, d_cost

    def apply(self, changes: list[tuple[int, int, list]]) -> None:
        for s, h, new in changes:
            old = self.members[s].get(h, [])
            self.cost += self.unit_cost(s, h, new) - self.unit_cost(s, h, old)
            for sign, group in ((-1.0, old), (1.0, new)):
                for j, (ld, fr) in self.contributions(s, h, group).items():
                    self.load[j] += sign * ld
                    self.front[j] += sign * fr
            for j in old:
                self.unit_of[s][j] = -1
            for j in new:
                self.unit_of[s][j] = h
            if new:
                self.members[s][h] = list(new)
            else:
                self.members[s].pop(h, None)

    # which member lists are allowed -------------------------------------------------
    def allowed(self, s: int, h: int, members: list) -> bool:
        f = self.fns[s]
        if not members:
            return not (f.fixed is not None and self._has_fixed(s, h))
        if len(members) < f.minm or len(members) > f.maxm:
            return False
        if f.owner[h] >= 0 and f.owner[h] not in members:
            return False
        if np.isfinite(f.capacity[h]) and sum(f.demand[j] for j in members) > f.capacity[h]:
            return False
        if f.forbidden and any(frozenset((a, b)) in f.forbidden
                               for k, a in enumerate(members) for b in members[k + 1:]):
            return False
        if f.max_units is not None and h not in self.members[s] and \
                len(self.members[s]) >= f.max_units:
            return False
        return all(f.arc_at[j, h] >= 0 for j in members)

    def _has_fixed(self, s: int, h: int) -> bool:
        f = self.fns[s]
        return any(f.fixed[f.arc_at[j, h]] for j in self.members[s].get(h, []))

    def can_leave(self, s: int, j: int) -> bool:
        f = self.fns[s]
        h = self.unit_of[s][j]
        return h >= 0 and not (f.fixed is not None and f.fixed[f.arc_at[j, h]])


def _functions(form: Formulation) -> list[_Function] | None:
    """Per-function figures, or None when a function is outside what the moves handle
    (divisible demand)."""
    net, lp = form.net, form.lp
    out = []
    for fd, xcols, coef in zip(net.functions, form.x, form.arc_coef):
        if fd.fn.divisible:
            return None
        n, H = net.n_forces, len(fd.hosts)
        usable = lp.ub[xcols] > 0.5
        arc_at = np.full((n, H), -1)
        arcs = np.nonzero(usable)[0]
        arc_at[fd.arc_force[arcs], fd.arc_host[arcs]] = arcs
        owner = fd.owner if fd.fn.host_must_be_member else np.full(H, -1)
        owner = np.where(owner >= 0, owner, -1)
        forbidden = {frozenset((i, j)) for i, j, fns in net.forbidden_pairs
                     if fns is None or fd.fn.id in fns}
        must = np.array([not fd.fn.standalone_allowed or (fd.fn.id, i) in net.must_share
                         for i in range(n)])
        fixed = lp.lb[xcols] > 0.5
        out.append(_Function(
            C=np.asarray(fd.unit_charge, float), key=np.asarray(fd.key, float),
            arc_at=arc_at, coef=np.asarray(coef, float),
            front=np.asarray(fd.officer_delta, float), owner=owner,
            minm=max(1, int(fd.fn.min_members)), maxm=int(fd.fn.max_members or n),
            max_units=fd.fn.max_units, capacity=np.asarray(fd.capacity, float),
            demand=np.asarray(fd.demand, float), forbidden=forbidden,
            must=must if must.any() else None, fixed=fixed if fixed.any() else None))
    return out


#: The rows the heuristic must meet, by the registry's names.
SAVINGS_ROWS = FAMILY["savings_target"].rows[0]
FLOOR_ROWS = FAMILY["frontline_floor"].rows[0]
AGGREGATE_ROWS = FAMILY["aggregate_target"].rows[0]


def _row_bounds(form: Formulation):
    """(hi, lo, scale_hi, scale_lo, charged, total): per force, the savings rows' bound on
    its load and the frontline rows' bound on its frontline figure (inf where none), the
    scales violations are measured in, and the aggregate row's bound on the total cost
    change (None when absent)."""
    lp, net = form.lp, form.net
    n = net.n_forces
    hi, lo = np.full(n, np.inf), np.full(n, -np.inf)
    fidx = {f: i for i, f in enumerate(net.force_ids)}
    charged = False
    total = None
    for block in lp.row_blocks:
        if block.family == SAVINGS_ROWS:
            charged = True
            for k, (fid,) in enumerate(block.labels):
                hi[fidx[fid]] = lp.row_hi[block.start + k]
        elif block.family == FLOOR_ROWS:
            for k, (fid,) in enumerate(block.labels):
                lo[fidx[fid]] = lp.row_lo[block.start + k]
        elif block.family == AGGREGATE_ROWS:
            total = float(lp.row_hi[block.start])
    targets = np.abs(np.nan_to_num(net.savings_target))
    scale_hi = np.maximum(1.0, np.where(targets > 0, targets, np.abs(form.baseline) * 1e-3))
    scale_lo = np.ones(n)
    return hi, lo, scale_hi, scale_lo, charged, total


def _start_state(fns, form: Formulation, bounds) -> _State:
    hi, lo, scale_hi, scale_lo, charged, _ = bounds
    state = _State(fns, form.net.n_forces, hi, lo, scale_hi, scale_lo, charged)
    for s, f in enumerate(fns):  # existing units kept in place (lb = 1)
        if f.fixed is None:
            continue
        units: dict[int, list] = {}
        for i, h in zip(*np.nonzero(f.arc_at >= 0)):
            if f.fixed[f.arc_at[i, h]]:
                units.setdefault(int(h), []).append(int(i))
        state.apply([(s, h, m) for h, m in units.items()])
    return state


def _best_unit(state: _State, s: int, h: int) -> tuple[float, list] | None:
    """(cost change, members) of the cheapest unit that could open at h among forces of
    function s not yet in a unit, or None."""
    f = state.fns[s]
    if h in state.members[s]:
        return None
    free = np.nonzero((f.arc_at[:, h] >= 0) & (state.unit_of[s] < 0))[0]
    owner = f.owner[h]
    if owner >= 0:
        if owner not in free:
            return None
        free = free[free != owner]
        members = [int(owner)]
    else:
        members = []
    order = free[np.argsort(f.coef[f.arc_at[free, h]], kind="stable")]
    best, best_m = None, None
    cost = f.C[h] + sum(f.coef[f.arc_at[j, h]] for j in members)
    demand = sum(f.demand[j] for j in members)
    for j in order:
        if len(members) >= f.maxm:
            break
        if f.coef[f.arc_at[j, h]] >= 0 and len(members) >= f.minm:
            break
        if demand + f.demand[j] > f.capacity[h]:
            continue
        if f.forbidden and any(frozenset((int(j), m)) in f.forbidden for m in members):
            continue
        members.append(int(j))
        cost += f.coef[f.arc_at[j, h]]
        demand += f.demand[j]
        if len(members) >= f.minm and (best is None or cost < best):
            best, best_m = cost, list(members)
    if best is None or best >= 0:
        return None
    return float(best), best_m


def _greedy(state: _State, stop: float) -> None:
    """Open the cheapest unit, per function, until no unit lowers the total cost."""
    for s, f in enumerate(state.fns):
        H = f.arc_at.shape[1]
        cache = {h: _best_unit(state, s, h) for h in range(H)}
        while time.perf_counter() < stop:
            options = [(v[0], h) for h, v in cache.items() if v is not None]
            if not options:
                break
            _, h = min(options)
            members = cache[h][1]
            if not state.allowed(s, h, members):
                cache[h] = None
                continue
            state.apply([(s, h, members)])
            touched = np.unique(np.nonzero(f.arc_at[members] >= 0)[1])
            for g in touched:
                cache[int(g)] = _best_unit(state, s, int(g))


def _moves(state: _State, i: int):
    """Candidate changes that involve force i: join, leave, move, open a pair, close."""
    for s, f in enumerate(state.fns):
        here = int(state.unit_of[s][i])
        if here >= 0 and state.can_leave(s, i):
            rest = [j for j in state.members[s][here] if j != i]
            if f.owner[here] == i or len(rest) < f.minm:
                yield [(s, here, [])]  # close the unit (its owner or too few left)
            else:
                yield [(s, here, rest)]
        hosts = np.nonzero(f.arc_at[i] >= 0)[0]
        for h in hosts:
            h = int(h)
            if h == here:
                continue
            leave = []
            if here >= 0:
                if not state.can_leave(s, i):
                    continue
                rest = [j for j in state.members[s][here] if j != i]
                leave = [(s, here, [] if f.owner[here] == i or len(rest) < f.minm else rest)]
            current = state.members[s].get(h)
            if current is not None:
                if len(current) < f.maxm:
                    yield leave + [(s, h, [*current, i])]
                else:  # full: i takes the place of a member other than the owner
                    for j in current:
                        if j != f.owner[h] and state.can_leave(s, j):
                            yield leave + [(s, h, [i if m == j else m for m in current])]
                continue
            # open a unit at h: with its owner (who may leave another unit for it), or i
            # and the best free partner
            owner = int(f.owner[h])
            if owner >= 0 and owner != i:
                g = int(state.unit_of[s][owner])
                if g < 0:
                    yield leave + [(s, h, [owner, i])]
                elif g != here and state.can_leave(s, owner):
                    rest = [j for j in state.members[s][g] if j != owner]
                    gone = [] if f.owner[g] == owner or len(rest) < f.minm else rest
                    yield leave + [(s, g, gone), (s, h, [owner, i])]
                continue
            free = np.nonzero((f.arc_at[:, h] >= 0) & (state.unit_of[s] < 0))[0]
            free = free[free != i]
            if len(free):
                j = int(free[np.argmin(f.coef[f.arc_at[free, h]])])
                yield leave + [(s, h, [i, j] if owner == i or owner < 0 else [owner, i])]


def _legal(state: _State, changes) -> bool:
    seen = set()
    for s, h, new in changes:
        if (s, h) in seen or not state.allowed(s, h, new):
            return False
        seen.add((s, h))
        for j in new:  # a force in two units of one function
            other = state.unit_of[s][j]
            if other >= 0 and other != h and not any(
                    (s2, h2) == (s, other) and j not in n2 for s2, h2, n2 in changes):
                return False
    return True


def _repair(state: _State, stop: float) -> None:
    """Make the move that most reduces the violation, worst force first, until none
    breaks a row or no move helps."""
    stuck: set[int] = set()
    while time.perf_counter() < stop:
        v = state.violation_of(state.load, state.front)
        for s, f in enumerate(state.fns):  # forces that must share count as violated
            if f.must is not None:
                v = v + (f.must & (state.unit_of[s] < 0))
        order = [int(i) for i in np.argsort(-v, kind="stable") if v[i] > 1e-9
                 and int(i) not in stuck]
        if not order:
            return
        i = order[0]
        best = None
        for changes in _moves(state, i):
            if not _legal(state, changes):
                continue
            dv, dc = state.evaluate(changes)
            if dv < -1e-12 and (best is None or (dv, dc) < best[:2]):
                best = (dv, dc, changes)
        if best is None:
            stuck.add(i)
            continue
        state.apply(best[2])
        stuck.clear()


def _improve(state: _State, stop: float) -> None:
    """Moves that lower the total cost and break no row, until none does."""
    improved = True
    while improved and time.perf_counter() < stop:
        improved = False
        for i in range(state.n):
            best = None
            for changes in _moves(state, i):
                if not _legal(state, changes):
                    continue
                dv, dc = state.evaluate(changes)
                if dv <= 1e-12 and dc < -1e-6 and (best is None or dc < best[0]):
                    best = (dc, changes)
            if best is not None:
                state.apply(best[1])
                improved = True
            if time.perf_counter() >= stop:
                return


def _columns(form: Formulation, state: _State) -> np.ndarray:
    """x and y of the state's units (other columns at their lower bounds)."""
    lp = form.lp
    x = np.where(np.isfinite(lp.lb), lp.lb, 0.0).astype(float)
    for s, f in enumerate(state.fns):
        for h, members in state.members[s].items():
            x[form.y[s][h]] = 1.0
            for j in members:
                x[form.x[s][f.arc_at[j, h]]] = 1.0
    return x


def _substituted(lp: LinearProgram, fixed: np.ndarray, values: np.ndarray):
    """(programme over the columns not fixed, their indices): the fixed columns' terms
    moved to the row bounds, rows left with no term dropped (the caller checks them)."""
    free = np.nonzero(~fixed)[0]
    A = lp.A.tocsc()
    shift = A[:, fixed] @ values[fixed]
    sub = A[:, free].tocsr()
    rows = np.nonzero(np.diff(sub.indptr) > 0)[0]
    small = replace(lp, A=sub[rows], row_lo=lp.row_lo[rows] - shift[rows],
                    row_hi=lp.row_hi[rows] - shift[rows], lb=lp.lb[free], ub=lp.ub[free],
                    obj=lp.obj[free], integer=lp.integer[free], obj_offset=0.0,
                    col_blocks=[], row_blocks=[])
    return small, free


def _singletons_fixed(lp: LinearProgram) -> np.ndarray:
    """Columns whose bounds, tightened by the rows with one term, leave a single value
    (0 <= z <= P x with x = 0 fixes z): a mask over lp's columns."""
    A = lp.A.tocsr()
    one = np.nonzero(np.diff(A.indptr) == 1)[0]
    col, a = A.indices[A.indptr[one]], A.data[A.indptr[one]]
    lo, hi = lp.row_lo[one] / a, lp.row_hi[one] / a
    lo, hi = np.where(a > 0, lo, hi), np.where(a > 0, hi, lo)
    lb, ub = lp.lb.astype(float).copy(), lp.ub.astype(float).copy()
    np.maximum.at(lb, col, lo)
    np.minimum.at(ub, col, hi)
    return np.abs(ub - lb) <= 1e-12 * np.maximum(1.0, np.abs(lb))


def complete(lp: LinearProgram, x: np.ndarray, fixed: np.ndarray, backend: str = "highs",
             seconds: float = 10.0) -> np.ndarray | None:
    """x with the ``fixed`` columns kept and every other column from a solve of what is
    left once the fixed ones are substituted out (and the columns that then have a single
    possible value are set to it); None when that has no solution."""
    from .core import SolveOptions, Status
    from .guard import call_backend

    x, fixed = np.asarray(x, float).copy(), fixed.copy()
    small, free = _substituted(lp, fixed, x)
    pinned = _singletons_fixed(small)
    x[free[pinned]] = np.where(np.isfinite(small.lb[pinned]), small.lb[pinned], 0.0)
    fixed[free[pinned]] = True
    if fixed.all():
        return x
    small, free = _substituted(lp, fixed, x)
    res = call_backend(small, backend, SolveOptions(time_limit=max(1.0, seconds)))
    if res.x is None or res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        return None
    x[free] = res.x
    return x


def _complete(form: Formulation, xy: np.ndarray, backend: str, seconds: float
              ) -> np.ndarray | None:
    """The whole vector: every x and y fixed to xy, the other columns solved for."""
    fixed = np.zeros(form.lp.n_cols, bool)
    fixed[np.concatenate(form.x + form.y)] = True
    return complete(form.lp, xy, fixed, backend, seconds)


def share_bound(form: Formulation) -> float | None:
    """A lower bound on the cost of every plan: each unit's charge split evenly among at
    most maxm_s members, so that with x and y integral

        c'x + c0 >= c0 + sum_{s,i} min(0 if i may run s alone, min_h (c_a + c_sh / maxm_s))

    (c_a: an arc's objective coefficient, c_sh the unit's, both from the programme).
    None when the programme is outside this argument (divisible demand, a negative unit
    coefficient, costs on other columns) or a force that must share has no arc."""
    lp, net = form.lp, form.net
    xy = np.concatenate(form.x + form.y) if form.x else np.zeros(0, int)
    rest = np.ones(lp.n_cols, bool)
    rest[xy] = False
    if np.any(lp.obj[rest] != 0):
        return None
    total = float(lp.obj_offset)
    for fd, xcols, ycols in zip(net.functions, form.x, form.y):
        cy = lp.obj[ycols]
        if fd.fn.divisible or np.any(cy < 0):
            return None
        maxm = float(fd.fn.max_members or net.n_forces)
        per_arc = lp.obj[xcols] + cy[fd.arc_host] / maxm
        best = np.full(net.n_forces, np.inf)
        np.minimum.at(best, fd.arc_force, per_arc)
        alone = np.array([fd.fn.standalone_allowed and (fd.fn.id, i) not in net.must_share
                          for i in range(net.n_forces)])
        best = np.where(alone, np.minimum(best, 0.0), best)
        if not np.all(np.isfinite(best)):
            return None
        total += float(best.sum())
    return total


def applies(form: Formulation) -> bool:
    """Is the heuristic worth running: a least-cost MIP with savings targets or frontline
    floors, large enough that solvers can end without a plan (or with only the status
    quo, when that meets every rule)? Facility-location benchmarks, with neither, are
    left to the solvers."""
    lp = form.lp
    rules = any(b.family in (SAVINGS_ROWS, FLOOR_ROWS, AGGREGATE_ROWS) for b in lp.row_blocks)
    return (rules and form.primary is None and not lp.maximize and lp.integer.any()
            and lp.n_cols >= MIN_COLUMNS)


def target_plan(form: Formulation, time_limit: float | None = None,
                completion_backend: str = "highs") -> np.ndarray | None:
    """A plan (x of form.lp) meeting every row, or None (see the module docstring)."""
    from .guard import VIOLATION_TOLERANCE

    t0 = time.perf_counter()
    budget = MAX_SECONDS if time_limit is None else min(MAX_SECONDS, TIME_SHARE * time_limit)
    stop = t0 + budget
    fns = _functions(form)
    if fns is None:
        return None
    bounds = _row_bounds(form)
    state = _start_state(fns, form, bounds)
    _greedy(state, t0 + 0.5 * budget)
    _repair(state, t0 + 0.8 * budget)
    total = bounds[5]
    if state.violation() > 1e-9 or (total is not None and state.cost > total):
        return None
    # improvement for as long again as the construction took, at most
    now = time.perf_counter()
    _improve(state, min(t0 + 0.9 * budget, now + max(1.0, now - t0)))
    x = _complete(form, _columns(form, state), completion_backend,
                  stop - time.perf_counter())
    if x is None or form.lp.worst_row(x)[0] > VIOLATION_TOLERANCE:
        return None
    return x
