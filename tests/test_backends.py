"""Backend plumbing: several backends and settings in one process, the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import n_forces

from shareplan.models.load import instance_from_data
from shareplan.solver.backends import REGISTRY, backends_with, capabilities, get_backend
from shareplan.solver.core import BackendError, SolveOptions, Status
from shareplan.solver.lp import LinearProgram
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


@pytest.mark.parametrize("name", list(REGISTRY))
def test_capability_flags_hold(name):
    """A backend without continuous columns refuses a programme with one; every other
    backend solves it: the flag is what callers may rely on instead of the name."""
    backend = get_backend(name)
    assert backend.capabilities == capabilities(name)
    # max x + y  s.t. x + y <= 1.5, x integer in [0, 1], y continuous in [0, 1]: 1.5
    lp = LinearProgram(lb=np.zeros(2), ub=np.ones(2), integer=np.array([True, False]),
                       obj=np.ones(2), obj_offset=0.0, maximize=True,
                       A=sp.csr_matrix(np.ones((1, 2))), row_lo=np.array([-np.inf]),
                       row_hi=np.array([1.5]), col_blocks=[], row_blocks=[])
    if not backend.capabilities.continuous_columns:
        with pytest.raises(BackendError, match="continuous"):
            backend.solve(lp, SolveOptions())
    else:
        res = backend.solve(lp, SolveOptions())
        assert res.status is Status.OPTIMAL and res.objective == pytest.approx(1.5)


def test_backend_lists_come_from_the_registry():
    """Aliases are left out; one main name per engine; the flags filter."""
    every = backends_with()
    assert every and not [b for b in every if REGISTRY[b].alias_of is not None]
    main = backends_with(main_only=True)
    assert set(main) <= set(every) and all(REGISTRY[b].main for b in main)
    assert all(capabilities(b).continuous_columns for b in backends_with(continuous_columns=True))
    assert set(backends_with(continuous_columns=False)) == set(every) - set(
        backends_with(continuous_columns=True))

