"""Trust (docs/model.md sections 9 to 11): compare, diff, infeasibility explained, provenance.

- ``solve compare``: side by side, ``--json``, exit 5 only when *proven* optima
  disagree beyond tolerance (forced here by tampering with one backend's result).
- ``solve diff``: planner sentences for newly shared / dissolved / host moved /
  joins / leaves / moves, per-force figures, provenance; on hand-made plan dicts
  and on plans written by the command line.
- Infeasibility: pre-check (target above the most a force could save), elastic
  re-solve (capacity, frontline floor), exit 3, ``--json`` carries the facts.
- Provenance: instance hash, backend, solver and version, options, times in every
  plan, and shown by compare and diff.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib.metadata import version

import pytest
from click.testing import CliRunner
from helpers import BACKENDS, n_forces, two_forces

import shareplan.solver.run as run_module
from shareplan.analysis import diff_plans, optima_disagree, provenance
from shareplan.cli import cli
from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver.explain import precheck
from shareplan.solver.formulation import build_formulation
from shareplan.solver.run import solve_instance

SOLVER_NAMES = {"cbc": "CBC", "ortools": "OR-Tools SCIP", "highs": "HiGHS",
                "ortools-highs": "OR-Tools HiGHS", "ortools-cpsat": "OR-Tools CP-SAT"}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path, data, name="inst.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1))
    return path


def three_forces():
    """Three forces, two shareable functions with round figures and distinct host costs
    (one optimal plan, which every backend proves exactly), one local function."""
    forces = [{"id": "herts", "name": "Hertfordshire", "frontline_officers_fte": 1500.0},
              {"id": "beds", "name": "Bedfordshire", "frontline_officers_fte": 800.0},
              {"id": "cambs", "name": "Cambridgeshire", "frontline_officers_fte": 1000.0}]
    sites = [{"id": "herts_hq", "owner": "herts"}, {"id": "beds_hq", "owner": "beds"},
             {"id": "cambs_hq", "owner": "cambs"}]
    size = {"herts": 17, "beds": 10, "cambs": 13}
    costs = []
    for f, m in size.items():
        costs += [{"force": f, "function": "hr", "standalone_cost_gbp": 500_000.0 * m,
                   "transition_cost_gbp": 100_000.0},
                  {"force": f, "function": "custody", "standalone_cost_gbp": 800_000.0 * m},
                  {"force": f, "function": "response", "standalone_cost_gbp": 5e6 * m}]
    return {"name": "three", "horizon_years": 5, "forces": forces, "sites": sites,
            "functions": [{"id": "hr", "variable_cost_gbp_per_unit": 0.75,
                           "hosts": [{"site": "herts_hq", "fixed_cost_gbp": 1_100_000.0},
                                     {"site": "beds_hq", "fixed_cost_gbp": 1_000_000.0},
                                     {"site": "cambs_hq", "fixed_cost_gbp": 1_200_000.0}]},
                          {"id": "custody", "variable_cost_gbp_per_unit": 0.8,
                           "unit_fixed_cost_gbp": 2_000_000.0, "min_members": 3,
                           "hosts": [{"site": "herts_hq"},
                                     {"site": "beds_hq", "fixed_cost_gbp": 2_100_000.0},
                                     {"site": "cambs_hq", "fixed_cost_gbp": 2_200_000.0}]},
                          {"id": "response", "shareable": False}],
            "costs": costs}


# ====================================================================== compare


def test_compare_agreeing_backends(tmp_path):
    path = write(tmp_path, three_forces())
    result = invoke("compare", path, "--backends", ",".join(BACKENDS))
    assert result.exit_code == 0, result.output
    assert "proven optima agree" in result.output
    assert "DISAGREE" not in result.output
    for b in BACKENDS:
        assert b in result.output and SOLVER_NAMES[b] in result.output
    assert "optimal" in result.output
    # plan differences are reported for every backend against the reference
    assert "plan of ortools" in result.output and "plan of highs" in result.output


def test_compare_json(tmp_path):
    path = write(tmp_path, three_forces())
    result = invoke("compare", path, "--backends", "cbc,ortools,highs", "--json",
                    "--gap", "0.0001", "--seed", "3")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["instance"] == "three"
    assert out["instance_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [r["backend"] for r in out["runs"]] == BACKENDS
    objectives = set()
    for run in out["runs"]:
        assert run["status"] == "optimal"
        assert run["instance_sha256"] == out["instance_sha256"]
        assert run["solver"].startswith(SOLVER_NAMES[run["backend"]] + " ")  # name version
        assert run["options"]["gap"] == 0.0001 and run["options"]["seed"] == 3
        assert set(run["times"]) == {"build_s", "solve_s", "total_s", "check_s"}
        assert run["bound"] is not None and run["gap"] is not None
        objectives.add(round(run["objective"], 2))
    assert len(objectives) == 1
    assert out["disagreements"] == []
    assert out["plan_differences"]["reference"] == "cbc"
    assert out["plan_differences"]["ortools"] == [] and out["plan_differences"]["highs"] == []


def _tamper(monkeypatch, backend, **changes):
    """solve_instance as compare calls it, with one backend's plan changed."""
    real = run_module.solve_instance

    def fake(inst, name, options=None, **kw):
        plan = real(inst, name, options, **kw)
        if name == backend:
            for key, value in changes.items():
                if key == "objective_delta":
                    plan.objective += value
                else:
                    setattr(plan, key, value(plan) if callable(value) else value)
        return plan

    monkeypatch.setattr(run_module, "solve_instance", fake)


