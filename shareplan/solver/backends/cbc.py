"""CBC through PuLP (``COIN_CMD`` with the binary from ``pulp[cbc]``/cbcbox).

PuLP calls a run cut short by a limit "Optimal" in ``LpStatus``; we read
``sol_status`` and CBC's own log (``Result - Stopped on time limit``,
``Lower bound``) instead, and demote anything the bound does not prove.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import numpy as np

from ..lp import LinearProgram
from .base import Backend, BackendResult, SolveOptions, Status, honest_status


def _cbc_path() -> str:
    import cbcbox

    return cbcbox.cbc_bin_path()


def _cbc_version(log: str) -> str:
    """CBC's own banner line ('CBC devel (git:146ce89)') plus the cbcbox wheel version."""
    from importlib.metadata import version

    m = re.search(r"CBC ([^\n—]*?)\s*(?:—|\n)", log)
    return f"{m.group(1).strip() if m else 'unknown'} (cbcbox {version('cbcbox')})"


def to_pulp(lp: LinearProgram):
    """A PuLP problem from the arrays (minimising; maximisation is negated here)."""
    import pulp

    sign = -1.0 if lp.maximize else 1.0
    prob = pulp.LpProblem("shareplan", pulp.LpMinimize)
    variables = []
    for j in range(lp.n_cols):
        lo = None if not np.isfinite(lp.lb[j]) else float(lp.lb[j])
        hi = None if not np.isfinite(lp.ub[j]) else float(lp.ub[j])
        cat = pulp.LpInteger if lp.integer[j] else pulp.LpContinuous
        variables.append(pulp.LpVariable(f"c{j}", lo, hi, cat))
    nz = np.nonzero(lp.obj)[0]
    prob.setObjective(pulp.LpAffineExpression([(variables[j], sign * float(lp.obj[j]))
                                               for j in nz]))
    A = lp.A
    for r in range(lp.n_rows):
        lo, hi = lp.row_lo[r], lp.row_hi[r]
        start, stop = A.indptr[r], A.indptr[r + 1]
        if start == stop:
            continue  # empty rows are checked before solving (LinearProgram.empty_row_conflicts)
        terms = [(variables[j], float(v)) for j, v in zip(A.indices[start:stop],
                                                           A.data[start:stop])]
        if np.isfinite(lo) and np.isfinite(hi) and abs(hi - lo) <= 1e-12:
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms),
                                                 pulp.LpConstraintEQ, f"r{r}", float(lo)))
            continue
        if np.isfinite(lo):
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms),
                                                 pulp.LpConstraintGE, f"r{r}", float(lo)))
        if np.isfinite(hi):
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms),
                                                 pulp.LpConstraintLE, f"r{r}u", float(hi)))
    return prob, variables


def _parse_log(log: str) -> dict:
    out = {"stopped": bool(re.search(r"Result - Stopped", log))}
    for key, pat in (("objective", r"Objective value:\s+(-?[\d.eE+-]+)"),
                     ("bound", r"Lower bound:\s+(-?[\d.eE+-]+)")):
        m = re.search(pat, log)
        if m:
            out[key] = float(m.group(1))
    out["infeasible"] = bool(re.search(r"Result - (Linear relaxation )?infeasible", log,
                                       re.IGNORECASE))
    return out


class CbcBackend(Backend):
    name = "cbc"

    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        import pulp

        t0 = time.perf_counter()
        prob, variables = to_pulp(lp)
        if start is not None:
            for var, value in zip(variables, np.asarray(start, dtype=float)):
                var.setInitialValue(float(value))
        path = _cbc_path()
        fd, log_path = tempfile.mkstemp(prefix="shareplan-cbc-", suffix=".log")
        os.close(fd)
        extra = [f"{k} {v}" for k, v in options.extra.items()]
        solver = pulp.COIN_CMD(
            path=path, msg=options.log, timeLimit=options.time_limit, gapRel=options.gap,
            threads=options.threads, logPath=log_path, warmStart=start is not None,
            options=[f"randomCbcSeed {options.seed + 1}", *extra],
        )
        try:
            prob.solve(solver)
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                log = fh.read()
        finally:
            os.unlink(log_path)
        elapsed = time.perf_counter() - t0
        info = _parse_log(log)
        version = _cbc_version(log)
        sign = -1.0 if lp.maximize else 1.0
        if prob.status == pulp.LpStatusInfeasible or info["infeasible"]:
            return BackendResult(Status.INFEASIBLE, None, None, None, "CBC", version, elapsed, log)
        if prob.status == pulp.LpStatusUnbounded:
            return BackendResult(Status.UNBOUNDED, None, None, None, "CBC", version, elapsed, log)
        if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return BackendResult(Status.NO_SOLUTION, None, None, None, "CBC", version, elapsed,
                                 log, "no integer solution within the limits")
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in variables])
        obj = float(lp.obj @ x)
        if info.get("stopped"):
            # CBC prints the bound to ~7 significant figures; it never passes the incumbent
            claimed = Status.FEASIBLE
            bound = info.get("bound")
            if bound is not None:
                bound = sign * bound
                bound = max(bound, obj) if lp.maximize else min(bound, obj)
        else:
            # "Optimal solution found": CBC closed the gap to gapRel itself. It prints its
            # bound to ~7 significant figures, so a bound within that of the objective is
            # the objective; a wider one (a requested --gap) is reported as printed
            claimed = Status.OPTIMAL if prob.sol_status == pulp.LpSolutionOptimal \
                else Status.FEASIBLE
            bound = obj
            printed = info.get("bound")
            if printed is not None and abs(obj - sign * printed) > 1e-5 * max(1.0, abs(obj)):
                bound = min(sign * printed, obj) if not lp.maximize else max(sign * printed, obj)
        objective = obj + lp.obj_offset
        bound_total = None if bound is None else bound + lp.obj_offset
        status = honest_status(claimed, objective, bound_total, lp.obj_offset, options.gap)
        return BackendResult(status, x, objective, bound_total, "CBC", version, elapsed, log)
