"""A solver-neutral mixed-integer linear programme held as arrays.

    min/max  c'x + c0   s.t.  row_lo <= A x <= row_hi,  lb <= x <= ub,  x_j integer for j in J

Variables and constraints come in named families (``x``, ``linking``, ...); each
entry carries a label tuple of ids, so names such as ``linking(custody,herts,kempston)``
are made only when someone asks (LP export, infeasibility reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


class Labels(Sequence):
    """Label tuples made on demand: each part is a constant string or (vocabulary, indices).

    ``Labels("custody", (force_ids, arc_force), (hosts, arc_host))[k]`` is
    ``("custody", force_ids[arc_force[k]], hosts[arc_host[k]])``; building a model
    with 10^5 arcs then costs no Python tuple per arc.
    """

    def __init__(self, *parts):
        self.parts = parts
        self.size = next(len(p[1]) for p in parts if not isinstance(p, str))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(self.size))]
        return tuple(p if isinstance(p, str) else str(p[0][p[1][k]]) for p in self.parts)


@dataclass
class Block:
    family: str
    start: int
    labels: Sequence[tuple]

    @property
    def stop(self) -> int:
        return self.start + len(self.labels)

    def name(self, k: int) -> str:
        return f"{self.family}({','.join(map(str, self.labels[k]))})"


@dataclass
class LinearProgram:
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    obj: np.ndarray
    obj_offset: float
    maximize: bool
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_blocks: list[Block]
    row_blocks: list[Block]

    @property
    def n_cols(self) -> int:
        return len(self.lb)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)

    def row_block(self, family: str) -> Block | None:
        return next((b for b in self.row_blocks if b.family == family), None)

    def col_names(self) -> list[str]:
        return [b.name(k) for b in self.col_blocks for k in range(len(b.labels))]

    def row_names(self) -> list[str]:
        return [b.name(k) for b in self.row_blocks for k in range(len(b.labels))]

    def row_name(self, r: int) -> str:
        for b in self.row_blocks:
            if b.start <= r < b.stop:
                return b.name(r - b.start)
        if 0 <= r < self.n_rows:  # a derived programme without names (reduce.restrict)
            return f"row {r}"
        raise IndexError(r)

    @property
    def has_continuous(self) -> bool:
        return bool(np.any(~self.integer & (self.ub > self.lb)))

    def empty_row_conflicts(self) -> list[str]:
        """Names of rows with no terms whose bounds exclude 0 (infeasible before solving)."""
        counts = np.diff(self.A.indptr)
        bad = np.nonzero((counts == 0) & ((self.row_lo > 1e-9) | (self.row_hi < -1e-9)))[0]
        return [self.row_name(int(r)) for r in bad]

    def scale_problem(self, limit: float = 1e14) -> tuple[str, tuple] | None:
        """(what, (family, *ids) of its row) when a number is too large for a solver:
        |coefficient| >= limit, or |cost| or |row bound| >= 10 x limit."""
        def located(r: int) -> tuple:
            block = next(b for b in self.row_blocks if b.start <= r < b.stop)
            return (block.family, *block.labels[r - block.start])

        if self.A.nnz and np.max(np.abs(self.A.data)) >= limit:
            k = int(np.argmax(np.abs(self.A.data)))
            row = int(np.searchsorted(self.A.indptr, k, side="right") - 1)
            return f"a coefficient of {self.A.data[k]:.3g}", located(row)
        big = np.abs(np.where(np.isfinite(self.obj), self.obj, 0.0))
        if big.size and big.max() >= limit * 10:
            return f"a cost of {big.max():.3g}", ("objective",)
        for bounds in (self.row_lo, self.row_hi):
            big = np.abs(np.where(np.isfinite(bounds), bounds, 0.0))
            if big.size and big.max() >= limit * 10:
                return f"a bound of {big.max():.3g}", located(int(np.argmax(big)))
        return None

    def worst_row(self, x: np.ndarray) -> tuple[float, int]:
        """(violation / row scale, row index) of the row x breaks most; scale = max(1, |bound|,
        largest |coefficient| x 1) so money rows and count rows are judged alike."""
        if not self.n_rows:
            return 0.0, -1
        ax = self.A @ x
        lo = np.where(np.isfinite(self.row_lo), self.row_lo, -np.inf)
        hi = np.where(np.isfinite(self.row_hi), self.row_hi, np.inf)
        viol = np.maximum(np.maximum(lo - ax, ax - hi), 0.0)
        bound = np.maximum(np.where(np.isfinite(lo), np.abs(lo), 0.0),
                           np.where(np.isfinite(hi), np.abs(hi), 0.0))
        coef = np.zeros(self.n_rows)
        if self.A.nnz:
            coef = np.maximum.reduceat(np.abs(self.A.data), self.A.indptr[:-1].clip(
                max=self.A.nnz - 1)) * (np.diff(self.A.indptr) > 0)
        scaled = viol / np.maximum.reduce([np.ones(self.n_rows), bound, coef])
        r = int(np.argmax(scaled))
        return float(scaled[r]), r


@dataclass
class LPBuilder:
    """Collects variable and constraint families, then assembles one CSR matrix."""

    _cols: list[tuple[Block, np.ndarray, np.ndarray, bool, np.ndarray]] = field(
        default_factory=list)
    _rows: list[tuple[Block, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = \
        field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_vars(self, family: str, labels: Sequence[tuple], lb=0.0, ub=1.0, integer=False,
                 obj=0.0) -> np.ndarray:
        """A family of len(labels) variables; returns their column indices."""
        m = len(labels)
        idx = np.arange(self.n_cols, self.n_cols + m)
        self._cols.append((Block(family, self.n_cols, labels),
                           np.broadcast_to(np.asarray(lb, float), (m,)).copy(),
                           np.broadcast_to(np.asarray(ub, float), (m,)).copy(),
                           bool(integer) if np.isscalar(integer) else integer,
                           np.broadcast_to(np.asarray(obj, float), (m,)).copy()))
        self.n_cols += m
        return idx

    def add_rows(self, family: str, labels: Sequence[tuple], rows, cols, vals, lo, hi) -> None:
        """Rows lo <= sum vals * x[cols] <= hi; ``rows`` numbers entries 0..len(labels)-1."""
        m = len(labels)
        if m == 0:
            return
        rows = np.asarray(rows, dtype=np.int64) + self.n_rows
        vals = np.broadcast_to(np.asarray(vals, float), rows.shape)
        self._rows.append((Block(family, self.n_rows, labels), rows,
                           np.asarray(cols, dtype=np.int64), vals,
                           np.broadcast_to(np.asarray(lo, float), (m,)).copy(),
                           np.broadcast_to(np.asarray(hi, float), (m,)).copy()))
        self.n_rows += m

    def set_bounds(self, cols, lb=None, ub=None) -> None:
        """Tighten bounds of already-declared variables (global column indices)."""
        for block, lbs, ubs, _, _ in self._cols:
            local = np.asarray(cols)
            local = local[(local >= block.start) & (local < block.stop)] - block.start
            if lb is not None:
                lbs[local] = lb
            if ub is not None:
                ubs[local] = ub

    def add_objective(self, cols, vals) -> None:
        for block, _, _, _, obj in self._cols:
            cols_ = np.asarray(cols)
            vals_ = np.broadcast_to(np.asarray(vals, float), cols_.shape)
            sel = (cols_ >= block.start) & (cols_ < block.stop)
            np.add.at(obj, cols_[sel] - block.start, vals_[sel])

    def build(self, obj_offset: float = 0.0, maximize: bool = False) -> LinearProgram:
        n = self.n_cols
        lb = np.concatenate([c[1] for c in self._cols]) if self._cols else np.zeros(0)
        ub = np.concatenate([c[2] for c in self._cols]) if self._cols else np.zeros(0)
        integer = np.concatenate([np.broadcast_to(np.asarray(c[3], bool), (len(c[0].labels),))
                                  for c in self._cols]) if self._cols else np.zeros(0, bool)
        obj = np.concatenate([c[4] for c in self._cols]) if self._cols else np.zeros(0)
        if self._rows:
            r = np.concatenate([x[1] for x in self._rows])
            c = np.concatenate([x[2] for x in self._rows])
            v = np.concatenate([x[3] for x in self._rows])
            lo = np.concatenate([x[4] for x in self._rows])
            hi = np.concatenate([x[5] for x in self._rows])
        else:
            r = c = np.zeros(0, np.int64)
            v = lo = hi = np.zeros(0)
        A = sp.csr_matrix((v, (r, c)), shape=(self.n_rows, n))
        A.sum_duplicates()
        A.eliminate_zeros()
        return LinearProgram(lb, ub, integer, obj, float(obj_offset), maximize, A, lo, hi,
                             [c[0] for c in self._cols], [x[0] for x in self._rows])
