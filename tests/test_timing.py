"""Go-live timing, dual running, one-offs when they fall, the two saving mechanisms,
multi-site units, relocation, police staff and the savings need: tiny instances
worked out by hand, on every backend (each plan also passes the checker).

Base case (helpers.two_forces): forces A and B, 'fin' costs 100 a year each alone;
shared at hA (A's site) it costs F = 20 + v d = 0.5 x 100 each: 60 a year per force
with demand allocation, a saving of 40 a year per force once live. Y = 4, r = 0.
"""

from __future__ import annotations

import pytest
from helpers import BACKENDS, approx, force, solve, status, two_forces, units_of

from shareplan.models.load import InstanceError, instance_from_data
from shareplan.models.rules import check_warnings
from shareplan.solver.checker import check_plan


def shared_fin(**fn_extra) -> dict:
    data = two_forces(fixed=20.0, horizon=4, **fn_extra)
    data["functions"][0]["hosts"] = [{"site": "hA"}]
    return data


@pytest.mark.parametrize("backend", BACKENDS)
def test_go_live_counts_only_live_years(backend):
    """Live from 2.5: year 1 none, year 2 half, years 3-4 whole: 2.5 x 40 per force."""
    plan = solve(shared_fin(go_live_year=2.5), backend)
    assert status(plan) == "optimal"
    for f in ("A", "B"):
        assert force(plan, f).savings_gbp == approx(2.5 * 40)
        assert force(plan, f).yearly_savings_gbp == pytest.approx([0, 20, 40, 40], abs=0.01)
    (unit,) = units_of(plan, "fin")
    assert unit.go_live_year == 2.5
    assert unit.saving_per_year_gbp == approx(80)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dual_running_and_one_off_in_its_year(backend):
    """Go-live 2.5 after a year of dual running (paid from 1.5); transition 10 each at 1.5.

    Per force, year by year: the unit's 60 a year is paid from 1.5, its own 100 stops at 2.5:
    year 1: 0.5 x 60 + 10 = 40 more; year 2: 60 - 0.5 x 100 = 10 more; years 3, 4: 40 less.
    Horizon: 80 - 50 = 30 saved per force; sharing still pays, so the plan shares.
    """
    data = shared_fin(go_live_year=2.5, dual_running_years=1.0)
    for c in data["costs"][:2]:
        c["transition_cost_gbp"] = 10.0
    plan = solve(data, backend)
    assert status(plan) == "optimal"
    for f in ("A", "B"):
        assert force(plan, f).yearly_savings_gbp == pytest.approx([-40, -10, 40, 40], abs=0.01)
        assert force(plan, f).savings_gbp == approx(30)
        assert force(plan, f).one_off_gbp == approx(10)
    (unit,) = units_of(plan, "fin")
    assert unit.payback_years == pytest.approx(20 / 80, abs=0.01)
    assert unit.yearly_savings_gbp == pytest.approx([-80, -20, 80, 80], abs=0.01)
    assert unit.one_off_year == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_next_best_host_priced_by_hand(backend):
    """hA has F = 20, hB F = 25 a year: the unit sits at hA; hB costs 4 x 5 = 20 more."""
    data = shared_fin()
    data["functions"][0]["hosts"] = [{"site": "hA"}, {"site": "hB", "fixed_cost_gbp": 25.0}]
    plan = solve(data, backend)
    (unit,) = units_of(plan, "fin")
    assert unit.site == "hA"
    assert (unit.next_best_site, unit.next_best_extra_gbp) == ("hB", approx(20))


@pytest.mark.parametrize("backend", BACKENDS)
def test_late_go_live_with_dual_running_does_not_pay(backend):
    """Go-live 4 with 2 years of dual running: 3 x 60 paid + 10 one-off vs 1 x 100 saved."""
    data = shared_fin(go_live_year=4.0, dual_running_years=2.0)
    for c in data["costs"][:2]:
        c["transition_cost_gbp"] = 10.0
    plan = solve(data, backend)
    assert status(plan) == "optimal" and units_of(plan, "fin") == []
    assert plan.objective == approx(4 * (2 * 1000 + 200))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_offs_discounted_to_when_they_fall(backend):
    """r = 10%, set-up G = 40 paid at the start of year 3: 40 / 1.1^2 = 33.06; live from 1.

    Shared: per force 60 a year; alone 100: horizon cost 4 x 2,200 discounted less
    (2 x 40) x alpha + 33.06 where alpha = sum_{k=1..4} 1.1^-k = 3.169865.
    """
    data = two_forces(fixed=20.0, setup=40.0, horizon=4, rate=0.1, one_off_year=3.0)
    data["functions"][0]["hosts"] = [{"site": "hA"}]
    alpha = sum(1.1 ** -k for k in range(1, 5))
    plan = solve(data, backend)
    assert status(plan) == "optimal"
    assert plan.objective == approx(alpha * 2 * 1100 - 80 * alpha + 40 / 1.1 ** 2)
    # cash: the 40 set-up (20 each) falls in year 3
    assert force(plan, "A").yearly_savings_gbp == pytest.approx([40, 40, 20, 40], abs=0.01)


def two_far_forces(mechanism: str) -> dict:
    """B is 1 degree of latitude (111.2 km) from A's site; travel 0.002 per unit per km."""
    data = shared_fin(mechanism=mechanism)
    data["forces"] = [{"id": "A", "lat": 52.0, "lon": 0.0}, {"id": "B", "lat": 51.0, "lon": 0.0}]
    data["sites"] = [{"id": "hA", "owner": "A", "lat": 52.0, "lon": 0.0},
                     {"id": "hB", "owner": "B", "lat": 51.0, "lon": 0.0}]
    if mechanism == "co_located":
        data["functions"][0]["travel_cost_gbp_per_unit_km"] = 0.002
        data["costs"][1]["relocation_cost_gbp"] = 30.0
    data["costs"][1]["transition_cost_gbp"] = 5.0
    return data


