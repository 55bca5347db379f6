"""Tiny instances whose optimum is worked out by hand, on every backend.

Notation (docs/model.md section 3): alpha = sum_{k=1..Y} (1+r)^-k; a force alone pays
alpha c_si; in a unit at h it pays alpha (v_s d_si + a_sih) + t_si plus its share
k_i / sum_j k_j of alpha F_sh + G_sh. One-offs (G, t) are not discounted. The
objective is the total horizon cost of all forces, local functions included.

Unless a test says otherwise: Y = 5, r = 0, so alpha = 5; 'fin' costs 100 a year
per force alone with demand 100; the local function 'resp' costs 1,000 a year
per force, i.e. 2 x 5 x 1,000 = 10,000 over the horizon in every plan.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from helpers import (
    BACKENDS,
    KM_PER_DEGREE,
    approx,
    assert_optimal,
    cost,
    force,
    member_sets,
    n_forces,
    solve,
    status,
    two_forces,
    units_of,
    variant,
)

from shareplan.models.load import instance_from_data

LOCAL = 2 * 5 * 1000.0  # the local function over the horizon, both forces
ALONE = LOCAL + 5 * (100 + 100)  # = 11,000: nobody shares



@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def test_sharing_saves_money(backend):
    # unit: F + v (d_A + d_B) = 50 + 0.5 * 200 = 150 a year against 200 alone
    plan = solve(two_forces(fixed=50, variable=0.5), backend)
    assert_optimal(plan, LOCAL + 5 * 150)  # 10,750
    assert member_sets(plan) == [{"A", "B"}]
    assert units_of(plan)[0].site in {"hA", "hB"}  # either host: a tie
    # each pays 0.5 * 100 + 50 * 100/200 = 75 a year against 100: saves 5 * 25 = 125
    for fid in "AB":
        assert force(plan, fid).savings_gbp == pytest.approx(125, abs=0.01)
        assert force(plan, fid).baseline_gbp == pytest.approx(5 * 1100, abs=0.01)


@pytest.mark.parametrize(
    ("setup", "transition", "expected", "shared"),
    [
        (200, 0, LOCAL + 5 * 150 + 200, True),  # 10,950 < 11,000: 5 x 50 saved beats G = 200
        (300, 0, ALONE, False),  # 10,750 + 300 = 11,050 > 11,000
        (150, 40, LOCAL + 5 * 150 + 150 + 2 * 40, True),  # 10,980: one-offs undiscounted
        (150, 60, ALONE, False),  # 10,750 + 150 + 120 = 11,020 > 11,000
    ],
)
def test_one_off_costs_against_savings(backend, setup, transition, expected, shared):
    data = two_forces(fixed=50, setup=setup)
    for c in data["costs"]:
        if c["function"] == "fin":
            c["transition_cost_gbp"] = transition
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert member_sets(plan) == ([{"A", "B"}] if shared else [])


def test_annuity_factor_by_hand(backend):
    data = two_forces(horizon=3, rate=0.1)
    alpha = 1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3  # 0.909091 + 0.826446 + 0.751315
    assert alpha == pytest.approx(2.486852, abs=1e-6)
    assert instance_from_data(data).annuity_factor == pytest.approx(alpha, rel=1e-12)
    assert instance_from_data(two_forces(horizon=5, rate=0.0)).annuity_factor == approx(5)


@pytest.mark.parametrize(("rate", "shares"), [(0.0, True), (0.1, False)])
def test_discounting_decides_a_share(backend, rate, shares):
    # Y = 3, set-up G = 140 (undiscounted) against 50 a year saved (discounted)
    alpha = sum((1 + rate) ** -k for k in (1, 2, 3))  # 3 at r = 0; 2.486852 at r = 0.1
    alone = alpha * (2000 + 200)  # r = 0: 6,600; r = 0.1: 5,471.07
    together = alpha * (2000 + 150) + 140  # r = 0: 6,590; r = 0.1: 5,486.73
    assert (together < alone) is shares
    plan = solve(two_forces(horizon=3, rate=rate, setup=140), backend)
    assert_optimal(plan, min(alone, together))
    assert member_sets(plan) == ([{"A", "B"}] if shares else [])


def _allocation_instance(rule: str, targets: dict[str, float]) -> dict:
    """A: c 100, d 100, key 1; B: c 100, d 50, key 3; F = 120, v = 0.5.

    Shared: 120 + 0.5 * (100 + 50) = 195 a year against 200: total 10,975 vs 11,000.
    Running costs: A 50, B 25 a year. A's share of F = 120 by rule:
      demand 100/150 -> 80: A 130 (saves 5 * -30 = -150), B 40 + 25 = 65 (+175)
      equal  1/2     -> 60: A 110 (-50),                  B 60 + 25 = 85 (+75)
      key    1/4     -> 30: A  80 (+100),                 B 90 + 25 = 115 (-75)
    """
    data = two_forces(fixed=120)
    data["allocation"] = rule
    data["forces"] = [{"id": "A", "allocation_key": 1}, {"id": "B", "allocation_key": 3}]
    data["costs"][1]["demand"] = 50
    for f in data["forces"]:
        if f["id"] in targets:
            f["savings_target_gbp"] = targets[f["id"]]
    return data


SHARED = LOCAL + 5 * 195  # 10,975
SAVINGS = {"demand": (-150, 175), "equal": (-50, 75), "key": (100, -75)}


@pytest.mark.parametrize("rule", ["demand", "equal", "key"])
@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ({}, {"demand": SHARED, "equal": SHARED, "key": SHARED}),
        # A can gain only under 'key'; standalone saves 0 < 50
        ({"A": 50}, {"demand": None, "equal": None, "key": SHARED}),
        ({"B": 50}, {"demand": SHARED, "equal": SHARED, "key": None}),
        # T_A = 0 forbids any share that leaves A worse off: only 'key' keeps the unit
        ({"A": 0}, {"demand": ALONE, "equal": ALONE, "key": SHARED}),
        ({"B": 100}, {"demand": SHARED, "equal": None, "key": None}),  # 175 / 75 / -75
    ],
)
def test_allocation_rule_decides_who_meets_a_target(backend, rule, targets, expected):
    plan = solve(_allocation_instance(rule, targets), backend)
    want = expected[rule]
    if want is None:
        assert status(plan) == "infeasible"
        assert plan.units == []
        return
    assert_optimal(plan, want)
    if want == SHARED:
        assert member_sets(plan) == [{"A", "B"}]
        sa, sb = SAVINGS[rule]
        assert force(plan, "A").savings_gbp == pytest.approx(sa, abs=0.01)
        assert force(plan, "B").savings_gbp == pytest.approx(sb, abs=0.01)
    else:
        assert plan.units == []


@pytest.mark.parametrize(
    ("rule", "target", "expected"),
    [
        (None, None, ALONE),  # 220 a year shared > 200 alone: no unit
        ("key", 50, LOCAL + 5 * 220),  # A pays 30 + 50 = 80 < 100: saves 100 >= 50 -> 11,100
        ("key", 150, None),  # 100 < 150
        ("demand", 50, None),  # A pays 60 + 50 = 110 > 100
    ],
)
def test_target_forces_an_unprofitable_share(backend, rule, target, expected):
    # symmetric A, B (c = d = 100), F = 120: sharing loses 20 a year in total
    data = two_forces(fixed=120)
    data["forces"] = [{"id": "A", "allocation_key": 1}, {"id": "B", "allocation_key": 3}]
    if rule:
        data["allocation"] = rule
        data["forces"][0]["savings_target_gbp"] = target
    plan = solve(data, backend)
    if expected is None:
        assert status(plan) == "infeasible"
        return
    assert_optimal(plan, expected)
    assert member_sets(plan) == ([{"A", "B"}] if expected != ALONE else [])
    if rule == "key":
        assert force(plan, "A").savings_gbp == pytest.approx(100, abs=0.01)


@pytest.mark.parametrize(
    ("floor", "expected"),
    [(None, LOCAL + 750), (95.5, LOCAL + 750), (98, ALONE)],
)
def test_frontline_floor_blocks_a_share(backend, floor, expected):
    # A sharing: o_A - rho d_A = 1 - 0.05 * 100 = -4 officers -> 100 - 4 = 96 frontline
    data = two_forces(officers_per_unit=0.05)
    data["forces"][0].update(frontline_officers_fte=100, frontline_floor_fte=floor)
    for c in data["costs"]:
        c["officers_fte"] = 1
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    if expected == ALONE:
        assert plan.units == []
        assert force(plan, "A").frontline_fte == pytest.approx(100, abs=1e-3)
    else:
        assert member_sets(plan) == [{"A", "B"}]
        assert force(plan, "A").frontline_fte == pytest.approx(96, abs=1e-3)


@pytest.mark.parametrize(("capacity", "expected", "size"), [
    (None, 5 * (50 + 150), 3),  # all three: 200 a year against 300 -> 1,000
    (250, 5 * (50 + 100 + 100), 2),  # d = 300 > 250: a pair and one alone -> 1,250
    (90, 5 * 300, 0),  # no force fits (d = 100 > 90) -> 1,500
])
def test_capacity_blocks_a_third_member(backend, capacity, expected, size):
    data = n_forces(["A", "B", "C"], unit_capacity=capacity)
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert [len(s) for s in member_sets(plan)] == ([size] if size else [])


@pytest.mark.parametrize(("max_members", "max_units", "expected", "sizes"), [
    (None, None, 5 * (50 + 200), [4]),  # one unit of four: 250 a year against 400
    (2, None, 5 * 2 * (50 + 100), [2, 2]),  # two pairs: 300 -> 1,500
    (2, 1, 5 * (150 + 200), [2]),  # one pair, two alone: 350 -> 1,750
    (2, 0, 5 * 400, []),  # no unit may open -> 2,000
])
def test_max_members_and_max_units(backend, max_members, max_units, expected, sizes):
    data = n_forces(["A", "B", "C", "D"], sites=("hX", "hY"), max_members=max_members,
                    max_units=max_units)
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert sorted(len(s) for s in member_sets(plan)) == sizes


@pytest.mark.parametrize(("reopt", "expected", "shared"), [
    # fixed: keeps costing 120 + 100 = 220 a year; G and t are sunk -> 10,000 + 1,100
    (False, LOCAL + 5 * 220, True),
    (True, ALONE, False),  # free to dissolve: 200 a year alone
])
def test_existing_unit_fixed_unless_reoptimisable(backend, reopt, expected, shared):
    data = two_forces(fixed=120, setup=500)
    for c in data["costs"]:
        c["transition_cost_gbp"] = 30
    data["existing"] = [{"function": "fin", "site": "hA", "members": ["A", "B"],
                         "reoptimisable": reopt}]
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert member_sets(plan) == ([{"A", "B"}] if shared else [])
    # baseline = the existing unit: 5 * (1,000 + 60 + 50) = 5,550 each
    for fid in "AB":
        assert force(plan, fid).baseline_gbp == pytest.approx(5550, abs=0.01)
        assert force(plan, fid).savings_gbp == pytest.approx(0 if shared else 50, abs=0.01)


def test_existing_unit_stays_where_setup_is_sunk(backend):
    # profitable unit (150 a year); at hA set-up and transitions are sunk, at hB they'd cost
    # 500 + 2 * 30 more, so the re-optimisable unit stays at hA: 10,750
    data = two_forces(fixed=50, setup=500)
    for c in data["costs"]:
        c["transition_cost_gbp"] = 30
    data["existing"] = [{"function": "fin", "site": "hA", "members": ["A", "B"],
                         "reoptimisable": True}]
    plan = solve(data, backend)
    assert_optimal(plan, LOCAL + 5 * 150)
    assert member_sets(plan) == [{"A", "B"}]
    assert [u.site for u in plan.units] == ["hA"]
    assert units_of(plan)[0].existing is True


@pytest.mark.parametrize(("opt_out_b", "expected"), [
    (False, LOCAL + 5 * 220),  # must share although 220 > 200 a year -> 11,100
    (True, None),  # B opts out: A has nobody to share with (min_members 2)
])
def test_must_share(backend, opt_out_b, expected):
    data = two_forces(fixed=120)
    data["policy"] = {"must_share": [{"force": "A", "function": "fin"}]}
    if opt_out_b:
        data["policy"]["opt_outs"] = [{"force": "B", "function": "fin"}]
    plan = solve(data, backend)
    if expected is None:
        assert status(plan) == "infeasible"
        return
    assert_optimal(plan, expected)
    assert member_sets(plan) == [{"A", "B"}]


@pytest.mark.parametrize(("forbidden", "expected", "pattern"), [
    (None, 5 * (50 + 150), [{"A", "B", "C"}]),  # all three: 200 a year against 310
    # {B, C}: 50 + 100 + A's 100 = 250 a year; {A, C}: 150 + B's 110 = 260
    (("A", "B"), 5 * 250, [{"B", "C"}]),
    (("B", "A"), 5 * 250, [{"B", "C"}]),
    (("A", "C"), 5 * 250, [{"B", "C"}]),  # {B, C} or {A, B} (also 250): only C fixed
])
def test_forbidden_partners(backend, forbidden, expected, pattern):
    data = n_forces(["A", "B", "C"], c={"A": 100, "B": 110, "C": 100})
    data["costs"][1]["demand"] = 100  # B's demand 100, not its cost 110
    if forbidden:
        data["policy"] = {"forbidden_partners": [{"forces": list(forbidden)}]}
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    if forbidden == ("A", "C"):
        sets = member_sets(plan)
        assert len(sets) == 1 and "B" in sets[0] and not {"A", "C"} <= sets[0]
    else:
        assert member_sets(plan) == pattern


def _with_places(data: dict) -> dict:
    """A at (52, 0), B at (53, 0): 1 degree of latitude = 111.195 km apart."""
    data["forces"][0].update(lat=52.0, lon=0.0)
    data["forces"][1].update(lat=53.0, lon=0.0)
    data["sites"][0].update(lat=52.0, lon=0.0)
    data["sites"][1].update(lat=53.0, lon=0.0)
    return data


@pytest.mark.parametrize(("limits", "expected"), [
    ({}, LOCAL + 750),
    ({"fin": 120.0}, LOCAL + 750),  # 111.2 km <= 120
    ({"fin": 100.0}, ALONE),  # neither can reach the other's site
    ({"*": 100.0}, ALONE),  # '*': every function
])
def test_max_distance(backend, limits, expected):
    assert pytest.approx(111.195, abs=1e-3) == KM_PER_DEGREE
    data = _with_places(two_forces())
    data["policy"] = {"max_distance_km": limits}
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert len(plan.units) == (0 if expected == ALONE else 1)


def test_travel_cost_and_explicit_arc_cost(backend):
    # tau = 0.001 per demand unit per km; hB's unit costs 60 a year, hA's 50
    data = _with_places(two_forces(travel_cost_gbp_per_unit_km=0.001))
    data["functions"][0]["hosts"] = [{"site": "hA"}, {"site": "hB", "fixed_cost_gbp": 60}]
    travel = 0.001 * 100 * KM_PER_DEGREE  # 11.1195 a year for the force that travels
    # at hA: 50 + 0.5 * 200 + 11.1195 = 161.1195; at hB: 171.1195; alone 200
    plan = solve(data, backend)
    assert_optimal(plan, LOCAL + 5 * (150 + travel))
    assert [u.site for u in plan.units] == ["hA"]
    # an explicit arc cost replaces B's travel to hA: 50 + 50 + (50 + 5) = 155
    data["functions"][0]["arc_cost_gbp"] = {"B": {"hA": 5.0}}
    plan = solve(data, backend)
    assert_optimal(plan, LOCAL + 5 * 155)
    assert [u.site for u in plan.units] == ["hA"]


@pytest.mark.parametrize(("rule", "expected", "pattern"), [
    (False, 5 * 200, [{"A", "B", "C"}]),  # 50 + 150 a year against 300
    (True, 5 * (150 + 100), [{"A", "C"}]),  # B (west) alone
])
def test_same_region(backend, rule, expected, pattern):
    data = n_forces(["A", "B", "C"], sites=("hA", "hB", "hC"),
                    owners={"hA": "A", "hB": "B", "hC": "C"})
    for f, region in zip(data["forces"], ["east", "west", "east"], strict=True):
        f["region"] = region
    if rule:
        data["policy"] = {"same_region": ["fin"]}
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert member_sets(plan) == pattern


def test_standalone_not_allowed_forces_a_share(backend):
    # 220 a year shared against 200 alone, but alone is not an option: 11,100
    plan = solve(two_forces(fixed=120, standalone_allowed=False), backend)
    assert_optimal(plan, LOCAL + 5 * 220)
    assert member_sets(plan) == [{"A", "B"}]


@pytest.mark.parametrize(("min_members", "expected"), [
    (2, None),  # three forces, units of at most 2, none alone: impossible
    (1, 5 * ((120 + 100) + (120 + 50))),  # a pair and a unit of one: 390 a year -> 1,950
])
def test_standalone_not_allowed_with_small_units(backend, min_members, expected):
    data = n_forces(["A", "B", "C"], fixed=120, sites=("hX", "hY"), max_members=2,
                    min_members=min_members, standalone_allowed=False)
    plan = solve(data, backend)
    if expected is None:
        assert status(plan) == "infeasible"
        return
    assert_optimal(plan, expected)
    assert sorted(len(s) for s in member_sets(plan)) == [1, 2]


def _facility_location(divisible: bool, capacity: float) -> dict:
    """Y = 1; A and B (demand 10 each) must be served from X or Y (F = 10 each).

    Arc costs (a year, whole demand): A->X 1, A->Y 5, B->X 2, B->Y 3.
    """
    return {
        "name": "fl", "horizon_years": 1,
        "forces": [{"id": "A"}, {"id": "B"}],
        "functions": [{"id": "fin", "unit_fixed_cost_gbp": 10, "unit_capacity": capacity,
                       "divisible": divisible, "min_members": 1, "standalone_allowed": False,
                       "arc_cost_gbp": {"A": {"X": 1, "Y": 5}, "B": {"X": 2, "Y": 3}}}],
        "sites": [{"id": "X"}, {"id": "Y"}],
        "costs": [cost("A", "fin", 100, demand=10), cost("B", "fin", 100, demand=10)],
    }


@pytest.mark.parametrize(("divisible", "capacity", "expected"), [
    # 20 > 15: both open (20); X takes A (10) and half of B; cost 1 + 0.5 * 2 + 0.5 * 3
    (True, 15, 20 + 3.5),
    (False, 15, 20 + 1 + 3),  # single source: A at X, B at Y
    (True, 25, 10 + 1 + 2),  # one site serves both
])
def test_divisible_demand_split_across_capacity_limited_sites(backend, divisible, capacity,
                                                              expected):
    plan = solve(_facility_location(divisible, capacity), backend)
    assert_optimal(plan, expected)
    fractions = {(u.site, m.force): m.fraction for u in plan.units for m in u.members}
    if divisible and capacity == 15:
        assert fractions == {("X", "A"): approx(1), ("X", "B"): approx(0.5),
                             ("Y", "B"): approx(0.5)}
        assert sorted(u.demand for u in plan.units) == [approx(5), approx(15)]
    elif not divisible:
        assert fractions == {("X", "A"): 1, ("Y", "B"): 1}


@pytest.mark.parametrize(("sense", "expected", "shared"), [
    ("min_cost", ALONE, False),
    ("max_frontline", LOCAL + 5 * 220, True),  # +4 officers each, at 100 a year more
])
def test_max_frontline_objective(backend, sense, expected, shared):
    # o = 5 officers each, rho d = 0.01 * 100 = 1: sharing returns 4 officers per force
    data = two_forces(fixed=120, officers_per_unit=0.01)
    for c in data["costs"]:
        c["officers_fte"] = 5
    for f in data["forces"]:
        f["frontline_officers_fte"] = 50
    data["objective"] = {"sense": sense}
    plan = solve(data, backend)
    assert_optimal(plan, expected)
    assert member_sets(plan) == ([{"A", "B"}] if shared else [])
    assert force(plan, "A").frontline_fte == pytest.approx(54 if shared else 50, abs=1e-3)


def test_aggregate_target(backend):
    # F = 120: sharing loses 5 * 20 = 100 overall, so an aggregate target > 0 is infeasible;
    # with F = 50 sharing saves 250 >= 200
    data = two_forces(fixed=120)
    data["objective"] = {"aggregate_savings_target_gbp": 1.0}
    assert status(solve(data, backend)) == "infeasible"
    data = variant(two_forces(fixed=50), lambda d: d.update(
        objective={"aggregate_savings_target_gbp": 200.0}))
    assert_optimal(solve(data, backend), LOCAL + 750)
    data["objective"]["aggregate_savings_target_gbp"] = 300.0
    assert status(solve(data, backend)) == "infeasible"


def test_cbc_then_ortools_highs_in_one_process():
    """Regression: PuLP loads highspy's HiGHS; OR-Tools' HiGHS engine then segfaulted."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from helpers import solve, two_forces
        print(solve(two_forces(), "cbc").objective)
        print(solve(two_forces(), "ortools-highs").objective)
    """)
    import pathlib

    here = str(pathlib.Path(__file__).parent)
    proc = subprocess.run([sys.executable, "-c", script, here], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])
    assert [float(v) for v in proc.stdout.split()[-2:]] == [approx(10750), approx(10750)]


def test_status_optimal_when_the_optimum_has_many_digits(backend):
    """Regression: CBC's log prints 'Lower bound: -123.457' (6 significant digits); taken as
    the bound, the gap 2.1e-4 / 123.46 = 1.7e-6 > 1e-6 demoted the optimum to 'feasible'."""
    # F = 75.3086422: sharing changes the cost by 5 * (75.3086422 + 100 - 200) = -123.456789.
    # A's target (1) keeps the programme from being solved in presolve.
    data = two_forces(fixed=75.3086422)
    data["forces"][0]["savings_target_gbp"] = 1.0  # A saves 5 * (100 - 87.654) = 61.73
    plan = solve(data, backend)
    assert_optimal(plan, LOCAL + 5 * (75.3086422 + 100))  # 10,876.543211
    assert plan.gap is not None and plan.gap <= 1e-6
    assert plan.bound <= plan.objective + 1e-6 * abs(plan.objective)  # a lower bound


@pytest.mark.parametrize("any_backend", [
    "cbc", "ortools", "highs", "ortools-highs", "ortools-cpsat"])
def test_nothing_to_share(any_backend):
    # no sites at all: everyone alone, 5 * (100 + 100) = 1,000
    plan = solve(n_forces(["A", "B"], sites=()), any_backend)
    assert_optimal(plan, 1000)
    assert plan.units == []


@pytest.mark.parametrize("any_backend", [
    "cbc", "ortools", "highs", "ortools-highs"])
def test_a_force_that_can_share_with_nobody(any_backend):
    # C opts out: A and B share at hX (50 + 100 a year), C alone (100): 5 * 250 = 1,250.
    # The forces split into the groups {A, B} and {C}; {C} has no variables.
    data = n_forces(["A", "B", "C"])
    data["policy"] = {"opt_outs": [{"force": "C", "function": "fin"}]}
    plan = solve(data, any_backend)
    assert_optimal(plan, 1250)
    assert member_sets(plan) == [{"A", "B"}]
