"""The single-source facility-location method (shareplan/solver/single_source.py):
knapsack and covering programmes, the Lagrangian bound and the fixing against brute
force on small random instances, and whole solves on every backend."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from shareplan.convert import facility_instance
from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import single_source as ss
from shareplan.solver.backends import REGISTRY
from shareplan.solver.core import SolveOptions, Status
from shareplan.solver.formulation import build_formulation
from shareplan.solver.run import solve_instance


def _random_facility(seed: int, m: int, n: int) -> dict:
    rng = random.Random(seed)
    demands = [rng.randint(1, 9) for _ in range(n)]
    total = sum(demands)
    caps = [rng.randint(max(demands), max(max(demands), int(total * 0.6))) for _ in range(m)]
    while sum(caps) < total:
        caps[rng.randrange(m)] += 5
    fixed = [rng.randint(0, 40) for _ in range(m)]
    cost = [[rng.randint(0, 30) for _ in range(m)] for _ in range(n)]
    return facility_instance(f"rand{seed}", caps, fixed, demands, cost, divisible=False)


def _feasible_random(seed: int) -> tuple[dict, float, list]:
    """A random instance with 2-4 sites and 3-6 customers that has a plan, with its
    brute-force optimum and plans (the next variant of the seed when one has none)."""
    for t in itertools.count():
        rng = random.Random(1000 * seed + t)
        data = _random_facility(1000 * seed + t, rng.randint(2, 4), rng.randint(3, 6))
        opt, plans = _brute_force(data)
        if plans:
            return data, opt, plans


def _brute_force(data: dict) -> tuple[float, list[tuple[float, tuple[int, ...]]]]:
    """(optimum, every feasible plan as (cost, site per customer)) by enumeration."""
    fn = data["functions"][0]
    caps = [h["capacity"] for h in fn["hosts"]]
    fixed = [h["fixed_cost_gbp"] for h in fn["hosts"]]
    sites = [h["site"] for h in fn["hosts"]]
    demand = [c["demand"] for c in data["costs"]]
    forces = [f["id"] for f in data["forces"]]
    plans = []
    for site in itertools.product(range(len(caps)), repeat=len(forces)):
        load = [0] * len(caps)
        for j, i in enumerate(site):
            load[i] += demand[j]
        if any(load[i] > caps[i] for i in range(len(caps))):
            continue
        cost = sum(fixed[i] for i in set(site)) + sum(
            fn["arc_cost_gbp"][forces[j]][sites[i]] for j, i in enumerate(site))
        plans.append((cost, site))
    return min((c for c, _ in plans), default=np.inf), plans


def _structure(data: dict) -> tuple[object, ss.Structure]:
    lp = build_formulation(build_network(instance_from_data(data))).lp
    st = ss.Structure.of(lp)
    assert st is not None
    return lp, st


@pytest.mark.parametrize("seed", range(40))
def test_knapsack_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    profit = rng.integers(-5, 20, k).astype(float)
    weight = rng.integers(1, 10, k)
    room = int(rng.integers(0, 30))
    value, chosen, table = ss.knapsack(profit, weight, room, table=True)
    best = [0.0] * (room + 1)
    for pick in itertools.product([0, 1], repeat=k):
        z = np.array(pick, bool)
        w = int(weight[z].sum())
        for c in range(w, room + 1):
            best[c] = max(best[c], float(profit[z].sum()))
    assert value == pytest.approx(best[room])
    assert table == pytest.approx(best)
    assert weight[chosen].sum() <= room and profit[chosen].sum() == pytest.approx(value)


@pytest.mark.parametrize("seed", range(40))
def test_cover_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    m = int(rng.integers(1, 7))
    g = rng.integers(-10, 30, m).astype(float)
    K = rng.integers(1, 12, m)
    need = int(rng.integers(0, 40))
    forced = rng.random(m) < 0.2
    banned = ~forced & (rng.random(m) < 0.2)
    value, y = ss.cover(g, K, need, open_=forced, shut=banned)
    feasible = [float(g[np.array(p, bool)].sum()) for p in itertools.product([0, 1], repeat=m)
                if K[np.array(p, bool)].sum() >= need and all(
                    p[i] == 1 for i in np.nonzero(forced)[0]) and all(
                    p[i] == 0 for i in np.nonzero(banned)[0])]
    if not feasible:
        assert value == np.inf and y is None
        return
    assert value == pytest.approx(min(feasible))
    assert K[y].sum() >= need and g[y].sum() == pytest.approx(value)
    assert y[forced].all() and not y[banned].any()


def test_tiny_by_hand():
    # two sites (capacity 10, fixed 10; capacity 6, fixed 1), customers of demand 5, 5, 4:
    # site 2 alone cannot hold all (14 > 6); best: 1+... enumerate by hand:
    # {c1,c2}->w1 (10) + c3->w2: 10 + 1 + (1+1+1) = 14; everything else costs more
    data = facility_instance("tiny", [10, 6], [10, 1], [5, 5, 4],
                             [[1, 5], [1, 5], [9, 1]], divisible=False)
    lp, st = _structure(data)
    assert list(st.capacity) == [10, 6] and list(st.demand) == [5, 5, 4]
    lag = ss.Lagrangian(st)
    lam = np.array([4.0, 4.0, 6.0])
    # V_1 = max z: items (3, 3, -3) weights (5, 5, 4), room 10 -> 6; g_1 = 10 - 6 = 4
    # V_2 = items (-1, -1, 5), room 6 -> 5; g_2 = 1 - 5 = -4; cover: K_2 = 6 < 14 -> open 1
    value, g, y, X, _ = lag.evaluate(lam)
    assert g == pytest.approx([4.0, -4.0]) and list(y) == [True, True]
    assert value == pytest.approx(14.0 + 4.0 - 4.0)
    assert value <= 14.0 + 1e-9
    plan = solve_instance(instance_from_data(data), "highs", SolveOptions(gap=0.0))
    assert plan.status is Status.OPTIMAL and plan.objective == pytest.approx(14.0)


@pytest.mark.parametrize("seed", range(12))
def test_bound_and_fixing_keep_every_cheaper_plan(seed):
    data, opt, plans = _feasible_random(seed)
    lp, st = _structure(data)
    lag = ss.Lagrangian(st)
    lam0 = np.nanmin(np.where(np.isfinite(st.cost), st.cost, np.nan), axis=0)
    for lam in (lam0, lam0 + np.random.default_rng(seed).normal(0, 5, len(lam0))):
        assert lag.evaluate(lam)[0] <= opt + 1e-6  # weak duality for any multipliers
    bound, lam = lag.ascend(lam0, opt, 200, float("inf"))
    assert bound <= opt + 1e-6
    for ub in (opt, opt + 3.0):
        value, shut, must, gone = ss.fixings(lag, lam, ub)
        assert value <= opt + 1e-6
        for cost, site in plans:
            if cost > ub + 1e-9:
                continue
            used = set(site)
            assert not any(shut[i] for i in used), (cost, site)
            assert all(i in used for i in np.nonzero(must)[0]), (cost, site)
            assert not any(gone[i, j] for j, i in enumerate(site)), (cost, site)


@pytest.mark.parametrize("seed", range(6))
def test_heuristic_plans_are_feasible_and_priced_right(seed):
    data, opt, plans = _feasible_random(50 + seed)
    lp, st = _structure(data)
    lag = ss.Lagrangian(st)
    lam = np.nanmin(np.where(np.isfinite(st.cost), st.cost, np.nan), axis=0)
    _, g, y, X, _ = lag.evaluate(lam)
    plan = ss.plan_from(st, g, y, X)
    if plan is None:
        return
    cost, site = plan
    assert cost >= opt - 1e-9
    assert any(c == pytest.approx(cost) and tuple(s) == tuple(site) for c, s in plans)
    x = st.vector(site, lp.n_cols)
    assert lp.worst_row(x)[0] <= 1e-9
    assert float(lp.obj @ x + lp.obj_offset) == pytest.approx(cost)


def test_structure_refuses_other_programmes():
    # multi-source (continuous x) and a sharing instance with other rows are not this shape
    data = facility_instance("ms", [10, 6], [10, 1], [5, 5, 4], [[1, 5], [1, 5], [9, 1]],
                             divisible=True)
    lp = build_formulation(build_network(instance_from_data(data))).lp
    assert ss.Structure.of(lp) is None
    from pathlib import Path

    from shareplan.models.load import load_instance

    tiny = Path(__file__).resolve().parents[1] / "instances" / "tiny-two-forces.json"
    other = build_formulation(build_network(load_instance(tiny)[0])).lp
    assert ss.Structure.of(other) is None


@pytest.mark.parametrize("backend", sorted(REGISTRY))
@pytest.mark.parametrize("seed", [3, 7, 8])
def test_every_backend_reaches_the_brute_force_optimum(backend, seed, monkeypatch):
    monkeypatch.setattr(ss, "MIN_ARCS", 0)  # the method on these tiny programmes too
    data, opt, _ = _feasible_random(200 + seed)
    plan = solve_instance(instance_from_data(data), backend, SolveOptions(gap=0.0,
                                                                         time_limit=30))
    assert plan.status is Status.OPTIMAL, plan.message  # the checker ran: not 'error'
    assert plan.objective == pytest.approx(opt, abs=1e-6)
    assert plan.bound <= plan.objective + 1e-6
    # the method runs when its heuristic finds a first plan, else the whole MIP does
    lp, st = _structure(data)
    lam = np.nanmin(np.where(np.isfinite(st.cost), st.cost, np.nan), axis=0)
    _, g, y, X, _ = ss.Lagrangian(st).evaluate(lam)
    assert ("Lagrangian" in plan.message) == (ss.plan_from(st, g, y, X) is not None)


def test_switches_on_at_min_arcs_and_agrees_with_the_whole_solve():
    # 25 sites x 200 customers = 5,000 arcs (the threshold), points in a square, cost the
    # distance; each site can hold a fifth of the demand
    rng = random.Random(5)
    n, m = 200, 25
    pts = [(rng.random(), rng.random()) for _ in range(n + m)]
    demands = [rng.randint(1, 9) for _ in range(n)]
    caps = [sum(demands) // 5] * m
    fixed = [rng.randint(100, 200) for _ in range(m)]
    cost = [[round(100 * ((pts[j][0] - pts[n + i][0]) ** 2 + (pts[j][1] - pts[n + i][1]) ** 2)
                   ** 0.5) for i in range(m)] for j in range(n)]
    data = facility_instance("big", caps, fixed, demands, cost, divisible=False)
    lp, _ = _structure(data)
    assert ss.applies(lp) is not None
    inst = instance_from_data(data)
    options = SolveOptions(gap=0.0, time_limit=60)
    plan = solve_instance(inst, "highs", options)
    assert "Lagrangian" in plan.message and plan.status is Status.OPTIMAL
    ss.ENABLED = False
    try:
        whole = solve_instance(inst, "highs", options)
    finally:
        ss.ENABLED = True
    assert whole.status is Status.OPTIMAL and "Lagrangian" not in whole.message
    assert plan.objective == pytest.approx(whole.objective, abs=1e-6)
    small = facility_instance("small", caps[:5], fixed[:5], demands[:40],
                              [row[:5] for row in cost[:40]], divisible=False)
    assert ss.applies(_structure(small)[0]) is None  # 200 arcs: solved whole
