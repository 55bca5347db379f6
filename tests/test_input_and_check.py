"""The input the user named or a refusal; `check` that misses nothing; validation a planner
needs (issue 14, parts 2 to 4). Tiny hand-checkable instances, figures worked out by hand.
"""

from __future__ import annotations

import copy
import json
import zipfile

import pytest
from helpers import cost, two_forces
from helpers import run_cli as run
from helpers import write_json as write

from shareplan.models.load import InstanceError, instance_from_data
from shareplan.models.rules import check_warnings
from shareplan.solver.checker import check_plan_file

BIG = 1e9  # money of this size: a £1,000 edit is 1e-6 of it


def problems_of(data) -> list[str]:
    with pytest.raises(InstanceError) as err:
        instance_from_data(data)
    return [str(p) for p in err.value.problems]


def big_two():
    """two_forces at £1bn scale: sharing fin costs 5 (F + v (c_A + c_B)) = 5 (0.05 + 1) BIG,
    against 5 (2 BIG) alone, plus 5 x 10 BIG of local policing each."""
    return two_forces(fixed=0.05 * BIG, c=(BIG, BIG), local=(10 * BIG, 10 * BIG))


@pytest.fixture
def solved(tmp_path):
    """(instance path, plan path, plan dict) of big_two solved on the default backend."""
    inst = write(tmp_path, big_two())
    out = tmp_path / "plan.json"
    result = run(inst, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["objective"] == pytest.approx(5 * (20 * BIG + 0.05 * BIG + BIG), rel=1e-9)
    return inst, out, plan


# ---------------------------------------------------------------- 2. the input named


def test_a_missing_path_is_refused_not_replaced_by_a_bundled_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ([], ["validate"]):
        result = run(*command, "my_edits/tiny-infeasible.json")
        assert result.exit_code == 2, result.output
        assert "no such file" in result.output and "tiny-infeasible" in result.output
        assert "infeasible:" not in result.output  # nothing was solved
    result = run("tiny-infeasible.json")  # a file name is a path too
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_bundled_instance_by_bare_name_and_the_output_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("tiny-two-forces")
    assert result.exit_code == 0, result.output
    named = [ln for ln in result.output.splitlines() if ln.startswith("instance file: ")]
    assert len(named) == 1 and named[0].split()[2].endswith("instances/tiny-two-forces.json")
    result = run("validate", "tiny-two-forces")
    assert result.exit_code == 0 and "tiny-two-forces.json: valid" in result.output


def test_a_local_file_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, two_forces(), "tiny-two-forces")  # a file here named like a bundled one
    result = run("tiny-two-forces")
    assert result.exit_code == 0
    assert "instance file: tiny-two-forces (sha256" in result.output


# ---------------------------------------------------------------- 3. check


def check(inst, plan_path, *extra):
    return run("check", inst, plan_path, *extra)


def test_the_plan_as_written_checks_out(solved):
    inst, out, _ = solved
    result = check(inst, out)
    assert result.exit_code == 0, result.output


def test_objective_off_by_1000_on_a_billion_is_refused(solved, tmp_path):
    inst, _, plan = solved
    plan["objective"] += 1000.0
    plan["bound"] = plan["objective"]  # keep status, bound and gap consistent: only the sum
    result = check(inst, write(tmp_path, plan, "p.json"))
    assert result.exit_code == 5, result.output
    assert "objective_mismatch" in result.output and "£1,000.00" in result.output


def test_penny_rounding_still_passes(solved, tmp_path):
    inst, _, plan = solved
    plan["forces"][0]["plan_gbp"] += 0.01
    plan["forces"][0]["savings_gbp"] -= 0.01
    assert check(inst, write(tmp_path, plan, "p.json")).exit_code == 0


def test_a_plan_of_another_instance_version_is_refused_unless_the_flag(solved, tmp_path):
    inst, out, _ = solved
    other = big_two()
    other["description"] = "edited"  # same figures, another file: another sha256
    other_path = write(tmp_path, other, "other.json")
    result = check(other_path, out)
    assert result.exit_code == 5 and "provenance" in result.output
    assert "--allow-other-instance" in result.output
    result = check(other_path, out, "--allow-other-instance")
    assert result.exit_code == 0, result.output
    assert "--allow-other-instance" in result.output and "another instance" in result.output
    data = json.loads(check(other_path, out, "--allow-other-instance", "--json").output)
    assert data["checks_out"] and data["allow_other_instance"]


def test_a_file_with_no_plan_is_refused(tmp_path):
    data = two_forces(fixed=120)  # A pays 60 + 50 = 110 > 100 shared: cannot save 50
    data["forces"][0]["savings_target_gbp"] = 50
    inst = write(tmp_path, data)
    out = tmp_path / "inf.json"
    assert run(inst, "--out", out, "--quiet").exit_code == 3
    result = check(inst, out)
    assert result.exit_code == 5, result.output
    assert "no_plan" in result.output and "infeasible" in result.output


