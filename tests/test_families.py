"""Every constraint family of the registry (formulation.FAMILIES) binds somewhere, and is there.

For each family: an instance where it binds, its rows counted in the built
programme (``lp.row_blocks``), the optimum with it solved on every backend, and
the same instance with that family's builder replaced by a no-op giving another
outcome, so dropping the family from the model is caught (for a valid inequality,
which cannot change the optimum, a weaker LP relaxation instead). Hand arithmetic in
the comments (alpha = 5, 'fin' costs 100 a year per force, demand 100, v = 0.5).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest
from helpers import (
    BACKENDS,
    approx,
    check_plan,
    cost,
    member_sets,
    n_forces,
    solve,
    status,
    two_forces,
)

import shareplan.solver.checker as checker
import shareplan.solver.formulation as formulation
from shareplan.models.load import InstanceError, instance_from_data
from shareplan.models.network import build_network
from shareplan.solver.backends import get_backend
from shareplan.solver.core import SolveOptions
from shareplan.solver.formulation import (
    ARC_RULES,
    FAMILIES,
    FAMILY_OF_ROW,
    OBJECTIVE_ROWS,
    build_formulation,
)

LOCAL = 2 * 5 * 1000.0  # two_forces' local function over the horizon


def build(data: dict):
    return build_formulation(build_network(instance_from_data(data)))


def row_counts(lp) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in lp.row_blocks:
        out[b.family] = out.get(b.family, 0) + len(b.labels)
    return out


def col_labels(lp, family: str) -> list[tuple]:
    return [tuple(b.labels[k]) for b in lp.col_blocks if b.family == family
            for k in range(len(b.labels))]


# ---------------------------------------------------------------- instances where a family binds


def _assignment():
    # free units (F = 0) at two sites: each membership saves 5 * 50 = 250 per force; a
    # force may be in one unit only: 1,000 - 2 * 250 = 500 (else 1,000 - 4 * 250 = 0)
    return n_forces(["A", "B"], fixed=0, sites=("hX", "hY"))


def _linking():
    return two_forces()  # without x <= y nobody pays F: 10,500 instead of 10,750


def _host_membership():
    # A's 'fin' costs 10 alone (joining costs it 50); hA (owner A) F = 10, hX F = 60.
    # {A,B,C} at hA: 10 + 150 = 160 a year; {B,C} at hX: 60 + 100 + 10 = 170 -> 800.
    # Without the rule {B,C} at hA: 10 + 100 + 10 = 120 -> 600.
    data = n_forces(["A", "B", "C"], c={"A": 10, "B": 100, "C": 100}, fixed=60,
                    sites=("hA", "hX"), owners={"hA": "A"})
    data["functions"][0]["hosts"] = [{"site": "hA", "fixed_cost_gbp": 10}, {"site": "hX"}]
    data["costs"][0]["demand"] = 100
    return data


def _unit_size_min():
    # F = 10; B's 'fin' costs 5 alone (demand 100: 50 in a unit). A alone in a unit would
    # pay 10 + 50 = 60 < 100: 5 * (60 + 5) = 325; but a unit needs 2, and {A, B} costs
    # 10 + 50 + 50 = 110 > 100 + 5 alone: 5 * 105 = 525
    data = n_forces(["A", "B"], c={"A": 100, "B": 5}, fixed=10)
    data["costs"][1]["demand"] = 100
    return data


def _unit_size_max():
    return n_forces(["A", "B", "C"], max_members=2)  # pair: 1,250; all three: 1,000


def _capacity():
    return n_forces(["A", "B", "C"], unit_capacity=250)  # 300 > 250: 1,250 (else 1,000)


def _unit_count():
    # units of two at two sites, one unit at most: 1,750 (else two pairs: 1,500)
    return n_forces(["A", "B", "C", "D"], sites=("hX", "hY"), max_members=2, max_units=1)


def _capacity_cover():
    # no standalone, two sites of capacity 150, demand 100 each: two units of one force,
    # 5 * (2 * 50 + 0.5 * 200) = 1,000. The cover rows (150 y_X + 150 y_Y >= 200 and
    # y_X + y_Y >= 2) only cut the LP relaxation: without them y_X + y_Y >= 4/3 there
    return n_forces(["A", "B"], sites=("hX", "hY"), unit_capacity=150, min_members=1,
                    standalone_allowed=False)


def _existing():
    # a fixed existing unit that costs 220 a year against 200 alone: 11,100 (else 11,000)
    data = two_forces(fixed=120)
    data["existing"] = [{"function": "fin", "site": "hA", "members": ["A", "B"]}]
    return data


def _forbidden():
    # A (100), B (110), C (100), all demand 100: A-B forbidden -> {B,C}: 1,250 (else 1,000)
    data = n_forces(["A", "B", "C"], c={"A": 100, "B": 110, "C": 100})
    data["costs"][1]["demand"] = 100
    data["policy"] = {"forbidden_partners": [{"forces": ["A", "B"]}]}
    return data


def _allocation():
    # F = 120 shared by demand: A pays 60 + 50 = 110 > 100, so A's target of 50 cannot be
    # met. Without its share of F, A would seem to save 5 * 50 = 250 -> 'feasible' at 11,100
    data = two_forces(fixed=120)
    data["forces"][0]["savings_target_gbp"] = 50
    return data


def _savings_targets():
    # A: c 100, d 100; B: c 100, d 50; F = 120 by demand. Sharing saves 5 in total a year
    # (195 vs 200) but A pays 80 + 50 = 130: T_A = 0 keeps A alone -> 11,000 (else 10,975)
    data = two_forces(fixed=120)
    data["costs"][1]["demand"] = 50
    data["forces"][0]["savings_target_gbp"] = 0
    return data


def _aggregate_target():
    data = two_forces(fixed=120)  # sharing loses 100 in total: any target > 0 is infeasible
    data["objective"] = {"aggregate_savings_target_gbp": 1.0}
    return data


def _frontline():
    # A: 1 officer in 'fin', a unit needs 0.05 * 100 = 5: frontline 100 - 4 = 96 < 98
    data = two_forces(officers_per_unit=0.05)
    data["forces"][0].update(frontline_officers_fte=100, frontline_floor_fte=98)
    for c in data["costs"]:
        c["officers_fte"] = 1
    return data


def _noop(*args, **kwargs):
    return []  # no rows (and no charges for the families that read allocation's)


@dataclass
class Case:
    family: str  # its name in formulation.FAMILIES
    make: Callable[[], dict]
    rows: dict[str, int]  # row families and how many rows each
    expected: float | None  # the optimum (None: infeasible)
    dropped: float | None  # the optimum with the family dropped (None: infeasible)
    drop: Callable = _noop
    relaxation: tuple[float, float] | None = None  # valid inequalities: LP bound with, without


CASES = [
    # rows: one assignment row per (function, force), one link per arc, ...
    Case("assignment", _assignment, {"assignment": 2}, 500, 0),
    Case("linking", _linking, {"linking": 4}, LOCAL + 750, LOCAL + 500),
    Case("host_membership", _host_membership, {"host_membership": 1}, 800, 600),
    Case("unit_size", _unit_size_min, {"unit_size_min": 1}, 525, 325),
    Case("unit_size", _unit_size_max, {"unit_size_min": 1, "unit_size_max": 1}, 1250, 1000),
    Case("capacity", _capacity, {"capacity": 1}, 1250, 1000),
    Case("capacity_cover", _capacity_cover, {"capacity_cover": 2}, 1000, 1000,
         relaxation=(1000, 5 * (50 * 4 / 3 + 100))),
    Case("unit_count", _unit_count, {"unit_count": 1}, 1750, 1500),
    Case("existing_units", _existing, {}, LOCAL + 1100, LOCAL + 1000),
    Case("forbidden_partners", _forbidden, {"forbidden_partners": 1}, 1250, 1000),
    Case("allocation", _allocation, {"savings_target": 1}, None, LOCAL + 1100),
    Case("savings_target", _savings_targets, {"savings_target": 1}, LOCAL + 1000,
         LOCAL + 975),
    Case("aggregate_target", _aggregate_target, {"aggregate_target": 1}, None, LOCAL + 1000),
    Case("frontline_floor", _frontline, {"frontline_floor": 1}, LOCAL + 1000, LOCAL + 750),
]
IDS = [f"{c.family}-{c.make.__name__.strip('_')}" for c in CASES]


def without(name: str, drop: Callable = _noop) -> tuple:
    """The registry with family ``name``'s builder replaced by ``drop``."""
    return tuple(replace(f, build=drop) if f.name == name else f for f in FAMILIES)


