"""Backend plumbing: several backends and settings in one process, the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import n_forces

from shareplan.models.load import instance_from_data
from shareplan.solver.backends import REGISTRY, get_backend
from shareplan.solver.core import BackendError, SolveOptions
from shareplan.solver.run import solve_instance


def test_highs_thread_count_can_change_between_solves():
    """HiGHS sizes one scheduler per process; a new thread count must not fail the run."""
    inst = instance_from_data(n_forces(["A", "B", "C"]))
    for threads in (1, 2, 1):
        plan = solve_instance(inst, "highs", SolveOptions(threads=threads))
        assert plan.status.value == "optimal", (threads, plan.message)


def test_every_backend_in_one_process_in_any_order():
    """PuLP loads highspy; OR-Tools' HiGHS engine then crashed unless OR-Tools loads first.

    Run in a child process: a segfault would otherwise take pytest down with it.
    """
    code = (
        "from shareplan.models.load import instance_from_data\n"
        "from shareplan.solver.run import solve_instance\n"
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from helpers import n_forces\n"
        "inst = instance_from_data(n_forces(['A', 'B', 'C']))\n"
        "for b in ('cbc', 'highs', 'ortools-highs', 'ortools', 'highs', 'ortools-highs'):\n"
        "    assert solve_instance(inst, b).status.value == 'optimal', b\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_unknown_backend_is_a_backend_error():
    with pytest.raises(BackendError, match="choose from"):
        get_backend("gurobi")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_entries_load(name):
    assert get_backend(name).name.startswith(name.split("-")[0])


def test_max_min_ratio_agrees_across_backends():
    """CBC stopped early on a ratio objective of ~0.03 until it was scaled to basis points."""
    import json

    from shareplan.models.load import load_instance

    inst, _ = load_instance(Path(__file__).parents[1] / "instances" / "bch-2013.json")
    data = json.loads(inst.model_dump_json())
    data["objective"]["sense"] = "max_min_savings_ratio"
    inst = instance_from_data(data)
    ratios = {}
    for backend in ("cbc", "highs"):
        plan = solve_instance(inst, backend)
        assert plan.status.value == "optimal", (backend, plan.message)
        ratios[backend] = min(f.savings_gbp / f.baseline_gbp for f in plan.forces)
    assert ratios["cbc"] == pytest.approx(ratios["highs"], rel=1e-6)


def test_two_stage_objective_with_nothing_to_decide():
    """The lexicographic path goes through the same guards (no columns: the status quo)."""
    data = n_forces(["A", "B"], sites=())
    data["objective"] = {"sense": "max_frontline"}
    for backend in ("highs", "cbc"):
        plan = solve_instance(instance_from_data(data), backend)
        assert plan.status.value == "optimal", (backend, plan.message)
