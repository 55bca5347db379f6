"""Instance -> network -> formulation -> backend -> plan -> independent check: the solve path."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..models.instance import Instance
from ..models.load import InstanceError, Problem, instance_digest
from ..models.network import build_network
from . import reduce
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


def _solve_lexicographic(form: Formulation, backend_name: str, options: SolveOptions
                         ) -> BackendResult:
    """Maximise the primary objective, then least cost among plans within its tolerance.

    Both stages share one time limit; if the second finds nothing in what is left,
    the first stage's plan is returned as ``feasible`` (its cost not proven least).
    """
    t0 = time.perf_counter()
    lp = form.lp
    vec, offset = form.primary
    vec = np.pad(vec, (0, lp.n_cols - len(vec)))
    first = solve_programme(replace(lp, obj=vec, obj_offset=offset, maximize=True),
                            backend_name, options)
    if first.x is None:
        return first
    value = float(vec @ first.x)
    floor = value - max(1e-6, 1e-7 * abs(value))
    second = solve_programme(_with_primary_floor(lp, vec, floor), backend_name,
                             _remaining(options, t0))
    second.solve_s += first.solve_s
    if second.x is None:
        cost = float(lp.obj @ first.x + lp.obj_offset)
        return replace(first, status=Status.FEASIBLE, objective=cost, bound=None,
                       solve_s=second.solve_s,
                       message="least cost among the best plans not proven: " + (
                           second.message or second.status.value))
    if second.status is Status.OPTIMAL and first.status is not Status.OPTIMAL:
        second.status = Status.FEASIBLE
    return second


#: A solution breaking a row by more than this (relative to the row's scale) is refused.
VIOLATION_TOLERANCE = 1e-5


def solve_programme(lp: LinearProgram, backend_name: str, options: SolveOptions
                    ) -> BackendResult:
    """One solve; rows that cannot hold whatever x is are reported without a solver."""
    conflicts = lp.empty_row_conflicts()
    if conflicts:
        return BackendResult(Status.INFEASIBLE, None, None, None, "presolve", "", 0.0,
                             message="rows with no possible terms: " + ", ".join(conflicts[:5]))
    if lp.n_cols == 0:  # nothing to decide (nobody can share): the plan is the status quo
        return BackendResult(Status.OPTIMAL, np.zeros(0), lp.obj_offset, lp.obj_offset,
                             "none needed", "", 0.0)
    res, t0 = None, time.perf_counter()
    if (links := reduce.applies(lp)) is not None:
        res = reduce.solve_reduced(lp, links, backend_name, options)
    if res is None:  # no reduction, or no heuristic plan for it: the whole programme
        res = get_backend(backend_name).solve(lp, _remaining(options, t0))
    if res.x is not None:
        worst, row = lp.worst_row(res.x)
        if worst > VIOLATION_TOLERANCE:
            res.status = Status.ERROR
            res.message = (f"{res.solver} returned a plan that breaks {lp.row_name(row)} "
                           f"(by {worst:.1e} of its scale); not trusted")
    return res


def solve_formulation(form: Formulation, backend_name: str, options: SolveOptions
                      ) -> BackendResult:
    if form.primary is not None:
        return _solve_lexicographic(form, backend_name, options)
    return solve_programme(form.lp, backend_name, options)


def _fields_behind(row: tuple) -> str:
    """The instance fields whose figures make up a model row (for error messages)."""
    family, *ids = row
    if family in ("savings", "ratio") and ids:
        return (f"costs of force '{ids[0]}' (standalone_cost_gbp, transition_cost_gbp) and "
                "the functions' unit costs")
    if family == "frontline" and ids:
        return (f"forces '{ids[0]}' frontline figures, costs officers_fte, functions "
                "officers_per_unit x demand")
    if family in ("capacity", "cover", "link", "unit_x") and ids:
        return f"functions '{ids[0]}' capacity and the costs' demand"
    return "costs and functions (money figures)"


_WORST_FIRST = (Status.ERROR, Status.INFEASIBLE, Status.UNBOUNDED, Status.NO_SOLUTION,
                Status.FEASIBLE, Status.OPTIMAL)


def _remaining(options: SolveOptions, t0: float, parts: int = 1) -> SolveOptions:
    """The options with the time left since t0, shared evenly among ``parts`` solves."""
    if options.time_limit is None:
        return options
    left = options.time_limit - (time.perf_counter() - t0)
    return replace(options, time_limit=max(0.01, left / parts))


def solve_instance(inst: Instance, backend: str = DEFAULT_BACKEND,
                   options: SolveOptions | None = None, digest: str | None = None,
                   explain: bool = True, decompose: bool = True, verify: bool = True) -> Plan:
    """Build, solve, read back and independently check one instance; the plan carries its
    provenance.

    When the forces fall into groups that can never share with each other (see
    :mod:`shareplan.models.components`) each group is solved on its own
    (``decompose``); the plan is the union and the objective and bound the sums.
    An infeasible instance gets ``plan.explanation`` (see :mod:`.explain`) unless
    ``explain`` is false (sweeps, which only need the status). ``verify=False`` skips the
    independent checker (for tests that break the model on purpose).
    """
    from ..models.components import split_instance

    options = options or SolveOptions()
    t0 = time.perf_counter()
    net = build_network(inst)
    parts = split_instance(inst, net) if decompose else None
    forms = ([build_formulation(build_network(p)) for p in parts] if parts
             else [build_formulation(net)])
    for form in forms:
        if (problem := form.lp.scale_problem()) is not None:
            what, where = problem
            raise InstanceError([Problem(_fields_behind(where), f"{what} is too large for the "
                                         "solvers; check the units of these figures (pounds, "
                                         "not pence; FTE, not hours)")], inst.name)
    build_s = time.perf_counter() - t0
    results: list[BackendResult] = []
    for k, form in enumerate(forms):
        res = solve_formulation(form, backend, _remaining(options, t0, len(forms) - k))
        results.append(res)
        if res.x is None:
            break  # the whole has no plan if one group has none
    status = min((r.status for r in results), key=_WORST_FIRST.index)
    solved = len(results) == len(forms) and all(r.x is not None for r in results)
    objective = sum(r.objective for r in results) if solved else None
    bound = sum(r.bound for r in results) if solved and all(
        r.bound is not None for r in results) else None
    first = results[0]
    plan = Plan(
        status=status, objective=objective, bound=bound,
        gap=relative_gap(objective, bound, sum(f.lp.obj_offset for f in forms)),
        backend=backend, solver={"name": first.solver, "version": first.version},
        instance_name=inst.name, instance_sha256=digest or instance_digest(inst),
        options=options.as_dict(), times={}, horizon_years=inst.horizon_years,
        currency=inst.currency, message="; ".join(r.message for r in results if r.message),
        first_financial_year=inst.first_financial_year)
    if solved and status in (Status.OPTIMAL, Status.FEASIBLE):
        order = {f.id: k for k, f in enumerate(inst.forces)}
        for form, res in zip(forms, results):
            units, forces = read_solution(form, clean_solution(res.x, form.lp.integer))
            plan.units += units
            plan.forces += forces
        plan.units.sort(key=lambda u: (u.function, u.site))
        plan.forces.sort(key=lambda f: order[f.force])
    elif status is Status.INFEASIBLE and explain:
        from .explain import explain_infeasible

        plan.explanation = explain_infeasible(forms[len(results) - 1], backend, options,
                                              whole=inst)
        plan.message = "proven infeasible: " + "; ".join(
            e["message"] for e in plan.explanation[:3])
    if len(forms) > 1 and plan.has_solution:
        plan.message = (f"solved as {len(forms)} independent groups of forces"
                        + (f"; {plan.message}" if plan.message else ""))
    plan.times = {"build_s": round(build_s, 4),
                  "solve_s": round(sum(r.solve_s for r in results), 4)}
    if verify:
        _verify(inst, plan)
    plan.times["total_s"] = round(time.perf_counter() - t0, 4)
    return plan


def _verify(inst: Instance, plan: Plan) -> None:
    """Run the independent checker on a fresh plan; one it rejects is never passed off as good.

    The plan's status becomes ``error``, it keeps no units, and the violations go into
    its message.
    """
    from .checker import check_plan

    if not plan.has_solution:
        return
    t0 = time.perf_counter()
    violations = check_plan(inst, plan.to_dict())
    plan.times["check_s"] = round(time.perf_counter() - t0, 4)
    if violations:
        plan.status = Status.ERROR
        plan.units, plan.forces = [], []
        plan.message = ("the independent checker rejects the solver's plan: "
                        + "; ".join(str(v) for v in violations[:5]))
