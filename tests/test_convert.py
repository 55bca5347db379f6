"""Benchmark converters against published optima, the synthetic generator, and the
national instance (fast: the whole file runs in a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shareplan.convert import holmberg_to_instance, orlib_to_instance, yang_to_instance
from shareplan.generate import generate_instance
from shareplan.models.load import instance_from_data, load_instance
from shareplan.solver.core import SolveOptions, Status
from shareplan.solver.run import solve_instance

ORLIB = Path(__file__).resolve().parents[1] / "bench" / "data" / "orlib"
ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "instances" / "england-wales-43.json"
# capopt.txt values (cap41, cap71) and holmberg/optimal_values.txt (p1)
CAP_OPTIMA = {"cap41": 1040444.375, "cap71": 932615.750}
EXACT = SolveOptions(gap=0.0, time_limit=60)


def _solve(data: dict, backend: str, options: SolveOptions = EXACT):
    return solve_instance(instance_from_data(data), backend, options)


@pytest.mark.parametrize("backend", ["cbc", "ortools"])
@pytest.mark.parametrize("name", sorted(CAP_OPTIMA))
def test_orlib_cap_hits_published_optimum(name, backend):
    plan = _solve(orlib_to_instance(ORLIB / f"{name}.txt"), backend)
    assert plan.status is Status.OPTIMAL
    assert plan.objective == pytest.approx(CAP_OPTIMA[name], abs=1e-3)


@pytest.mark.parametrize("backend", ["cbc", "ortools"])
def test_holmberg_p1_hits_published_optimum(backend):
    plan = _solve(holmberg_to_instance(ORLIB / "holmberg" / "p1"), backend)
    assert plan.status is Status.OPTIMAL
    assert plan.objective == pytest.approx(8848, abs=0.5)


def test_orlib_mapping_fields():
    data = orlib_to_instance(ORLIB / "cap41.txt")
    (fn,) = data["functions"]
    assert (fn["min_members"], fn["standalone_allowed"], fn["divisible"]) == (1, False, True)
    assert len(data["forces"]) == 50 and len(data["sites"]) == 16
    assert all(s.get("owner") is None for s in data["sites"])
    assert data["horizon_years"] == 1 and data["discount_rate"] == 0
    assert fn["hosts"][0] == {"site": "w1", "fixed_cost_gbp": 7500, "capacity": 5000}
    assert data["costs"][0] == {"force": "c1", "function": "supply", "standalone_cost_gbp": 0,
                                "demand": 146}
    assert fn["arc_cost_gbp"]["c1"]["w1"] == pytest.approx(6739.725)
    assert orlib_to_instance(ORLIB / "cap41.txt", single_source=True)["functions"][0][
        "divisible"] is False
    override = orlib_to_instance(ORLIB / "cap41.txt", capacity=9000)
    assert override["name"] == "cap41_capacity9000"
    assert {h["capacity"] for h in override["functions"][0]["hosts"]} == {9000}
    json.dumps(data)  # JSON-ready


TINY_ABC = """ 2 3
 capacity 100.
 capacity 50.
 10
 5. 20.
 10
 6. 30.
 5
 40. 4.
