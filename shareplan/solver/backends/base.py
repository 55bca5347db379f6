"""The backend interface: one small contract; status, options and results are in
:mod:`shareplan.solver.core`."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: listing the backends must not load numpy/scipy
    import numpy as np

    from ..core import BackendResult, SolveOptions
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


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; callers ask these instead of naming a backend."""

    mip_start: bool = True  # takes a known plan as a MIP start
    proves_infeasibility: bool = True  # its "infeasible" is a proof on every programme
    continuous_columns: bool = True  # solves programmes with continuous columns


EVERY_CAPABILITY = Capabilities()


class Backend(ABC):
    """Solve a :class:`LinearProgram` (minimising or maximising) and report honestly."""

    name: str = ""

    def __init__(self, capabilities: Capabilities = EVERY_CAPABILITY):
        self.capabilities = capabilities

    def refuse_continuous(self, lp: LinearProgram) -> None:
        """BackendError when lp has continuous columns and the engine is integer-only."""
        if lp.has_continuous and not self.capabilities.continuous_columns:
            from ..core import BackendError

            raise BackendError(
                f"{self.name} is integer-only and this model has continuous variables "
                "(cost allocation or divisible demand); use ortools or ortools-highs")

    @abstractmethod
    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        """Solve lp under options; never raise for infeasible or limit-hit runs.

        ``start`` is a known feasible x, passed to the solver as a MIP start.
        """