def test_compare_forced_disagreement_exits_5(tmp_path, monkeypatch):
    path = write(tmp_path, three_forces())
    _tamper(monkeypatch, "ortools", objective_delta=1000.0)
    result = invoke("compare", path, "--backends", "cbc,ortools")
    assert result.exit_code == 5, result.output
    assert "DISAGREE" in result.output and "cbc and ortools" in result.output
    assert "£1,000.00" in result.output or "£1.0k" in result.output
    result = invoke("compare", path, "--backends", "cbc,ortools", "--json")
    assert result.exit_code == 5, result.output
    dis = json.loads(result.output)["disagreements"]
    assert len(dis) == 1
    assert {dis[0]["a"], dis[0]["b"]} == {"cbc", "ortools"}
    assert dis[0]["difference"] == pytest.approx(1000.0, abs=0.05)


def test_compare_difference_within_tolerance_agrees(tmp_path, monkeypatch):
    path = write(tmp_path, three_forces())
    _tamper(monkeypatch, "ortools", objective_delta=0.01)  # rounding: 2p allowed
    assert invoke("compare", path, "--backends", "cbc,ortools").exit_code == 0


def test_compare_ignores_unproven_objectives(tmp_path, monkeypatch):
    """A 'feasible' run may be worse than a proven optimum; that is no disagreement."""
    from shareplan.solver.core import Status

    path = write(tmp_path, three_forces())
    _tamper(monkeypatch, "ortools", objective_delta=5e5, status=Status.FEASIBLE)
    result = invoke("compare", path, "--backends", "cbc,ortools", "--json")
    assert result.exit_code == 0, result.output
    runs = {r["backend"]: r for r in json.loads(result.output)["runs"]}
    assert runs["ortools"]["status"] == "feasible"


def test_compare_shows_plan_differences(tmp_path, monkeypatch):
    path = write(tmp_path, three_forces())
    _tamper(monkeypatch, "highs", units=lambda plan: [u for u in plan.units
                                                      if u.function != "custody"])
    result = invoke("compare", path, "--backends", "cbc,highs")
    assert "plan of highs differs from cbc's" in result.output, result.output
    assert "custody: unit at" in result.output and "dissolved" in result.output
    result = invoke("compare", path, "--backends", "cbc,highs", "--json")
    changes = json.loads(result.output)["plan_differences"]["highs"]
    assert any(c.startswith("custody: unit at") and "dissolved" in c for c in changes)


def test_compare_backend_that_cannot_take_the_model(tmp_path):
    """CP-SAT refuses continuous columns: a row with its message, not a crash."""
    data = two_forces(divisible=True, min_members=1)
    path = write(tmp_path, data)
    result = invoke("compare", path, "--backends", "cbc,ortools-cpsat", "--json")
    assert result.exit_code == 0, result.output
    runs = {r["backend"]: r for r in json.loads(result.output)["runs"]}
    assert runs["ortools-cpsat"]["status"] == "error"
    assert "integer-only" in runs["ortools-cpsat"]["message"]


def test_compare_unknown_backend(tmp_path):
    path = write(tmp_path, three_forces())
    result = invoke("compare", path, "--backends", "cbc,gurobi")
    assert result.exit_code == 2 and "gurobi" in result.output


def _plan(backend, status, objective, savings=(0.0,), gap=1e-6):
    return {"backend": backend, "status": status, "objective": objective,
            "options": {"gap": gap},
            "forces": [{"force": f"F{k}", "savings_gbp": s} for k, s in enumerate(savings)]}