"""


@pytest.mark.parametrize("capacity,single,expected", [
    (25, False, 104.0),  # w2 alone serves everyone: 50 + 20 + 30 + 4
    (20, False, 165.0),  # too small alone: both open, each customer at its cheaper one
    (20, True, 165.0),
    (12, False, None),  # total demand 25 > 2 x 12: no plan at all
])
def test_orlib_capacity_word_replaced(tmp_path, capacity, single, expected):
    path = tmp_path / "capa.txt"
    path.write_text(TINY_ABC)
    data = orlib_to_instance(path, capacity=capacity, single_source=single)
    assert data["name"] == f"capa{capacity}"
    assert all(h["capacity"] == capacity for h in data["functions"][0]["hosts"])
    if capacity == 12:
        # total demand 25 > 24 = two warehouses of 12: no plan at all
        assert _solve(data, "highs").status is Status.INFEASIBLE
        return
    assert _solve(data, "highs").objective == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text,kwargs,match", [
    (TINY_ABC, {}, r"word 'capacity'.*pass the capacity"),
    (TINY_ABC.replace(" 40. 4.\n", ""), {"capacity": 20}, r"ends early.*expected 15 values"),
    (TINY_ABC + " 7\n", {"capacity": 20}, r"1 value\(s\) after the end"),
    (TINY_ABC.replace("6. 30.", "6. thirty"), {"capacity": 20},
     r"line 7 .*cost of serving customer 2 from warehouse 2 is 'thirty'.*not a number"),
    (TINY_ABC.replace(" 2 3", " 0 3"), {}, r"number of warehouses.*must be > 0"),
    (TINY_ABC.replace(" 2 3", " 2.5 3"), {}, r"whole number"),
    (TINY_ABC.replace(" 10\n 5.", " -10\n 5."), {"capacity": 20},
     r"demand of customer 1 is -10; it must be > 0"),
    (TINY_ABC, {"capacity": -5}, r"capacity must be a positive number"),
    ("", {}, r"ends early"),
], ids=["no-capacity", "truncated", "extra", "not-a-number", "zero-m", "fractional-m",
        "negative-demand", "bad-capacity-arg", "empty"])
def test_orlib_malformed_files_give_clear_errors(tmp_path, text, kwargs, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        orlib_to_instance(path, **kwargs)


def test_converters_missing_file_and_wrong_format(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        orlib_to_instance(tmp_path / "nope.txt")
    path = tmp_path / "capx.txt"
    path.write_text(TINY_ABC)
    with pytest.raises(ValueError, match="OR-Library capa/capb/capc feature"):
        holmberg_to_instance(path)


def test_holmberg_layout_and_nul_padding(tmp_path):
    # m=2 n=3; caps/fixed; demands; costs by warehouse (row = c_i1..c_in); DOS NUL padding
    path = tmp_path / "p0"
    path.write_bytes(b"2 3\n20 100\n25 50\n10 10 5\n5 6 40\n20 30 4\n" + b"\x00" * 16)
    data = holmberg_to_instance(path)
    fn = data["functions"][0]
    assert fn["divisible"] is False
    assert fn["arc_cost_gbp"]["c3"] == {"w1": 40, "w2": 4}
    assert _solve(data, "highs").objective == pytest.approx(104.0)
    path.write_bytes(b"2 3\n20 100\n25 50\n10 10 5\n5 6 40\n20 30\n")
    with pytest.raises(ValueError, match=r"ends early.*expected 15 values"):
        holmberg_to_instance(path)


def test_generator_is_deterministic_and_seeded():
    a = generate_instance(forces=9, functions=4, seed=11)
    b = generate_instance(forces=9, functions=4, seed=11)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a != generate_instance(forces=9, functions=4, seed=12)


@pytest.mark.parametrize("forces,functions,seed", [(6, 2, 0), (8, 3, 1), (1, 1, 5)])
def test_generated_instances_load_and_solve(forces, functions, seed):
    data = generate_instance(forces=forces, functions=functions, seed=seed)
    inst = instance_from_data(data)
    assert len(inst.forces) == forces
    assert sum(s.shareable for s in inst.functions) == functions
    assert all(h.owner == f"{h.id.removesuffix('_hq')}" for h in inst.sites)
    if forces > 1:
        assert any(f.savings_target_gbp for f in inst.forces)  # targets on by default
        assert all(s.max_members == 4 for s in inst.functions if s.shareable)
        assert set(inst.policy.max_distance_km.values()) == {150.0}
    plan = solve_instance(inst, "highs", SolveOptions(time_limit=30))
    assert plan.status is Status.OPTIMAL
    savings = {f.force: f.savings_gbp for f in plan.forces}
    for f in inst.forces:
        if f.savings_target_gbp is not None:
            assert savings[f.id] >= f.savings_target_gbp - 1.0
    for fr in plan.forces:
        if fr.floor_fte is not None:
            assert fr.frontline_fte >= fr.floor_fte - 1e-6


def test_generated_economies_of_scale():
    data = generate_instance(forces=10, functions=3, seed=2)
    per_unit = {}
    for c in data["costs"]:
        if c.get("demand"):
            per_unit.setdefault(c["function"], []).append(c["standalone_cost_gbp"] / c["demand"])
    for fn in data["functions"]:
        if fn["shareable"]:
            mean_unit_cost = sum(per_unit[fn["id"]]) / len(per_unit[fn["id"]])
            assert fn["variable_cost_gbp_per_unit"] < mean_unit_cost
            assert fn["unit_fixed_cost_gbp"] > 0 and fn["unit_setup_cost_gbp"] > 0


def test_national_instance_loads():
    """The national file carries the BCH functions, mechanisms and go-lives (it is built
    from bch-2013.json's calibration) and labels every estimate."""
    inst, _ = load_instance(NATIONAL)
    bch, _ = load_instance(NATIONAL.parent / "bch-2013.json")
    assert len(inst.forces) == 43 and len(inst.sites) == 43
    shareable = {s.id: s for s in inst.functions if s.shareable}
    existing = {e.function for e in bch.existing}
    bch_new = {s.id: s for s in bch.functions if s.shareable and s.id not in existing}
    assert set(shareable) == set(bch_new)
    for sid, fn in shareable.items():
        assert (fn.mechanism, fn.go_live_year) == (bch_new[sid].mechanism,
                                                   bch_new[sid].go_live_year), sid
    assert any(not s.shareable for s in inst.functions)
    assert {h.owner for h in inst.sites} == {f.id for f in inst.forces}
    for f in inst.forces:
        assert f.savings_need_gbp and f.frontline_floor_fte and f.region
        for field in ("budget_gbp", "frontline_floor_fte", "savings_need_gbp"):
            assert f.provenance[field].startswith("ESTIMATE"), (f.id, field)
        assert f.provenance["frontline_officers_fte"].startswith("DERIVED"), f.id
    assert all(c.staff_fte >= 0 for c in inst.costs)
    assert inst.sources


def test_yang_layout_by_hand(tmp_path):
    # Holmberg layout, whole numbers: m=2 n=3; caps/fixed; demands; costs by warehouse
    path = tmp_path / "p0"
    path.write_text("2    3\n20      100\n25      50\n10   10   5   \n5   6   40\n20   30   4\n")
    data = yang_to_instance(path)
    fn = data["functions"][0]
    assert data["name"] == "yang_p0" and fn["divisible"] is False
    assert fn["hosts"][1] == {"site": "w2", "fixed_cost_gbp": 50, "capacity": 25}
    assert fn["arc_cost_gbp"]["c3"] == {"w1": 40, "w2": 4}
    assert [c["demand"] for c in data["costs"]] == [10, 10, 5]
    assert "Yang" in data["sources"][0]
    # w1 alone: 100 + 5 + 6 + 40 = 151 but 25 > 20; w2 alone: 50 + 20 + 30 + 4 = 104 (25 fits)
    assert _solve(data, "highs").objective == pytest.approx(104.0)


def test_yang_refuses_fractions_and_short_files(tmp_path):
    path = tmp_path / "p0"
    path.write_text("2 3\n20 100\n25 50\n10 10 5\n5 6 40\n20 30.5 4\n")
    with pytest.raises(ValueError, match=r"customer 2 from warehouse 2 is 30.5.*whole"):
        yang_to_instance(path)
    path.write_text("2 3\n20 100\n25 50\n10 10 5\n5 6 40\n")
    with pytest.raises(ValueError, match=r"ends early.*expected 15 values"):
        yang_to_instance(path)


def test_yang_bundled_file_sizes_and_first_values():
    data = yang_to_instance(ORLIB / "yang" / "p1")
    fn = data["functions"][0]
    assert len(data["sites"]) == 30 and len(data["forces"]) == 200
    assert fn["hosts"][0] == {"site": "w1", "fixed_cost_gbp": 1712, "capacity": 220}
    assert data["costs"][0]["demand"] == 14
    assert fn["arc_cost_gbp"]["c1"]["w1"] == 121 and fn["arc_cost_gbp"]["c2"]["w1"] == 37
    big = yang_to_instance(ORLIB / "yang" / "p20")
    assert (len(big["sites"]), len(big["forces"])) == (80, 400)
    optima = (ORLIB / "yang" / "optimal_values.txt").read_text().split()
    assert optima[:2] == ["p1", "30181"] and len(optima) == 40


def test_cli_convert_yang(tmp_path):
    import subprocess
    import sys

    src = tmp_path / "p0"
    src.write_text("2 3\n20 100\n25 50\n10 10 5\n5 6 40\n20 30 4\n")
    out = tmp_path / "p0.json"
    ok = subprocess.run([sys.executable, "-m", "shareplan.cli", "convert", "yang", str(src),
                         "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["name"] == "yang_p0"
    src.write_text("2 3\n20 100\n25 50\n10 10 5.5\n5 6 40\n20 30 4\n")
    bad = subprocess.run([sys.executable, "-m", "shareplan.cli", "convert", "yang", str(src),
                          "--out", str(tmp_path / "bad.json")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "demand of customer 3 is 5.5" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "bad.json").exists()
