"""OR-Tools through ``model_builder``, filled from the sparse arrays in one call.

Engines: SCIP (default), HiGHS, CP-SAT. CP-SAT is integer-only: it would scale
and round continuous variables, so it refuses a programme that has any.
"""

from __future__ import annotations

import time

import numpy as np

from ..core import BackendResult, SolveOptions, Status, honest_status, real_bound
from ..lp import LinearProgram
from .base import EVERY_CAPABILITY, Backend, Capabilities, stdout_silenced

_ENGINES = {"scip": "SCIP", "highs": "HiGHS", "sat": "CP-SAT"}


def _parameters(engine: str, options: SolveOptions) -> str:
    """Solver-specific parameter text for gap, threads and seed."""
    extra = options.extra
    if engine == "scip":
        lines = [f"limits/gap = {options.gap}", f"randomization/randomseedshift = {options.seed}"]
        lines += [f"{k} = {v}" for k, v in extra.items()]
        return "\n".join(lines)
    if engine == "highs":
        lines = [f"mip_rel_gap={options.gap}", f"threads={options.threads}",
                 f"random_seed={options.seed}"]
        return "\n".join(lines + [f"{k}={v}" for k, v in extra.items()])
    # CP-SAT scales real coefficients to integers; at its default precision (1e-6) savings
    # rows in pounds lose feasible plans, at 1e-9 they keep them
    parts = [f"relative_gap_limit:{options.gap}", f"num_workers:{max(1, options.threads)}",
             f"random_seed:{options.seed}", "mip_wanted_precision:1e-9"]
    return " ".join(parts + [f"{k}:{v}" for k, v in extra.items()])


def _integral(lp: LinearProgram) -> bool:
    """Every constraint coefficient and bound an integer (CP-SAT then solves it exactly)."""
    parts = [lp.A.data, lp.row_lo[np.isfinite(lp.row_lo)], lp.row_hi[np.isfinite(lp.row_hi)]]
    return all(np.all(p == np.round(p)) for p in parts)


def to_model_builder(lp: LinearProgram):
    """A model_builder Model holding lp (objective without its offset, minimised or not)."""
    from ortools.linear_solver.python import model_builder as mb

    model = mb.Model()
    model.helper.fill_model_from_sparse_data(
        lp.lb.astype(float), lp.ub.astype(float), lp.obj.astype(float),
        lp.row_lo.astype(float), lp.row_hi.astype(float), lp.A.astype(float).tocsr())
    for j in np.nonzero(lp.integer)[0]:
        model.helper.set_var_integrality(int(j), True)
    model.helper.set_maximize(bool(lp.maximize))
    return model


#: model_builder's SolveStatus -> (our status when it holds a plan, when it holds none);
#: None: no plan is read. At the time limit a plan held is read whatever the status
#: (feasible), and none is no_solution. A status not listed is an error.
STATUS_TABLE: dict[str, tuple[Status | None, Status]] = {
    "OPTIMAL": (Status.OPTIMAL, Status.ERROR),
    "FEASIBLE": (Status.FEASIBLE, Status.ERROR),
    "INFEASIBLE": (Status.INFEASIBLE, Status.INFEASIBLE),
    "UNBOUNDED": (Status.UNBOUNDED, Status.UNBOUNDED),
    "NOT_SOLVED": (None, Status.NO_SOLUTION),
}
UNLISTED: tuple[Status | None, Status] = (None, Status.ERROR)
PROOFS = (Status.INFEASIBLE, Status.UNBOUNDED)


class OrtoolsBackend(Backend):
    """OR-Tools with one engine; the status table maps model_builder's SolveStatus."""

    def __init__(self, engine: str = "scip", capabilities: Capabilities = EVERY_CAPABILITY):
        super().__init__(capabilities)
        self.engine = engine
        suffix = "cpsat" if engine == "sat" else engine
        self.name = "ortools" if engine == "scip" else f"ortools-{suffix}"

    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        from ortools import __version__ as version
        from ortools.linear_solver.python import model_builder as mb

        self.refuse_continuous(lp)
        t0 = time.perf_counter()
        model = to_model_builder(lp)
        if start is not None and self.capabilities.mip_start:
            # (OR-Tools 9.x's HiGHS engine segfaults on a hint: its entry says no MIP start)
            for j, value in enumerate(np.asarray(start, dtype=float)):
                model.helper.add_hint(j, float(value))
        solver = mb.Solver(self.engine)
        if options.time_limit is not None:  # the engine's clock starts at solve()
            solver.set_time_limit_in_seconds(
                max(0.01, float(options.time_limit) - (time.perf_counter() - t0)))
        solver.set_solver_specific_parameters(_parameters(self.engine, options))
        solver.enable_output(options.log)
        from ..deadline import current

        watch = current()
        ticket = watch.on_stop(solver.stop_search) if watch is not None else None
        try:
            if options.log:
                code = solver.solve(model)
            else:
                with stdout_silenced():
                    code = solver.solve(model)
        finally:
            if watch is not None:
                watch.done(ticket)
        elapsed = time.perf_counter() - t0
        label = f"OR-Tools {_ENGINES[self.engine]}"
        S = mb.SolveStatus
        if code == S.INFEASIBLE and self.engine == "sat" and not _integral(lp):
            return BackendResult(Status.NO_SOLUTION, None, None, None, label, version, elapsed,
                                 message="CP-SAT found no plan, but it rounds non-integral "
                                         "coefficients, so that proves nothing; use ortools "
                                         "or cbc to prove infeasibility")
        with_plan, without_plan = STATUS_TABLE.get(code.name, UNLISTED)
        if with_plan in PROOFS:
            return BackendResult(with_plan, None, None, None, label, version, elapsed)
        if options.time_limit is not None and elapsed >= 0.9 * options.time_limit:
            # HiGHS through model_builder answers UNKNOWN_STATUS when its time limit hits
            with_plan, without_plan = with_plan or Status.FEASIBLE, Status.NO_SOLUTION
        x = None
        if with_plan is not None:
            values = solver.values(model.get_variables()).to_numpy(dtype=float, na_value=np.nan)
            x = values if np.all(np.isfinite(values)) else None
        if x is None:
            return BackendResult(without_plan, None, None, None, label, version, elapsed,
                                 message=f"OR-Tools status {code.name}")
        obj = float(lp.obj @ x)
        bound = real_bound(float(solver.best_objective_bound))  # SCIP's "none" is 1e20
        if self.engine == "sat" and not _integral(lp):
            bound = None  # the bound of CP-SAT's rounded rows, not of these: it proves nothing
        claimed = with_plan
        objective = obj + lp.obj_offset
        bound_total = None if bound is None else bound + lp.obj_offset
        status = honest_status(claimed, objective, bound_total, lp.obj_offset, options.gap)
        reported = real_bound(float(solver.objective_value))
        return BackendResult(status, x, objective, bound_total, label, version, elapsed,
                             reported=None if reported is None else reported + lp.obj_offset)