def test_optima_disagree_tolerance():
    a = _plan("cbc", "optimal", 1_000_000.0, savings=(40_000.0, 60_000.0))
    # tolerance = max(gap) x max(1, |total savings|) + 0.02 = 1e-6 x 1e5 + 0.02 = 0.12
    assert optima_disagree([a, _plan("ortools", "optimal", 1_000_000.11)]) == []
    dis = optima_disagree([a, _plan("ortools", "optimal", 1_000_000.13)])
    assert [(x, y) for x, y, _ in dis] == [("cbc", "ortools")]
    assert dis[0][2] == pytest.approx(0.13)
    # a larger requested gap on either side widens the tolerance
    assert optima_disagree([a, _plan("ortools", "optimal", 1_000_050.0, gap=1e-3)]) == []
    assert optima_disagree([a, _plan("ortools", "optimal", 1_000_050.0)], tol=1e-3) == []
    # only proven optima count
    assert optima_disagree([a, _plan("ortools", "feasible", 2e6)]) == []
    assert optima_disagree([a, _plan("ortools", "optimal", None)]) == []
    # every pair is checked
    three = [a, _plan("ortools", "optimal", 1e6), _plan("highs", "optimal", 1.1e6)]
    assert sorted((x, y) for x, y, _ in optima_disagree(three)) == [
        ("cbc", "highs"), ("ortools", "highs")]


# ====================================================================== diff

NAMES = {"A": "Avon", "B": "Bucks", "C": "Cleveland", "D": "Dorset"}


def plan_dict(units, savings=None, frontline=None, backend="cbc", sha="a" * 64):
    """A plan in the JSON contract: units = {function: {site: [member ids]}}."""
    savings = savings or {}
    frontline = frontline or {}
    return {
        "status": "optimal", "objective": 100.0, "bound": 100.0, "gap": 0.0,
        "backend": backend, "solver": {"name": "CBC", "version": "2.10"},
        "instance_name": "hand", "instance_sha256": sha,
        "options": {"time_limit": None, "gap": 1e-6, "threads": 1, "seed": 0},
        "times": {"build_s": 0.1, "solve_s": 0.2, "total_s": 0.3},
        "units": [{"function": fn, "site": site,
                   "members": [{"force": m, "fraction": 1.0} for m in members]}
                  for fn, by_site in units.items() for site, members in by_site.items()],
        "forces": [{"force": f, "name": n, "savings_gbp": savings.get(f, 0.0),
                    "target_gbp": None, "frontline_fte": frontline.get(f, 100.0),
                    "one_off_gbp": 0.0} for f, n in NAMES.items()],
        "schema_version": 1,
    }


DIFF_CASES = {
    "newly shared": ({}, {"fin": {"hX": ["A", "B"]}},
                     ["fin: newly shared at hX by Avon and Bucks"]),
    "dissolved": ({"fin": {"hX": ["A", "B", "C"]}}, {},
                  ["fin: unit at hX dissolved; Avon, Bucks and Cleveland run it alone again"]),
    "host moved": ({"fin": {"hA": ["A", "B"]}}, {"fin": {"hB": ["A", "B"]}},
                   ["fin: host moved from hA to hB"]),
    "joins": ({"fin": {"hA": ["A", "B"]}}, {"fin": {"hA": ["A", "B", "C"]}},
              ["fin: Cleveland joins the unit at hA"]),
    "leaves": ({"fin": {"hA": ["A", "B", "C"]}}, {"fin": {"hA": ["A", "B"]}},
               ["fin: Cleveland leaves the unit at hA and runs it alone"]),
    "moves between units": ({"fin": {"hA": ["A", "B"], "hC": ["C", "D"]}},
                            {"fin": {"hA": ["A"], "hC": ["B", "C", "D"]}},
                            ["fin: Bucks moves from the unit at hA to the unit at hC"]),
    "new unit beside": ({"fin": {"hA": ["A", "B"]}},
                        {"fin": {"hA": ["A", "B"], "hC": ["C", "D"]}},
                        ["fin: new unit at hC with Cleveland and Dorset",
                         "fin: Cleveland joins the unit at hC",
                         "fin: Dorset joins the unit at hC"]),
    "unit closed": ({"fin": {"hA": ["A", "B"], "hC": ["C", "D"]}},
                    {"fin": {"hA": ["A", "B"]}},
                    ["fin: unit at hC closed",
                     "fin: Cleveland leaves the unit at hC and runs it alone",
                     "fin: Dorset leaves the unit at hC and runs it alone"]),
    "two functions": ({"fin": {"hA": ["A", "B"]}},
                      {"fin": {"hA": ["A", "B"]}, "hr": {"hB": ["B", "C"]}},
                      ["hr: newly shared at hB by Bucks and Cleveland"]),
    "identical": ({"fin": {"hA": ["A", "B"]}}, {"fin": {"hA": ["B", "A"]}}, []),
}


@pytest.mark.parametrize("case", list(DIFF_CASES))
def test_diff_sentences(case):
    a, b, expected = DIFF_CASES[case]
    diff = diff_plans(plan_dict(a), plan_dict(b))
    assert diff.changes == expected
    assert diff.identical == (not expected)
    assert diff.same_instance


def test_diff_host_moved_has_no_join_or_leave_sentences():
    diff = diff_plans(plan_dict({"fin": {"hA": ["A", "B", "C"]}}),
                      plan_dict({"fin": {"hB": ["A", "B", "C"]}}))
    assert diff.changes == ["fin: host moved from hA to hB"]


