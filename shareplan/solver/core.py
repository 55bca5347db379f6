"""The solver's own types, below every backend: status, options, results, errors, the gap.

Nothing here imports numpy, a solver package or another module of shareplan, so the
backends, the formulation's callers, the plan and the checker can all depend on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: listing the backends must not load numpy
    import numpy as np


class Status(str, Enum):
    """What a solve proved. ``optimal`` only when optimality was proven within the gap."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"
    ERROR = "error"


@dataclass(frozen=True)
class SolveOptions:
    """Options every backend translates; ``extra`` passes solver-specific settings through."""

    time_limit: float | None = None  # seconds
    gap: float = 1e-6  # relative MIP gap on the decision-dependent part of the objective
    threads: int = 1
    seed: int = 0
    log: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: the unit-column decomposition (solver/decompose.py): "auto" where it pays, "on", "off"
    decomposition: str = "auto"

    def as_dict(self) -> dict:
        return {"time_limit": self.time_limit, "gap": self.gap, "threads": self.threads,
                "seed": self.seed, **({"extra": dict(self.extra)} if self.extra else {}),
                **({"decomposition": self.decomposition}
                   if self.decomposition != "auto" else {})}


@dataclass
class BackendResult:
    status: Status
    x: np.ndarray | None  # column values when a solution exists
    objective: float | None  # including the offset, in the programme's sense
    bound: float | None
    solver: str
    version: str
    solve_s: float
    log: str = ""
    message: str = ""
    reported: float | None = None  # the solver's own objective value (with the offset)


class BackendError(Exception):
    """A backend cannot take this programme (e.g. CP-SAT with continuous variables)."""


class SolverFault(Exception):
    """The solver aborted or answered nothing readable (the caller may try again)."""


#: Solvers say "no bound" with a huge number (SCIP: 1e20); no real bound is this large.
NO_BOUND = 1e19


def real_bound(bound: float | None) -> float | None:
    """bound, or None when it is infinite, NaN or a solver's "no bound" value."""
    if bound is None or not math.isfinite(bound) or abs(bound) >= NO_BOUND:
        return None
    return float(bound)


def relative_gap(objective: float | None, bound: float | None, offset: float = 0.0) -> float | None:
    """|objective - bound| / max(1, |objective - offset|): the gap on what decisions change."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(objective - bound) / max(1.0, abs(objective - offset))


def honest_status(claimed: Status, objective, bound, offset: float, gap: float) -> Status:
    """Demote a claimed optimum to feasible when the bound does not prove it within ``gap``."""
    if claimed is not Status.OPTIMAL:
        return claimed
    g = relative_gap(objective, bound, offset)
    # the resolution of the solvers' arithmetic at the objective's size counts as no gap:
    # 1e-12 of it (a tenth of a penny on 1e9 GBP; CP-SAT's scaled bound sits 3e-5 below
    # an objective of 4.6e7 whose decisions change only a few pounds)
    ulp = 1e-12 * abs(objective) / max(1.0, abs(objective - offset)) if g is not None else 0
    if g is None or g > gap * 1.0001 + 1e-9 + ulp:
        return Status.FEASIBLE
    return Status.OPTIMAL
