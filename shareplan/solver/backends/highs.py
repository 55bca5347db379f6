"""HiGHS through highspy's array API (``passModel`` with CSC arrays).

Also the writer behind ``solve export``: HiGHS writes LP and MPS files with the
programme's readable names.
"""

from __future__ import annotations

import time

import numpy as np

from ..core import BackendResult, SolveOptions, Status, honest_status, real_bound
from ..lp import LinearProgram
from .base import Backend, preload_ortools, stdout_silenced


def import_highspy():
    """highspy, loaded after OR-Tools' own HiGHS build (see base.preload_ortools)."""
    preload_ortools()
    import highspy

    return highspy


def to_highs(lp: LinearProgram, names: bool = False, log: bool = False):
    """A Highs object holding lp, passed as CSC arrays; names=True adds family(ids) names."""
    highspy = import_highspy()

    with stdout_silenced():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(log))
    csc = lp.A.tocsc()
    sense = highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize
    h.passModel(lp.n_cols, lp.n_rows, csc.nnz, highspy.MatrixFormat.kColwise, sense,
                float(lp.obj_offset) if names else 0.0, lp.obj, lp.lb, lp.ub, lp.row_lo,
                lp.row_hi, csc.indptr.astype(np.int32), csc.indices.astype(np.int32), csc.data,
                lp.integer.astype(np.int32))
    if names:
        for j, name in enumerate(lp.col_names()):
            h.passColName(j, name)
        for r, name in enumerate(lp.row_names()):
            h.passRowName(r, name)
    return h


#: HiGHS model status -> (our status when HiGHS holds a feasible plan, when it holds none).
#: A claimed optimum is then judged by its bound (honest_status); a status not listed is
#: a feasible plan's if there is one, else an error.
STATUS_TABLE: dict[str, tuple[Status, Status]] = {
    "kOptimal": (Status.OPTIMAL, Status.ERROR),
    "kInfeasible": (Status.INFEASIBLE, Status.INFEASIBLE),
    "kUnbounded": (Status.UNBOUNDED, Status.UNBOUNDED),
    "kUnboundedOrInfeasible": (Status.INFEASIBLE, Status.INFEASIBLE),
    **{limit: (Status.FEASIBLE, Status.NO_SOLUTION) for limit in (
        "kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt", "kHighsInterrupt")},
}
UNLISTED = (Status.FEASIBLE, Status.ERROR)
PROOFS = (Status.INFEASIBLE, Status.UNBOUNDED)  # no plan to read, whatever HiGHS holds


class HighsBackend(Backend):
    name = "highs"

    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        highspy = import_highspy()

        t0 = time.perf_counter()
        h = to_highs(lp, log=options.log)
        if options.time_limit is not None:  # HiGHS's clock starts now, not at t0
            h.setOptionValue("time_limit",
                             max(0.01, float(options.time_limit) - (time.perf_counter() - t0)))
        h.setOptionValue("mip_rel_gap", float(options.gap))
        # HiGHS keeps one task scheduler per process, sized by the first run; a later run
        # with another thread count fails ("Not Set") unless the scheduler is reset
        highspy.Highs.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(options.threads))
        h.setOptionValue("random_seed", int(options.seed))
        for key, value in options.extra.items():
            h.setOptionValue(key, value)
        if start is not None:
            given = highspy.HighsSolution()
            given.col_value = np.asarray(start, dtype=float).tolist()
            given.value_valid = True
            h.setSolution(given)
        from ..deadline import current

        watch = current()
        ticket = watch.on_stop(h.cancelSolve) if watch is not None else None
        try:
            h.run()
        finally:
            if watch is not None:
                watch.done(ticket)
        elapsed = time.perf_counter() - t0
        version = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
        status = h.getModelStatus()
        info = h.getInfo()
        with_plan, without_plan = STATUS_TABLE.get(status.name, UNLISTED)
        if with_plan in PROOFS:
            return BackendResult(with_plan, None, None, None, "HiGHS", version, elapsed)
        if info.primal_solution_status != 2:  # kSolutionStatusFeasible
            return BackendResult(without_plan, None, None, None, "HiGHS", version, elapsed,
                                 message=f"HiGHS status {h.modelStatusToString(status)}")
        x = np.asarray(h.getSolution().col_value, dtype=float)
        obj = float(lp.obj @ x)
        bound = real_bound(info.mip_dual_bound if lp.integer.any() else obj)
        claimed = with_plan
        bound_total = None if bound is None else bound + lp.obj_offset
        objective = obj + lp.obj_offset
        final = honest_status(claimed, objective, bound_total, lp.obj_offset, options.gap)
        return BackendResult(final, x, objective, bound_total, "HiGHS", version, elapsed,
                             reported=float(info.objective_function_value) + lp.obj_offset)


def write_model(lp: LinearProgram, path: str) -> None:
    """Write lp to ``path`` (.lp or .mps by suffix) with readable names."""
    h = to_highs(lp, names=True)
    h.writeModel(path)
