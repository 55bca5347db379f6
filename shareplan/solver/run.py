"""Instance -> network -> formulation -> backend -> plan: the whole solve path."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..models.instance import Instance
from ..models.load import instance_digest
from ..models.network import build_network
from .backends import DEFAULT_BACKEND, SolveOptions, Status, get_backend
from .backends.base import BackendResult, relative_gap
from .formulation import Formulation, build_formulation
from .lp import LinearProgram
from .plan import Plan, clean_solution, read_solution


def _with_primary_floor(lp: LinearProgram, vec: np.ndarray, floor: float) -> LinearProgram:
    """lp plus the row vec'x >= floor (lexicographic second stage)."""
    import scipy.sparse as sp

    row = sp.csr_matrix(vec.reshape(1, -1))
    block = replace(lp.row_blocks[-1], family="primary", start=lp.n_rows, labels=[("floor",)])
    return replace(lp, A=sp.vstack([lp.A, row]).tocsr(),
                   row_lo=np.append(lp.row_lo, floor), row_hi=np.append(lp.row_hi, np.inf),
                   row_blocks=[*lp.row_blocks, block])


def _solve_lexicographic(form: Formulation, backend, options: SolveOptions) -> BackendResult:
    """Maximise the primary objective, then least cost among plans within its tolerance."""
    lp = form.lp
    vec, offset = form.primary
    vec = np.pad(vec, (0, lp.n_cols - len(vec)))
    first = backend.solve(replace(lp, obj=vec, obj_offset=offset, maximize=True), options)
    if first.x is None:
        return first
    value = float(vec @ first.x)
    floor = value - max(1e-6, 1e-7 * abs(value))
    second = backend.solve(_with_primary_floor(lp, vec, floor), options)
    if second.status is Status.OPTIMAL and first.status is not Status.OPTIMAL:
        second.status = Status.FEASIBLE
    second.solve_s += first.solve_s
    return second


def solve_programme(lp: LinearProgram, backend_name: str, options: SolveOptions
                    ) -> BackendResult:
    """One solve; rows that cannot hold whatever x is are reported without a solver."""
    conflicts = lp.empty_row_conflicts()
    if conflicts:
        return BackendResult(Status.INFEASIBLE, None, None, None, "presolve", "", 0.0,
                             message="rows with no possible terms: " + ", ".join(conflicts[:5]))
    return get_backend(backend_name).solve(lp, options)


def solve_formulation(form: Formulation, backend_name: str, options: SolveOptions
                      ) -> BackendResult:
    if form.primary is not None and not form.lp.empty_row_conflicts():
        return _solve_lexicographic(form, get_backend(backend_name), options)
    return solve_programme(form.lp, backend_name, options)


def solve_instance(inst: Instance, backend: str = DEFAULT_BACKEND,
                   options: SolveOptions | None = None, digest: str | None = None,
                   explain: bool = True) -> Plan:
    """Build, solve and read back one instance; the plan carries its provenance.

    An infeasible instance gets ``plan.explanation`` (see :mod:`.explain`) unless
    ``explain`` is false (sweeps, which only need the status).
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    form = build_formulation(build_network(inst))
    build_s = time.perf_counter() - t0
    res = solve_formulation(form, backend, options)
    plan = Plan(
        status=res.status, objective=res.objective, bound=res.bound,
        gap=relative_gap(res.objective, res.bound, form.lp.obj_offset),
        backend=backend, solver={"name": res.solver, "version": res.version},
        instance_name=inst.name, instance_sha256=digest or instance_digest(inst),
        options=options.as_dict(), times={}, horizon_years=inst.horizon_years,
        currency=inst.currency, message=res.message)
    if res.x is not None and res.status in (Status.OPTIMAL, Status.FEASIBLE):
        x = clean_solution(res.x, form.lp.integer)
        plan.units, plan.forces = read_solution(form, x)
    elif res.status is Status.INFEASIBLE and explain:
        from .explain import explain_infeasible

        plan.explanation = explain_infeasible(form, backend, options)
        plan.message = "proven infeasible: " + "; ".join(
            e["message"] for e in plan.explanation[:3])
    plan.times = {"build_s": round(build_s, 4), "solve_s": round(res.solve_s, 4),
                  "total_s": round(time.perf_counter() - t0, 4)}
    return plan
