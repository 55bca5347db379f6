"""Unit columns: Dantzig-Wolfe pricing, a Lagrangian bound, reduced-cost fixing, exact closing.

Only the per-force rows (savings targets, frontline floors) couple the functions. Per
function s the compact model's units are listed as columns j = (s, h, M): a unit at
host h with member set M (the host's owner in M when the function requires it,
minm_s <= |M| <= maxm_s, demand within K_sh, no forbidden pair). With the notation of
formulation.py, column j has

    cost  c_j = C_sh + sum_{i in M} coef_(s,i,h)
    in force i's savings row  a_ij = coef_(s,i,h) + C_sh k_si / sum_{l in M} k_sl
    in force i's floor row    f_ij = o_si - rho_s d_si

and the programme is, with lambda_j in {0, 1},

    min  sum_j c_j lambda_j
    s.t. sum_{j: s(j)=s, i in M_j} lambda_j <= 1  (= 1 when i must share s)   [assign]
         sum_{j: (s,h)(j)=(s,h)} lambda_j <= 1                               [block]
         sum_j a_ij lambda_j <= b_i   (b_i = baseline_i - const_i - T_i)     [savings]
         sum_j f_ij lambda_j >= g_i   (g_i = Lmin_i - L_i + sum f x0)        [floor]

the same optimum as the compact model (each open host has exactly one member set;
allocated charges become constants, so no McCormick products).

1. Pricing (Dantzig-Wolfe). The master LP over a restricted set of columns (slack
   columns with penalties keep it feasible) is solved by HiGHS's simplex (highspy,
   for the row duals y and a warm start); every column's reduced cost
   r_j = c_j - A_j'y is computed by array arithmetic over the full list, and the most
   negative few of each block (s, h) join the master, until none is negative.
2. Bound. For any duals of the right signs (y <= 0 on <= rows, >= 0 on >= rows), and
   since a plan uses at most one column per block k,

       L(y) = sum_r y_r b_r + sum_k min(0, min_{j in k} r_j)

   is a lower bound on every plan (a Lagrangian bound; at the end of pricing it is the
   LP bound of the column model, much stronger than the compact model's LP).
3. Primal heuristic: the MIP over the generated columns (targets and floors as hard
   rows), solved by the chosen backend, gives a plan costing UB.
4. Fixing: a plan using column j costs at least L(y) + r_j - min(0, min_{l in k(j)} r_l),
   so every column where that exceeds UB is dropped, exactly.
5. Closing: the MIP over the columns left, solved by the chosen backend from the plan
   of step 3. Its bound, or L(y) where larger, bounds the whole programme.

The plan is written back as the compact model's columns (x, y and the allocation's
lambda or p, z) and checked row by row against it before it is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import scipy.sparse as sp

from . import deadline
from .backends.base import stdout_silenced
from .core import BackendResult, SolveOptions, Status, honest_status
from .deadline import stopped
from .formulation import FAMILY, Formulation
from .guard import VIOLATION_TOLERANCE, call_backend
from .lp import LinearProgram

#: The decomposition switches on (``auto``) for one-block programmes with per-force rows
#: and at least this many candidate arcs (measured: bench/national.py, docs/national.md).
MIN_ARCS = 200
#: More unit columns than this are not listed (memory: about 90 bytes a column).
MAX_COLUMNS = 6_000_000
#: Columns joining the master per block and pricing round.
PER_BLOCK = 3
#: Penalty per unit of slack on an assign, savings and floor row; raised 1000-fold while
#: the master's optimum still uses slack, at most PENALTY_RAISES times.
PENALTIES = (1e11, 1e2, 1e8)
PENALTY_RAISES = 3
#: A closing MIP with more columns than this is not attempted (the plan of step 3 and
#: L(y) are returned).
MAX_CLOSING_COLUMNS = 400_000
#: Columns (the generated ones and those of least fixing bound) the plan is improved over
#: when the closing MIP would be too large.
IMPROVE_COLUMNS = 40_000
#: Share of the time limit by which the last MIP is to end.
FINISH_BY = 0.92
#: A dive fixes up to 1 / DIVE_SHARE of the fractional columns at a time.
DIVE_SHARE = 4
#: Pricing rounds after each fixing of a dive (its LP need not be optimal).
DIVE_ROUNDS = 3
#: More pricing rounds a dive allows a fixing to meet every target and floor again.
DIVE_SETTLE = 20


@dataclass
class UnitColumns:
    """Every candidate unit (s, h, M) as a column; member slots padded with force n."""

    fn: np.ndarray  # (N,) function index s
    block: np.ndarray  # (N,) block index k of (s, h)
    force: np.ndarray  # (N, m) member forces, n where empty
    arc: np.ndarray  # (N, m) the member's arc within its function, -1 where empty
    cost: np.ndarray  # (N,) c_j
    save: np.ndarray  # (N, m) a_ij
    front: np.ndarray  # (N, m) f_ij
    block_fn: np.ndarray  # (K,) s of block k
    block_host: np.ndarray  # (K,) h of block k

    def __len__(self) -> int:
        return len(self.cost)


@dataclass
class CouplingRows:
    """The rows of the column model: assign (S n), block (K), savings, floors."""

    n: int
    n_functions: int
    must: np.ndarray  # (S, n) bool: assign row is an equality
    save_row: np.ndarray  # (n + 1,) index of force i's savings row among them, -1 if none
    save_rhs: np.ndarray
    floor_row: np.ndarray  # (n + 1,)
    floor_rhs: np.ndarray


def _combos(n: int, k: int) -> np.ndarray:
    """All k-subsets of range(n) as rows (cached: every host of a size reuses them)."""
    key = (n, k)
    if key not in _COMBO_CACHE:
        _COMBO_CACHE[key] = (np.zeros((1, 0), np.int32) if k == 0 else
                             np.array(list(combinations(range(n), k)), dtype=np.int32))
    return _COMBO_CACHE[key]


_COMBO_CACHE: dict[tuple[int, int], np.ndarray] = {}


def count_columns(form: Formulation) -> int:
    """The number of unit columns before capacity and forbidden-pair pruning."""
    from math import comb

    total = 0
    for fd in form.net.functions:
        for h in range(len(fd.hosts)):
            arcs = np.nonzero(fd.arc_host == h)[0]
            req = int(fd.fn.host_must_be_member and np.any(fd.arc_force[arcs] == fd.owner[h]))
            lo = max(fd.fn.min_members, 1)
            hi = min(fd.fn.max_members or len(arcs), len(arcs))
            total += sum(comb(len(arcs) - req, size - req)
                         for size in range(max(lo, req), hi + 1))
    return total


def why_not(form: Formulation) -> str | None:
    """None when the column model expresses this programme exactly, else the reason."""
    net, inst = form.net, form.net.inst
    if form.primary is not None or inst.objective.sense != "min_cost":
        return "the objective is not least cost"
    if inst.objective.aggregate_savings_target_gbp is not None:
        return "an aggregate savings target"
    for fd in net.functions:
        fn = fd.fn
        if fn.divisible:
            return f"function '{fn.id}' is divisible"
        if fn.max_units is not None:
            return f"function '{fn.id}' has a maximum number of units"
        if fn.max_members is None:
            return f"function '{fn.id}' has no maximum unit size"
        if any(not u.reoptimisable for u in fd.existing):
            return f"function '{fn.id}' has a fixed existing unit"
        if any(hs.also_sites for hs in fn.hosts or []):
            return f"function '{fn.id}' has a multi-site unit"
    if count_columns(form) > MAX_COLUMNS:
        return f"more than {MAX_COLUMNS:,} unit columns"
    return None


#: The per-force rows that couple the functions, by the registry's names: savings
#: targets (their upper side holds the right-hand side) and frontline floors (lower side).
COUPLING_ROWS = (FAMILY["savings_target"].rows[0], FAMILY["frontline_floor"].rows[0])


def pays(form: Formulation) -> bool:
    """The switch of ``decomposition=auto``: per-force rows and at least MIN_ARCS arcs."""
    coupled = any(form.lp.row_block(row) is not None for row in COUPLING_ROWS)
    arcs = sum(len(x) for x in form.x)
    return coupled and arcs >= MIN_ARCS


def enumerate_columns(form: Formulation) -> UnitColumns:
    """Every unit of every function as a column (see the module docstring)."""
    net, lp = form.net, form.lp
    n = net.n_forces
    m = max(fd.fn.max_members for fd in net.functions) if net.functions else 1
    parts: dict[str, list] = {k: [] for k in ("fn", "block", "arc")}
    block_fn, block_host = [], []
    for s, fd in enumerate(net.functions):
        forbidden = [(i, j) for i, j, fns in net.forbidden_pairs
                     if fns is None or fd.fn.id in fns]
        for h in range(len(fd.hosts)):
            arcs = np.nonzero(fd.arc_host == h)[0]
            if not len(arcs):
                continue
            own = (fd.arc_force[arcs] == fd.owner[h]) & fd.fn.host_must_be_member
            required, free = arcs[own], arcs[~own]
            lo = max(fd.fn.min_members, 1)
            hi = min(fd.fn.max_members, len(arcs))
            sets = []
            for size in range(max(lo, len(required)), hi + 1):
                pick = free[_combos(len(free), size - len(required))]
                full = np.column_stack([np.broadcast_to(required, (len(pick), len(required))),
                                        pick])
                sets.append(np.pad(full, ((0, 0), (0, m - size)), constant_values=-1))
            if not sets:
                continue
            cols = np.concatenate(sets)
            valid = cols >= 0
            if np.isfinite(fd.capacity[h]):
                load = np.where(valid, fd.demand[fd.arc_force[cols]], 0.0).sum(axis=1)
                cols = cols[load <= fd.capacity[h] + 1e-9]
                valid = cols >= 0
            for i, j in forbidden:
                forces = np.where(valid, fd.arc_force[cols], -1)
                both = (forces == i).any(axis=1) & (forces == j).any(axis=1)
                cols, valid = cols[~both], valid[~both]
            if not len(cols):
                continue
            parts["fn"].append(np.full(len(cols), s, np.int32))
            parts["block"].append(np.full(len(cols), len(block_fn), np.int32))
            parts["arc"].append(cols.astype(np.int32))
            block_fn.append(s)
            block_host.append(h)
    if not parts["fn"]:
        z = np.zeros(0, np.int32)
        return UnitColumns(z, z, np.zeros((0, m), np.int32), np.zeros((0, m), np.int32),
                           np.zeros(0), np.zeros((0, m)), np.zeros((0, m)), z, z)
    fn = np.concatenate(parts["fn"])
    block = np.concatenate(parts["block"])
    arc = np.concatenate(parts["arc"])
    N = len(fn)
    force = np.full((N, m), n, np.int32)
    cost = np.zeros(N)
    save = np.zeros((N, m))
    front = np.zeros((N, m))
    for s, (fd, xcols, ycols) in enumerate(zip(net.functions, form.x, form.y)):
        sel = np.nonzero(fn == s)[0]
        if not len(sel):
            continue
        a = arc[sel]
        valid = a >= 0
        safe = np.where(valid, a, 0)
        coef = np.where(valid, lp.obj[xcols][safe], 0.0)
        host = fd.arc_host[safe[:, 0]]
        charge = lp.obj[ycols][host]
        keys = np.where(valid, fd.key[fd.arc_force[safe]], 0.0)
        force[sel] = np.where(valid, fd.arc_force[safe], n)
        cost[sel] = charge + coef.sum(axis=1)
        save[sel] = np.where(valid, coef + charge[:, None] * keys / keys.sum(axis=1)[:, None],
                             0.0)
        front[sel] = np.where(valid, fd.officer_delta[safe], 0.0)
    return UnitColumns(fn, block, force, arc, cost, save, front,
                       np.array(block_fn, np.int32), np.array(block_host, np.int32))


def coupling_rows(form: Formulation) -> CouplingRows:
    """Right-hand sides of the per-force rows, read from the built compact model."""
    net, lp = form.net, form.lp
    n = net.n_forces
    fidx = {f: i for i, f in enumerate(net.force_ids)}
    must = np.array([[not fd.fn.standalone_allowed or (fd.fn.id, i) in net.must_share
                      for i in range(n)] for fd in net.functions], dtype=bool).reshape(-1, n)
    out = []
    for family, side in zip(COUPLING_ROWS, (lp.row_hi, lp.row_lo)):
        row = np.full(n + 1, -1)
        block = lp.row_block(family)
        rhs = np.zeros(0)
        if block is not None:
            forces = [fidx[label[0]] for label in block.labels]
            row[forces] = np.arange(len(forces))
            rhs = side[block.start:block.stop].copy()
        out += [row, rhs]
    return CouplingRows(n, len(net.functions), must, *out)


class Master:
    """The restricted master LP in highspy: rows fixed, columns added as priced."""

    def __init__(self, cols: UnitColumns, rows: CouplingRows):
        import highspy

        self.cols, self.rows = cols, rows
        n, S = rows.n, rows.n_functions
        K = len(cols.block_fn)
        n_sav, n_fl = len(rows.save_rhs), len(rows.floor_rhs)
        inf = highspy.kHighsInf
        self.inf = inf
        self.n_assign, self.n_block = S * n, K
        lo = np.concatenate([np.where(rows.must.ravel(), 1.0, -inf), np.full(K, -inf),
                             np.full(n_sav, -inf), rows.floor_rhs])
        hi = np.concatenate([np.ones(S * n), np.ones(K), rows.save_rhs, np.full(n_fl, inf)])
        self.lo, self.hi = lo, hi
        self.n_rows = len(lo)
        with stdout_silenced():
            self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.addRows(self.n_rows, lo, hi, 0, np.zeros(self.n_rows, np.int32),
                       np.zeros(0, np.int32), np.zeros(0))
        # slack columns: + on equality assign rows, - on savings rows, + on floor rows
        must_rows = np.nonzero(rows.must.ravel())[0]
        sav_rows = S * n + K + np.arange(n_sav)
        fl_rows = S * n + K + n_sav + np.arange(n_fl)
        self.slack_rows = np.concatenate([must_rows, sav_rows, fl_rows])
        self.slack_sign = np.concatenate([np.ones(len(must_rows)), -np.ones(n_sav),
                                          np.ones(n_fl)])
        self.slack_kind = np.concatenate([np.zeros(len(must_rows), int), np.ones(n_sav, int),
                                          np.full(n_fl, 2)])
        self.penalty = np.array(PENALTIES)
        m = len(self.slack_rows)
        self.h.addCols(m, self.penalty[self.slack_kind], np.zeros(m), np.full(m, inf), m,
                       np.arange(m, dtype=np.int32), self.slack_rows.astype(np.int32),
                       self.slack_sign)
        self.in_master = np.zeros(0, np.int64)  # unit columns, in master column order
        self.member = np.zeros(len(cols), bool)
        self.allowed = np.ones(len(cols), bool)  # not ruled out by a dive's fixings
        self.position = np.full(len(cols), -1)  # highspy column of each unit column

    def matrix(self, J: np.ndarray) -> sp.csc_matrix:
        """The master rows of columns J (assign, block, savings, floors)."""
        c, r = self.cols, self.rows
        n, K = r.n, len(c.block_fn)
        n_sav = len(r.save_rhs)
        f = c.force[J]
        valid = f < n
        idx = np.arange(len(J))[:, None].repeat(f.shape[1], axis=1)
        sav = r.save_row[f]
        fl = r.floor_row[f]
        rows_, cols_, vals = [], [], []
        rows_.append((c.fn[J][:, None] * n + f)[valid])
        cols_.append(idx[valid])
        vals.append(np.ones(valid.sum()))
        rows_.append(r.n_functions * n + c.block[J])
        cols_.append(np.arange(len(J)))
        vals.append(np.ones(len(J)))
        base = r.n_functions * n + K
        ok = valid & (sav >= 0)
        rows_.append(base + sav[ok])
        cols_.append(idx[ok])
        vals.append(c.save[J][ok])
        ok = valid & (fl >= 0)
        rows_.append(base + n_sav + fl[ok])
        cols_.append(idx[ok])
        vals.append(c.front[J][ok])
        return sp.csc_matrix((np.concatenate(vals),
                              (np.concatenate(rows_), np.concatenate(cols_))),
                             shape=(self.n_rows, len(J)))

    def add(self, J: np.ndarray) -> None:
        J = J[~self.member[J] & self.allowed[J]]
        if not len(J):
            return
        A = self.matrix(J)
        self.h.addCols(len(J), self.cols.cost[J], np.zeros(len(J)), np.full(len(J), self.inf),
                       A.nnz, A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32),
                       A.data)
        self.position[J] = len(self.slack_rows) + len(self.in_master) + np.arange(len(J))
        self.in_master = np.concatenate([self.in_master, J])
        self.member[J] = True

    def values(self) -> np.ndarray:
        """lambda of the master's unit columns (order of in_master) at its last solve."""
        sol = np.asarray(self.h.getSolution().col_value)
        return sol[len(self.slack_rows):]

    def fix(self, J: np.ndarray) -> None:
        """lambda_j = 1 exactly for j in J (all others free again); every column sharing a
        block, or a force in the same function, with one of them is ruled out (bound 0,
        not priced in)."""
        c, r = self.cols, self.rows
        self.add(J)
        used = np.zeros((r.n_functions, r.n + 1), bool)
        used[c.fn[J][:, None], c.force[J]] = True
        used[:, r.n] = False
        blocks = np.zeros(len(c.block_fn), bool)
        blocks[c.block[J]] = True
        clash = blocks[c.block] | used[c.fn[:, None], c.force].any(axis=1)
        clash[J] = False
        self.allowed = ~clash
        M = self.in_master
        lo = np.isin(M, J).astype(float)
        hi = np.where(clash[M], 0.0, self.inf)
        pos = self.position[M].astype(np.int32)
        self.h.changeColsBounds(len(pos), pos, lo, hi)

    def solve(self) -> tuple[float, np.ndarray, float] | None:
        """(value, row duals, slack used) of the master LP, or None if it failed."""
        import highspy

        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        slack = np.asarray(sol.col_value)[:len(self.slack_rows)]
        return (self.h.getInfo().objective_function_value, np.asarray(sol.row_dual),
                float(slack.sum()))

    def raise_penalties(self) -> None:
        self.penalty *= 1e3
        m = len(self.slack_rows)
        self.h.changeColsCost(m, np.arange(m, dtype=np.int32), self.penalty[self.slack_kind])

    def signed(self, y: np.ndarray) -> np.ndarray:
        """y with the signs a Lagrangian bound needs: <= 0 on <= rows, >= 0 on >= rows."""
        y = np.where(np.isfinite(self.lo), y, np.minimum(y, 0.0))
        return np.where(np.isfinite(self.hi), y, np.maximum(y, 0.0))

    def reduced_costs(self, y: np.ndarray) -> np.ndarray:
        """r_j = c_j - A_j'y for every unit column."""
        c, r = self.cols, self.rows
        n, S, K = r.n, r.n_functions, len(c.block_fn)
        n_sav = len(r.save_rhs)
        y_assign = np.zeros((S, n + 1))
        y_assign[:, :n] = y[:S * n].reshape(S, n)
        y_block = y[S * n:S * n + K]
        base = S * n + K
        y_sav = np.append(np.where(r.save_row[:n] >= 0, y[base + r.save_row[:n]], 0.0), 0.0)
        y_fl = np.append(np.where(r.floor_row[:n] >= 0,
                                  y[base + n_sav + r.floor_row[:n]], 0.0), 0.0)
        f = c.force
        out = c.cost - y_block[c.block]
        out -= y_assign[c.fn[:, None], f].sum(axis=1)
        out -= (y_sav[f] * c.save).sum(axis=1)
        out -= (y_fl[f] * c.front).sum(axis=1)
        return out

    def lagrangian(self, y: np.ndarray, rc: np.ndarray) -> tuple[float, np.ndarray]:
        """(L(y), per block min(0, min r_j)) for duals y (see the module docstring)."""
        side = np.where(y > 0, self.lo, np.where(y < 0, self.hi, 0.0))
        value = float(y @ np.where(np.isfinite(side), side, 0.0))
        starts = np.r_[0, np.nonzero(np.diff(self.cols.block))[0] + 1]
        low = np.minimum(0.0, np.minimum.reduceat(rc, starts))
        return value + float(low.sum()), low