def test_every_family_has_a_case():
    """Each registry family has a case here, its builder carries its name, and its rows
    start with it; no two families write the same rows."""
    assert [f.name for f in FAMILIES] == list(dict.fromkeys(c.family for c in CASES))
    rows = [r for f in FAMILIES for r in f.rows]
    assert len(rows) == len(set(rows))
    for f in FAMILIES:
        assert f.build.__name__ == f.name and getattr(formulation, f.name) is f.build
        assert all(r.startswith(f.name) for r in f.rows), f
        assert set(inspect.signature(f.build).parameters) == {"ctx", *f.needs}, f
        assert all(FAMILIES.index(formulation.FAMILY[n]) < FAMILIES.index(f) for n in f.needs)
    for case in CASES:
        assert set(case.rows) <= set(FAMILY_OF_ROW), case.rows


def test_every_row_has_a_family():
    """Every row block a built programme holds belongs to a family of the registry (or to
    the objective), so explanations and error messages can name its rules and fields."""
    datas = [c.make() for c in CASES]
    datas.append({**_allocation(), "objective": {"sense": "max_min_savings_ratio"}})
    for data in datas:
        for block in build(data).lp.row_blocks:
            assert block.family in FAMILY_OF_ROW or block.family in OBJECTIVE_ROWS, block.family


