"""The unit-column decomposition (solver/decompose.py) against the compact model.

Small random instances (shareplan.testing.randinst) on every backend: the decomposed solve and
the monolithic one agree on the optimum, every plan passes the checker (helpers.solve),
and the Lagrangian bound is never above the optimum. Then a one-block generated
instance large enough for ``decomposition=auto`` to switch it on.
"""

from __future__ import annotations

import random
import time

import pytest
from helpers import solve

from shareplan.generate import generate_instance
from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import decompose
from shareplan.solver.backends import backends_with
from shareplan.solver.formulation import build_formulation
from shareplan.testing.randinst import random_instance


def _column_model_cases(count: int) -> list[dict]:
    """Random least-cost instances the column model expresses, with per-force rows."""
    out, seed = [], 0
    while len(out) < count:
        seed += 1
        data = random_instance(random.Random(seed), n_forces=random.Random(seed).randint(3, 5))
        data["objective"] = {"sense": "min_cost"}
        for fn in data["functions"]:
            fn.pop("max_units", None)
            if fn.get("shareable", True) and not fn.get("divisible"):
                fn.setdefault("max_members", len(data["forces"]))
        for k, f in enumerate(data["forces"]):  # a target or floor on some forces
            if k % 2 == 0 and "savings_target_gbp" not in f:
                f["frontline_floor_fte"] = f["frontline_officers_fte"] - 40.0
        try:
            form = build_formulation(build_network(instance_from_data(data)))
        except Exception:  # an edit this loop made broke a load rule: skip the seed
            continue
        if decompose.why_not(form) is None and sum(len(x) for x in form.x) >= 2:
            out.append(data)
    return out


CASES = _column_model_cases(10)


def _agree(a, b) -> None:
    """Both plans or neither; equal optima when both are proven, and a proven optimum
    never above the other's plan (CP-SAT proves less on the compact model)."""
    assert a.has_solution == b.has_solution, (a.status, b.status, a.message, b.message)
    if not a.has_solution:
        assert a.status.value == b.status.value
        return
    tol = 1e-6 * max(1.0, abs(a.objective))
    if a.status.value == b.status.value == "optimal":
        assert abs(a.objective - b.objective) <= tol
    for proven, other in ((a, b), (b, a)):
        if proven.status.value == "optimal":
            assert proven.objective <= other.objective + tol


@pytest.mark.parametrize("backend", backends_with())
def test_decomposition_agrees_with_the_compact_model_on_every_backend(backend):
    for data in CASES:
        whole = solve(data, backend, decomposition="off", time_limit=60)
        parts = solve(data, backend, decomposition="on", time_limit=60)
        _agree(whole, parts)
        assert not parts.has_solution or "unit-column decomposition" in parts.message
        if parts.objective is not None:
            assert parts.bound <= parts.objective + 1e-6 * max(1.0, abs(parts.objective))


def test_lagrangian_bound_is_never_above_the_optimum():
    for data in CASES:
        inst = instance_from_data(data)
        optimum = solve(data, "highs", decomposition="off")
        if optimum.objective is None:
            continue
        form = build_formulation(build_network(inst))
        cols = decompose.enumerate_columns(form)
        if not len(cols):
            continue
        master = decompose.Master(cols, decompose.coupling_rows(form))
        priced = decompose.price(master, time.perf_counter() + 30)
        bound = priced.bound + form.lp.obj_offset
        assert bound <= optimum.objective + 1e-6 * max(1.0, abs(optimum.objective))
        # the bound after the first pricing round is valid too (a weaker one)
        fresh = decompose.Master(cols, decompose.coupling_rows(form))
        first = decompose.price(fresh, time.perf_counter() + 30, max_rounds=1)
        assert first.bound <= priced.bound + 1e-6 * max(1.0, abs(priced.bound))


def test_the_column_model_lists_every_unit_the_compact_model_allows():
    """Three forces, one site owned by the first, units of 2..3: {0,1}, {0,2}, {0,1,2}."""
    tiny = generate_instance(forces=3, functions=1, seed=0, one_block=True)
    tiny["policy"]["max_distance_km"] = {"finance": 1000.0}  # every force in reach
    tiny["functions"][0]["min_members"], tiny["functions"][0]["max_members"] = 2, 3
    tiny["sites"] = tiny["sites"][:1]
    form = build_formulation(build_network(instance_from_data(tiny)))
    cols = decompose.enumerate_columns(form)
    sets = sorted(tuple(sorted(int(f) for f in row if f < 3)) for row in cols.force)
    assert sets == [(0, 1), (0, 1, 2), (0, 2)]