@pytest.mark.parametrize("backend", BACKENDS)
def test_co_located_pays_travel_and_relocation(backend):
    """B travels 111.195 km: 0.002 x 100 x 111.195 = 22.24 a year; relocation 30 + transition 5.

    B saves 4 x (40 - 22.24) - 35 = 36.04; A saves 4 x 40 = 160.
    """
    plan = solve(two_far_forces("co_located"), backend)
    assert status(plan) == "optimal"
    travel = 0.002 * 100 * 111.19508
    assert force(plan, "B").savings_gbp == pytest.approx(4 * (40 - travel) - 35, abs=0.02)
    assert force(plan, "A").savings_gbp == approx(160)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jointly_managed_work_stays_put(backend):
    """Jointly managed: no travel, no relocation; only the transition of 5 remains."""
    plan = solve(two_far_forces("jointly_managed"), backend)
    assert status(plan) == "optimal"
    assert force(plan, "B").savings_gbp == approx(160 - 5)
    assert units_of(plan, "fin")[0].mechanism == "jointly_managed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_multi_site_unit_costs_each_site_and_spares_relocation(backend):
    """A unit at hA that also runs from hB (10 a year more): F = 30, 15 each; B owns hB so
    it pays no relocation (30). Saving per force 4 x (50 - 15) = 140."""
    data = two_far_forces("co_located")
    data["functions"][0]["travel_cost_gbp_per_unit_km"] = 0.0
    data["functions"][0]["hosts"] = [{"site": "hA", "also_sites": [
        {"site": "hB", "fixed_cost_gbp": 10.0}]}]
    plan = solve(data, backend)
    assert status(plan) == "optimal"
    assert force(plan, "A").savings_gbp == approx(140)
    assert force(plan, "B").savings_gbp == approx(140 - 5)
    (unit,) = units_of(plan, "fin")
    assert unit.sites == ["hA", "hB"] and unit.annual_cost_gbp == approx(130)


@pytest.mark.parametrize("backend", BACKENDS)
def test_staff_released(backend):
    """Staff 10 and 6 in 'fin'; a shared unit needs 0.04 per demand unit (4 per force)."""
    data = shared_fin(staff_per_unit=0.04)
    data["costs"][0]["staff_fte"] = 10.0
    data["costs"][1]["staff_fte"] = 6.0
    plan = solve(data, backend)
    assert force(plan, "A").staff_released_fte == approx(6)
    assert force(plan, "B").staff_released_fte == approx(2)


def test_target_is_need_less_other_measures():
    data = shared_fin()
    data["forces"][0].update(savings_need_gbp=500.0, savings_from_other_measures_gbp=380.0)
    inst = instance_from_data(data)
    assert inst.forces[0].savings_target_gbp == 120.0
    plan = solve(data)
    assert force(plan, "A").target_gbp == 120.0 and force(plan, "A").savings_gbp >= 120.0
    assert check_warnings(inst) == []
    for given in (100.0, None):  # an explicit target (or none) wins, with a warning
        data["forces"][0]["savings_target_gbp"] = given
        inst = instance_from_data(data)
        assert inst.forces[0].savings_target_gbp == given
        (warning,) = check_warnings(inst)
        assert warning.path == "forces[0].savings_target_gbp" and "£120" in warning.message
    del data["forces"][0]["savings_target_gbp"]
    data["forces"][0].update(savings_from_other_measures_gbp=600.0)
    with pytest.raises(InstanceError, match="savings_from_other_measures_gbp"):
        instance_from_data(data)


@pytest.mark.parametrize(("edit", "path"), [
    (lambda d: d["functions"][0]["hosts"][0].update(also_sites=[{"site": "nowhere"}]),
     "also_sites[0].site"),
    (lambda d: d["functions"][0]["hosts"][0].update(also_sites=[{"site": "hA"}]),
     "also_sites[0].site"),
    (lambda d: d["functions"][0].update(mechanism="jointly_managed",
                                        travel_cost_gbp_per_unit_km=0.1),
     "travel_cost_gbp_per_unit_km"),
    (lambda d: (d["functions"][0].update(mechanism="jointly_managed"),
                d["costs"][0].update(relocation_cost_gbp=5.0)), "relocation_cost_gbp"),
])
def test_bad_mechanism_fields_are_named(edit, path):
    data = shared_fin()
    edit(data)
    with pytest.raises(InstanceError, match=path.replace("[", r"\[").replace("]", r"\]")):
        instance_from_data(data)


def test_checker_catches_wrong_yearly_figures():
    data = shared_fin(go_live_year=2.0)
    inst = instance_from_data(data)
    plan = solve(data).to_dict()
    plan["forces"][0]["yearly_savings_gbp"][1] += 5.0
    assert {v.rule for v in check_plan(inst, plan)} == {"cost_mismatch"}
    plan["forces"][0]["yearly_savings_gbp"] = [1.0]
    assert {v.rule for v in check_plan(inst, plan)} == {"format"}


def test_csv_carries_the_year_by_year_table(tmp_path):
    """yearly.csv: one row per force and horizon year, the plan's cash savings."""
    import csv

    from shareplan.report import write_csv

    plan = solve(shared_fin(go_live_year=2.5))
    paths = write_csv(plan, tmp_path)
    with open(tmp_path / "yearly.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tmp_path / "yearly.csv" in paths and len(rows) == 2 * 4
    got = [float(r["savings_gbp_cash"]) for r in rows if r["force"] == "A"]
    assert got == pytest.approx([0, 20, 40, 40], abs=0.01)
