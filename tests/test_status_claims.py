"""Status-only differences found by ``bench/crosscheck.py --reduced``, and the guard rule
behind the fix: a solver's infeasibility claim that a known plan refutes is not passed on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from shareplan.models.load import instance_from_data
from shareplan.solver import guard
from shareplan.solver.checker import check_plan
from shareplan.solver.core import BackendResult, SolveOptions, Status
from shareplan.solver.lp import LPBuilder
from shareplan.solver.plan import clean_solution
from shareplan.solver.run import solve_instance
from shareplan.testing.randinst import random_instance


@pytest.mark.parametrize("backend", ["ortools", "highs", "cbc"])
def test_the_second_stage_of_a_lexicographic_objective_is_proven(backend):
    """Seed 2111 (max frontline first, then least cost): SCIP called the second stage
    infeasible although the first stage's plan meets its floor, so the plain run was
    ``feasible`` where the reduced one proved the optimum. With the first stage's plan
    as the second's MIP start every backend proves the same optimum."""
    inst = instance_from_data(random_instance(random.Random(2111)))
    assert inst.objective.sense != "min_cost"
    plan = solve_instance(inst, backend, SolveOptions(time_limit=60))
    reference = solve_instance(inst, "highs", SolveOptions(time_limit=60))
    assert plan.status is Status.OPTIMAL, plan.message
    assert plan.objective == pytest.approx(reference.objective, rel=1e-7)


@pytest.mark.parametrize("seed", [2079, 2106, 2178])
def test_a_negative_min_savings_ratio_survives_rounding(seed):
    """Where the best plan leaves some force worse off, the min savings ratio w is
    negative; rounding clipped it to 0, the plan broke its ratio rows, and the run ended
    ``error`` (reduced) or ``feasible`` with a dearer second stage (plain: seed 2106 at
    765,637,230 where the optimum is 765,528,997). Every backend now proves it."""
    inst = instance_from_data(random_instance(random.Random(seed)))
    assert inst.objective.sense == "max_min_savings_ratio"
    plans = [solve_instance(inst, b, SolveOptions(time_limit=60))
             for b in ("ortools", "highs", "cbc")]
    for plan in plans:
        assert plan.status is Status.OPTIMAL, (plan.backend, plan.message)
        assert plan.objective == pytest.approx(plans[0].objective, rel=1e-7)
        assert check_plan(inst, plan.to_dict()) == []


def test_rounding_keeps_negative_values_where_the_bounds_allow_them():
    x = np.array([-0.0164, -1e-9, 0.9999999, -0.3])
    lb = np.array([-np.inf, 0.0, 0.0, 0.0])
    assert np.allclose(clean_solution(x, np.zeros(4, bool), lb), [-0.0164, 0, 1, 0])
    assert np.allclose(clean_solution(x, np.zeros(4, bool)), [0, 0, 1, 0])


def _one_row_programme():
    """min x0 + x1  s.t.  x0 + x1 >= 1, binaries: the plan (1, 0) meets every row."""
    b = LPBuilder()
    cols = b.add_vars("x", [("a",), ("b",)], 0.0, 1.0, integer=True)
    b.add_rows("cover", [("all",)], np.zeros(2, int), cols, 1.0, 1.0, np.inf)
    b.add_objective(cols, np.ones(2))
    return b.build(obj_offset=0.0)


class _ClaimsInfeasible:
    name = "fake"

    def solve(self, lp, options, start=None):
        return BackendResult(Status.INFEASIBLE, None, None, None, "Fake", "1", 0.0)


def test_an_infeasibility_claim_refuted_by_the_start_keeps_the_start(monkeypatch):
    lp = _one_row_programme()
    monkeypatch.setattr(guard, "get_backend", lambda name: _ClaimsInfeasible())
    res = guard.call_backend(lp, "fake", SolveOptions(), start=np.array([1.0, 0.0]))
    assert res.status is Status.FEASIBLE and res.objective == pytest.approx(1.0)
    assert np.allclose(res.x, [1.0, 0.0]) and "infeasible" in res.message
    # without a start (or with one that breaks a row) the claim stands
    assert guard.call_backend(lp, "fake", SolveOptions()).status is Status.INFEASIBLE
    res = guard.call_backend(lp, "fake", SolveOptions(), start=np.array([0.0, 0.0]))
    assert res.status is Status.INFEASIBLE
