"""Cooperative-game solution concepts for a savings game (pure algorithms, no sharing model).

Players ``0..n-1``; a coalition is a bitmask ``S`` (bit ``i`` set: player i is in S);
``v(S)`` is what S can save on its own, ``v(0) = 0``. An allocation ``x`` splits a
total ``V`` (normally ``v(N)``): ``x(N) = V``. The *satisfaction* of S at x is
``e(S, x) = x(S) - v(S)``: S is better off inside the split by that much (negative:
S would do better alone).

- Shapley value: ``phi_i = sum_{S not containing i} |S|!(n-|S|-1)!/n! (v(S+i) - v(S))``,
  exact from a full table, or the mean marginal contribution over sampled random
  orders with a normal-approximation confidence interval.
- Least core: ``max eps  s.t. x(S) >= v(S) + eps`` for every proper non-empty S,
  ``x(N) = V``. The core is non-empty iff ``eps* >= 0``.
- Nucleolus: the allocation that lexicographically maximises the sorted vector of
  satisfactions, by the sequence of least-core LPs. After each LP the coalitions
  whose rows carry a non-zero dual price are tight in *every* optimal solution
  (complementary slackness) and are fixed at that level; any other coalition whose
  vector is in the span of the fixed ones (and N) has a satisfaction the fixed rows
  already determine and leaves the LP. It stops when the fixed rows have rank n.
  (Fixing a coalition only because it is tight in one optimal solution, or fixing
  rows by dual prices without dropping the spanned ones, are the mistakes Guajardo
  and Jörnsten (2015) show in published algorithms.)

Both LP concepts are available on a full table (:func:`least_core`,
:func:`nucleolus`) and by row generation (:func:`least_core_rowgen`,
:func:`nucleolus_rowgen`) where a *separation oracle* returns the most dissatisfied
coalition for a given x instead of the table (for large n, a MIP; see
:mod:`shareplan.analyses.shares`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

#: Dual prices and residuals below this are treated as zero.
TOL = 1e-9


def members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if mask >> i & 1]


def mask_of(players: Sequence[int]) -> int:
    out = 0
    for i in players:
        out |= 1 << i
    return out


def incidence(masks: Sequence[int], n: int) -> np.ndarray:
    """Rows: coalitions, columns: players (1 if the player is in the coalition)."""
    arr = np.asarray(masks, dtype=np.int64)[:, None] if n <= 62 else None
    if arr is not None:
        return ((arr >> np.arange(n)) & 1).astype(float)
    return np.array([[mask >> i & 1 for i in range(n)] for mask in masks], dtype=float)


def full_table(n: int, values: dict[int, float]) -> np.ndarray:
    """v as an array indexed by mask (every coalition must be present)."""
    table = np.zeros(1 << n)
    for mask in range(1, 1 << n):
        table[mask] = values[mask]
    return table


# ------------------------------------------------------------------- Shapley ---

def shapley(n: int, table: np.ndarray) -> np.ndarray:
    """Exact Shapley value from the full table (O(n 2^n))."""
    masks = np.arange(1 << n)
    size = np.array([bin(m).count("1") for m in range(1 << n)])
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                       if s < n else 0.0 for s in range(n + 1)])
    phi = np.zeros(n)
    for i in range(n):
        without = masks[(masks >> i & 1) == 0]
        phi[i] = np.sum(weight[size[without]] * (table[without | (1 << i)] - table[without]))
    return phi


@dataclass
class SampledShapley:
    value: np.ndarray  # mean marginal contribution per player
    half_width: np.ndarray  # half-width of the confidence interval per player
    confidence: float
    samples: int  # random orders


def sample_orders(n: int, samples: int, seed: int) -> list[list[int]]:
    """Random orders, antithetic in pairs (an order and its reverse) to cut the variance."""
    rng = np.random.default_rng(seed)
    orders = []
    while len(orders) < samples:
        perm = [int(i) for i in rng.permutation(n)]
        orders.append(perm)
        if len(orders) < samples:
            orders.append(perm[::-1])
    return orders


def prefix_masks(orders: list[list[int]]) -> set[int]:
    """Every coalition a marginal contribution along the orders needs."""
    need = set()
    for order in orders:
        mask = 0
        for i in order:
            mask |= 1 << i
            need.add(mask)
    return need


def shapley_from_orders(n: int, orders: list[list[int]], value: Callable[[int], float],
                        confidence: float = 0.95) -> SampledShapley:
    """Mean marginal contribution ``v(P+i) - v(P)`` over the orders (P: i's predecessors).

    The interval is ``mean +- z sd / sqrt(m)`` with m the number of independent draws;
    an antithetic pair counts as one draw (its two contributions averaged), so the
    interval stays honest although the pair's halves are correlated.
    """
    from statistics import NormalDist

    contrib = np.zeros((len(orders), n))
    for k, order in enumerate(orders):
        mask, before = 0, 0.0
        for i in order:
            mask |= 1 << i
            now = value(mask)
            contrib[k, i] = now - before
            before = now
    pairs = len(orders) // 2
    draws = (contrib[: 2 * pairs].reshape(pairs, 2, n).mean(axis=1) if pairs
             else contrib)
    if len(orders) % 2 and pairs:
        draws = np.vstack([draws, contrib[-1:]])
    m = len(draws)
    sd = draws.std(axis=0, ddof=1) if m > 1 else np.full(n, np.inf)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return SampledShapley(draws.mean(axis=0), z * sd / math.sqrt(m), confidence, len(orders))


# ------------------------------------------------------- least core (LP) ---

@dataclass
class LPStage:
    eps: float
    x: np.ndarray
    duals: np.ndarray  # one per inequality row (>= 0)


def _eps_cap(rhs: np.ndarray, total: float) -> float:
    return 10.0 * (abs(total) + (float(np.abs(rhs).max()) if len(rhs) else 0.0)) + 1.0


def _max_eps(n: int, rows: np.ndarray, rhs: np.ndarray, total: float,
             eq_rows: np.ndarray | None = None, eq_rhs: np.ndarray | None = None,
             lower: np.ndarray | None = None) -> LPStage | None:
    """max eps s.t. rows x - eps >= rhs, eq_rows x = eq_rhs, 1'x = total, x >= lower.

    Variables (x, eps), all free unless ``lower``; solved by HiGHS through scipy. With
    few rows (row generation's first rounds) eps is capped at a bound far above any
    satisfaction the rows allow, so the LP always has an optimum to probe with.
    """
    c = np.zeros(n + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-rows, np.ones((len(rows), 1))]) if len(rows) else None
    b_ub = -rhs if len(rows) else None
    eq = [np.append(np.ones(n), 0.0)]
    beq = [total]
    if eq_rows is not None and len(eq_rows):
        eq += [np.append(r, 0.0) for r in eq_rows]
        beq += list(eq_rhs)
    lo = [None] * n if lower is None else [float(v) for v in lower]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=np.array(eq), b_eq=np.array(beq),
                  bounds=[*zip(lo, [None] * n), (None, _eps_cap(rhs, total))], method="highs")
    if res.status == 2:
        return None  # infeasible (only possible with lower bounds or fixed rows)
    if res.status != 0:
        raise RuntimeError(f"least-core LP: {res.message}")
    duals = -res.ineqlin.marginals if len(rows) else np.zeros(0)
    return LPStage(float(res.x[-1]), res.x[:n], duals)


def proper_masks(n: int) -> np.ndarray:
    return np.arange(1, (1 << n) - 1)


def least_core(n: int, table: np.ndarray, total: float | None = None) -> tuple[float, np.ndarray]:
    """(eps*, a least-core point) by full enumeration; ``total`` defaults to v(N)."""
    total = table[-1] if total is None else total
    if n == 1:
        return math.inf, np.array([total])
    masks = proper_masks(n)
    stage = _max_eps(n, incidence(masks, n), table[masks], total)
    return stage.eps, stage.x


class _Span:
    """An orthonormal basis of the fixed coalition vectors (with N), to test membership."""

    def __init__(self, n: int):
        self.n = n
        self.basis = np.ones((1, n)) / math.sqrt(n)

    @property
    def rank(self) -> int:
        return len(self.basis)

    def residual(self, rows: np.ndarray) -> np.ndarray:
        proj = rows @ self.basis.T @ self.basis
        return np.linalg.norm(rows - proj, axis=1)

    def add(self, rows: np.ndarray) -> None:
        for r in rows:
            res = r - self.basis.T @ (self.basis @ r)
            norm = np.linalg.norm(res)
            if norm > 1e-7:
                self.basis = np.vstack([self.basis, res / norm])


@dataclass
class Nucleolus:
    x: np.ndarray
    levels: list[float] = field(default_factory=list)  # satisfaction level of each stage
    lps: int = 0


def imputation_floor(n: int, singles: Sequence[float], total: float) -> np.ndarray | None:
    """x_i >= v({i}) when the imputations exist (sum v({i}) <= total), else None."""
    singles = np.asarray(singles, dtype=float)
    return singles if singles.sum() <= total + 1e-9 * max(1.0, abs(total)) else None


def nucleolus(n: int, table: np.ndarray, total: float | None = None,
              floor: np.ndarray | None = None) -> Nucleolus:
    """The nucleolus by the sequence of least-core LPs over the full table.

    Over the imputations (``x_i >= v({i})``) when they exist, else over all splits of
    the total (the prenucleolus); or over the splits with ``x >= floor`` if given.
    """
    total = table[-1] if total is None else total
    if n == 1:
        return Nucleolus(np.array([total]))
    lower = floor if floor is not None else imputation_floor(
        n, [table[1 << i] for i in range(n)], total)
    masks = proper_masks(n)
    rows, rhs = incidence(masks, n), table[masks]
    active = np.ones(len(masks), dtype=bool)
    fixed_rows, fixed_rhs = [], []
    span, out = _Span(n), Nucleolus(np.zeros(n))
    while span.rank < n:
        idx = np.nonzero(active)[0]
        stage = _max_eps(n, rows[idx], rhs[idx], total,
                         np.array(fixed_rows) if fixed_rows else None, np.array(fixed_rhs),
                         lower)
        out.lps += 1
        out.levels.append(stage.eps)
        tight = idx[stage.duals > TOL]
        for k in tight:
            fixed_rows.append(rows[k])
            fixed_rhs.append(rhs[k] + stage.eps)
        span.add(rows[tight])
        active[tight] = False
        idx = np.nonzero(active)[0]
        if len(idx):
            active[idx[span.residual(rows[idx]) < 1e-7]] = False
        out.x = stage.x
        if not active.any():
            break
    a = np.vstack([np.ones(n), *fixed_rows])
    b = np.concatenate([[total], fixed_rhs])
    out.x = np.linalg.lstsq(a, b, rcond=None)[0]
    return out


# ------------------------------------------------------------ row generation ---

#: oracle(x, excluded, below) -> (mask, v(mask), proven) of a proper coalition not in
#: ``excluded``: one whose satisfaction x(S) - v(S) is below ``below`` if the oracle
#: knows one (a heuristic may answer so), else the least satisfied of all (an exact
#: search); None if no coalition is left.
Oracle = Callable[[np.ndarray, set[int], float], "tuple[int, float, bool] | None"]


@dataclass
class RowGen:
    eps: float
    x: np.ndarray
    coalitions: dict[int, float]  # the rows generated: mask -> v
    iterations: int
    proven: bool  # every separation answer was a proven optimum
    levels: list[float] = field(default_factory=list)


def _satisfaction(x: np.ndarray, mask: int, value: float) -> float:
    return float(sum(x[i] for i in range(len(x)) if mask >> i & 1)) - value


def least_core_rowgen(n: int, total: float, oracle: Oracle, start: dict[int, float],
                      tol: float = 1e-6, max_iter: int = 10_000) -> RowGen:
    """Least core by row generation: solve the LP on the coalitions known, ask the oracle
    for the most dissatisfied one, add it while its satisfaction is below eps* - tol.

    At the end no coalition is below ``eps*`` (if the oracle is exact), so ``eps*`` is
    the least-core value of the whole game.
    """
    known = dict(start)
    proven = True
    for it in range(1, max_iter + 1):
        masks = list(known)
        stage = _max_eps(n, incidence(masks, n), np.array([known[m] for m in masks]), total) \
            if masks else LPStage(math.inf, np.full(n, total / n), np.zeros(0))
        if not math.isfinite(stage.eps):  # no rows yet: any split; probe at equal shares
            stage = LPStage(math.inf, np.full(n, total / n), np.zeros(0))
        found = oracle(stage.x, set(known), stage.eps - tol)
        if found is None:
            return RowGen(stage.eps, stage.x, known, it, proven)
        mask, value, ok = found
        proven &= ok
        if _satisfaction(stage.x, mask, value) >= stage.eps - tol:
            return RowGen(stage.eps, stage.x, known, it, proven)
        known[mask] = value
    raise RuntimeError(f"least core: no convergence in {max_iter} separation rounds")


def nucleolus_rowgen(n: int, total: float, oracle: Oracle, start: dict[int, float],
                     lower: np.ndarray | None = None, tol: float = 1e-6,
                     max_iter: int = 10_000) -> RowGen:
    """The nucleolus sequence of LPs with rows generated by the oracle at every stage.

    Stage k: least core over the non-fixed generated coalitions with the fixed rows as
    equalities; the oracle is asked only about coalitions that are neither fixed nor
    in the span of the fixed ones (a coalition it returns from the span is excluded and
    it is asked again). ``lower``: the imputation floor x_i >= v({i}) (see
    :func:`imputation_floor`), or None for the prenucleolus.
    """
    known = dict(start)
    fixed: dict[int, float] = {}  # mask -> fixed satisfaction level
    spanned: set[int] = set()
    span = _Span(n)
    proven, iters, levels = True, 0, []
    x = np.full(n, total / n)
    while span.rank < n:
        while True:
            iters += 1
            if iters > max_iter:
                raise RuntimeError(f"nucleolus: no convergence in {max_iter} rounds")
            free = [m for m in known if m not in fixed and m not in spanned]
            frows = incidence(list(fixed), n) if fixed else None
            frhs = np.array([known[m] + fixed[m] for m in fixed]) if fixed else None
            if free:
                stage = _max_eps(n, incidence(free, n), np.array([known[m] for m in free]),
                                 total, frows, frhs, lower)
            else:
                stage = LPStage(math.inf, x, np.zeros(0))
            x = stage.x
            found = oracle(x, set(fixed) | spanned, stage.eps - tol)
            if found is not None and span.residual(incidence([found[0]], n))[0] < 1e-7:
                spanned.add(found[0])  # determined by the fixed rows: never a new row
                known.setdefault(found[0], found[1])
                continue
            if found is None or _satisfaction(x, found[0], found[1]) >= stage.eps - tol:
                break
            proven &= found[2]
            known[found[0]] = found[1]
        if not free:  # nothing left to fix: the fixed rows with N decide x
            break
        levels.append(stage.eps)
        tight = [m for m, d in zip(free, stage.duals) if d > TOL]
        for m in tight:
            fixed[m] = stage.eps
        span.add(incidence(tight, n))
        for m in free:
            if m not in fixed and span.residual(incidence([m], n))[0] < 1e-7:
                spanned.add(m)
    if fixed:
        a = np.vstack([np.ones(n), incidence(list(fixed), n)])
        b = np.concatenate([[total], [known[m] + fixed[m] for m in fixed]])
        x = np.linalg.lstsq(a, b, rcond=None)[0]
    return RowGen(levels[0] if levels else math.inf, x, known, iters, proven, levels)


def table_oracle(n: int, table: np.ndarray) -> Oracle:
    """The exact separation oracle of a full table (for tests and small games)."""
    masks = proper_masks(n)
    rows = incidence(masks, n)

    def oracle(x: np.ndarray, excluded: set[int], below: float = -math.inf):
        sat = rows @ x - table[masks]
        if excluded:
            sat[np.isin(masks, list(excluded))] = np.inf
        k = int(np.argmin(sat))
        return None if not np.isfinite(sat[k]) else (int(masks[k]), float(table[masks[k]]), True)

    return oracle


# ------------------------------------------------------------ checks ---

@dataclass
class CoreCheck:
    individually_rational: bool
    in_core: bool
    worst: int  # the coalition with the least satisfaction
    shortfall: float  # how much more it would save alone (> 0: it blocks the split)
    worst_single: int  # the player worst off against going alone
    single_shortfall: float


def core_check(n: int, values: dict[int, float], x: np.ndarray, tol: float = 0.5
               ) -> CoreCheck:
    """Is x individually rational and in the core, over the coalitions in ``values``?

    (Exact when ``values`` holds every proper coalition.) ``tol`` is money (pennies
    and rounding): a coalition short by less is not blocking.
    """
    worst, short = 0, -math.inf
    wsingle, ssingle = 0, -math.inf
    for mask, value in values.items():
        if mask == (1 << n) - 1:
            continue
        gap = value - _satisfaction(x, mask, 0.0)
        if gap > short:
            worst, short = mask, gap
        if mask & (mask - 1) == 0 and gap > ssingle:
            wsingle, ssingle = mask, gap
    return CoreCheck(ssingle <= tol, short <= tol, worst, short, wsingle, ssingle)
