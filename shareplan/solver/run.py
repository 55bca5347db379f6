"""Instance -> network -> formulation -> backend -> plan -> independent check: the solve path."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..models.instance import Instance
from ..models.load import InstanceError, Problem, instance_digest
from ..models.network import build_network
from . import deadline, decompose, primal
from .backends import DEFAULT_BACKEND, get_backend
from .components import split_instance
from .core import BackendResult, SolveOptions, Status, relative_gap
from .deadline import remaining
from .explain import explain_infeasible
from .formulation import FAMILY_OF_ROW, OBJECTIVE_ROWS, Formulation, build_formulation
from .lp import LinearProgram
from .plan import Plan, clean_solution, read_solution
from .programme import offer_trivial, solve_programme


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
    stage = replace(lp, obj=vec, obj_offset=offset, maximize=True)
    first = solve_programme(stage, backend_name, options)
    if first.x is None or first.status is Status.ERROR:  # a refused plan stays refused
        return first
    value = float(vec @ first.x)
    floor = value - max(1e-6, 1e-7 * abs(value))
    # the first stage's plan meets the floor by construction: it is the second's MIP start
    # (SCIP called a second stage infeasible without it: tests/randinst.py seed 2111)
    second = solve_programme(_with_primary_floor(lp, vec, floor), backend_name,
                             remaining(options, t0), start=first.x)
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


def solve_formulation(form: Formulation, backend_name: str, options: SolveOptions
                      ) -> BackendResult:
    """The model solved: lexicographic objectives in two stages; else the target-meeting
    heuristic's plan first (offered to the watch, the start and a bound), then the
    unit-column decomposition where it pays, else the compact model."""
    if form.primary is not None:
        return _solve_lexicographic(form, backend_name, options)
    t0 = time.perf_counter()
    start = bound = None
    if primal.applies(form):  # a plan meeting every target and floor, before any solver
        start = primal.target_plan(form, options.time_limit)
        bound = primal.share_bound(form)
        if start is not None:
            deadline.offer(start, bound)
    if options.decomposition == "on" or (options.decomposition == "auto"
                                         and decompose.pays(form)):
        offer_trivial(form.lp)
        res = decompose.solve_decomposed(form, backend_name, remaining(options, t0))
        if res is not None:
            if res.x is not None and res.status is not Status.ERROR:
                deadline.offer(res.x, res.bound)
            return res
        whole = solve_programme(form.lp, backend_name, remaining(options, t0), start=start,
                                bound=bound)
        if options.decomposition == "on":  # asked for: say why the compact model solved it
            why = decompose.why_not(form) or "the column model found no plan first"
            whole.message = "; ".join(m for m in (f"decomposition not used: {why}",
                                                  whole.message) if m)
        return whole
    return solve_programme(form.lp, backend_name, remaining(options, t0), start=start,
                           bound=bound)


def _fields_behind(row: tuple) -> str:
    """The instance fields whose figures make up a model row (for error messages): its
    family's ``fields`` in the registry, with the row's first id."""
    rows, *ids = row
    family = FAMILY_OF_ROW.get(rows)
    fields = family.fields if family is not None else OBJECTIVE_ROWS.get(rows)
    if fields is None or not ids:
        return "costs and functions (money figures)"
    return fields.format(*ids)


_WORST_FIRST = (Status.ERROR, Status.INFEASIBLE, Status.UNBOUNDED, Status.NO_SOLUTION,
                Status.FEASIBLE, Status.OPTIMAL)


def solve_instance(inst: Instance, backend: str = DEFAULT_BACKEND,
                   options: SolveOptions | None = None, digest: str | None = None,
                   explain: bool = True, decompose: bool = True, verify: bool = True,
                   progress: bool = False) -> Plan:
    """Build, solve, read back and independently check one instance; the plan carries its
    provenance.

    When the forces fall into groups that can never share with each other (see
    :mod:`shareplan.solver.components`) each group is solved on its own
    (``decompose``); the plan is the union and the objective and bound the sums.
    An infeasible instance gets ``plan.explanation`` (see :mod:`.explain`) unless
    ``explain`` is false (sweeps, which only need the status). ``verify=False`` skips the
    independent checker (for tests that break the model on purpose).

    With a time limit the build, the solves and the explanation run under a watch (see
    :mod:`.deadline`): at the limit the solvers are stopped and a stage still running
    is abandoned; the plan is then the best one offered (``feasible``) or none
    (``no_solution``). ``progress`` shows elapsed time, best plan and bound on stderr.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    state: dict = {"results": [], "forms": None, "explanation": None}

    def work():
        _solve_parts(inst, backend, options, decompose, explain, t0, state)

    ticker = _progress_ticker(state, options) if progress else None
    try:
        _, watch, finished = deadline.run_watched(work, options.time_limit, ticker)
    finally:
        if ticker is not None:
            ticker.close()
    forms, results = state["forms"], list(state["results"])
    explanation = state["explanation"]
    # stopped at the limit: a part left unsolved, or a solver stopped with no plan
    # or a solver that ended at its own limit (just before the watch) with no plan
    cut_short = not finished or (forms is not None and (
        watch.stopped and len(results) < len(forms) and all(r.x is not None for r in results)
        or any(r.x is None and r.status is Status.NO_SOLUTION for r in results)))
    if forms is None:  # stopped while building: nothing to offer
        res = BackendResult(Status.NO_SOLUTION, None, None, None, "", "",
                            time.perf_counter() - t0,
                            message="time limit reached while building the model")
        return _assemble(inst, backend, options, digest, [], [res], None, t0, verify)
    if cut_short:
        results = _from_offers(forms, results, watch)
        explanation = None
    return _assemble(inst, backend, options, digest, forms, results, explanation, t0, verify,
                     build_s=state.get("build_s", 0.0))