def test_auto_switches_on_a_one_block_instance_and_matches_the_compact_model():
    data = generate_instance(forces=10, functions=4, seed=1, one_block=True)
    form = build_formulation(build_network(instance_from_data(data)))
    assert decompose.pays(form)  # at least MIN_ARCS arcs and per-force rows
    auto = solve(data, "highs", gap=1e-6, time_limit=120)
    assert "unit-column decomposition" in auto.message
    whole = solve(data, "highs", gap=1e-6, decomposition="off", time_limit=120)
    assert "unit-column decomposition" not in whole.message
    assert auto.status.value == whole.status.value == "optimal"
    assert abs(auto.objective - whole.objective) <= 1e-6 * abs(whole.objective)
    assert auto.bound <= whole.objective + 1e-6 * abs(whole.objective)


def test_small_instances_stay_with_the_compact_model():
    data = generate_instance(forces=4, functions=2, seed=3, one_block=True)
    form = build_formulation(build_network(instance_from_data(data)))
    assert not decompose.pays(form)
    assert "unit-column decomposition" not in solve(data, "highs").message


def test_one_block_generator_joins_every_force():
    from shareplan.solver.components import split_instance

    for n in (12, 40):
        inst = instance_from_data(generate_instance(forces=n, functions=2, seed=n,
                                                    one_block=True))
        assert split_instance(inst, build_network(inst)) is None
        clustered = instance_from_data(generate_instance(forces=n, functions=2, seed=n,
                                                         regions=8, max_distance_km=40))
        assert split_instance(clustered, build_network(clustered)) is not None


def test_national_builder_makes_one_block_with_targets_and_floors(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from shareplan.models.load import load_instance
    from shareplan.solver.components import split_instance

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "national-150.json"
    subprocess.run([sys.executable, str(root / "tools/build_national_instance.py"), str(out),
                    "--max-km", "150", "--target-share", "0.02"], check=True)
    inst = load_instance(out)[0]
    assert len(inst.forces) == 43
    assert split_instance(inst, build_network(inst)) is None
    for f in inst.forces:
        assert abs(f.savings_target_gbp - 0.02 * f.budget_gbp) <= 1e3
        assert f.frontline_floor_fte is not None
    bad = subprocess.run([sys.executable, str(root / "tools/build_national_instance.py"),
                          str(tmp_path / "x.json"), "--max-km", "-5"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "--max-km" in bad.stderr


def test_cli_decomposition_switch_and_one_block_generator(tmp_path):
    import json

    from helpers import run_cli

    path = tmp_path / "g.json"
    res = run_cli("generate", "--forces", "10", "--functions", "4", "--seed", "1",
                  "--one-block", "--out", str(path))
    assert res.exit_code == 0, res.output
    assert json.loads(path.read_text()) == generate_instance(forces=10, functions=4, seed=1,
                                                             one_block=True)
    plans = {}
    for mode in ("on", "off"):
        out = tmp_path / f"{mode}.json"
        res = run_cli(str(path), "--backend", "highs", "--decomposition", mode,
                      "--shadow-budget", "0", "--quiet", "--out", str(out))
        assert res.exit_code == 0, res.output
        plans[mode] = json.loads(out.read_text())
    assert plans["on"]["options"]["decomposition"] == "on"
    assert ("unit-column decomposition" in plans["on"]["message"]) and \
        "unit-column" not in plans["off"]["message"]
    assert abs(plans["on"]["objective"] - plans["off"]["objective"]) <= \
        1e-6 * abs(plans["off"]["objective"])
    assert run_cli(str(path), "--decomposition", "sometimes").exit_code == 2


def test_forcing_the_decomposition_where_it_cannot_apply_says_why():
    data = generate_instance(forces=6, functions=2, seed=2, one_block=True)
    data["functions"][0]["max_units"] = 1  # a row across the units of a function
    plan = solve(data, "highs", decomposition="on")
    whole = solve(data, "highs", decomposition="off")
    assert "decomposition not used: function 'finance' has a maximum number of units" \
        in plan.message
    assert abs(plan.objective - whole.objective) <= 1e-6 * abs(whole.objective)