def _checker_rules() -> set[str]:
    """The rule names checker.py reports (first argument of out.add and _check_money's)."""
    tree = ast.parse(inspect.getsource(checker))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "add" and node.args \
                and isinstance(node.args[0], ast.Constant):
            names.add(node.args[0].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_check_money":
            names.update(a.value for a in node.args if isinstance(a, ast.Constant)
                         and isinstance(a.value, str) and a.value.endswith("_mismatch"))
    return names


#: Families the checker has no rule of that name for, and why.
NOT_A_PLAN_RULE = {"allocation": "its charges are checked as figures (cost_mismatch)",
                   "capacity_cover": "a valid inequality, implied by assignment and capacity"}
#: Checker rules about the plan file rather than the model's rules.
FILE_RULES = {"format", "unknown_id", "cost_mismatch", "objective_mismatch", "provenance",
              "status", "instance_mismatch", "no_plan"}


def test_checker_rules_are_the_family_names():
    """The independent checker reports each family's violations under the family's name
    (and arc-pruning rules and must-share under theirs): one name per rule everywhere."""
    rules = _checker_rules()
    families = {f.name for f in FAMILIES}
    assert families - set(NOT_A_PLAN_RULE) <= rules, families - rules
    assert rules <= families | set(ARC_RULES) | {"must_share"} | FILE_RULES, \
        rules - families - set(ARC_RULES) - FILE_RULES


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_family_rows_present(case):
    counts = row_counts(build(case.make()).lp)
    for family, n in case.rows.items():
        assert counts.get(family) == n, (family, counts)


def test_allocation_rows_present():
    """Either representation of the exact allocation (docs/model.md section 5.11).

    Enumerated member sets: one x = sum lambda row per arc at a host with a charge (4) and
    one y = sum lambda row per host (2); McCormick: z <= P x, z <= p, z >= p - P (1 - x)
    per arc (4 each) and sum_i k_i z_i = C y per host (2).
    """
    counts = row_counts(build(_allocation()).lp)
    by_sets = {"allocation_x": 4, "allocation_y": 2}
    mccormick = {"allocation_z_x": 4, "allocation_z_p": 4, "allocation_z_lb": 4,
                 "allocation_z_sum": 2}
    assert (all(counts.get(k) == n for k, n in by_sets.items())
            or all(counts.get(k) == n for k, n in mccormick.items())), counts
    # no allocation rows at all when nothing needs per-force charges
    plain = row_counts(build(two_forces(fixed=120)).lp)
    assert not set(plain) & (set(by_sets) | set(mccormick)), plain


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_family_binds(case, backend):
    plan = solve(case.make(), backend)
    if case.expected is None:
        assert status(plan) == "infeasible"
    else:
        assert status(plan) == "optimal", plan.message
        assert plan.objective == approx(case.expected)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dropping_the_family_changes_the_optimum(case, monkeypatch):
    """The binding test above would fail without the family: shown by dropping it."""
    monkeypatch.setattr(formulation, "FAMILIES", without(case.family, case.drop))
    if case.relaxation is not None:  # a valid inequality: the same optimum, a weaker bound
        assert case.dropped == approx(case.expected)
        monkeypatch.undo()
        assert _relaxation(case.make()) == approx(case.relaxation[0])
        monkeypatch.setattr(formulation, "FAMILIES", without(case.family, case.drop))
        assert _relaxation(case.make()) == approx(case.relaxation[1])
        assert case.relaxation[1] < case.relaxation[0] - 1
    plan = solve(case.make(), "ortools", check=False)
    if case.dropped is None:
        assert status(plan) == "infeasible"
    else:
        assert status(plan) == "optimal"
        assert plan.objective == approx(case.dropped)
        if check_plan is not None and case.relaxation is None:  # the checker rejects it
            violations = check_plan(instance_from_data(case.make()), plan.to_dict())
            assert violations, "the checker accepts a plan that breaks " + case.family
    assert (case.dropped is None) != (case.expected is None) or \
        case.dropped != approx(case.expected) or case.relaxation is not None


def _relaxation(data: dict) -> float:
    """The optimum of the LP relaxation of data's programme (HiGHS)."""
    lp = build(data).lp
    lp = replace(lp, integer=np.zeros(lp.n_cols, bool))
    res = get_backend("highs").solve(lp, SolveOptions())
    assert res.status.value == "optimal"
    return res.objective


# ---------------------------------------------------------------- plan structure where unique


@pytest.mark.parametrize("backend", BACKENDS)
def test_binding_plans(backend):
    assert member_sets(solve(_host_membership(), backend)) == [{"A", "B", "C"}]
    assert [u.site for u in solve(_host_membership(), backend).units] == ["hA"]
    assert member_sets(solve(_forbidden(), backend)) == [{"B", "C"}]
    assert solve(_unit_size_min(), backend).units == []
    assert member_sets(solve(_savings_targets(), backend)) == []
    assert [len(s) for s in member_sets(solve(_capacity(), backend))] == [2]
    units = solve(_existing(), backend).units
    assert [(u.site, u.existing) for u in units] == [("hA", True)]
    plan = solve(_assignment(), backend)
    assert sorted(m.force for u in plan.units for m in u.members) == ["A", "B"]


# ---------------------------------------------------------------- bounds and row senses


def test_existing_unit_fixes_bounds():
    form = build(_existing())
    lp = form.lp
    x = dict(zip(col_labels(lp, "x"), form.x[0], strict=True))
    y = dict(zip(col_labels(lp, "y"), form.y[0], strict=True))
    assert lp.lb[y[("fin", "hA")]] == 1
    assert lp.lb[x[("fin", "A", "hA")]] == 1 and lp.lb[x[("fin", "B", "hA")]] == 1
    assert lp.lb[y[("fin", "hB")]] == 0
    data = _existing()
    data["existing"][0]["reoptimisable"] = True
    lp2 = build(data).lp
    assert np.all(lp2.lb[form.x[0]] == 0)


def test_assignment_row_senses():
    """<= 1 normally; = 1 when standalone is not allowed or the force must share."""
    def bounds(data):
        lp = build(data).lp
        block = lp.row_block("assignment")
        return {tuple(block.labels[k]): (lp.row_lo[block.start + k], lp.row_hi[block.start + k])
                for k in range(len(block.labels))}

    free = bounds(two_forces())
    assert all(hi == 1 and lo < 0.5 for lo, hi in free.values())
    assert set(bounds(two_forces(standalone_allowed=False)).values()) == {(1.0, 1.0)}
    data = two_forces()
    data["policy"] = {"must_share": [{"force": "B", "function": "fin"}]}
    must = bounds(data)
    assert must[("fin", "B")] == (1.0, 1.0)
    assert must[("fin", "A")][0] < 0.5


def test_policy_prunes_arcs():
    """Opt-outs, max distance and same-region rules remove arcs (no x for them)."""
    data = two_forces()
    data["forces"].append({"id": "C"})
    data["costs"] += [cost("C", "fin", 100), cost("C", "resp", 1000)]
    data["policy"] = {"opt_outs": [{"force": "C", "function": "fin"}]}
    labels = col_labels(build(data).lp, "x")
    assert len(labels) == 4 and not any(lab[1] == "C" for lab in labels)

    data = two_forces()
    for obj, lat in zip(data["forces"] + data["sites"], [52.0, 53.0, 52.0, 53.0], strict=True):
        obj.update(lat=lat, lon=0.0)
    data["policy"] = {"max_distance_km": {"fin": 100.0}}  # the two are 111 km apart
    assert sorted(col_labels(build(data).lp, "x")) == [("fin", "A", "hA"), ("fin", "B", "hB")]

    data = two_forces()
    data["forces"][0]["region"], data["forces"][1]["region"] = "east", "west"
    data["policy"] = {"same_region": ["fin"]}
    assert sorted(col_labels(build(data).lp, "x")) == [("fin", "A", "hA"), ("fin", "B", "hB")]


# ---------------------------------------------------------------- local policing (family 7)


def test_local_functions_have_no_variables_or_rows():
    form = build(two_forces())
    lp = form.lp
    for block in lp.col_blocks + lp.row_blocks:
        for k in range(len(block.labels)):
            assert "resp" not in block.labels[k], (block.family, block.labels[k])
    assert not any("resp" in name for name in lp.col_names() + lp.row_names())
    # its cost is the constant: alpha * (local + standalone) = 5 * (2,000 + 200)
    assert lp.obj_offset == approx(11000)
    assert len(form.x) == 1  # one shareable function


def test_local_cost_is_constant_in_every_plan():
    a = solve(two_forces(local=(1000, 1000)), "highs")
    b = solve(two_forces(local=(3000, 500)), "highs")
    # same sharing decision; the objective moves by 5 * (3,500 - 2,000) exactly
    assert member_sets(a) == member_sets(b) == [{"A", "B"}]
    assert b.objective - a.objective == approx(5 * 1500)


@pytest.mark.parametrize(("edit", "path"), [
    (lambda d: d.update(existing=[{"function": "resp", "site": "hA", "members": ["A", "B"]}]),
     "existing[0].function"),
    (lambda d: d.update(policy={"must_share": [{"force": "A", "function": "resp"}]}),
     "policy.must_share[0].function"),
    (lambda d: d.update(policy={"forbidden_partners": [{"forces": ["A", "B"],
                                                         "functions": ["resp"]}]}),
     "policy.forbidden_partners[0].functions[0]"),
    (lambda d: d.update(policy={"same_region": ["resp"]}), "policy.same_region[0]"),
    (lambda d: d["functions"][1].update(hosts=[{"site": "hA"}]), "functions[1].hosts"),
])
def test_sharing_a_local_function_is_rejected(edit, path):
    data = two_forces()
    for f in data["forces"]:
        f["region"] = "east"
    edit(data)
    with pytest.raises(InstanceError) as info:
        instance_from_data(data)
    paths = [p.path for p in info.value.problems]
    assert path in paths, paths
    assert "resp" in str(info.value) or "local" in str(info.value)


def test_a_family_without_its_own_sentence_is_explained_in_the_registry_words():
    """explain._describe falls back on a family's words and fields, so a new relaxable
    family has an explanation before it has a sentence of its own."""
    from shareplan.solver.explain import _describe

    form = build(_capacity_cover())
    reason = _describe(form, "capacity_cover", ("fin", "capacity"), 50.0, True)
    assert reason["rule"] == "capacity_cover" and reason["excess"] == 50.0
    assert "capacity cover (functions 'fin' capacity" in reason["message"], reason
