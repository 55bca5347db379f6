"""The ``solve`` command line: CliRunner for the commands, once as a real process.

Exit codes (docs/model.md section 11): 0 a plan, 2 bad usage or invalid instance, 3 proven
infeasible, 5 check violations, 1 internal error. Bad input never gives a traceback.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import BACKENDS, two_forces
from helpers import run_cli as run
from helpers import write_json as write

from shareplan.cli import cli

CONTRACT_KEYS = {"status", "objective", "bound", "gap", "backend", "solver", "instance_sha256",
                 "options", "times", "units", "forces", "schema_version"}


@pytest.fixture
def inst_file(tmp_path):
    # shares 'fin' (see test_tiny): 10,000 local + 5 * 150 = 10,750
    return write(tmp_path, two_forces())


@pytest.fixture
def infeasible_file(tmp_path):
    data = two_forces(fixed=120)  # A pays 60 + 50 = 110 > 100 shared: cannot save 50
    data["forces"][0]["savings_target_gbp"] = 50
    return write(tmp_path, data, "infeasible.json")


def no_traceback(result):
    text = (result.output or "") + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)


# ---------------------------------------------------------------- solving


def test_solve_prints_the_plan(inst_file):
    result = run(inst_file)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "optimal" in out
    assert "fin" in out and "A" in out and "B" in out  # the unit and its members
    assert "baseline" in out.lower() and "savings" in out.lower()
    no_traceback(result)


def test_solve_run_subcommand_and_quiet(inst_file):
    assert run("run", inst_file).exit_code == 0
    quiet = run(inst_file, "--quiet")
    assert quiet.exit_code == 0
    assert quiet.stdout.strip() == ""


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_contract(inst_file, backend):
    result = run(inst_file, "--json", "--backend", backend)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert set(plan) >= CONTRACT_KEYS, CONTRACT_KEYS - set(plan)
    assert plan["status"] == "optimal"
    assert plan["objective"] == pytest.approx(10750, rel=1e-6)
    assert plan["bound"] == pytest.approx(10750, rel=1e-6)
    assert plan["gap"] <= 1e-6
    assert plan["backend"] == backend
    assert plan["solver"]["name"] and plan["solver"]["version"]
    assert plan["instance_sha256"] == hashlib.sha256(inst_file.read_bytes()).hexdigest()
    assert {"build_s", "solve_s", "total_s"} <= set(plan["times"])
    assert all(isinstance(v, (int, float)) and v >= 0 for v in plan["times"].values())
    assert plan["options"]["gap"] == pytest.approx(1e-6)
    assert isinstance(plan["schema_version"], int)
    [unit] = plan["units"]
    assert unit["function"] == "fin" and unit["site"] in {"hA", "hB"}
    assert sorted(m["force"] for m in unit["members"]) == ["A", "B"]
    forces = {f["force"]: f for f in plan["forces"]}
    assert set(forces) == {"A", "B"}
    for f in forces.values():
        assert f["baseline_gbp"] == pytest.approx(5500, abs=0.01)
        assert f["plan_gbp"] == pytest.approx(5375, abs=0.01)
        assert f["savings_gbp"] == pytest.approx(125, abs=0.01)
        assert {"target_gbp", "one_off_gbp", "frontline_fte", "floor_fte"} <= set(f)


def test_out_file_and_determinism(inst_file, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run(inst_file, "--out", a, "--quiet").exit_code == 0
    assert run(inst_file, "--out", b, "--quiet").exit_code == 0
    plan_a, plan_b = json.loads(a.read_text()), json.loads(b.read_text())
    assert set(plan_a) >= CONTRACT_KEYS
    assert plan_a["objective"] == pytest.approx(10750, rel=1e-6)
    for plan in (plan_a, plan_b):
        plan.pop("times")
    assert plan_a == plan_b  # same instance, backend and options: the same plan


def test_csv_directory(inst_file, tmp_path):
    out = tmp_path / "tables"
    result = run(inst_file, "--csv", out, "--quiet")
    assert result.exit_code == 0, result.output
    with open(out / "units.csv", newline="") as fh:
        units = list(csv.DictReader(fh))
    with open(out / "forces.csv", newline="") as fh:
        forces = list(csv.DictReader(fh))
    assert sorted(r["force"] for r in units) == ["A", "B"]  # one row per member
    assert {r["function"] for r in units} == {"fin"}
    assert [r["force"] for r in forces] == ["A", "B"]
    assert float(forces[0]["savings_gbp"]) == pytest.approx(125, abs=0.01)


def test_infeasible_exits_3_with_an_explanation(infeasible_file):
    result = run(infeasible_file)
    assert result.exit_code == 3, result.output
    assert "infeasible" in result.output
    assert "A can save at most" in result.output and "£50" in result.output
    no_traceback(result)
    result = run(infeasible_file, "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["status"] == "infeasible"


def test_cpsat_refuses_continuous_models(tmp_path):
    # a divisible function has continuous x: CP-SAT is integer-only
    data = two_forces()
    data["functions"][0].update(divisible=True, min_members=1)
    result = run(write(tmp_path, data), "--backend", "ortools-cpsat")
    assert result.exit_code == 2, result.output
    assert "CP-SAT" in result.output or "continuous" in result.output
    no_traceback(result)


def test_unknown_backend_is_usage_error(inst_file):
    result = run(inst_file, "--backend", "gurobi")
    assert result.exit_code == 2
    assert "gurobi" in result.output


# ---------------------------------------------------------------- other commands


def test_validate(inst_file):
    result = run("validate", inst_file)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "2 forces" in result.output


def test_schema():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert {"forces", "functions", "sites", "costs"} <= set(schema["properties"])


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_export(inst_file, tmp_path, fmt):
    path = tmp_path / f"model.{fmt}"
    result = run("export", inst_file, f"--{fmt}", path)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "x(fin,A,hA)" in text and "y(fin,hB)" in text
    assert "linking(" in text and "assignment(" in text


def test_export_needs_a_format(inst_file):
    result = run("export", inst_file)
    assert result.exit_code == 2
    no_traceback(result)


def test_check_solved_and_tampered_plans(inst_file, tmp_path):
    plan_path = tmp_path / "plan.json"
    assert run(inst_file, "--out", plan_path, "--quiet").exit_code == 0
    result = run("check", inst_file, plan_path)
    assert result.exit_code == 0, result.output

    plan = json.loads(plan_path.read_text())
    tampered = []
    t = copy.deepcopy(plan)
    t["objective"] -= 100  # a cheaper total than the units give
    tampered.append(t)
    t = copy.deepcopy(plan)
    t["units"][0]["members"] = t["units"][0]["members"][:1]  # a unit of one
    tampered.append(t)
    t = copy.deepcopy(plan)
    t["forces"][0]["savings_gbp"] += 50
    tampered.append(t)
    for k, t in enumerate(tampered):
        path = write(tmp_path, t, f"tampered{k}.json")
        result = run("check", inst_file, path)
        assert result.exit_code == 5, (k, result.output)
        assert "violation" in result.output
        no_traceback(result)


# ---------------------------------------------------------------- malformed input


def _text_with_nan() -> str:
    text = json.dumps(two_forces())
    return text.replace('"discount_rate": 0.0', '"discount_rate": NaN')


def _edit(fn):
    data = two_forces()
    fn(data)
    return data


BAD_INPUTS = {
    "broken JSON": ('{"name": "x", "forces": [', ["not valid JSON", "line 1"]),
    "missing field": (_edit(lambda d: d["costs"][0].pop("standalone_cost_gbp")),
                      ["costs[0].standalone_cost_gbp"]),
    "missing name": (_edit(lambda d: d.pop("name")), ["name: Field required"]),
    "wrong type": (_edit(lambda d: d.update(horizon_years="five")),
                   ["horizon_years: ", "integer"]),
    "unknown force": (_edit(lambda d: d["costs"][0].update(force="Z")),
                      ["costs[0].force", "'Z'"]),
    "unknown site owner": (_edit(lambda d: d["sites"][0].update(owner="Z")),
                           ["sites[0].owner", "'Z'"]),
    "negative cost": (_edit(lambda d: d["costs"][0].update(standalone_cost_gbp=-5)),
                      ["costs[0].standalone_cost_gbp: ", "greater than or equal to 0"]),
    "existing local unit": (
        _edit(lambda d: d.update(existing=[{"function": "resp", "site": "hA",
                                            "members": ["A", "B"]}])),
        ["existing[0].function", "local"]),
    "must share local": (
        _edit(lambda d: d.update(policy={"must_share": [{"force": "A", "function": "resp"}]})),
        ["policy.must_share[0].function", "local"]),
    "floor above frontline": (
        _edit(lambda d: d["forces"][1].update(frontline_officers_fte=100,
                                              frontline_floor_fte=120)),
        ["forces[1].frontline_floor_fte: ", "(100)"]),
    "NaN": (_text_with_nan(), ["NaN"]),
}


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_malformed_instance_exits_2_naming_the_field(tmp_path, case, command):
    content, needles = BAD_INPUTS[case]
    path = write(tmp_path, content)
    result = run(command, path)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    no_traceback(result)


def test_nan_error_says_where(tmp_path):
    text = json.dumps(two_forces(), indent=2).replace('"discount_rate": 0.0',
                                                      '"discount_rate": NaN')
    line = text[:text.index("NaN")].count("\n") + 1
    result = run(write(tmp_path, text))
    assert result.exit_code == 2
    assert "discount_rate" in result.output or f"line {line}" in result.output, result.output


def test_directory_instead_of_file(tmp_path):
    result = run(tmp_path)
    assert result.exit_code == 2, result.output
    assert "directory" in result.output
    no_traceback(result)


def test_nonexistent_file(tmp_path):
    missing = tmp_path / "nowhere.json"
    result = run(missing)
    assert result.exit_code == 2, result.output
    assert "nowhere.json" in result.output and "no such file" in result.output
    no_traceback(result)


# ---------------------------------------------------------------- a real process


def _solve_command() -> list[str]:
    exe = Path(sys.executable).parent / "solve"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("solve")
    return [found] if found else [sys.executable, "-m", "shareplan.cli"]


def test_real_process(inst_file, infeasible_file, tmp_path):
    cmd = _solve_command()
    proc = subprocess.run([*cmd, str(inst_file), "--json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)  # nothing but the plan on stdout (no solver banners)
    assert set(plan) >= CONTRACT_KEYS
    assert plan["objective"] == pytest.approx(10750, rel=1e-6)
    assert math.isfinite(plan["times"]["total_s"])

    proc = subprocess.run([*cmd, str(infeasible_file), "--backend", "highs"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr

    bad = write(tmp_path, '{"name": ', "bad.json")
    proc = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr

    proc = subprocess.run([*cmd, "validate", str(tmp_path / "missing.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_plan_the_checker_rejects_is_never_passed_off(tmp_path, monkeypatch):
    """Every plan is verified before it is written; a rejected one is status error, exit 1."""
    from shareplan.solver import checker
    from shareplan.solver.checker import Violation

    path = write(tmp_path, two_forces())
    out = tmp_path / "plan.json"
    assert run(str(path), "--out", str(out), "-q").exit_code == 0
    assert json.loads(out.read_text())["times"]["check_s"] >= 0
    monkeypatch.setattr(checker, "check_plan",
                        lambda inst, plan: [Violation("capacity", "units[0]", "over by 5")])
    result = run(str(path), "--out", str(out))
    assert result.exit_code == 1, result.output
    plan = json.loads(out.read_text())
    assert plan["status"] == "error"
    assert "checker rejects" in plan["message"] and "over by 5" in plan["message"]


def test_an_existing_unit_listed_twice_is_refused(tmp_path):
    """Found by bench/fuzz.py: on a divisible function the duplicate slipped through and
    the plan's baseline counted the unit twice (the checker rejected it, exit 1)."""
    from shareplan.cli import cli as solve_cli

    for divisible in (False, True):
        data = two_forces()
        fn = data["functions"][0]
        fn.update({"divisible": divisible, "min_members": 1})
        unit = {"function": fn["id"], "site": data["sites"][0]["id"],
                "members": [f["id"] for f in data["forces"]], "reoptimisable": True}
        data["existing"] = [unit, dict(unit)]
        result = CliRunner().invoke(solve_cli, [str(write(tmp_path, data))])
        assert result.exit_code == 2, result.output
        assert "existing[1]" in result.output and "list each unit once" in result.output


