"""The briefing: totals, per force and unit, unshared functions and why, shadow costs, 80 columns.

Expected figures are worked out by hand on instances/tiny-two-forces.json (its
description has the arithmetic): unit at north_hq, savings north 370,000 and south
430,000 over 5 years (r = 0), one-offs 130,000 and 170,000; a year once running
(370,000 + 130,000) / 5 = 100,000 and (430,000 + 170,000) / 5 = 120,000; the unit
costs 150,000 + 0.6 x 1,000,000 + 30,000 = 780,000 a year against 1,000,000 alone.
Without north's target the unit moves to south_hq (64,150,000 against 64,200,000), so
that target costs 50,000 although it is slack (370,000 against 300,000).
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import BACKENDS, approx, two_forces

from shareplan.cli import cli
from shareplan.models.load import instance_from_data, load_instance
from shareplan.report import briefing_lines, format_value
from shareplan.reports.briefing import make_briefing, measure_shadow_costs
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance
from shareplan.testing.randinst import random_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny-two-forces.json"


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def briefing_of(inst, backend="cbc", shadow=True):
    plan = solve_instance(inst, backend).to_dict()
    costs = measure_shadow_costs(inst, plan, backend, SolveOptions()) if shadow else None
    return make_briefing(inst, plan, costs), plan


def row(table, key, value):
    return next(r for r in table.rows if r[key] == value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_briefing_by_hand(backend):
    inst, _ = load_instance(TINY)
    b, _ = briefing_of(inst, backend)
    summary = {r["figure"]: r["value"] for r in b.summary.rows}
    assert summary["savings over the horizon"] == approx(800_000)
    assert summary["savings a year once running"] == approx(220_000)
    assert summary["one-off costs"] == approx(300_000)
    assert summary["payback"] == pytest.approx(300 / 220, abs=0.01)
    north = row(b.table("forces"), "force", "north")
    assert north["savings_a_year_gbp"] == approx(100_000)
    assert north["margin_gbp"] == approx(70_000)
    assert north["frontline_before_fte"] == approx(98) and north["frontline_after_fte"] == \
        approx(98.8)
    unit = b.table("units").rows[0]
    assert unit["host"] == "North HQ" and unit["members"] == "North force, South force"
    assert unit["alone_a_year_gbp"] == approx(1_000_000)
    assert unit["unit_a_year_gbp"] == approx(780_000)
    assert unit["saves_a_year_gbp"] == approx(220_000)
    fn = row(b.table("functions"), "function", "finance")
    assert fn["before_a_year_gbp"] == approx(1_000_000) and fn["after_a_year_gbp"] == approx(
        780_000)
    target = row(b.table("constraints"), "rule", "savings target of North force")
    assert target["cost_gbp"] == pytest.approx(50_000, abs=1.0)  # slack, yet it costs
    assert target["slack"].startswith("£70.0k")
    floor = row(b.table("constraints"), "rule", "frontline floor of North force")
    assert floor["cost_gbp"] == 0
    assert not b.accounting["discounted"]


def test_discounted_money_says_so_and_a_year_undoes_the_annuity():
    data = json.loads(TINY.read_text())
    data["discount_rate"] = 0.035
    inst = instance_from_data(data)
    b, plan = briefing_of(inst, shadow=False)
    assert b.accounting["discounted"] and "3.5%" in b.accounting["text"]
    alpha = inst.annuity_factor
    for f, r in zip(plan["forces"], b.table("forces").rows):
        assert r["savings_a_year_gbp"] * alpha == pytest.approx(
            f["savings_gbp"] + f["one_off_gbp"], abs=0.05)
    assert "present value" in b.table("forces").columns[1].unit


def test_unshared_reasons():
    base = two_forces(fixed=5000.0)  # a unit costs more than both pay alone
    b, _ = briefing_of(instance_from_data(base), shadow=False)
    assert row(b.table("unshared"), "function", "fin")["reason"].startswith("not worth it")
    opted = two_forces()
    opted["policy"] = {"opt_outs": [{"force": "A", "function": "fin"}]}
    b, _ = briefing_of(instance_from_data(opted), shadow=False)
    assert row(b.table("unshared"), "function", "fin")["reason"].startswith("opt-out")
    far = two_forces()
    far["forces"] = [{"id": "A", "lat": 50.0, "lon": 0.0}, {"id": "B", "lat": 53.0, "lon": 0.0}]
    far["sites"] = [{"id": "hA", "owner": "A", "lat": 50.0, "lon": 0.0},
                    {"id": "hB", "owner": "B", "lat": 53.0, "lon": 0.0}]
    far["policy"] = {"max_distance_km": {"fin": 10}}
    b, _ = briefing_of(instance_from_data(far), shadow=False)
    assert row(b.table("unshared"), "function", "fin")["reason"].startswith("policy")
    small = two_forces(unit_capacity=150.0)  # one force's demand (100) fits, two do not
    b, _ = briefing_of(instance_from_data(small), shadow=False)
    assert row(b.table("unshared"), "function", "fin")["reason"].startswith("capacity")
    assert "resp" in b.table("unshared").note or "local" in b.table("unshared").note


def _numbers_whole(b, text: str) -> None:
    """Every figure of the force and unit tables appears uncut in the text."""
    for name in ("forces", "units", "functions"):
        t = b.table(name)
        for r in t.rows:
            for c in t.columns:
                if c.kind in ("gbp", "fte", "years"):
                    assert format_value(r[c.key], c.kind) in text, (name, c.key, r[c.key])


def test_fits_80_columns_without_cutting_a_number():
    inst, _ = load_instance(ROOT / "instances" / "bch-2013.json")
    b, _ = briefing_of(inst, shadow=False)
    lines = briefing_lines(b, 80)
    assert max(len(line) for line in lines) <= 80
    _numbers_whole(b, "\n".join(lines))
    for seed in range(3):  # long names, random options
        data = random_instance(random.Random(seed))
        for f in data["forces"]:
            f["name"] = "The Police Force of " + f["id"] + " and its Surrounding Districts"
        b, _ = briefing_of(instance_from_data(data), shadow=False)
        if not b.has_solution:
            continue
        lines = briefing_lines(b, 80)
        assert max(len(line) for line in lines) <= 80
        _numbers_whole(b, "\n".join(lines))


def test_cli_prints_the_briefing_in_80_columns(tmp_path, monkeypatch):
    # a clone can sit deep in the file system: the instance's path line wraps too
    monkeypatch.chdir(tmp_path)
    deep = Path("d" * 50) / "tiny-two-forces.json"
    deep.parent.mkdir()
    deep.write_bytes(TINY.read_bytes())
    assert 80 - len("instance file: ") < len(str(deep)) <= 78
    result = run(deep, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for phrase in ("savings over the horizon", "not discounted", "Shared units", "North HQ",
                   "Rules that bind", "The model"):
        assert phrase in out
    assert out.index("savings over the horizon") < out.index("objective")  # totals lead
    # South HQ is cheaper but would break North's target: said so, not as "-£50.0k more"
    assert "more" not in out.split("host choice")[1].split("a year:")[0]
    assert "ruled out by a target" in " ".join(out.split())


def test_json_and_csv_carry_the_briefing_with_units(tmp_path):
    result = run(TINY, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    br = doc["briefing"]
    assert br["accounting"]["discount_rate"] == 0 and br["accounting"]["horizon_years"] == 5
    cols = {c["key"]: c["unit"] for c in br["forces"]["columns"]}
    assert "GBP" in cols["savings_gbp"] and "FTE" in cols["frontline_after_fte"]
    assert {r["rule"] for r in br["constraints"]["rows"]} >= {"savings target of North force"}
    out = tmp_path / "tables"
    assert run(TINY, "--csv", out, "--quiet").exit_code == 0
    with open(out / "briefing_units.csv", encoding="utf-8") as fh:
        units = list(csv.DictReader(fh))
    assert float(units[0]["saves_a_year_gbp"]) == approx(220_000)
    with open(out / "briefing_columns.csv", encoding="utf-8") as fh:
        columns = {(r["table"], r["column"]): r["unit"] for r in csv.DictReader(fh)}
    assert "a year" in columns[("units", "saves_a_year_gbp")]


def test_year_table_is_rendered_when_the_plan_has_one():
    inst, _ = load_instance(TINY)
    plan = solve_instance(inst).to_dict()
    plan["years"] = [{"year": 1, "savings_gbp": 10.0}, {"year": 2, "savings_gbp": 20.0}]
    b = make_briefing(inst, plan)
    years = b.table("years")
    assert years is not None and [r["year"] for r in years.rows] == [1, 2]
    text = "\n".join(briefing_lines(b, 80))
    assert "Year by year" in text and "£20.00" in text
    assert re.search(r"shadow costs not measured", text)


def test_a_force_left_out_of_a_shared_function_says_why():
    data = two_forces()
    data["forces"].append({"id": "C"})
    data["costs"].append({"force": "C", "function": "fin", "standalone_cost_gbp": 100.0})
    data["costs"].append({"force": "C", "function": "resp", "standalone_cost_gbp": 1000.0})
    data["policy"] = {"opt_outs": [{"force": "C", "function": "fin"}]}
    b, plan = briefing_of(instance_from_data(data), shadow=False)
    assert {m["force"] for u in plan["units"] for m in u["members"]} == {"A", "B"}
    assert row(b.table("unshared"), "name", "fin: C alone")["reason"] == "opt-out"


def test_per_force_year_series_become_a_year_table():
    inst, _ = load_instance(TINY)
    plan = solve_instance(inst).to_dict()
    for f in plan["forces"]:
        f["yearly_savings_gbp"] = [0.0, 50_000.0, 100_000.0]
    years = make_briefing(inst, plan).table("years")
    assert [c.label for c in years.columns] == ["force", "year 1", "year 2", "year 3"]
    assert years.title.startswith("Savings year by year (cash")
    assert years.rows[0]["name"] == "North force" and years.rows[0]["3"] == 100_000.0
    plan["first_financial_year"] = 2014
    labels = [c.label for c in make_briefing(inst, plan).table("years").columns]
    assert labels == ["force", "2014/15", "2015/16", "2016/17"]
    assert max(len(line) for line in briefing_lines(make_briefing(inst, plan), 80)) <= 80
