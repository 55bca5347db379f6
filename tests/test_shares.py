"""The cost-sharing game: solution concepts on games with known answers, properties on
random games, row generation against enumeration, and ``solve shares`` end to end.

Games with published nucleoli (values as listed in the test set of Guajardo and
Jörnsten (2015), "Common mistakes in computing the nucleolus", EJOR 241(3), each with
the correct nucleolus they give): Lemaire (1991) insurance, Hasan et al. (2011)
broadcast mobiles (a cost game), Oh and Shin (2012) manufacturing (a cost game),
Sakawa et al. (2001) production and transportation (5 players). The coalitions are
listed in lexicographic depth-first order: 1, 12, 123, ..., 13, ..., 2, 23, ..., n.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import n_forces, two_forces

from shareplan.analyses import game
from shareplan.analyses.shares import Separation, Solver, analyse, make_groups
from shareplan.analyses.shares_command import money, render
from shareplan.cli import cli
from shareplan.models.load import instance_from_data, load_instance
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance
from shareplan.testing.randinst import random_instance

ROOT = Path(__file__).resolve().parents[1]


def dfs_order(n: int) -> list[list[int]]:
    out = []

    def rec(start, cur):
        for i in range(start, n):
            out.append([*cur, i])
            rec(i + 1, [*cur, i])

    rec(0, [])
    return out


def table_of(n: int, values, sign: float = 1.0) -> np.ndarray:
    table = np.zeros(1 << n)
    for players, v in zip(dfs_order(n), values):
        table[game.mask_of(players)] = sign * v
    return table


def table_from(n: int, fn) -> np.ndarray:
    return np.array([0.0] + [fn(set(game.members(m, n))) for m in range(1, 1 << n)])


# ------------------------------------------------------------- games by hand ---

def test_three_player_game_by_hand():
    """v(i) = 0, v(12) = 2, v(13) = 3, v(23) = 4, v(123) = 6.

    Shapley: phi_1 = (2 + 3)/6 + (6 - 4)/3 = 1.5, phi_2 = (2 + 4)/6 + (6 - 3)/3 = 2,
    phi_3 = (3 + 4)/6 + (6 - 2)/3 = 2.5. Least core: max t with x_i >= t and
    c_i - x_i >= t (c = 2, 3, 4 from the pairs), sum x = 6: t <= 1 from player 1 and
    sum (c_i - t) >= 6, so t = 1, x_1 = 1, and x_2 + x_3 = 5 with x_2 <= 2, x_3 <= 3:
    the least core is the single point (1, 2, 3), hence also the nucleolus.
    """
    t = table_from(3, lambda s: {2: 0, 3: 0}.get(0, 0) if len(s) == 1 else
                   {frozenset({0, 1}): 2, frozenset({0, 2}): 3, frozenset({1, 2}): 4}
                   .get(frozenset(s), 6))
    assert game.shapley(3, t) == pytest.approx([1.5, 2.0, 2.5])
    eps, x = game.least_core(3, t)
    assert eps == pytest.approx(1.0)
    assert x == pytest.approx([1, 2, 3])
    assert game.nucleolus(3, t).x == pytest.approx([1, 2, 3])


def test_three_player_dummy_and_empty_core_by_hand():
    """Player 3 adds nothing (v(12) = v(123) = 6, all else 0): Shapley = nucleolus =
    (3, 3, 0). Symmetric pairs worth 5 with v(N) = 6: x = 2 each leaves every pair 1
    short, eps* = 2 + 2 - 5 = -1 (core empty), nucleolus (2, 2, 2)."""
    t = table_from(3, lambda s: 6.0 if {0, 1} <= s else 0.0)
    assert game.shapley(3, t) == pytest.approx([3, 3, 0])
    assert game.nucleolus(3, t).x == pytest.approx([3, 3, 0])
    t = table_from(3, lambda s: {1: 0.0, 2: 5.0, 3: 6.0}[len(s)])
    eps, _ = game.least_core(3, t)
    assert eps == pytest.approx(-1.0)
    assert game.nucleolus(3, t).x == pytest.approx([2, 2, 2])
    chk = game.core_check(3, {m: t[m] for m in range(1, 8)}, np.array([2.0, 2, 2]), 1e-9)
    assert not chk.in_core and chk.shortfall == pytest.approx(1.0)
    assert chk.individually_rational


def test_four_player_apex_game_by_hand():
    """v(S) = 1 if S holds player 1 and someone else, else 0. Player 1 is pivotal in
    every order where it is not first: phi_1 = 3/4, the others 1/12 each. The core is
    one point: x_1 + x_j >= 1 for each j with x_j >= 0 and sum 1 forces (1, 0, 0, 0),
    so the nucleolus is that point and eps* = 0."""
    t = table_from(4, lambda s: 1.0 if 0 in s and len(s) >= 2 else 0.0)
    assert game.shapley(4, t) == pytest.approx([0.75, 1 / 12, 1 / 12, 1 / 12])
    assert game.nucleolus(4, t).x == pytest.approx([1, 0, 0, 0], abs=1e-9)
    assert game.least_core(4, t)[0] == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------- published nucleoli ---

PUBLISHED = [
    ("Lemaire 1991", 3, [46125, 69187.5, 90000, 53812.5, 17437.5, 30750, 5812.5], 1,
     [52687.5, 24468.75, 12843.75]),
    ("Hasan et al. 2011 (cost)", 4, [8, 8, 10, 20, 19, 10, 20, 19, 1, 10, 13, 12, 10, 12, 11],
     -1, [7.5, 0.5, 1.5, 10.5]),
    ("Oh and Shin 2012 (cost)", 3, [375144, 568232, 772500, 551055, 245280, 452411, 211239],
     -1, [331695.25, 233051.25, 207753.5]),
    ("Sakawa et al. 2001", 5, [0.060, 0.378, 0.536, 0.906, 1, 0.573, 0.747, 0.874, 0.485, 0.144,
                               0.546, 0.634, 0.255, 0.408, 0.561, 0.182, 0.168, 0.337, 0.706,
                               0.801, 0.379, 0.538, 0.668, 0.279, 0.03, 0.383, 0.473, 0.083,
                               0.249, 0.386, 0], 1,
     [0.165, 0.3205, 0.0845, 0.3745, 0.0555]),
]


@pytest.mark.parametrize("name,n,values,sign,expected", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_nucleoli(name, n, values, sign, expected):
    """A cost game c is the savings game v = -c (its nucleolus negated)."""
    t = table_of(n, values, sign)
    expected = sign * np.array(expected, dtype=float)
    scale = max(1.0, abs(t[-1]))
    assert game.nucleolus(n, t).x == pytest.approx(expected, abs=1e-7 * scale)
    floor = game.imputation_floor(n, [t[1 << i] for i in range(n)], t[-1])
    rg = game.nucleolus_rowgen(n, t[-1], game.table_oracle(n, t), {}, floor)
    assert rg.x == pytest.approx(expected, abs=1e-6 * scale)


# ----------------------------------------------------------- random games ---

def _random_table(rng: random.Random, n: int) -> np.ndarray:
    """Superadditive-ish savings games: v(S) = sum of pair synergies in S, plus noise."""
    syn = {(i, j): rng.uniform(0, 10) for i, j in itertools.combinations(range(n), 2)}
    return table_from(n, lambda s: sum(v for (i, j), v in syn.items() if i in s and j in s)
                      + (rng.uniform(-2, 2) if len(s) > 1 else 0.0))


@pytest.mark.parametrize("seed", range(12))
def test_properties_on_random_games(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 5)
    t = _random_table(rng, n)
    phi = game.shapley(n, t)
    assert phi.sum() == pytest.approx(t[-1])  # efficiency
    eps, lc = game.least_core(n, t)
    nuc = game.nucleolus(n, t).x
    assert nuc.sum() == pytest.approx(t[-1])
    sat = [lc[game.members(m, n)].sum() - t[m] for m in game.proper_masks(n)]
    assert min(sat) == pytest.approx(eps, abs=1e-7)  # the LP point reaches eps* exactly
    # the nucleolus lies in the least core (when the imputations do not cut it off)
    nsat = [nuc[game.members(m, n)].sum() - t[m] for m in game.proper_masks(n)]
    if eps >= 0:
        assert min(nsat) >= -1e-7  # core non-empty: the nucleolus is in it (brute force)
        assert min(nsat) == pytest.approx(eps, abs=1e-6)
    # row generation equals enumeration
    rg = game.least_core_rowgen(n, t[-1], game.table_oracle(n, t), {})
    assert rg.eps == pytest.approx(eps, abs=1e-7)
    floor = game.imputation_floor(n, [t[1 << i] for i in range(n)], t[-1])
    rn = game.nucleolus_rowgen(n, t[-1], game.table_oracle(n, t), {}, floor)
    assert rn.x == pytest.approx(nuc, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_symmetry_and_dummy(seed):
    """Players 0 and 1 interchangeable in every coalition get the same (Shapley and
    nucleolus); player 3, adding nothing to any coalition, gets nothing."""
    rng = random.Random(100 + seed)
    worth = {}

    def v(s):
        key = (len(s & {0, 1}), 2 in s)  # 0 and 1 count alike; 3 never matters
        if key not in worth:
            worth[key] = 0.0 if sum(key) <= 1 else rng.uniform(0, 10) * sum(key)
        return worth[key]

    t = table_from(4, v)
    phi = game.shapley(4, t)
    nuc = game.nucleolus(4, t).x
    assert phi.sum() == pytest.approx(t[-1])
    assert phi[0] == pytest.approx(phi[1]) and nuc[0] == pytest.approx(nuc[1], abs=1e-7)
    assert phi[3] == pytest.approx(0.0, abs=1e-9) and nuc[3] == pytest.approx(0.0, abs=1e-7)


def test_sampled_shapley_interval_covers_exact_value():
    rng = random.Random(7)
    n = 6
    t = _random_table(rng, n)
    orders = game.sample_orders(n, 400, seed=3)
    est = game.shapley_from_orders(n, orders, lambda m: t[m])
    exact = game.shapley(n, t)
    assert np.all(np.abs(est.value - exact) <= 2 * est.half_width)
    assert est.value.sum() == pytest.approx(t[-1])  # every order sums to v(N)


# ------------------------------------------------------- sharing instances ---

def _solver(tmp_path, name="c") -> Solver:
    return Solver("highs", SolveOptions(), tmp_path / name, workers=1)


def test_symmetric_three_force_instance_by_hand(tmp_path):
    """Forces a, b, c, each 100 a year alone; a unit costs 50 a year plus 0.5 per unit
    (demand 100): a coalition of k >= 2 saves 5 x (100k - 50k - 50) = 250 (k - 1) over 5
    years: v(pair) = 250, v(N) = 500. Shapley = nucleolus = 500/3; least core: a pair
    gets 1000/3 - 250 = 83.3 more than alone, eps* = 250/3."""
    inst = instance_from_data(n_forces(["a", "b", "c"]))
    plan = solve_instance(inst, "highs").to_dict()
    solver = _solver(tmp_path)
    rep = analyse(inst, plan, solver)
    by = {a.name: a for a in rep.allocations}
    for name in ("shapley", "nucleolus", "demand", "equal"):
        assert [by[name].savings[f] for f in "abc"] == pytest.approx([500 / 3] * 3, abs=0.01)
        assert by[name].in_core and by[name].individually_rational
    (g,) = rep.groups
    # values are sums of per-force savings kept to the penny
    assert g.v_grand == pytest.approx(500.0, abs=0.02)
    assert g.least_core_eps == pytest.approx(250 / 3, abs=0.02)
    assert g.values == pytest.approx({"a": 0.0, "b": 0.0, "a+b": 250.0, "c": 0.0, "a+c": 250.0,
                                      "b+c": 250.0, "a+b+c": 500.0}, abs=0.02)
    assert solver.solved == 7
    again = _solver(tmp_path)  # the same cache: nothing is solved twice
    analyse(inst, plan, again)
    assert again.solved == 0 and again.reused == 7


@pytest.mark.parametrize("seed", [*range(5), "bch"])
def test_row_generation_equals_enumeration_on_instances(tmp_path, seed):
    """The separation MIP's least core equals the least core over every coalition value
    (random 4-force instances without existing units, and BCH with its three)."""
    if seed == "bch":
        inst = load_instance("instances/bch-2013.json")[0]
    else:
        data = random_instance(random.Random(seed), n_forces=4)
        data["existing"] = []  # a random existing unit may break a rule once held fixed
        inst = instance_from_data(data)
    groups = make_groups(inst)
    solver = _solver(tmp_path)
    for g in groups:
        if g.n < 2:
            continue
        solver.values(g, range(1, 1 << g.n))
        t = game.full_table(g.n, {m: cv.value for m, cv in g.values.items()})
        eps, _ = game.least_core(g.n, t)
        sep = Separation(g, solver)
        rg = game.least_core_rowgen(g.n, t[-1], sep, {})
        assert rg.eps == pytest.approx(eps, abs=1e-3 + 1e-7 * abs(t[-1]))
        # and the check of a split by one separation MIP finds the worst coalition
        x = np.full(g.n, t[-1] / g.n)
        mask, value, _ = sep(x, set())
        worst = min(x[game.members(m, g.n)].sum() - t[m] for m in game.proper_masks(g.n))
        assert x[game.members(mask, g.n)].sum() - value == pytest.approx(worst, abs=1e-3)


# ---------------------------------------------------------------- command ---

def test_cli_tiny_two_forces(tmp_path):
    """tiny-two-forces (see its description): the plan with north's target saves 800,000
    (north 370,000, south 430,000 by demand); alone each saves 0, so Shapley and the
    nucleolus give 400,000 each; without the target the unit at south_hq saves 850,000.
    --plan-rule core: that plan, split 425,000 each (north's 300,000 target met)."""
    runner = CliRunner()
    cache = str(tmp_path / "c")
    res = runner.invoke(cli, ["shares", "instances/tiny-two-forces.json", "--json",
                              "--cache", cache, "--csv", str(tmp_path / "s.csv")])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    by = {a["name"]: a for a in rep["allocations"]}
    assert by["demand"]["savings"] == {"north": pytest.approx(370_000, abs=0.01),
                                       "south": pytest.approx(430_000, abs=0.01)}
    for name in ("shapley", "nucleolus", "least_core"):
        assert by[name]["savings"]["north"] == pytest.approx(400_000, abs=0.01)
        assert by[name]["in_core"] is True
    assert rep["groups"][0]["v_grand"] == pytest.approx(850_000, abs=0.01)
    assert (tmp_path / "s.csv").read_text().startswith("allocation,force,savings_gbp")
    res = runner.invoke(cli, ["shares", "instances/tiny-two-forces.json", "--plan-rule",
                              "core", "--cache", cache])
    assert res.exit_code == 0, res.output
    assert "in the core, every target met" in res.output
    assert "core split" in res.output and "£425.00k" in res.output
    res = runner.invoke(cli, ["shares", "instances/bch-2013.json", str(tmp_path / "none.json"),
                              "--cache", cache])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_cli_refuses_a_game_without_standalone(tmp_path):
    data = n_forces(["a", "b"], standalone_allowed=False)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(cli, ["shares", str(path), "--cache", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert "standalone_allowed" in res.output and "Traceback" not in res.output


def test_bch_shares_agree_with_their_own_coalition_values(tmp_path):
    """BCH (figures not pinned: the instance is recalibrated): the Shapley value recomputed
    by hand from the seven reported coalition values, every split sums to the plan's
    savings, and the demand split equals the plan's own savings."""
    inst, _ = load_instance("instances/bch-2013.json")
    plan = solve_instance(inst, "highs").to_dict()
    rep = analyse(inst, plan, _solver(tmp_path))
    (g,) = rep.groups
    v = {frozenset(k.split("+")): val for k, val in g.values.items()}
    total = sum(f["savings_gbp"] for f in plan["forces"])
    by = {a.name: a for a in rep.allocations}
    for a in by.values():
        if a.savings:
            assert sum(a.savings.values()) == pytest.approx(total, abs=0.05)
    ids = ["beds", "cambs", "herts"]
    for i in ids:
        o = [j for j in ids if j != i]
        vi, vN = v[frozenset([i])], total
        phi = (vi / 3 + (v[frozenset([i, o[0]])] - v[frozenset([o[0]])]) / 6
               + (v[frozenset([i, o[1]])] - v[frozenset([o[1]])]) / 6
               + (vN - v[frozenset(o)]) / 3)
        assert by["shapley"].savings[i] == pytest.approx(phi, abs=0.05)
    own = {f["force"]: f["savings_gbp"] for f in plan["forces"]}
    assert by[inst.allocation].savings == pytest.approx(own, abs=0.05)
    assert math.isfinite(g.least_core_eps)


def test_large_group_path_agrees_with_enumeration(tmp_path):
    """A 5-force group analysed as 'large' (max_exact=4: sampled Shapley, row generation,
    core checks by the separation MIP) against the same group enumerated."""
    from shareplan.generate import generate_instance

    inst = instance_from_data(generate_instance(forces=5, functions=2, seed=2,
                                                max_distance_km=None, targets=False))
    plan = solve_instance(inst, "highs").to_dict()
    solver = _solver(tmp_path)
    exact = analyse(inst, plan, solver)
    large = analyse(inst, plan, solver, max_exact=4, samples=200, seed=1)
    assert solver.solved <= 31  # the large path reuses every value the exact one solved
    (ge,), (gl,) = exact.groups, large.groups
    assert ge.exact and not gl.exact
    assert gl.least_core_eps == pytest.approx(ge.least_core_eps, abs=0.05)
    ex = {a.name: a for a in exact.allocations}
    lg = {a.name: a for a in large.allocations}
    for f in exact.forces:
        assert lg["nucleolus"].savings[f] == pytest.approx(ex["nucleolus"].savings[f], abs=0.05)
        hw = lg["shapley"].half_width[f]
        assert abs(lg["shapley"].savings[f] - ex["shapley"].savings[f]) <= 2 * hw + 0.05
    for name in ("demand", "equal", "nucleolus"):  # the same split, checked both ways
        assert lg[name].in_core == ex[name].in_core
        assert lg[name].blocking_gain_gbp == pytest.approx(ex[name].blocking_gain_gbp, abs=0.05)
    text = render(large)  # the sampled Shapley prints with its interval
    assert "±" in text and "Shapley" in text


def test_cli_with_a_plan_file(tmp_path):
    """A given plan is split as it stands; a tampered one is refused (exit 2).

    The plan shares finance at north_hq; its fixed and set-up costs over the horizon are
    5 x 150,000 + 200,000 = 950,000, by demand 380,000 (north) and 570,000 (south), by
    the equal rule 475,000 each: north saves 370,000 + 380,000 - 475,000 = 275,000 and
    south 430,000 + 570,000 - 475,000 = 525,000."""
    runner = CliRunner()
    plan_path = tmp_path / "plan.json"
    res = runner.invoke(cli, ["instances/tiny-two-forces.json", "--out", str(plan_path), "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["shares", "instances/tiny-two-forces.json", str(plan_path),
                              "--cache", str(tmp_path / "c"), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["plan_source"] == str(plan_path)
    by = {a["name"]: a for a in rep["allocations"]}
    assert by["equal"]["savings"] == {"north": pytest.approx(275_000, abs=0.01),
                                      "south": pytest.approx(525_000, abs=0.01)}
    plan = json.loads(plan_path.read_text())
    plan["forces"][0]["savings_gbp"] += 1000.0
    plan_path.write_text(json.dumps(plan))
    res = runner.invoke(cli, ["shares", "instances/tiny-two-forces.json", str(plan_path),
                              "--cache", str(tmp_path / "c")])
    assert res.exit_code == 2 and "does not check out" in res.output


def test_plan_rule_says_when_no_split_meets_the_targets(tmp_path):
    """tiny-two-forces with north's target at 900,000: the best plan saves 850,000 in all,
    so no split meets it (exit 0, the verdict says so, no split is offered)."""
    data = json.loads(Path("instances/tiny-two-forces.json").read_text())
    for f in data["forces"]:
        if f["id"] == "north":
            f["savings_target_gbp"] = 900_000
    path = tmp_path / "i.json"
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(cli, ["shares", str(path), "--plan-rule", "least-core",
                                   "--cache", str(tmp_path / "c"), "--json"])
    assert res.exit_code == 0, res.output
    split = json.loads(res.output)["split"]
    (info,) = split["groups"].values()
    assert info["total_gbp"] == pytest.approx(850_000, abs=0.01)
    assert "no split" in info["verdict"] and "allocation" not in split


def test_an_infeasible_instance_exits_3_with_the_reason(tmp_path):
    data = two_forces(fixed=120)  # A pays 60 + 50 = 110 > 100 shared: cannot save 50
    data["forces"][0]["savings_target_gbp"] = 50
    path = tmp_path / "inf.json"
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(cli, ["shares", str(path), "--cache", str(tmp_path / "c")])
    assert res.exit_code == 3, res.output
    assert "infeasible" in res.output


def test_tables_fit_80_columns(tmp_path, monkeypatch):
    """Seven splits side by side do not fit 80 columns: the tables split into parts,
    labels wrap, and every money figure stays whole."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner(env={"COLUMNS": "80"}).invoke(
        cli, ["shares", str(ROOT / "instances" / "tiny-two-forces.json"), "--cache", "c"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rep = json.loads(CliRunner().invoke(cli, [
        "shares", str(ROOT / "instances" / "tiny-two-forces.json"), "--cache", "c",
        "--json"]).stdout)
    for a in rep["allocations"]:
        for value in (a["savings"] or {}).values():
            assert money(value) in res.stdout
