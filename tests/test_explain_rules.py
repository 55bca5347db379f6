"""The infeasibility explanation names every rule of the smallest relaxation in words
(issue 14 part 4): the must-share rule with the savings it costs, max_members with targets
on, and the distance, region and opt-out rules that prune arcs. Hand-checked instances.
"""

from __future__ import annotations

import pytest
from helpers import BACKENDS, KM_PER_DEGREE, two_forces

from shareplan.models.load import instance_from_data
from shareplan.solver.core import SolveOptions
from shareplan.solver.explain import _least_violation
from shareplan.solver.run import solve_instance


def explained(data, backend="cbc"):
    plan = solve_instance(instance_from_data(data), backend)
    assert plan.status.value == "infeasible", (plan.status, plan.message)
    return plan.explanation


def far_apart(km=100.0, limit=50.0):
    """A and B `km` apart (along a meridian), fin shared only within `limit` km.

    Sharing fin at either HQ (no travel cost): A pays 0.5 x 100 + 50 x 100 / 200 = 75 a
    year against 100 alone, so A saves 5 x 25 = 125; alone A saves 0.
    """
    data = two_forces()
    data["forces"][0].update(lat=52.0, lon=0.0, name="Avon", savings_target_gbp=100.0)
    data["forces"][1].update(lat=52.0 + km / KM_PER_DEGREE, lon=0.0, name="Bucks")
    data["sites"][0].update(lat=52.0, lon=0.0, name="Avon HQ")
    data["sites"][1].update(lat=52.0 + km / KM_PER_DEGREE, lon=0.0, name="Bucks HQ")
    data["policy"] = {"max_distance_km": {"fin": limit}}
    return data


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_too_short_distance_limit_is_named(backend):
    reasons = explained(far_apart(), backend)
    assert reasons[0]["rule"] == "savings_target"  # what the rules as they stand allow
    [distance] = [r for r in reasons if r["rule"] == "max_distance"]
    assert distance["function"] == "fin" and distance["limit_km"] == 50.0
    assert distance["distance_km"] == pytest.approx(100.0, abs=0.1)
    assert "50 km distance limit on fin" in distance["message"]
    assert "100 km away" in distance["message"]
    assert distance["fewest"] and "needs one exception (the fewest)" in distance["message"]
    # with the limit at 101 km the same instance has a plan: the explanation was right
    ok = solve_instance(instance_from_data(far_apart(limit=101.0)), backend)
    assert ok.status.value == "optimal"


def test_region_and_opt_out_rules_are_named():
    data = far_apart(km=10.0)  # within the distance limit
    data["forces"][0]["region"], data["forces"][1]["region"] = "East", "West"
    data["policy"] = {"same_region": ["fin"]}
    [target, region] = explained(data)
    assert target["rule"] == "savings_target"
    assert region["rule"] == "same_region" and "same-region rule on fin" in region["message"]
    assert "East against West" in region["message"]

    data = far_apart(km=10.0)
    data["policy"] = {"opt_outs": [{"force": "B", "function": "fin"}]}
    reasons = explained(data)
    assert [r["rule"] for r in reasons] == ["savings_target", "opt_out"]
    assert reasons[1]["force"] == "B" and "opt-out of fin" in reasons[1]["message"]


def must_share_without_partner():
    """A must share fin, B opts out of it and a unit needs two members: only relaxing the
    must-share rule gives a plan, and then A runs fin alone and saves 0 against 100.
    (Alone in a unit A would save 5 (100 - 50 - 10) = 200 >= 100: the pre-check passes.)"""
    data = two_forces(fixed=10.0)
    data["forces"][0]["savings_target_gbp"] = 100.0
    data["policy"] = {"must_share": [{"force": "A", "function": "fin"}],
                      "opt_outs": [{"force": "B", "function": "fin"}]}
    return data


def test_relaxing_a_must_share_rule_shows_the_savings_it_costs():
    reasons = explained(must_share_without_partner())
    rules = [r["rule"] for r in reasons if not r.get("alternative")]
    assert sorted(rules) == ["must_share", "savings_target"], reasons
    target = next(r for r in reasons if r["rule"] == "savings_target")
    assert target["achievable"] == pytest.approx(0.0, abs=1e-6)  # A runs fin alone
    # the alternative: B's opt-out waived, A and B share fin (A pays 50 + 5 a year: saves 225)
    [opt_out] = [r for r in reasons if r.get("alternative")]
    assert (opt_out["rule"], opt_out["force"]) == ("opt_out", "B")


def one_site_three_forces(max_members=2):
    """A, B, C share fin at the one ownerless site X (one unit), F = 40, v = 0.5, c = 100:
    in a pair each pays 50 + 20 = 70 (saves 150 over 5 years), in the trio 50 + 13.33
    (saves 183.33). Targets 170 each: only the trio meets them, and max_members is 2."""
    data = two_forces(fixed=40.0, max_members=max_members)
    data["forces"].append({"id": "C"})
    data["sites"] = [{"id": "X", "name": "Welwyn"}]
    data["costs"] += [{"force": "C", "function": "fin", "standalone_cost_gbp": 100.0},
                      {"force": "C", "function": "resp", "standalone_cost_gbp": 1000.0}]
    for f in data["forces"]:
        f["savings_target_gbp"] = 170.0
    return data


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_members_is_relaxed_with_targets_on(backend):
    """Member sets are enumerated up to max_members when targets are on; the elastic
    re-solve still finds that one more member is the smallest relaxation (weight 1, against
    20/170 + 20/170 + 170/170 for the targets of the best pair)."""
    inst = instance_from_data(one_site_three_forces())
    assert solve_instance(instance_from_data(one_site_three_forces(3)),
                          backend).status.value == "optimal"
    reasons = _least_violation(inst, {"fin": 2}, backend, SolveOptions())
    assert [r["rule"] for r in reasons] == ["unit_size"], reasons
    assert reasons[0]["extra_members"] == pytest.approx(1.0)
    assert "than its maximum of 2 (functions.fin.max_members)" in reasons[0]["message"]
    # through the whole command the pre-check already sees it: at most 150 against 170
    plan = solve_instance(inst, backend)
    assert plan.status.value == "infeasible"
    assert plan.explanation[0]["achievable"] == pytest.approx(150.0)
