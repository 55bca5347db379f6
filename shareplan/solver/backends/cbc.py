"""CBC, the binary from ``pulp[cbc]``/cbcbox, run as a process we control.

The programme goes to CBC as an MPS file written by HiGHS from the arrays (seconds
for 200,000 columns, where PuLP's model objects took minutes), the MIP start as a
solution file (``-mips``), and CBC answers in its solution file (first line:
``Optimal``/``Stopped on time``/``Infeasible`` ... ``objective value``) and its log
(``Result - Stopped``, ``Lower bound``). CBC's own limit is wall-clock
(``-timeMode elapsed``); the process is killed one second past it, or at once when
the solve's watch stops (see :mod:`shareplan.solver.deadline`). ``to_pulp`` stays for
the build benchmark.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import numpy as np

from ..core import BackendResult, SolveOptions, SolverFault, Status, honest_status
from ..lp import LinearProgram
from .base import Backend, stdout_silenced


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


def _write_mps(lp: LinearProgram, path: str) -> None:
    """lp as a minimising MPS file (a maximised objective negated, rows without terms
    left out), columns c0.., rows r0.."""
    from dataclasses import replace

    from .highs import to_highs

    A = lp.A.copy()
    A.eliminate_zeros()
    # CBC aborts on rows with no terms; the guard has answered any that cannot hold
    # (LinearProgram.empty_row_conflicts), so the rest hold whatever x is
    used = np.diff(A.indptr) > 0
    minimised = replace(lp, A=A[used], row_lo=lp.row_lo[used], row_hi=lp.row_hi[used],
                        obj=-lp.obj if lp.maximize else lp.obj, maximize=False)
    h = to_highs(minimised)
    with stdout_silenced():
        h.writeModel(path)


def _write_start(x: np.ndarray, path: str) -> None:
    """A CBC solution file holding x (what ``-mips`` reads)."""
    lines = ["Stopped on time - objective value 0\n"]
    lines += [f"{j:>7} c{j} {float(v):>15.10g} {0:>23}\n" for j, v in enumerate(x)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(lines)


def _read_solution(path: str, n_cols: int) -> tuple[str, float | None, np.ndarray | None]:
    """(first word of the status line, CBC's objective value, x) from CBC's solution
    file; x is None when the file holds no integer solution."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.readline().split()
        body = fh.read().splitlines()
    if not head:
        raise SolverFault("CBC wrote an empty solution file")
    words = head
    value = None
    if "objective" in words and words.index("objective") + 2 <= len(words) - 1:
        try:
            value = float(words[words.index("objective") + 2])
        except ValueError:
            value = None
    has_x = words[0] == "Optimal" or (words[0] == "Stopped" and len(words) >= 5
                                      and words[4] == "objective")
    if not has_x or value is None or abs(value) >= 1e49:
        return words[0], None, None
    x = np.zeros(n_cols)
    for line in body:
        parts = line.split()
        if parts and parts[0] == "**":
            parts = parts[1:]
        if len(parts) >= 3 and parts[1].startswith("c") and parts[1][1:].isdigit():
            x[int(parts[1][1:])] = float(parts[2])
    return words[0], value, x


#: First word of CBC's solution file -> our status ("Integer infeasible", "Stopped on
#: time/iterations/..."); an optimum is then judged by its bound, and any other word with
#: a plan in the file is a feasible plan's. A log that says infeasible overrides the word.
STATUS_TABLE: dict[str, Status] = {
    "Optimal": Status.OPTIMAL,
    "Stopped": Status.FEASIBLE,
    "Infeasible": Status.INFEASIBLE,
    "Integer": Status.INFEASIBLE,
    "Unbounded": Status.UNBOUNDED,
}


class CbcBackend(Backend):
    name = "cbc"

    def solve(self, lp: LinearProgram, options: SolveOptions,
              start: np.ndarray | None = None) -> BackendResult:
        t0 = time.perf_counter()
        folder = tempfile.mkdtemp(prefix="shareplan-cbc-")
        model, sol, mst, log_path = (os.path.join(folder, n)
                                     for n in ("model.mps", "model.sol", "start.sol", "cbc.log"))
        try:
            _write_mps(lp, model)
            from ..deadline import stopped

            if stopped():  # the time ran out while the model was written
                return BackendResult(Status.NO_SOLUTION, None, None, None, "CBC", "", 0.0,
                                     message="time limit reached before CBC started")
            args = [_cbc_path(), model]
            if start is not None:
                _write_start(start, mst)
                args += ["-mips", mst]
            timeout = None
            if options.time_limit is not None:
                left = max(0.01, options.time_limit - (time.perf_counter() - t0))
                args += ["-timeMode", "elapsed", "-sec", f"{left:.3f}"]
                timeout = left + 1.0
            args += ["-ratio", f"{options.gap}", "-threads", f"{options.threads}",
                     "-randomCbcSeed", f"{options.seed + 1}"]
            for key, value in options.extra.items():
                args += [f"-{key}", f"{value}"]
            args += ["-solve", "-printingOptions", "all", "-solution", sol]
            from ..deadline import run_process

            code = run_process(args, log_path, timeout)
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                log = fh.read()
            if options.log:
                print(log)
            elapsed = time.perf_counter() - t0
            version = _cbc_version(log)
            if code is None or not os.path.exists(sol):
                if code is None:  # killed at the limit before it wrote an answer
                    return BackendResult(Status.NO_SOLUTION, None, None, None, "CBC", version,
                                         elapsed, log, "CBC stopped at the time limit with "
                                         "no plan written")
                raise SolverFault(f"CBC ended with exit code {code} and no solution file")
            word, value, x = _read_solution(sol, lp.n_cols)
        finally:
            for path in (model, sol, mst, log_path):
                if os.path.exists(path):
                    os.unlink(path)
            os.rmdir(folder)
        return self._result(lp, options, log, version, elapsed, word, value, x)

    @staticmethod
    def _result(lp: LinearProgram, options: SolveOptions, log: str, version: str,
                elapsed: float, word: str, value: float | None, x: np.ndarray | None
                ) -> BackendResult:
        info = _parse_log(log)
        sign = -1.0 if lp.maximize else 1.0
        word_status = STATUS_TABLE.get(word, Status.FEASIBLE)
        if info["infeasible"]:
            word_status = Status.INFEASIBLE
        if word_status in (Status.INFEASIBLE, Status.UNBOUNDED):
            return BackendResult(word_status, None, None, None, "CBC", version, elapsed, log)
        if x is None:
            return BackendResult(Status.NO_SOLUTION, None, None, None, "CBC", version, elapsed,
                                 log, "no integer solution within the limits")
        from ..plan import clean_solution

        x = clean_solution(x, lp.integer, lp.lb)  # the plan every figure is read from
        obj = float(lp.obj @ x)
        printed = info.get("bound")
        bound = None if printed is None else sign * printed
        if word_status is Status.OPTIMAL and not info["stopped"]:
            # CBC closed the gap to -ratio itself: its bound is within options.gap of the
            # objective (on what decisions change); the printed one (6 significant
            # figures) counts where it says more. (1 - 1e-6): the gap as CBC judged it, not
            # a rounding error of the offset past it
            proven = obj - sign * options.gap * (1 - 1e-6) * max(1.0, abs(obj))
            bound = proven if bound is None else (max(bound, proven) if not lp.maximize
                                                  else min(bound, proven))
            claimed = Status.OPTIMAL
        else:
            claimed = Status.FEASIBLE
        if bound is not None:  # never past the incumbent
            bound = max(bound, obj) if lp.maximize else min(bound, obj)
        objective = obj + lp.obj_offset
        bound_total = None if bound is None else bound + lp.obj_offset
        status = honest_status(claimed, objective, bound_total, lp.obj_offset, options.gap)
        return BackendResult(status, x, objective, bound_total, "CBC", version, elapsed, log,
                             reported=None if value is None else sign * value + lp.obj_offset)
