"""The Lagrangian host fixing of solver/reduce.py is exact.

Forced onto small programmes (MIN_ARCS = 0, few candidate hosts), the reduced solve
must give the published optimum of every OR-Library cap instance and the enumerated
optimum of the brute-force instances; the bound L(pi) never exceeds an optimum; the
hosts it closes are shut in the optimal plans found without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import solve, status
from test_bruteforce import SEEDS, case

from shareplan.convert import orlib_to_instance
from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import reduce
from shareplan.solver.core import SolveOptions, Status
from shareplan.solver.formulation import build_formulation
from shareplan.solver.programme import solve_programme
from shareplan.solver.run import solve_instance

ORLIB = Path(__file__).resolve().parents[1] / "bench" / "data" / "orlib"
CAPS = [f"cap{g}{k}" for g in (4, 6, 7, 8, 9, 10, 11, 12, 13) for k in (1, 2, 3, 4)] + ["cap51"]
EXACT = SolveOptions(gap=0.0, time_limit=60)
REDUCED = "opened by a Lagrangian bound"


def published(name: str) -> float:
    """capopt.txt, snapped to the 1/80 grid of the true optima (see OPTIMA.md)."""
    for line in (ORLIB / "capopt.txt").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return round(float(parts[1]) * 80) / 80
    raise KeyError(name)


@pytest.fixture
def forced(monkeypatch):
    """The reduction on every programme, with few candidate hosts for the heuristic plan."""
    monkeypatch.setattr(reduce, "MIN_ARCS", 0)
    monkeypatch.setattr(reduce, "MIN_CANDIDATES", 1)
    monkeypatch.setattr(reduce, "CANDIDATE_FACTOR", 1)


def _lp(data: dict):
    return build_formulation(build_network(instance_from_data(data))).lp


@pytest.mark.parametrize(("backend", "names"), [("highs", CAPS), ("cbc", CAPS[::3]),
                                               ("ortools", CAPS[1::3])])
def test_cap_instances_through_the_reduction(forced, backend, names):
    reduced, failures = 0, []
    for name in names:
        plan = solve_instance(instance_from_data(orlib_to_instance(ORLIB / f"{name}.txt")),
                              backend, EXACT)
        reduced += REDUCED in plan.message
        if plan.status is not Status.OPTIMAL or abs(plan.objective - published(name)) > 1e-3:
            failures.append(f"{name}: {plan.status.value} {plan.objective} vs {published(name)}"
                            f" ({plan.message})")
    assert not failures, "\n".join(failures)
    assert reduced == len(names)


def test_bruteforce_instances_through_the_reduction(forced):
    reduced, failures = 0, []
    for seed in SEEDS:
        text, (want, best, _) = case(seed)
        plan = solve(json.loads(text), "highs")  # also runs the independent checker
        reduced += REDUCED in plan.message
        got = status(plan)
        if got != want or (want == "optimal" and plan.objective != pytest.approx(
                best, rel=1e-6, abs=1e-6)):
            failures.append(f"seed {seed}: enumerated {want} {best}; reduced {got} "
                            f"{plan.objective} ({plan.message})")
    assert not failures, "\n".join(failures)
    assert reduced >= 30, reduced  # instances where the reduction ran (others too small)


def _optimum_and_x(lp):
    res = solve_programme(lp, "highs", SolveOptions(gap=0.0))
    assert res.status is Status.OPTIMAL
    return res.objective, res.x


def test_bound_and_closed_hosts_on_cap_instances():
    rng = np.random.default_rng(0)
    closed_total = 0
    for name in ["cap41", "cap71", "cap101", "cap131"]:
        lp = _lp(orlib_to_instance(ORLIB / f"{name}.txt"))
        opt, x = _optimum_and_x(lp)
        lag = reduce.LagrangianBound(lp, reduce.LinkStructure.of(lp))
        for _ in range(20):  # any multipliers of the right signs give a lower bound
            pi = rng.normal(scale=rng.choice([1e2, 1e4, 1e6]), size=len(lag.rows))
            pi = np.where(lag.nonneg, abs(pi), np.where(lag.nonpos, -abs(pi), pi))
            assert lag.evaluate(pi)[0] <= opt + 1e-6 * opt, name
        bound, pi = lag.ascend(np.zeros(len(lag.rows)), opt * 1.01, 2000, float("inf"))
        assert opt * 0.9 < bound <= opt * (1 + 1e-9), name
        closed, opened = lag.fixings(pi, opt * (1 + 1e-7))
        assert np.all(x[closed] < 0.5), name  # the optimal plan opens none of them
        assert np.all(x[opened] > 0.5), name  # and all of these
        closed_total += len(closed)
    assert closed_total >= 10, closed_total


def test_bound_never_exceeds_the_enumerated_optimum():
    checked = 0
    for seed in SEEDS:
        text, (want, best, _) = case(seed)
        if want != "optimal":
            continue
        lp = _lp(json.loads(text))
        links = reduce.LinkStructure.of(lp)
        if lp.maximize or links is None:
            continue
        lag = reduce.LagrangianBound(lp, links)
        bound, pi = lag.ascend(np.zeros(len(lag.rows)), best + 0.1 * abs(best) + 1, 300,
                               float("inf"))
        assert bound <= best + 1e-6 * max(1.0, abs(best)), seed
        checked += 1
    assert checked >= 50, checked


def test_small_or_maximising_programmes_are_solved_whole():
    lp = _lp(orlib_to_instance(ORLIB / "cap41.txt"))
    assert reduce.applies(lp) is None  # 800 arcs, far below MIN_ARCS
    capa = _lp(orlib_to_instance(ORLIB / "capa.txt", 8000))
    links = reduce.applies(capa)
    assert links is not None and len(links.x) == 100_000
    from dataclasses import replace

    assert reduce.applies(replace(capa, maximize=True)) is None