@dataclass
class Priced:
    """The end of pricing: duals, reduced costs and the Lagrangian bound (no offset)."""

    bound: float
    rc: np.ndarray
    low: np.ndarray  # per block min(0, min r_j)
    master: Master
    rounds: int
    slack: float  # slack the master's optimum still uses (0: the LP is the column LP)


def price(master: Master, t_end: float, tol: float = 1e-7, max_rounds: int = 10_000,
          raises: int = PENALTY_RAISES) -> Priced | None:
    """Column generation until no allowed column prices out (or t_end, or max_rounds);
    None if the LP fails."""
    cols = master.cols
    if not len(master.in_master):  # start from the cheapest few of each block
        order = np.lexsort((cols.cost, cols.block))
        first = np.r_[True, cols.block[order][1:] != cols.block[order][:-1]]
        rank = np.arange(len(order)) - np.maximum.accumulate(
            np.where(first, np.arange(len(order)), 0))
        master.add(order[rank < PER_BLOCK])
    best = -np.inf
    rounds = 0
    while True:
        rounds += 1
        out = master.solve()
        if out is None:
            return None
        value, y, slack = out
        y = master.signed(y)
        rc = np.where(master.allowed, master.reduced_costs(y), np.inf)
        bound, low = master.lagrangian(y, rc)
        if bound > best:
            best, keep = bound, (bound, rc, low)
        scale = max(1.0, abs(value))
        negative = np.nonzero((rc < -tol * scale) & master.allowed)[0]
        done = value - bound <= tol * scale or not len(negative)
        if done and slack > 1e-9 and raises > 0:
            master.raise_penalties()
            raises -= 1
            continue
        if done or rounds >= max_rounds or time.perf_counter() > t_end or stopped():
            return Priced(keep[0], keep[1], keep[2], master, rounds, slack)
        neg = negative[np.lexsort((rc[negative], cols.block[negative]))]
        first = np.r_[True, cols.block[neg][1:] != cols.block[neg][:-1]]
        rank = np.arange(len(neg)) - np.maximum.accumulate(np.where(first, np.arange(len(neg)),
                                                                    0))
        master.add(neg[rank < PER_BLOCK])