@pytest.mark.parametrize("edit, rule", [
    (lambda p: p.update(bound=p["objective"] + 5000.0), "bound"),
    (lambda p: p.update(gap=0.5), "gap"),
    (lambda p: p.update(bound=p["objective"] - 5000.0, gap=0.0), "gap"),  # 0, bound below
    (lambda p: p.update(bound=None, gap=None), "optimal"),
])
def test_status_bound_and_gap_that_contradict_are_refused(solved, tmp_path, edit, rule):
    inst, _, plan = solved
    assert plan["status"] == "optimal"
    edit(plan)
    result = check(inst, write(tmp_path, plan, "p.json"))
    assert result.exit_code == 5, result.output
    assert "[status]" in result.output and rule in result.output


def test_per_force_figures_that_disagree_with_each_other_or_the_instance(solved, tmp_path):
    inst, _, plan = solved
    p = copy.deepcopy(plan)
    p["forces"][0]["savings_gbp"] += 300.0  # baseline - plan no longer equals savings
    result = check(inst, write(tmp_path, p, "p.json"))
    assert result.exit_code == 5 and "is not baseline_gbp" in result.output
    p = copy.deepcopy(plan)
    p["forces"][1]["target_gbp"] = 30e6  # the instance states none
    p["forces"][1]["floor_fte"] = 12.0
    result = check(inst, write(tmp_path, p, "p.json"))
    assert result.exit_code == 5
    assert "target_gbp reported" in result.output and "floor_fte reported" in result.output


def test_violations_name_forces_and_units_by_name(tmp_path):
    data = big_two()
    data["forces"][0]["name"] = "Alpha Constabulary"
    data["sites"][1]["name"] = "Bravo HQ"
    inst = write(tmp_path, data)
    out = tmp_path / "plan.json"
    assert run(inst, "--out", out, "--quiet").exit_code == 0
    plan = json.loads(out.read_text())
    plan["forces"][0]["plan_gbp"] += 100.0
    plan["units"][0]["site"] = "hB"
    plan["units"][0]["members"] = plan["units"][0]["members"][:1]  # A alone at B's site
    result = check(inst, write(tmp_path, plan, "p.json"))
    assert result.exit_code == 5
    assert "forces.A (Alpha Constabulary)" in result.output
    assert "units[0] (fin at Bravo HQ" in result.output


def test_check_plan_file_keeps_check_plan_for_solved_plans(solved):
    """The plan-file checks add to check_plan; a consistent plan gives no violation."""
    inst_path, _, plan = solved
    from shareplan.models.load import load_instance

    inst, digest = load_instance(inst_path)
    assert check_plan_file(inst, plan, digest) == []
    assert [v.rule for v in check_plan_file(inst, plan, "0" * 64)] == ["provenance"]


# ---------------------------------------------------------------- 4. validation


@pytest.mark.parametrize("edit, where, words", [
    (lambda d: d["forces"][0].update(savings_target_gbp="30000000"),
     "forces[0].savings_target_gbp", "without quotes: 30000000"),
    (lambda d: d["costs"][0].update(standalone_cost_gbp="100"),
     "costs[0].standalone_cost_gbp", "written as a string"),
    (lambda d: d.update(horizon_years="5"), "horizon_years", "without quotes"),
    (lambda d: d["functions"][0].update(divisible=1), "functions[0].divisible", "true or false"),
    (lambda d: d["functions"][0].update(min_members=True), "functions[0].min_members",
     "not a number"),
    (lambda d: d.update(policy={"max_distance_km": {"fin": "50"}}),
     "policy.max_distance_km.fin", "without quotes"),
])
def test_numbers_written_as_strings_are_refused_with_the_fix(edit, where, words):
    data = two_forces()
    edit(data)
    found = problems_of(data)
    assert any(p.startswith(where + ":") and words in p for p in found), found


def test_a_missing_frontline_count_is_blamed_not_the_floor():
    data = two_forces()
    data["forces"][0]["frontline_floor_fte"] = 90.0
    found = problems_of(data)
    assert len(found) == 1 and found[0].startswith("forces[0].frontline_officers_fte:"), found
    data["forces"][0]["frontline_officers_fte"] = 80.0  # given: now the floor is wrong
    found = problems_of(data)
    assert len(found) == 1 and found[0].startswith("forces[0].frontline_floor_fte:"), found


def three_forces():
    data = two_forces()
    data["forces"].append({"id": "herts"})
    data["sites"].append({"id": "hH", "owner": "herts"})
    data["costs"] += [cost("herts", "fin", 100.0), cost("herts", "resp", 1000.0)]
    data["policy"] = {"opt_outs": [{"force": "herts", "function": "fin"}]}
    return data


def test_a_renamed_force_id_is_one_message_with_did_you_mean():
    data = three_forces()
    data["forces"][2]["id"] = "hertfordshire"  # renamed here, not in sites, costs, policy
    found = problems_of(data)
    assert len(found) == 1, found
    assert "unknown force 'herts'" in found[0] and "also used in 3 other places" in found[0]
    assert "did you mean 'hertfordshire'?" in found[0]
    assert "A, B, hertfordshire" in found[0]


