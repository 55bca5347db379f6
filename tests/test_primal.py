"""The target-meeting primal heuristic (shareplan.solver.primal) and what the solve path
does with its plan: offered to the watch, the answer when a solver finds none, its share
bound a valid lower bound."""

from __future__ import annotations

import random
import time

import pytest

from shareplan.generate import generate_instance
from shareplan.models.load import InstanceError, instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import deadline, primal, programme, run
from shareplan.solver.checker import check_plan
from shareplan.solver.core import BackendResult, SolveOptions, Status
from shareplan.solver.formulation import build_formulation
from shareplan.solver.guard import VIOLATION_TOLERANCE
from shareplan.solver.run import solve_instance
from shareplan.testing.randinst import random_instance


def _least_cost_cases(seeds):
    for seed in seeds:
        try:
            inst = instance_from_data(random_instance(random.Random(seed)))
        except InstanceError:
            continue
        if inst.objective.sense != "min_cost":
            continue
        yield seed, inst


def test_heuristic_plans_meet_every_row_and_never_beat_the_optimum():
    """Random instances (shareplan.testing.randinst), the heuristic forced on whatever the size:
    every plan it returns meets every row and costs at least the proven optimum (HiGHS);
    the share bound is at most that optimum; and it finds plans where targets bind."""
    found = with_targets = bounded = 0
    for seed, inst in _least_cost_cases(range(120)):
        form = build_formulation(build_network(inst))
        x = primal.target_plan(form)
        bound = primal.share_bound(form)
        best = solve_instance(inst, "highs", decompose=False)
        if x is not None:
            assert form.lp.worst_row(x)[0] <= VIOLATION_TOLERANCE, seed
            assert best.status is Status.OPTIMAL, seed  # a plan exists, so it is not infeasible
            cost = float(form.lp.obj @ x + form.lp.obj_offset)
            assert cost >= best.objective - 1e-6 * max(1.0, abs(best.objective)), seed
            found += 1
            with_targets += any(f.savings_target_gbp is not None for f in inst.forces)
        if bound is not None and best.status is Status.OPTIMAL:
            assert bound <= best.objective + 1e-6 * max(1.0, abs(best.objective)), seed
            bounded += 1
    assert found >= 20 and with_targets >= 5 and bounded >= 20, (found, with_targets, bounded)


@pytest.fixture(scope="module")
def mid_size():
    """60 forces, 3 functions, targets on: 7,164 columns, where the heuristic switches on."""
    inst = instance_from_data(generate_instance(forces=60, functions=3, seed=3))
    form = build_formulation(build_network(inst))
    assert form.lp.n_cols >= primal.MIN_COLUMNS and primal.applies(form)
    return inst, form, primal.target_plan(form)


def test_the_heuristic_meets_the_targets_of_a_generated_instance(mid_size):
    inst, form, x = mid_size
    assert x is not None and form.lp.worst_row(x)[0] <= VIOLATION_TOLERANCE
    cost = float(form.lp.obj @ x + form.lp.obj_offset)
    assert primal.share_bound(form) <= cost
    # the greedy alone breaks targets here (so the repair is what meets them)
    fns = primal._functions(form)
    state = primal._start_state(fns, form, primal._row_bounds(form))
    primal._greedy(state, time.perf_counter() + 30)
    assert state.violation() > 0


def _no_plan_found(lp, backend_name, options, start=None):
    """A solver stopped at its limit with no plan of its own (OR-Tools' HiGHS engine
    always ends so: model_builder gives UNKNOWN_STATUS and no values)."""
    return BackendResult(Status.NO_SOLUTION, None, None, None, "OR-Tools HiGHS", "9.15", 0.1,
                         message="OR-Tools status UNKNOWN_STATUS")