def test_diff_new_unit_beside_a_move_to_a_similar_site_id():
    diff = diff_plans(plan_dict({"fin": {"hA": ["A", "B"]}}),
                      plan_dict({"fin": {"xhB": ["A", "B"], "hB": ["C", "D"]}}))
    assert "fin: host moved from hA to xhB" in diff.changes
    assert "fin: new unit at hB with Cleveland and Dorset" in diff.changes


def test_diff_force_figures_and_provenance():
    a = plan_dict({}, savings={"A": 0.0}, frontline={"A": 100.0}, backend="cbc")
    b = plan_dict({"fin": {"hA": ["A", "B"]}}, savings={"A": 2.5e6},
                  frontline={"A": 104.5}, backend="highs", sha="b" * 64)
    diff = diff_plans(a, b)
    row = next(f for f in diff.forces if f["force"] == "A")
    assert row["name"] == "Avon"
    assert (row["savings_a"], row["savings_b"]) == (0.0, 2.5e6)
    assert (row["frontline_a"], row["frontline_b"]) == (100.0, 104.5)
    assert [f["force"] for f in diff.forces] == list(NAMES)
    assert not diff.same_instance
    pa, pb = diff.provenance
    assert (pa["plan"], pa["backend"], pa["instance_sha256"]) == ("A", "cbc", "a" * 64)
    assert (pb["plan"], pb["backend"], pb["instance_sha256"]) == ("B", "highs", "b" * 64)
    assert pa["solver"] == "CBC 2.10" and pa["options"]["gap"] == 1e-6
    assert pa["times"] == {"build_s": 0.1, "solve_s": 0.2, "total_s": 0.3}
    assert provenance(b)["status"] == "optimal"


