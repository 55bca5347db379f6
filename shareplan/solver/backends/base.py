"""The backend interface: one small contract, our own status, options in one place."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: listing the backends must not load numpy/scipy
    import numpy as np

    from ..lp import LinearProgram


def preload_ortools() -> None:
    """Load OR-Tools' native library before anything loads highspy.

    Both wheels carry a HiGHS build; if highspy's loads first (PuLP imports it
    when present), OR-Tools' HiGHS engine segfaults in the same process. The
    other order is safe, so every backend import goes through this first.
    """
    import ortools.linear_solver.python.model_builder_helper  # noqa: F401


_SILENCED: list[int] = []  # saved copies of fd 1 while a solver is silenced
_SILENCE_LOCK = threading.Lock()


@contextlib.contextmanager
def stdout_silenced():
    """Silence file descriptor 1: HiGHS prints its banner there whatever the options."""
    sys.stdout.flush()
    with _SILENCE_LOCK:
        saved = os.dup(1)
        _SILENCED.append(saved)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        with _SILENCE_LOCK:
            os.dup2(_SILENCED[0] if _SILENCED else saved, 1)
            _SILENCED.remove(saved)
            os.close(saved)


def restore_stdout() -> None:
    """Give fd 1 back while an abandoned solver is still silenced (see solver.deadline)."""
    with _SILENCE_LOCK:
        if _SILENCED:
            os.dup2(_SILENCED[0], 1)


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

    def as_dict(self) -> dict:
        return {"time_limit": self.time_limit, "gap": self.gap, "threads": self.threads,
                "seed": self.seed, **({"extra": dict(self.extra)} if self.extra else {})}


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


class Backend(ABC):
    """Solve a :class:`LinearProgram` (minimising or maximising) and report honestly."""

    name: str = ""
    supports_continuous: bool = True

    def refuse_continuous(self, lp: LinearProgram) -> None:
        """BackendError when lp has continuous columns and the engine is integer-only."""
        if lp.has_continuous and not self.supports_continuous:
            raise BackendError(
                f"{self.name} (CP-SAT) is integer-only and this model has continuous variables "
                "(cost allocation or divisible demand); use ortools or ortools-highs")

    @abstractmethod
    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        """Solve lp under options; never raise for infeasible or limit-hit runs.

        ``start`` is a known feasible x, passed to the solver as a MIP start.
        """


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
