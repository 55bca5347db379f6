"""Small builders shared by the tests: instance dicts, solving, reading plans back.

Instances are plain dicts (the JSON of an instance file: keys = field names), so
every test shows its data and can write it to a file for the command line.
"""

from __future__ import annotations

import copy
import inspect
import math

import pytest

from shareplan.models.load import instance_from_data
from shareplan.solver.backends import backends_with
from shareplan.solver.core import SolveOptions, Status
from shareplan.solver.run import solve_instance

# one backend per solver engine that takes every model of these tests (CP-SAT refuses
# continuous columns), from the registry
BACKENDS = backends_with(main_only=True, continuous_columns=True)
REL = 1e-6
ABS = 1e-6
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180  # along a meridian: 111.195 km


def approx(value: float):
    return pytest.approx(value, rel=REL, abs=ABS)


def cost(force: str, function: str, c: float, **extra) -> dict:
    return {"force": force, "function": function, "standalone_cost_gbp": c, **extra}


def two_forces(fixed=50.0, setup=0.0, variable=0.5, c=(100.0, 100.0), local=(1000.0, 1000.0),
               horizon=5, rate=0.0, **fn_extra) -> dict:
    """Forces A and B, shareable 'fin' (demand = cost), local 'resp', sites hA (A) and hB (B).

    Sharing 'fin' costs F + v (d_A + d_B) a year against c_A + c_B alone.
    """
    return {
        "name": "two", "horizon_years": horizon, "discount_rate": rate,
        "forces": [{"id": "A"}, {"id": "B"}],
        "functions": [
            {"id": "fin", "unit_fixed_cost_gbp": fixed, "unit_setup_cost_gbp": setup,
             "variable_cost_gbp_per_unit": variable, **fn_extra},
            {"id": "resp", "shareable": False},
        ],
        "sites": [{"id": "hA", "owner": "A"}, {"id": "hB", "owner": "B"}],
        "costs": [cost("A", "fin", c[0]), cost("B", "fin", c[1]),
                  cost("A", "resp", local[0]), cost("B", "resp", local[1])],
    }


def n_forces(ids, c=100.0, fixed=50.0, variable=0.5, sites=("hX",), owners=None, horizon=5,
             **fn_extra) -> dict:
    """Forces ``ids``, one shareable 'fin' (standalone c each, demand = c), ownerless sites."""
    owners = owners or {}
    cs = c if isinstance(c, dict) else {f: c for f in ids}
    return {
        "name": "n", "horizon_years": horizon,
        "forces": [{"id": f} for f in ids],
        "functions": [{"id": "fin", "unit_fixed_cost_gbp": fixed,
                       "variable_cost_gbp_per_unit": variable, **fn_extra}],
        "sites": [{"id": h, **({"owner": owners[h]} if h in owners else {})} for h in sites],
        "costs": [cost(f, "fin", cs[f]) for f in ids],
    }


def variant(data: dict, edit) -> dict:
    """A deep copy of ``data`` changed by ``edit(copy)``."""
    out = copy.deepcopy(data)
    edit(out)
    return out


_HAS_EXPLAIN = "explain" in inspect.signature(solve_instance).parameters


try:
    from shareplan.solver.checker import check_plan
except ImportError:  # the checker is written concurrently
    check_plan = None


def solve(data: dict, backend: str = "cbc", check: bool = True, **options):
    """Validate ``data`` and solve it; the Plan object.

    Every plan with a solution must pass the independent checker; ``check=False`` also
    turns off solve_instance's own verification (for models broken on purpose).
    """
    inst = instance_from_data(data)
    kwargs = {"explain": False} if _HAS_EXPLAIN else {}
    plan = solve_instance(inst, backend, SolveOptions(**options), verify=check, **kwargs)
    if check and check_plan is not None and plan.has_solution:
        violations = check_plan(inst, plan.to_dict())
        assert violations == [], "\n".join(map(str, violations))
    return plan


def status(plan) -> str:
    return plan.status.value if isinstance(plan.status, Status) else str(plan.status)


def units_of(plan, function: str | None = None) -> list:
    return [u for u in plan.units if function is None or u.function == function]


def members(unit) -> set[str]:
    return {m.force for m in unit.members}


def member_sets(plan, function: str | None = None) -> list[set[str]]:
    return sorted((members(u) for u in units_of(plan, function)), key=sorted)


def force(plan, fid: str):
    return next(f for f in plan.forces if f.force == fid)


def assert_optimal(plan, objective: float) -> None:
    assert status(plan) == "optimal", (plan.status, plan.message)
    assert plan.objective == approx(objective)


def run_cli(*args):
    """The ``solve`` command in-process (click's CliRunner); arguments may be paths."""
    from click.testing import CliRunner

    from shareplan.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_json(tmp_path, data, name="inst.json"):
    """``data`` (a dict, or text as it is) written to ``tmp_path / name``; the path."""
    import json

    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path