def test_a_misspelt_id_is_suggested_and_valid_ids_listed():
    data = three_forces()
    data["costs"][0]["function"] = "fni"
    found = problems_of(data)
    assert any(p.startswith("costs[0].function:") and "did you mean 'fin'?" in p
               and "fin, resp" in p for p in found), found
    data = three_forces()
    data["sites"][0]["owner"] = "Zulu"
    found = problems_of(data)
    assert found == ["sites[0].owner: unknown force 'Zulu'; the force ids are: A, B, herts"]


def test_a_function_missing_from_costs_is_one_message():
    data = three_forces()
    data["functions"].append({"id": "hr"})
    found = problems_of(data)
    assert len(found) == 1 and "no entries for function 'hr'" in found[0], found


@pytest.mark.parametrize("members, rule, words", [
    (["A"], {}, "min_members 2"),
    (["A", "B"], {"max_members": 1, "min_members": 1}, "max_members 1"),
])
def test_fixed_existing_units_must_meet_the_size_rules(members, rule, words):
    data = two_forces(**rule)
    data["existing"] = [{"function": "fin", "site": "hA", "members": members}]
    found = problems_of(data)
    assert any(p.startswith("existing[0].members:") and words in p for p in found), found
    data["existing"][0]["reoptimisable"] = True  # the plan may change it: valid
    instance_from_data(data)


def test_forbidden_partners_in_a_fixed_existing_unit_are_refused_at_validate(tmp_path):
    data = two_forces()
    data["existing"] = [{"function": "fin", "site": "hA", "members": ["A", "B"]}]
    data["policy"] = {"forbidden_partners": [{"forces": ["A", "B"]}]}
    result = run("validate", write(tmp_path, data))
    assert result.exit_code == 2, result.output
    assert "policy.forbidden_partners[0]" in result.output and "existing[0]" in result.output
    data["policy"]["forbidden_partners"][0]["functions"] = []  # applies to no function
    assert run("validate", write(tmp_path, data)).exit_code == 0


def test_figures_that_look_like_the_wrong_unit_are_warned(tmp_path):
    data = big_two()
    data["forces"][0]["savings_target_gbp"] = 30  # meant as £30m
    data["forces"][1]["budget_gbp"] = 11.0  # in £bn, against £11bn of costs a year
    warnings = [str(w) for w in check_warnings(instance_from_data(data))]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("forces[0].savings_target_gbp:") and "30000000" in warnings[0]
    assert warnings[1].startswith("forces[1].budget_gbp:")
    result = run("validate", write(tmp_path, data))
    assert result.exit_code == 0 and result.output.count("warning: ") == 2
    data["forces"][0]["savings_target_gbp"] = 30e6
    data["forces"][1]["budget_gbp"] = 12 * BIG
    assert check_warnings(instance_from_data(data)) == []
    # tiny hand-checkable instances keep their small figures without a word
    assert check_warnings(instance_from_data(two_forces())) == []


def test_a_csv_table_given_as_an_instance_is_named_for_what_it_is(tmp_path):
    path = write(tmp_path, "force,function,standalone_cost_gbp\nA,fin,100\nB,fin,100\n",
                 "costs.csv")
    result = run("validate", path)
    assert result.exit_code == 2
    assert "CSV" in result.output and "force, function" in result.output
    assert "not valid JSON" not in result.output


def test_a_broken_workbook_given_as_an_instance_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "instance.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    result = run(path)
    assert result.exit_code == 2
    assert ".xlsx workbook" in result.output and "not valid JSON" not in result.output


def test_a_workbook_not_laid_out_as_the_template_names_the_missing_sheets(tmp_path):
    import openpyxl

    path = tmp_path / "budget.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "budget"
    book.save(path)
    result = run(path)
    assert result.exit_code == 2
    assert "sheet 'forces': missing" in result.output and "solve template" in result.output
    assert "not valid JSON" not in result.output


def test_the_bundled_instance_objective_edited_by_1000_is_refused(tmp_path):
    """The case found by hand: BCH's objective (about £1.8bn) edited by £1,000 passed with a
    tolerance that grew with the figure. No figure of the instance is pinned here."""
    out = tmp_path / "bch.json"
    assert run("bch-2013", "--out", out, "--quiet").exit_code == 0
    plan = json.loads(out.read_text())
    assert check("bch-2013", out).exit_code == 0
    plan["objective"] += 1000.0
    plan["bound"] = plan["objective"]
    result = check("bch-2013", write(tmp_path, plan, "edited.json"))
    assert result.exit_code == 5 and "objective_mismatch" in result.output


def test_a_renamed_site_and_a_number_with_separators_get_their_fix():
    data = three_forces()
    data["functions"][0]["hosts"] = [{"site": "hA"}, {"site": "hB"}, {"site": "hH"}]
    data["sites"][0]["id"] = "avon_hq"  # renamed; the hosts list still says hA
    found = problems_of(data)
    assert found == ["functions[0].hosts[0].site: unknown site 'hA'; did you mean 'avon_hq'? "
                     "the site ids are: avon_hq, hB, hH"], found
    data = three_forces()
    data["forces"][0]["frontline_officers_fte"] = "1,100"
    [found] = problems_of(data)
    assert found.startswith("forces[0].frontline_officers_fte:") and found.endswith(": 1100")