def _solve_parts(inst, backend, options, decompose, explain, t0, state) -> None:
    """Build and solve every group of forces, filling ``state`` as each stage ends."""
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
    engine = get_backend(backend)
    for form in forms:  # an integer-only engine refuses at once, not after the heuristics
        engine.refuse_continuous(form.lp)
    state["build_s"] = time.perf_counter() - t0
    state["forms"] = forms
    watch = deadline.current()
    # reading and checking a plan took up to 6x as long as building the model on a loaded
    # machine (200 forces: 1.3 s to build, 5.4 s to read and check; 0.7 s and 4.5 s without
    # targets): the solvers stop that much (at most a quarter of the limit) before it
    solving = options
    if options.time_limit is not None:
        reserve = min(6 * state["build_s"], 0.25 * options.time_limit)
        solving = replace(options, time_limit=options.time_limit - reserve)
        if watch is not None:
            watch.reserve = reserve
    for k, form in enumerate(forms):
        if watch is not None:
            watch.part = k
        res = solve_formulation(form, backend, remaining(solving, t0, len(forms) - k))
        state["results"].append(res)
        if res.x is None:
            break  # the whole has no plan if one group has none
    last = state["results"][-1]
    if last.status is Status.INFEASIBLE and explain and not deadline.stopped():
        state["explanation"] = explain_infeasible(forms[len(state["results"]) - 1], backend,
                                                  remaining(options, t0), whole=inst)


def _best_offer(form: Formulation, offers: list) -> tuple | None:
    """(x, cost, bound) of the best plan offered for form: the best primary value first
    (lexicographic objectives), then least cost; bound only for a least-cost objective."""
    lp = form.lp
    # plans of this programme only: the explanation's elastic programmes (more columns,
    # another objective) solve under the same watch
    offers = [o for o in offers if len(o[0]) == lp.n_cols]
    if not offers:
        return None

    def rank(item):
        x = item[0]
        cost = float(lp.obj @ x + lp.obj_offset)
        if form.primary is None:
            return (0.0, cost)
        vec, _ = form.primary
        return (-round(float(np.pad(vec, (0, lp.n_cols - len(vec))) @ x), 6), cost)

    x, _ = min(offers, key=rank)
    bounds = [b for _, b in offers if b is not None]
    bound = max(bounds) if bounds and form.primary is None else None
    cost = float(lp.obj @ x + lp.obj_offset)
    return x, cost, None if bound is None else min(bound, cost)


def _from_offers(forms: list, done: list, watch) -> list[BackendResult]:
    """Results for a run cut short: the parts solved, then the best plan offered for each
    part left (``feasible``), or ``no_solution`` from the first part without one."""
    out = []
    for r in done:
        if r.x is None:
            break
        out.append(r)
    for k in range(len(out), len(forms)):
        best = _best_offer(forms[k], watch.offers.get(k, []))
        if best is None:
            out.append(BackendResult(Status.NO_SOLUTION, None, None, None, "", "", 0.0,
                                     message="no plan found within the time limit"))
            break
        x, cost, bound = best
        out.append(BackendResult(Status.FEASIBLE, x, cost, bound, "", "", 0.0,
                                 message="time limit reached: the best plan found so far"))
    return out


def _progress_ticker(state: dict, options: SolveOptions):
    """A callable showing elapsed time, best plan and bound on stderr (a terminal only);
    ``close()`` clears the line."""
    import sys

    from rich.console import Console

    console = Console(stderr=True)

    class Ticker:
        shown = False

        def __call__(self, elapsed: float, watch) -> None:
            if elapsed < 1.0 or not sys.stderr.isatty():
                return
            forms = state["forms"]
            text = f"solving: {elapsed:.0f} s"
            if options.time_limit is not None:
                text += f" of {options.time_limit:g} s"
            if forms is not None:
                best = [_best_offer(f, watch.offers.get(k, [])) for k, f in enumerate(forms)]
                done = state["results"]
                for k, r in enumerate(done[:len(forms)]):
                    if r.x is not None:
                        best[k] = (r.x, r.objective, r.bound)
                if all(b is not None for b in best):
                    text += f", best plan {sum(b[1] for b in best):,.0f}"
                    if all(b[2] is not None for b in best):
                        text += f", bound {sum(b[2] for b in best):,.0f}"
            else:
                text += ", building the model"
            console.print(f"\r{text}\x1b[K", end="", highlight=False, markup=False)
            self.shown = True

        def close(self) -> None:
            if self.shown:
                console.print("\r\x1b[K", end="")

    return Ticker()


def _assemble(inst, backend, options, digest, forms, results, explanation, t0, verify,
              build_s: float = 0.0) -> Plan:
    """The plan from one result per part solved (see solve_instance)."""
    status = min((r.status for r in results), key=_WORST_FIRST.index)
    solved = bool(forms) and len(results) == len(forms) and all(
        r.x is not None for r in results)
    objective = sum(r.objective for r in results) if solved else None
    bound = sum(r.bound for r in results) if solved and all(
        r.bound is not None for r in results) else None
    first = next((r for r in results if r.solver), results[0])
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
            units, forces = read_solution(form, clean_solution(res.x, form.lp.integer, form.lp.lb))
            plan.units += units
            plan.forces += forces
        plan.units.sort(key=lambda u: (u.function, u.site))
        plan.forces.sort(key=lambda f: order[f.force])
    elif status is Status.INFEASIBLE and explanation is not None:
        plan.explanation = explanation
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