def dive(master: Master, t_end: float, tol: float = 1e-6) -> list[np.ndarray]:
    """LP diving: price, fix the columns the master LP sets to 1 and the most used
    fractional ones that do not clash, rule out their clashes, price again, until the LP
    is integral. A fixing that leaves targets or floors unmet (slack after DIVE_SETTLE
    more rounds) is undone and tried with the single most used column, then the dive
    stops. Returns the columns fixed at each level (the LP was feasible with them), the
    last one the plan itself when the dive ends integral."""
    levels: list[np.ndarray] = []
    fixed = np.zeros(0, np.int64)
    cols = master.cols
    while time.perf_counter() < t_end and not stopped():
        lam = master.values()
        J = master.in_master
        ones = J[lam >= 1 - tol]
        frac = np.nonzero((lam > tol) & (lam < 1 - tol))[0]
        if not len(frac):
            levels.append(ones)
            break
        frac = J[frac[np.argsort(-lam[frac], kind="stable")]]
        batch, used, blocks = [], set(), set()
        for j in frac[:max(1, len(frac) // DIVE_SHARE)]:
            mine = {(int(cols.fn[j]), int(f)) for f in cols.force[j] if f < master.rows.n}
            if int(cols.block[j]) in blocks or mine & used:
                continue
            batch.append(j)
            used |= mine
            blocks.add(int(cols.block[j]))
        for trial in (batch, batch[:1]):
            deeper = np.union1d(fixed, np.concatenate([ones, np.array(trial, np.int64)]))
            master.fix(deeper)
            priced = price(master, t_end, tol=1e-6, max_rounds=DIVE_ROUNDS, raises=0)
            if priced is not None and priced.slack > 1e-7:  # unmet rows: price some more
                priced = price(master, t_end, tol=1e-6, max_rounds=DIVE_SETTLE, raises=0)
            if priced is not None and priced.slack <= 1e-7:
                break
            if len(batch) == 1:
                break
        else:
            priced = None
        if priced is None or priced.slack > 1e-7:
            break
        fixed = deeper
        levels.append(fixed)
    return levels


def heuristic_plan(cols: UnitColumns, rows: CouplingRows, master: Master, J: np.ndarray,
                   levels: list[np.ndarray], backend_name: str, options: SolveOptions,
                   t_end: float) -> tuple[np.ndarray, BackendResult] | None:
    """(columns of a plan, the backend's answer): the MIP over columns J with the deepest
    dive level's columns fixed at 1, backing off a level while it finds no plan."""
    for fixed in [*reversed(levels), np.zeros(0, np.int64)]:
        left = t_end - time.perf_counter()
        if left <= 0 or stopped():
            return None
        K = np.union1d(J, fixed)
        prog = column_programme(cols, rows, master, K)
        prog.lb[np.isin(K, fixed)] = 1.0
        res = call_backend(prog, backend_name, replace(
            options, time_limit=max(1.0, left if not len(fixed) else min(left, 0.5 * left + 5)),
            gap=max(options.gap, 1e-4)))
        if res.x is not None and res.status is not Status.ERROR:
            return K[res.x > 0.5], res
    return None


def column_programme(cols: UnitColumns, rows: CouplingRows, master: Master, J: np.ndarray
                     ) -> LinearProgram:
    """The column model over columns J as a MIP (no slack), for a backend."""
    from .lp import Block

    A = master.matrix(J).tocsr()
    m = len(J)
    return LinearProgram(lb=np.zeros(m), ub=np.ones(m), integer=np.ones(m, bool),
                         obj=cols.cost[J].copy(), obj_offset=0.0, maximize=False, A=A,
                         row_lo=master.lo.copy(), row_hi=master.hi.copy(),
                         col_blocks=[Block("unit", 0, [("unit", str(j)) for j in J])],
                         row_blocks=[])


def to_compact(form: Formulation, cols: UnitColumns, chosen: np.ndarray) -> np.ndarray:
    """The compact model's column vector of the plan made of unit columns ``chosen``."""
    from .formulation import _member_sets

    net, lp = form.net, form.lp
    x = np.zeros(lp.n_cols)
    lam_blocks = {b.labels.parts[0]: b for b in lp.col_blocks
                  if b.family == "unit" and hasattr(b.labels, "parts")}
    p_blocks = {b.labels[0][0]: b for b in lp.col_blocks if b.family == "p" and len(b.labels)}
    z_blocks = {b.labels.parts[0]: b for b in lp.col_blocks
                if b.family == "z" and hasattr(b.labels, "parts")}
    sets_index: dict[str, dict] = {}
    for j in chosen:
        s = int(cols.fn[j])
        fd = net.functions[s]
        sid = fd.fn.id
        arcs = cols.arc[j][cols.arc[j] >= 0]
        h = int(fd.arc_host[arcs[0]])
        x[form.x[s][arcs]] = 1.0
        x[form.y[s][h]] = 1.0
        C = fd.unit_charge
        hosts = [g for g in range(len(fd.hosts)) if C[g] > 0 and np.any(fd.arc_host == g)]
        if sid in lam_blocks:
            if sid not in sets_index:
                sets = [(g, tuple(sorted(mm))) for g in hosts
                        for mm in _member_sets(fd, g, True)]
                sets_index[sid] = {key: k for k, key in enumerate(sets)}
            k = sets_index[sid][(h, tuple(sorted(int(a) for a in arcs)))]
            x[lam_blocks[sid].start + k] = 1.0
        elif sid in p_blocks and h in hosts:
            keys = fd.key[fd.arc_force[arcs]]
            price_ = C[h] / keys.sum()
            x[p_blocks[sid].start + h] = price_
            z_arcs = np.nonzero(np.isin(fd.arc_host, hosts))[0]
            pos = np.searchsorted(z_arcs, arcs)
            x[z_blocks[sid].start + pos] = price_
    return x


def solve_decomposed(form: Formulation, backend_name: str, options: SolveOptions
                     ) -> BackendResult | None:
    """Steps 1-5 of the module docstring; None when the column model does not apply or
    its first steps find no plan (the caller then solves the compact model)."""
    t0 = time.perf_counter()
    if why_not(form) is not None:
        return None
    budget = options.time_limit if options.time_limit is not None else 3600.0
    lp = form.lp
    cols = enumerate_columns(form)
    if not len(cols):
        return None
    rows = coupling_rows(form)
    master = Master(cols, rows)
    priced = price(master, t0 + 0.4 * budget)
    if priced is None or stopped():
        return None
    offset = lp.obj_offset
    bound = priced.bound
    # 3. a plan: the MIP over the generated columns, fixed as deep as a dive went
    levels = dive(master, t0 + 0.5 * budget)
    J = master.in_master
    found = heuristic_plan(cols, rows, master, J, levels, backend_name, options,
                           t0 + 0.7 * budget)
    if found is None:
        return None
    start, heur = found
    upper = float(cols.cost[start].sum())
    x_start = to_compact(form, cols, start)
    deadline.offer(x_start, bound + offset)
    # 4. fixing by reduced cost against L(y)
    floor_of = bound + priced.rc - priced.low[cols.block]
    tol = 1e-9 * max(1.0, abs(upper)) + 1e-6
    keep = np.union1d(np.nonzero(floor_of <= upper + tol)[0], start)
    note = (f"unit-column decomposition: {len(cols):,} columns, {priced.rounds} pricing "
            f"rounds, Lagrangian (column LP) bound {bound + offset:.10g}; "
            f"{len(keep):,} columns left by reduced-cost fixing against a plan costing "
            f"{upper + offset:.10g}")
    # the last MIP ends before the run's watch would stop it, so this answer (its bound
    # labelled) is the one returned
    left = None if options.time_limit is None else max(
        0.01, FINISH_BY * options.time_limit - (time.perf_counter() - t0))
    if len(keep) > MAX_CLOSING_COLUMNS or stopped():
        # too many to close: a better plan from the most promising columns, in the time left
        if stopped():
            return _result(form, x_start, upper + offset, bound + offset, heur, options, t0,
                           note + "; stopped: the bound is the Lagrangian bound")
        wider = np.union1d(J, np.argsort(floor_of, kind="stable")[:IMPROVE_COLUMNS])
        more = call_backend(column_programme(cols, rows, master, wider), backend_name,
                            replace(options, time_limit=left),
                            start=np.isin(wider, start).astype(float))
        if more.x is not None and more.status is not Status.ERROR and \
                float(cols.cost[wider[more.x > 0.5]].sum()) < upper:
            start = wider[more.x > 0.5]
            upper = float(cols.cost[start].sum())
            x_start = to_compact(form, cols, start)
        return _result(form, x_start, upper + offset, bound + offset, more, options, t0,
                       note + f"; too many to close: the plan is the best over {len(wider):,} "
                       "of them and the bound is the Lagrangian bound")
    # 5. closing
    final = call_backend(column_programme(cols, rows, master, keep), backend_name,
                         replace(options, time_limit=left),
                         start=np.isin(keep, start).astype(float))
    if final.x is None or final.status is Status.ERROR:
        why = f"; the closing MIP: {final.status.value}" + (
            f" ({final.message})" if final.message else "")
        closing_bound = upper if final.status is Status.INFEASIBLE else None
        best = bound if closing_bound is None else max(bound, closing_bound)
        return _result(form, x_start, upper + offset, best + offset, heur, options, t0,
                       note + why)
    chosen = keep[final.x > 0.5]
    value = float(cols.cost[chosen].sum())
    if value > upper:
        chosen, value = start, upper
    closing = final.bound if final.bound is not None else -np.inf
    best = max(bound, min(closing, value))
    how = (f"; proven by {final.solver}'s MIP over them" if final.status is Status.OPTIMAL
           else f"; {final.solver}'s MIP over them stopped ({final.status.value}): the bound "
           "is the larger of its own and the Lagrangian bound")
    return _result(form, to_compact(form, cols, chosen), value + offset, best + offset, final,
                   options, t0, note + how)


def _result(form: Formulation, x: np.ndarray, objective: float, bound: float,
            res: BackendResult, options: SolveOptions, t0: float, note: str) -> BackendResult:
    """The answer in the compact model's columns, checked against every one of its rows."""
    lp = form.lp
    computed = float(lp.obj @ x + lp.obj_offset)
    worst, row = lp.worst_row(x)
    status = honest_status(Status.OPTIMAL, computed, min(bound, computed), lp.obj_offset,
                           options.gap)
    out = BackendResult(status, x, computed, min(bound, computed), res.solver, res.version,
                        time.perf_counter() - t0, message=note)
    if worst > VIOLATION_TOLERANCE or abs(computed - objective) > 1e-6 * max(1.0, abs(
            computed - lp.obj_offset)):
        out.status = Status.ERROR
        out.message = (f"the decomposition's plan breaks {lp.row_name(row)} (by {worst:.1e}) "
                       f"or costs {computed:.10g}, not {objective:.10g}; not trusted")
    return out
