"""Every backend call goes through here: what a solver returns is checked before it is used.

``call_backend(lp, ...)`` is the only way a programme reaches a backend (the whole
programme, the reduction's restricted ones, the explanation's elastic one). It

- answers rows with no terms whose bounds exclude 0 without a solver (PuLP drops an
  empty row, and CBC would call a non-plan optimal), a programme with no columns, and
  one whose columns are all fixed (CBC aborts on some);
- passes a MIP start only when it is within the column bounds and breaks no row;
- survives a solver that aborts (:class:`SolverFault`): once more without the start,
  else ``error``;
- rounds the solution as every report does (:func:`.plan.clean_solution`) and computes
  the objective c'x + offset on that rounded x, so the objective and every other
  figure describe the same plan;
- treats a solver whose own objective value disagrees with c'x of the vector it
  returned as faulty (HiGHS with a MIP start can report the optimum's value and hand
  back the start): it re-solves without the start and keeps the better of the two
  answers, never a claim the vector does not bear out;
- refuses (``error``) a vector that breaks a row beyond VIOLATION_TOLERANCE;
- keeps the start, ``feasible``, when a solver calls a programme infeasible that the start
  (checked to meet every row) shows is not.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .backends import get_backend
from .core import BackendResult, SolveOptions, SolverFault, Status, honest_status
from .deadline import remaining
from .lp import LinearProgram
from .plan import clean_solution

#: A solution breaking a row by more than this (relative to the row's scale) is refused.
VIOLATION_TOLERANCE = 1e-5
#: A reported objective further than this (relative, at least 1e-6 absolute) from c'x is
#: a fault. CBC's own figure sits up to ~2e-7 from c'x of the vector it prints (seed 700
#: of shareplan.testing.randinst: 11.15 on 6.6e7); the HiGHS fault was 1.2% and more.
OBJECTIVE_TOLERANCE = 1e-6


def usable_start(lp: LinearProgram, start: np.ndarray | None) -> np.ndarray | None:
    """start when it is a feasible point of lp (bounds, integrality, rows), else None."""
    if start is None or len(start) != lp.n_cols:
        return None
    x = clean_solution(start, lp.integer, lp.lb)
    if np.any(x < lp.lb - 1e-9) or np.any(x > lp.ub + 1e-9):
        return None
    return x if lp.worst_row(x)[0] <= VIOLATION_TOLERANCE else None


def _raw_objective(lp: LinearProgram, res: BackendResult) -> float | None:
    """c'x + offset of the vector exactly as the solver returned it (before rounding, so
    a claim is judged against its own vector, not against its integrality tolerance)."""
    if res.x is None:
        return None
    return float(lp.obj @ np.asarray(res.x, float) + lp.obj_offset)


def _disagrees(reported: float | None, computed: float) -> bool:
    if reported is None or not np.isfinite(reported):
        return False
    return abs(reported - computed) > OBJECTIVE_TOLERANCE * max(1.0, abs(computed)) + 1e-6


def _checked(lp: LinearProgram, res: BackendResult, options: SolveOptions) -> BackendResult:
    """res with x rounded, the objective recomputed on it, the status re-judged, and
    ``error`` when x breaks a row."""
    if res.x is None:
        return res
    x = clean_solution(res.x, lp.integer, lp.lb)
    objective = float(lp.obj @ x + lp.obj_offset)
    bound = res.bound
    if bound is not None:  # a bound past the objective proves it, no further
        bound = max(bound, objective) if lp.maximize else min(bound, objective)
    status = honest_status(res.status, objective, bound, lp.obj_offset, options.gap)
    out = replace(res, x=x, objective=objective, bound=bound, status=status)
    worst, row = lp.worst_row(x)
    if worst > VIOLATION_TOLERANCE:
        out.status = Status.ERROR
        out.message = (f"{res.solver} returned a plan that breaks {lp.row_name(row)} "
                       f"(by {worst:.1e} of its scale); not trusted")
    return out


def _better(lp: LinearProgram, a: BackendResult, b: BackendResult) -> BackendResult:
    """The one of two checked answers with a usable plan and the better objective (the
    first on a tie)."""
    usable = [r for r in (a, b) if r.x is not None and r.status is not Status.ERROR]
    if not usable:
        return b
    sign = -1.0 if lp.maximize else 1.0
    return min(usable, key=lambda r: sign * r.objective)


def call_backend(lp: LinearProgram, backend_name: str, options: SolveOptions,
                 start: np.ndarray | None = None) -> BackendResult:
    """One guarded solve of lp (see the module docstring)."""
    conflicts = lp.empty_row_conflicts()
    if conflicts:
        return BackendResult(Status.INFEASIBLE, None, None, None, "presolve", "", 0.0,
                             message="rows with no possible terms: " + ", ".join(conflicts[:5]))
    if lp.n_cols == 0:  # nothing to decide (nobody can share): the plan is the status quo
        return BackendResult(Status.OPTIMAL, np.zeros(0), lp.obj_offset, lp.obj_offset,
                             "none needed", "", 0.0)
    if np.all(lp.lb == lp.ub):  # every column fixed: nothing for a solver to decide
        x = lp.lb.astype(float)
        if lp.worst_row(x)[0] > VIOLATION_TOLERANCE:
            return BackendResult(Status.INFEASIBLE, None, None, None, "presolve", "", 0.0,
                                 message="every column is fixed and a row is broken")
        value = float(lp.obj @ x + lp.obj_offset)
        return BackendResult(Status.OPTIMAL, x, value, value, "none needed", "", 0.0)
    backend = get_backend(backend_name)
    start = usable_start(lp, start)
    t0 = time.perf_counter()
    try:
        res = backend.solve(lp, options, start=start)
    except SolverFault as fault:
        if start is None:
            return BackendResult(Status.ERROR, None, None, None, backend.name, "",
                                 time.perf_counter() - t0, message=str(fault))
        res = _without_start(lp, backend_name, options, t0, f"{fault}")
        return res
    if res.status is Status.INFEASIBLE and start is not None:
        # the start meets every row (usable_start): the claim is refuted by it
        value = float(lp.obj @ start + lp.obj_offset)
        return replace(res, status=Status.FEASIBLE, x=start, objective=value, bound=None,
                       reported=None, message=f"{res.solver} called the programme infeasible, "
                                              "but the MIP start meets every row; the start kept")
    raw = _raw_objective(lp, res)
    res = _checked(lp, res, options)
    if res.x is not None and _disagrees(res.reported, raw):
        note = (f"{res.solver} reported an objective of {res.reported:.10g} for a plan "
                f"costing {res.objective:.10g}")
        res = replace(res, status=Status.FEASIBLE if res.status is Status.OPTIMAL
                      else res.status, message=note)
        if start is not None:
            again = _without_start(lp, backend_name, options, t0, note)
            res = _better(lp, again, res)  # a tie goes to the answer that is consistent
    return res


def _without_start(lp: LinearProgram, backend_name: str, options: SolveOptions, t0: float,
                   why: str) -> BackendResult:
    """The same solve without a MIP start, in the time left; its message says why."""
    try:
        res = get_backend(backend_name).solve(lp, remaining(options, t0), start=None)
    except SolverFault as fault:
        return BackendResult(Status.ERROR, None, None, None, backend_name, "",
                             time.perf_counter() - t0, message=f"{why}; again: {fault}")
    raw = _raw_objective(lp, res)
    res = _checked(lp, res, options)
    if res.x is not None and _disagrees(res.reported, raw):
        res.status = Status.FEASIBLE if res.status is Status.OPTIMAL else res.status
    res.message = "; ".join(m for m in (f"re-solved without the MIP start ({why})",
                                        res.message) if m)
    res.solve_s = time.perf_counter() - t0
    return res
