"""The bundled BCH instance's existing units: budgets stay whole and each member saves
exactly its part of the published saving (derived from the file, no BCH figure pinned)."""

from pathlib import Path

import pytest

from shareplan.models.load import load_instance
from shareplan.solver.run import solve_instance

BCH = Path(__file__).resolve().parents[1] / "instances" / "bch-2013.json"


@pytest.fixture(scope="module")
def bch():
    return load_instance(BCH)[0]


def test_todays_costs_add_up_to_each_budget(bch):
    """sum_s (today's cost of s) = budget_i, where an existing unit's today's cost is the
    member's demand (its cost alone adds the saving it no longer pays)."""
    existing = {e.function for e in bch.existing}
    for f in bch.forces:
        rows = [c for c in bch.costs if c.force == f.id]
        today = sum(c.demand if c.function in existing else c.standalone_cost_gbp for c in rows)
        assert today == pytest.approx(f.budget_gbp, abs=1_000 * len(rows)), f.id


def test_every_existing_unit_is_sourced_and_saves_its_part(bch):
    """With demand = today's cost d_i and v = (A - F) / A, a member pays v d_i + F d_i / A
    = d_i, so it saves c_i - d_i a year: its part of the published saving."""
    existing = {e.function: e for e in bch.existing}
    assert existing
    plan = solve_instance(bch, "highs")
    assert plan.has_solution
    cost = {(c.function, c.force): c for c in bch.costs}
    seen = set()
    for u in plan.units:
        if u.function not in existing:
            continue
        seen.add(u.function)
        assert {m.force for m in u.members} == set(existing[u.function].members)
        for m in u.members:
            c = cost[(u.function, m.force)]
            assert c.demand is not None and c.standalone_cost_gbp > c.demand
            assert m.saving_per_year_gbp == pytest.approx(c.standalone_cost_gbp - c.demand,
                                                          rel=0.01), (u.function, m.force)
            assert "published saving" in c.provenance["standalone_cost_gbp"]
    assert seen == set(existing)