def test_diff_cli_on_hand_made_plans(tmp_path):
    a = plan_dict({"fin": {"hA": ["A", "B", "C"]}}, savings={"C": 1e6}, backend="cbc")
    b = plan_dict({"fin": {"hB": ["A", "B"]}}, savings={"C": 0.0}, backend="ortools",
                  sha="b" * 64)
    pa, pb = write(tmp_path, a, "a.json"), write(tmp_path, b, "b.json")
    result = invoke("diff", pa, pb)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "fin: host moved from hA to hB" in out
    assert "fin: Cleveland leaves the unit at hA and runs it alone" in out
    assert "different instance files" in out
    assert "Cleveland" in out and "£1.00m" in out and "-£1.00m" in out  # savings A, change
    assert "aaaaaaaaaaaa" in out and "bbbbbbbbbbbb" in out  # hashes, 12 characters
    assert "cbc CBC 2.10" in out and "ortools CBC 2.10" in out
    result = invoke("diff", pa, pb, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["identical"] is False and data["same_instance"] is False
    assert data["changes"][0] == "fin: host moved from hA to hB"
    assert [p["backend"] for p in data["provenance"]] == ["cbc", "ortools"]
    result = invoke("diff", pa, pa)
    assert "the same functions are shared by the same forces" in result.output


def test_diff_of_plans_written_by_solve(tmp_path):
    """End to end: fixed cost too high to share, then low enough; both plans from --out."""
    dear = write(tmp_path, two_forces(fixed=1000.0), "dear.json")
    cheap = write(tmp_path, two_forces(fixed=10.0), "cheap.json")
    assert invoke(dear, "--out", tmp_path / "p1.json", "-q").exit_code == 0
    assert invoke(cheap, "--out", tmp_path / "p2.json", "-q").exit_code == 0
    result = invoke("diff", tmp_path / "p1.json", tmp_path / "p2.json", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["changes"]) == 1
    change = data["changes"][0]
    assert change.startswith("fin: newly shared at h") and change.endswith("by A and B")
    rows = {f["force"]: f for f in data["forces"]}
    assert rows["A"]["savings_a"] == 0.0 and rows["A"]["savings_b"] > 0
    back = invoke("diff", tmp_path / "p2.json", tmp_path / "p1.json", "--json")
    assert json.loads(back.output)["changes"][0].endswith("A and B run it alone again")


# ====================================================================== infeasibility


def target_instance(target=30e6):
    """Sharing custody saves each force 5 x (10m - 5m) - 25m/2 = 12.5m over 5 years."""
    return {"name": "target",
            "forces": [{"id": "herts", "name": "Hertfordshire", "savings_target_gbp": target},
                       {"id": "beds", "name": "Bedfordshire"}],
            "sites": [{"id": "X", "name": "Welwyn"}],
            "functions": [{"id": "custody", "unit_fixed_cost_gbp": 5e6,
                           "variable_cost_gbp_per_unit": 0.5}],
            "costs": [{"force": f, "function": "custody", "standalone_cost_gbp": 1e7}
                      for f in ("herts", "beds")]}


def capacity_instance(capacity=1000.0):
    """Avon and Bucks run an existing custody unit at Welwyn (fixed): together they need
    1,240 of its capacity."""
    return {"name": "capacity",
            "forces": [{"id": "A", "name": "Avon"}, {"id": "B", "name": "Bucks"},
                       {"id": "C", "name": "Cleveland"}],
            "sites": [{"id": "X", "name": "Welwyn"}],
            "functions": [{"id": "custody", "unit_fixed_cost_gbp": 1e5,
                           "variable_cost_gbp_per_unit": 0.5, "unit_capacity": capacity}],
            "costs": [{"force": f, "function": "custody", "standalone_cost_gbp": 6.2e6,
                       "demand": 620.0} for f in ("A", "B", "C")],
            "existing": [{"function": "custody", "site": "X", "members": ["A", "B"]}]}


def capacity_by_targets_instance(capacity=1000.0):
    """Both forces must share custody to meet their targets; together they need 1,240."""
    return {"name": "capacity",
            "forces": [{"id": "A", "name": "Avon", "savings_target_gbp": 1e6},
                       {"id": "B", "name": "Bucks", "savings_target_gbp": 1e6}],
            "sites": [{"id": "X", "name": "Welwyn"}],
            "functions": [{"id": "custody", "unit_fixed_cost_gbp": 1e5,
                           "variable_cost_gbp_per_unit": 5000.0, "unit_capacity": capacity}],
            "costs": [{"force": f, "function": "custody", "standalone_cost_gbp": 6.2e6,
                       "demand": 620.0} for f in ("A", "B")]}


def floor_instance():
    """No standalone custody; a shared unit needs 30 officers a force where 10 work
    today, so Avon drops to 980 frontline officers against its floor of 1,000."""
    return {"name": "floor",
            "forces": [{"id": "A", "name": "Avon", "frontline_officers_fte": 1000.0,
                        "frontline_floor_fte": 1000.0},
                       {"id": "B", "name": "Bucks", "frontline_officers_fte": 800.0}],
            "sites": [{"id": "X", "name": "Welwyn"}],
            "functions": [{"id": "custody", "unit_fixed_cost_gbp": 1e5,
                           "variable_cost_gbp_per_unit": 0.5, "min_members": 1,
                           "standalone_allowed": False, "officers_per_unit": 3e-6}],
            "costs": [{"force": f, "function": "custody", "standalone_cost_gbp": 1e7,
                       "officers_fte": 10.0} for f in ("A", "B")]}


def _precheck(data):
    return precheck(build_formulation(build_network(instance_from_data(data))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_target_above_precheck_bound(backend):
    plan = solve_instance(instance_from_data(target_instance()), backend)
    assert plan.status.value == "infeasible"
    [reason] = plan.explanation
    assert reason["rule"] == "savings_target" and reason["force"] == "herts"
    assert reason["target"] == 30e6
    assert reason["achievable"] == pytest.approx(12.5e6)
    msg = reason["message"]
    assert msg.startswith("Hertfordshire can save at most £12.5m over 5 years")
    assert "against a target of £30.0m" in msg
    assert msg in plan.message


def test_precheck_bound_is_reached():
    """The amount the pre-check states is what the best plan saves: not too low."""
    assert _precheck(target_instance(12.5e6)) == []
    plan = solve_instance(instance_from_data(target_instance(12.5e6)), "cbc")
    assert plan.status.value == "optimal"
    assert next(f for f in plan.forces if f.force == "herts").savings_gbp == pytest.approx(
        12.5e6)
    assert _precheck(target_instance(12.51e6))[0]["achievable"] == pytest.approx(12.5e6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_capacity_found_by_elastic_resolve(backend):
    data = capacity_instance()
    assert _precheck(data) == []  # the pre-checks cannot see it
    assert solve_instance(instance_from_data(capacity_instance(1e9)),
                          backend).status.value == "optimal"
    plan = solve_instance(instance_from_data(data), backend)
    assert plan.status.value == "infeasible"
    [reason] = plan.explanation
    assert reason["rule"] == "capacity"
    assert (reason["function"], reason["site"]) == ("custody", "X")
    assert reason["capacity"] == 1000.0
    assert reason["needed"] == pytest.approx(1240.0)
    assert reason["message"] == "custody at Welwyn would need capacity 1,240 against 1,000"


def test_capacity_behind_targets_found_by_elastic_resolve():
    data = capacity_by_targets_instance()
    assert _precheck(data) == []
    ok = solve_instance(instance_from_data(capacity_by_targets_instance(1e9)), "cbc")
    assert ok.status.value == "optimal"
    assert [sorted(m.force for m in u.members) for u in ok.units] == [["A", "B"]]
    plan = solve_instance(instance_from_data(data), "cbc")
    assert plan.status.value == "infeasible"
    assert [r["rule"] for r in plan.explanation] == ["capacity"], plan.explanation
    assert plan.explanation[0]["needed"] == pytest.approx(1240.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_frontline_floor_found_by_elastic_resolve(backend):
    data = floor_instance()
    assert _precheck(data) == []
    plan = solve_instance(instance_from_data(data), backend)
    assert plan.status.value == "infeasible"
    [reason] = plan.explanation
    assert (reason["rule"], reason["force"]) == ("frontline_floor", "A")
    assert reason["floor"] == 1000.0
    assert reason["achievable"] == pytest.approx(980.0, abs=1e-4)
    assert reason["message"] == ("Avon can keep at most 980.0 frontline officers against a "
                                 "floor of 1,000.0")
    # with the floor 20 lower the same instance is feasible, at exactly 980
    relaxed = copy.deepcopy(data)
    relaxed["forces"][0]["frontline_floor_fte"] = 980.0
    ok = solve_instance(instance_from_data(relaxed), backend)
    assert ok.status.value == "optimal"
    assert ok.forces[0].frontline_fte == pytest.approx(980.0)


def test_aggregate_target_explained():
    data = target_instance(None)
    data["forces"][0].pop("savings_target_gbp")
    data["objective"] = {"aggregate_savings_target_gbp": 30e6}
    plan = solve_instance(instance_from_data(data), "cbc")
    assert plan.status.value == "infeasible"
    [reason] = plan.explanation
    assert reason["rule"] == "aggregate_target"
    assert reason["achievable"] == pytest.approx(25e6, rel=1e-6)
    assert reason["message"] == ("all forces together can save at most £25.0m over 5 years "
                                 "against an aggregate target of £30.0m")


def test_infeasible_cli_exit_3_text_and_json(tmp_path):
    path = write(tmp_path, capacity_instance())
    result = invoke(path)
    assert result.exit_code == 3, result.output
    assert "infeasible" in result.output
    assert "custody at Welwyn would need capacity 1,240 against 1,000" in result.output
    result = invoke(path, "--json", "--out", tmp_path / "plan.json")
    assert result.exit_code == 3
    plan = json.loads(result.output)
    assert plan["status"] == "infeasible" and plan["objective"] is None
    assert plan["units"] == [] and plan["forces"] == []
    [reason] = plan["explanation"]
    assert {"rule", "function", "site", "capacity", "needed", "message"} <= set(reason)
    assert reason["needed"] == pytest.approx(1240.0)
    assert plan["message"].startswith("proven infeasible: custody at Welwyn")
    assert json.loads((tmp_path / "plan.json").read_text())["explanation"] == plan["explanation"]


def test_infeasible_cli_target_names_force(tmp_path):
    path = write(tmp_path, target_instance())
    result = invoke(path, "--backend", "highs", "--json")
    assert result.exit_code == 3
    [reason] = json.loads(result.output)["explanation"]
    assert (reason["rule"], reason["force"]) == ("savings_target", "herts")
    assert reason["achievable"] == pytest.approx(12.5e6)
    text = invoke(path, "--backend", "highs").output
    assert "Hertfordshire can save at most £12.5m" in text


def _must_share_unservable():
    data = two_forces(standalone_allowed=False, min_members=1)
    data["policy"] = {"opt_outs": [{"force": "A", "function": "fin"}]}
    return data


def _capacity_without_standalone():
    data = capacity_instance()
    data.pop("existing")
    data["forces"].pop()
    data["costs"].pop()
    data["functions"][0].update(standalone_allowed=False, min_members=1)
    return data


@pytest.mark.parametrize("case", ["opt-out without standalone", "capacity without standalone"])
def test_explanation_without_standalone(case):
    if case == "opt-out without standalone":
        plan = solve_instance(instance_from_data(_must_share_unservable()), "cbc")
        assert plan.status.value == "infeasible"
        # the rule relaxed, and the exception to A's opt-out that would allow a plan
        assert [r["rule"] for r in plan.explanation] == ["assignment", "opt_out"]
        assert plan.explanation[0]["force"] == "A"
        assert plan.explanation[1]["force"] == "A" and plan.explanation[1]["alternative"]
    else:
        plan = solve_instance(instance_from_data(_capacity_without_standalone()), "cbc")
        assert plan.status.value == "infeasible"
        assert [r["rule"] for r in plan.explanation] == ["capacity"]
        assert plan.explanation[0]["needed"] == pytest.approx(1240.0)


def _fixed_member_floor():
    """Avon sits in an existing (fixed) custody unit that freed 20 officers; Avon keeps
    1,000 frontline officers as long as it stays; hr cannot fit everyone (capacity)."""
    forces = [{"id": f, "name": n, "frontline_officers_fte": 1000.0}
              for f, n in (("A", "Avon"), ("B", "Bucks"), ("C", "Cleveland"))]
    forces[0]["frontline_floor_fte"] = 1000.0
    return {"name": "fixed", "forces": forces, "sites": [{"id": "X", "name": "Welwyn"}],
            "functions": [{"id": "custody", "unit_fixed_cost_gbp": 1e6,
                           "variable_cost_gbp_per_unit": 0.5},
                          {"id": "hr", "unit_fixed_cost_gbp": 1e5,
                           "variable_cost_gbp_per_unit": 0.5, "min_members": 1,
                           "unit_capacity": 1000.0, "standalone_allowed": False}],
            "costs": [{"force": f, "function": "custody", "standalone_cost_gbp": 5e6,
                       "officers_fte": 20.0 if f == "A" else 0.0} for f in "ABC"]
            + [{"force": f, "function": "hr", "standalone_cost_gbp": 6.2e6, "demand": 620.0}
               for f in "ABC"],
            "existing": [{"function": "custody", "site": "X", "members": ["A", "B"]}]}


def test_precheck_fixed_existing_member_keeps_its_frontline():
    data = _fixed_member_floor()
    relaxed = copy.deepcopy(data)
    relaxed["functions"][1]["unit_capacity"] = 1e9
    ok = solve_instance(instance_from_data(relaxed), "cbc")
    assert ok.status.value == "optimal" and ok.forces[0].frontline_fte == 1000.0
    plan = solve_instance(instance_from_data(data), "cbc")
    assert plan.status.value == "infeasible"
    assert "frontline_floor" not in [r["rule"] for r in plan.explanation], plan.explanation


# ====================================================================== plans read back


def test_tolerance_sized_fractions_are_not_units():
    """A solution with x = y = 2e-7 on a closed host reads as the same plan."""
    import numpy as np

    from shareplan.solver.checker import check_plan
    from shareplan.solver.core import SolveOptions
    from shareplan.solver.plan import clean_solution, read_solution
    from shareplan.solver.run import solve_formulation

    inst = instance_from_data(n_forces(["A", "B"], sites=("hX", "hY"), divisible=True,
                                       min_members=1))
    form = build_formulation(build_network(inst))
    x = solve_formulation(form, "cbc", SolveOptions()).x.copy()
    units, forces = read_solution(form, clean_solution(x, form.lp.integer))
    fd, xcols, ycols = form.net.functions[0], form.x[0], form.y[0]
    closed = int(np.argmin(x[ycols]))
    arc = int(np.nonzero(fd.arc_host == closed)[0][0])
    x[ycols[closed]] = x[xcols[arc]] = 2e-7
    units2, forces2 = read_solution(form, clean_solution(x, form.lp.integer))
    assert [u.site for u in units2] == [u.site for u in units]
    assert [f.plan_gbp for f in forces2] == [f.plan_gbp for f in forces]
    plan = solve_instance(inst, "cbc")
    plan.units, plan.forces = units2, forces2
    assert check_plan(inst, plan.to_dict()) == []


# ====================================================================== statuses agree

# found by bench/crosscheck.py (randinst seed 1415), cut down by hand: travel costs,
# one savings target, a re-optimisable existing unit
CPSAT_FALSE_INFEASIBLE = (
    {'name': 'cpsat-false-infeasible',
     'horizon_years': 5,
     'discount_rate': 0.0,
     'allocation': 'demand',
     'forces': [{'id': 'F1_bedf',
                 'lat': 52.1471,
                 'lon': -0.9395,
                 'savings_target_gbp': 1247000.0},
                {'id': 'F2_camb', 'lat': 52.7239, 'lon': -0.4999},
                {'id': 'F3_esse', 'lat': 51.3238, 'lon': -1.2706},
                {'id': 'F4_kent', 'lat': 51.1295, 'lon': -0.5551}],
     'functions': [{'id': 'hr',
                    'variable_cost_gbp_per_unit': 0.568,
                    'unit_fixed_cost_gbp': 1070000.0,
                    'min_members': 2},
                   {'id': 'fleet',
                    'variable_cost_gbp_per_unit': 0.648,
                    'unit_fixed_cost_gbp': 262000.0,
                    'travel_cost_gbp_per_unit_km': 0.00136,
                    'min_members': 2}],
     'sites': [{'id': 'site1',
                'name': 'Site 1',
                'owner': 'F2_camb',
                'lat': 51.3434,
                'lon': -0.6004},
               {'id': 'site2',
                'name': 'Site 2',
                'owner': 'F3_esse',
                'lat': 52.2392,
                'lon': -0.1346}],
     'costs': [{'force': 'F1_bedf', 'function': 'hr', 'standalone_cost_gbp': 6385000.0},
               {'force': 'F2_camb', 'function': 'hr', 'standalone_cost_gbp': 1624000.0},
               {'force': 'F3_esse', 'function': 'hr', 'standalone_cost_gbp': 3040000.0},
               {'force': 'F4_kent', 'function': 'hr', 'standalone_cost_gbp': 3199000.0},
               {'force': 'F1_bedf', 'function': 'fleet', 'standalone_cost_gbp': 4903000.0},
               {'force': 'F2_camb', 'function': 'fleet', 'standalone_cost_gbp': 3882000.0},
               {'force': 'F3_esse', 'function': 'fleet', 'standalone_cost_gbp': 5112000.0},
               {'force': 'F4_kent', 'function': 'fleet', 'standalone_cost_gbp': 1406000.0}],
     'existing': [{'function': 'fleet',
                   'site': 'site2',
                   'members': ['F2_camb', 'F1_bedf', 'F3_esse'],
                   'reoptimisable': True}]}
)


@pytest.mark.parametrize("backend", ["cbc", "ortools", "highs"])
def test_reference_instance_is_feasible(backend):
    from shareplan.solver.checker import check_plan

    inst = instance_from_data(CPSAT_FALSE_INFEASIBLE)
    plan = solve_instance(inst, backend)
    assert plan.status.value == "optimal"
    assert check_plan(inst, plan.to_dict()) == []


def test_cpsat_does_not_call_a_feasible_instance_infeasible():
    plan = solve_instance(instance_from_data(CPSAT_FALSE_INFEASIBLE), "ortools-cpsat")
    assert plan.status.value != "infeasible", plan.message
    assert plan.status.value in ("optimal", "feasible")


# ====================================================================== provenance


@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_records_provenance(tmp_path, backend):
    path = write(tmp_path, three_forces())
    out = tmp_path / "plan.json"
    result = invoke(path, "--backend", backend, "--out", out, "--time-limit", "60",
                    "--gap", "0.0001", "--seed", "7", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet
    plan = json.loads(out.read_text())
    assert plan["schema_version"] == 1
    assert plan["instance_name"] == "three"
    assert plan["instance_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert plan["backend"] == backend
    assert plan["solver"]["name"] == SOLVER_NAMES[backend]
    package = {"cbc": "cbcbox", "ortools": "ortools", "highs": "highspy"}[backend]
    assert version(package) in plan["solver"]["version"]  # the solver actually loaded
    assert plan["options"] == {"time_limit": 60.0, "gap": 0.0001, "threads": 1, "seed": 7}
    t = plan["times"]
    assert set(t) == {"build_s", "solve_s", "total_s", "check_s"}  # check: the checker run
    assert 0 <= t["build_s"] <= t["total_s"] and 0 <= t["solve_s"] <= t["total_s"]
    assert t["total_s"] < 60
    for key in ("status", "objective", "bound", "gap", "units", "forces"):
        assert key in plan
    # the same instance, backend and options give the same plan, times aside
    again = tmp_path / "again.json"
    invoke(path, "--backend", backend, "--out", again, "--time-limit", "60",
           "--gap", "0.0001", "--seed", "7", "-q")
    second = json.loads(again.read_text())
    assert {k: v for k, v in plan.items() if k != "times"} == {
        k: v for k, v in second.items() if k != "times"}


def test_provenance_in_text_output(tmp_path):
    path = write(tmp_path, three_forces())
    result = invoke(path, "--backend", "highs")
    assert "three: optimal (highs: HiGHS " in result.output
    assert "times: build" in result.output and "gap:" in result.output


def test_hash_follows_the_file_bytes(tmp_path):
    """Reformatting the file changes its hash; the hash is of the bytes as given."""
    data = three_forces()
    p1 = tmp_path / "a.json"
    p1.write_text(json.dumps(data))
    p2 = tmp_path / "b.json"
    p2.write_text(json.dumps(data, indent=4))
    h1 = json.loads(invoke(p1, "--json").output)["instance_sha256"]
    h2 = json.loads(invoke(p2, "--json").output)["instance_sha256"]
    assert h1 == hashlib.sha256(p1.read_bytes()).hexdigest()
    assert h2 == hashlib.sha256(p2.read_bytes()).hexdigest() != h1


def test_in_memory_instance_gets_canonical_hash():
    from shareplan.models.load import instance_digest

    inst = instance_from_data(three_forces())
    plan = solve_instance(inst, "highs")
    assert plan.instance_sha256 == instance_digest(inst)
    assert len(plan.instance_sha256) == 64


def test_compare_and_diff_show_provenance(tmp_path):
    path = write(tmp_path, n_forces(["A", "B", "C"]))
    result = invoke("compare", path, "--backends", "cbc,highs")
    for text in ("CBC", "HiGHS", "build s", "solve s", "optimal"):
        assert text in result.output
    invoke(path, "--backend", "cbc", "--out", tmp_path / "a.json", "-q")
    invoke(path, "--backend", "highs", "--out", tmp_path / "b.json", "-q")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    out = invoke("diff", tmp_path / "a.json", tmp_path / "b.json").output
    assert f"A: n ({digest}), cbc CBC" in out
    assert f"B: n ({digest}), highs HiGHS" in out
    assert "status optimal" in out and "'gap': 1e-06" in out
    assert "different instance files" not in out
