"""One programme solved: through the reduction when it applies, else whole, every backend
call guarded, plans offered to the watch. Below both :mod:`.run` (instances) and
:mod:`.explain` (the elastic programmes), so neither imports the other to solve.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from . import deadline, reduce, single_source
from .core import BackendResult, SolveOptions, Status
from .deadline import remaining
from .guard import VIOLATION_TOLERANCE, call_backend, usable_start
from .lp import LinearProgram


def solve_programme(lp: LinearProgram, backend_name: str, options: SolveOptions,
                    start: np.ndarray | None = None, bound: float | None = None
                    ) -> BackendResult:
    """One solve, through the single-source method or the reduction when one applies,
    else whole; every backend call is guarded (see :mod:`.guard`). The plan of every
    function alone is offered to the watch first when it meets every rule (a run cut
    short then still has a plan).

    ``start``, a plan known to meet every row (see :mod:`.primal`), is the MIP start and
    the reduction's incumbent; when the solver ends with no plan of its own (a time
    limit), it is the answer, ``feasible``. ``bound``, a lower bound on every plan's cost
    known beforehand, replaces a weaker one the solver reports."""
    t0 = time.perf_counter()
    offer_trivial(lp)
    start = usable_start(lp, start)  # a start is trusted only once it meets every row
    res = None
    if (facility := single_source.applies(lp)) is not None:
        res = single_source.solve(lp, facility, backend_name, options)
    if res is None and (links := reduce.applies(lp)) is not None:
        res = reduce.solve_reduced(lp, links, backend_name, options, start=start)
    if res is None:  # no reduction, or no heuristic plan for it: the whole programme
        res = call_backend(lp, backend_name, remaining(options, t0), start=start)
    elif res.x is not None:  # a restricted programme's plan, checked on the whole one
        worst, row = lp.worst_row(res.x)
        if worst > VIOLATION_TOLERANCE:
            res.status = Status.ERROR
            res.message = (f"{res.solver} returned a plan that breaks {lp.row_name(row)} "
                           f"(by {worst:.1e} of its scale); not trusted")
    if res.x is None and res.status is Status.NO_SOLUTION and start is not None:
        res = _start_as_answer(lp, res, start)
    if res.status is Status.FEASIBLE and bound is not None and (
            res.bound is None or res.bound < bound):
        res = replace(res, bound=min(bound, res.objective))
    if res.x is not None and res.status is not Status.ERROR:
        deadline.offer(res.x, None if lp.maximize else res.bound)
    return res


def _start_as_answer(lp: LinearProgram, res: BackendResult, start: np.ndarray
                     ) -> BackendResult:
    """The heuristic plan as a ``feasible`` answer (no bound: nothing proved about it)."""
    cost = float(lp.obj @ start + lp.obj_offset)
    why = res.message or "no plan of its own"
    return replace(res, status=Status.FEASIBLE, x=start, objective=cost, bound=None,
                   reported=None, message=f"the heuristic plan ({res.solver or 'the solver'} "
                                          f"found none within the limit: {why})")


def trivial_plan(lp: LinearProgram) -> np.ndarray | None:
    """x at its lower bounds (every function alone, fixed existing units kept) when that
    meets every row, else None."""
    x = np.where(np.isfinite(lp.lb), lp.lb, 0.0).clip(None, lp.ub)
    if lp.n_cols and lp.worst_row(x)[0] <= VIOLATION_TOLERANCE:
        return x
    return None


def offer_trivial(lp: LinearProgram) -> None:
    if deadline.current() is None:
        return
    x = trivial_plan(lp)
    if x is not None:
        deadline.offer(x)