def test_version_is_the_group_option():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "version" in result.output


def test_distance_rule_on_a_local_function_is_named(tmp_path):
    data = two_forces()
    local = next(f["id"] for f in data["functions"] if f.get("shareable") is False)
    data["policy"] = {"max_distance_km": {local: 50}}
    result = run(str(write(tmp_path, data)))
    assert result.exit_code == 2
    assert f"policy.max_distance_km.{local}" in result.output and "local function" in result.output


def test_numbers_too_large_for_the_solvers_name_their_fields(tmp_path):
    """Each figure is within its bound, but 100 years of £9tn makes a coefficient of 4.5e14."""
    data = two_forces()
    data["horizon_years"] = 100
    data["forces"][0]["savings_target_gbp"] = 1
    for cost in data["costs"]:
        cost["standalone_cost_gbp"] = 9e12
    result = run(str(write(tmp_path, data)))
    assert result.exit_code == 2, result.output
    assert "costs of force 'A'" in result.output and "too large for the solvers" in result.output


def test_output_cut_short_by_a_closed_pipe_keeps_the_exit_code(tmp_path):
    """`solve ... | head`: the reader is gone before the plan is printed; no error, and the
    plan's own exit code (0 here; rich alone would exit 1, our internal-error code)."""
    path = write(tmp_path, two_forces())
    proc = subprocess.Popen([sys.executable, "-m", "shareplan.cli", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # closed before the child writes: its first write breaks the pipe
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


def test_export_lp_names_every_column_of_member_set_units(tmp_path):
    """BCH has member-set unit columns (existing units) and savings targets: the LP file
    keeps every readable name (a '+' in a name made the writer rename all columns c0..cN)."""
    path = tmp_path / "bch.lp"
    result = run("export", "bch-2013", "--lp", path)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert re.search(r"\bc\d+\b", text) is None
    assert re.search(r"unit\([a-z_]+,[a-z_]+,[a-z_]+(&[a-z_]+)+\)", text)
    assert "x(" in text and "savings" in text
