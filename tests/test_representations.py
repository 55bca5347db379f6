"""Both allocation representations, and the decomposition, give the same optimum.

The exact per-force charge of a unit's fixed and set-up cost is written either
over enumerated member sets or with McCormick products; groups of forces that
can never share are solved apart or together. Every pair must agree.
"""

from __future__ import annotations

import random

import pytest

from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import formulation
from shareplan.solver.checker import check_plan
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance

EXACT = SolveOptions(gap=1e-9)


def random_instance(seed: int, regions: int = 1) -> dict:
    """3-6 forces over ``regions`` regions, 2 shareable functions, targets and floors."""
    rnd = random.Random(seed)
    n = rnd.randint(3, 6)
    forces = []
    for k in range(n):
        budget = rnd.uniform(5e7, 2e8)
        forces.append({
            "id": f"f{k}", "region": f"R{k % regions}", "budget_gbp": budget,
            "frontline_officers_fte": 1000.0,
            **({"savings_target_gbp": rnd.uniform(0, 3e6)} if rnd.random() < 0.6 else {}),
            **({"frontline_floor_fte": rnd.uniform(990, 1000)} if rnd.random() < 0.3 else {}),
        })
    functions = [{"id": fid, "variable_cost_gbp_per_unit": rnd.uniform(0.6, 0.95),
                  "unit_fixed_cost_gbp": rnd.uniform(2e5, 2e6),
                  "unit_setup_cost_gbp": rnd.uniform(0, 2e6),
                  "officers_per_unit": rnd.choice([0.0, 1e-6]),
                  **({"max_members": rnd.randint(2, 4)} if rnd.random() < 0.5 else {}),
                  **({"unit_capacity": rnd.uniform(1e7, 3e7)} if rnd.random() < 0.3 else {})}
                 for fid in ("hr", "ict")]
    functions.append({"id": "local", "shareable": False})
    costs = [{"force": f["id"], "function": s["id"],
              "standalone_cost_gbp": round(rnd.uniform(2e6, 1e7)),
              "officers_fte": rnd.uniform(0, 20),
              "transition_cost_gbp": rnd.uniform(0, 5e5)}
             for f in forces for s in functions]
    return {"name": f"rand{seed}", "horizon_years": rnd.randint(2, 6),
            "discount_rate": rnd.choice([0.0, 0.035]),
            "allocation": rnd.choice(["demand", "equal", "key"]), "forces": forces,
            "functions": functions,
            "sites": [{"id": f"h{k}", "owner": f["id"]} for k, f in enumerate(forces)],
            "costs": costs, "policy": {"same_region": ["hr", "ict"]}}


@pytest.mark.parametrize("seed", range(25))
def test_member_sets_and_mccormick_agree(seed, monkeypatch):
    inst = instance_from_data(random_instance(seed))
    by_sets = solve_instance(inst, "highs", EXACT)
    monkeypatch.setattr(formulation, "MAX_ENUMERATED_SETS", 0)
    mccormick = solve_instance(inst, "highs", EXACT)
    assert by_sets.status == mccormick.status, seed
    if by_sets.has_solution:
        assert by_sets.objective == pytest.approx(mccormick.objective, rel=1e-7, abs=1e-3)
        for plan in (by_sets, mccormick):
            assert check_plan(inst, plan.to_dict()) == []


def test_the_two_representations_are_really_different(monkeypatch):
    """Guard for the test above: the switch changes which families are built."""
    inst = instance_from_data(random_instance(3))
    families = {b.family for b in formulation.build_formulation(build_network(inst)).lp.row_blocks}
    assert "allocation_x" in families and "allocation_z_lb" not in families
    monkeypatch.setattr(formulation, "MAX_ENUMERATED_SETS", 0)
    families = {b.family for b in formulation.build_formulation(build_network(inst)).lp.row_blocks}
    assert "allocation_z_lb" in families and "allocation_x" not in families


@pytest.mark.parametrize("seed", range(15))
def test_decomposition_matches_the_whole_model(seed):
    inst = instance_from_data(random_instance(100 + seed, regions=2))
    apart = solve_instance(inst, "highs", EXACT)
    whole = solve_instance(inst, "highs", EXACT, decompose=False)
    assert apart.status == whole.status, seed
    if apart.has_solution:
        assert "independent groups" in apart.message
        assert apart.objective == pytest.approx(whole.objective, rel=1e-7, abs=1e-3)
        assert check_plan(inst, apart.to_dict()) == []


def test_a_unit_count_keeps_far_apart_groups_together():
    """max_units couples groups that can never share: the model must not be split."""
    data = random_instance(7, regions=2)
    for fn in data["functions"]:
        if fn["id"] == "hr":
            fn["max_units"] = 1
    inst = instance_from_data(data)
    plan = solve_instance(inst, "highs", EXACT)
    assert "independent groups" not in plan.message
    assert sum(u.function == "hr" for u in plan.units) <= 1
    assert check_plan(inst, plan.to_dict()) == []