@pytest.mark.parametrize("backend", ["ortools-highs", "highs"])
def test_a_solver_without_a_plan_gets_the_heuristic_plan_as_feasible(mid_size, backend,
                                                                     monkeypatch):
    # the compact model's path (one block of 60 forces would go to the decomposition)
    inst, form, _ = mid_size
    monkeypatch.setattr(programme, "call_backend", _no_plan_found)
    monkeypatch.setattr(programme.reduce, "applies", lambda lp: None)
    plan = solve_instance(inst, backend, SolveOptions(time_limit=60, decomposition="off"))
    assert plan.status is Status.FEASIBLE and plan.has_solution
    assert "heuristic plan" in plan.message and "UNKNOWN_STATUS" in plan.message
    assert plan.bound is not None and plan.bound <= plan.objective
    assert plan.bound == pytest.approx(primal.share_bound(form), rel=1e-9)
    assert 0 < plan.gap < 0.5
    assert check_plan(inst, plan.to_dict()) == []
    for force in plan.forces:
        if force.target_gbp is not None:
            assert force.savings_gbp >= force.target_gbp - 1.0


def test_without_the_heuristic_the_same_run_has_no_plan(mid_size, monkeypatch):
    """The control: the status quo breaks the targets, so nothing else offers a plan."""
    inst, _, _ = mid_size
    monkeypatch.setattr(programme, "call_backend", _no_plan_found)
    monkeypatch.setattr(programme.reduce, "applies", lambda lp: None)
    monkeypatch.setattr(primal, "applies", lambda form: False)
    plan = solve_instance(inst, "highs", SolveOptions(time_limit=60, decomposition="off"))
    assert plan.status is Status.NO_SOLUTION and not plan.has_solution


def test_a_solver_plan_keeps_the_stronger_of_the_two_bounds(mid_size, monkeypatch):
    inst, form, _ = mid_size

    def weak(lp, backend_name, options, start=None):
        cost = float(lp.obj @ start + lp.obj_offset)
        return BackendResult(Status.FEASIBLE, start, cost, cost - 1e12, "HiGHS", "1", 0.1)

    monkeypatch.setattr(programme, "call_backend", weak)
    monkeypatch.setattr(programme.reduce, "applies", lambda lp: None)
    plan = solve_instance(inst, "highs", SolveOptions(time_limit=60, decomposition="off"))
    assert plan.status is Status.FEASIBLE
    assert plan.bound == pytest.approx(primal.share_bound(form), rel=1e-9)


def test_the_watch_stops_earlier_by_the_reserve_the_work_sets():
    """With a reserve of 1 s, a 3 s limit (margin 2 s) stops the solvers at 2.2 s."""
    stopped_at = []

    def work():
        watch = deadline.current()
        watch.reserve = 1.0
        t0 = time.perf_counter()
        while not deadline.stopped() and time.perf_counter() - t0 < 10:
            time.sleep(0.02)
        stopped_at.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    _, watch, finished = deadline.run_watched(work, 3.0, tick=0.05)
    assert finished and watch.stopped
    assert 2.0 <= stopped_at[0] <= 2.9
    assert time.perf_counter() - t0 < 3.0 + deadline.margin(3.0)


def test_facility_location_without_targets_is_left_to_the_solvers():
    """Every force must be served (the status quo breaks the assignment rows) but there
    is no target or floor: the heuristic does not switch on, at any size."""
    from shareplan.testing.facility import cfl_instance

    inst = instance_from_data(cfl_instance(n_forces=200, n_sites=30, seed=1, slack=10.0))
    form = build_formulation(build_network(inst))
    assert form.lp.n_cols >= primal.MIN_COLUMNS and programme.trivial_plan(form.lp) is None
    assert not primal.applies(form)


def test_the_decomposed_path_keeps_the_heuristic_plan(mid_size, monkeypatch):
    """The column model stopped before a plan (None) and the compact model left no time
    for one: the run still answers with the heuristic's plan, feasible, checked."""
    inst, form, _ = mid_size
    monkeypatch.setattr(run.decompose, "solve_decomposed", lambda *a, **k: None)
    monkeypatch.setattr(programme, "call_backend", _no_plan_found)
    plan = solve_instance(inst, "highs", SolveOptions(time_limit=60, decomposition="on"))
    assert plan.status is Status.FEASIBLE and "heuristic plan" in plan.message
    assert plan.bound == pytest.approx(primal.share_bound(form), rel=1e-9)
    assert check_plan(inst, plan.to_dict()) == []
