"""Near-optimal alternatives (shareplan.analyses.alternatives): hand-checked tiny instances,
then brute force on small random instances against every plan within the slack."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import test_bruteforce as bf
from click.testing import CliRunner
from helpers import BACKENDS, approx, two_forces

from shareplan.analyses.alternatives import (
    COMPLETE,
    DIVERSITY_GAP,
    NO_OPTIMUM,
    REACHED_N,
    TIME_LIMIT,
    UNPROVEN,
    Direction,
    find_alternatives,
    independent_blocks,
    occupied_units,
)
from shareplan.cli import cli
from shareplan.models.load import InstanceError, instance_from_data
from shareplan.models.network import build_network
from shareplan.solver.backends import REGISTRY
from shareplan.solver.checker import check_plan
from shareplan.solver.core import SolveOptions
from shareplan.solver.formulation import build_formulation

ALL_BACKENDS = list(REGISTRY)  # the tiny instances are all-integer, so CP-SAT takes them too


def ended(backend: str) -> tuple[str, ...]:
    """How an exhaustive search may end: CP-SAT rounds money coefficients, so it cannot
    prove that no other plan exists and says so."""
    return (COMPLETE, UNPROVEN) if backend == "ortools-cpsat" else (COMPLETE,)


def hosts_of(alt, function="fin") -> tuple[str, ...]:
    return tuple(sorted(u.site for u in alt.plan.units if u.function == function))


def checked(inst, result):
    """Every plan passes the independent checker and costs at most the cap."""
    for a in result.alternatives:
        assert check_plan(inst, a.plan.to_dict()) == [], a.rank
        assert a.plan.objective <= result.cap_gbp + 1e-6
    return result


def two_hosts(**extra) -> dict:
    """A and B share 'fin' at hA (fixed 50/yr) or hB (60/yr), or run it alone (100 each).

    Per year: at hA 50 + 0.5 * 200 = 150, at hB 160, alone 200; local 2 x 1000; 5 years,
    no discounting. Totals: hA 10,750, hB 10,800, alone 11,000. The part decisions change
    is 10,750 - 11,000 (K = 5 x (2000 + 200)), so |opt - K| = 250.
    """
    data = two_forces(fixed=50.0, **extra)
    data["functions"][0]["hosts"] = [{"site": "hA", "fixed_cost_gbp": 50.0},
                                     {"site": "hB", "fixed_cost_gbp": 60.0}]
    return data


def two_functions() -> dict:
    """two_hosts with a second, identical function 'hr': four plans within 125 of 10,500
    (each function at hA or hB; +50 per function at hB); one run alone costs +250."""
    data = two_hosts()
    fin = data["functions"][0]
    data["functions"].insert(1, {**fin, "id": "hr"})
    data["costs"] += [{"force": f, "function": "hr", "standalone_cost_gbp": 100.0}
                      for f in ("A", "B")]
    return data


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_two_hosts_by_hand(backend):
    inst = instance_from_data(two_hosts())
    # 10%: budget 25 -> only hA; the search proves there is no other plan
    r = checked(inst, find_alternatives(inst, n=5, slack=0.10, backend=backend))
    assert r.optimum_gbp == approx(10750.0) and r.budget_gbp == approx(25.0)
    assert r.fixed_gbp == approx(11000.0)
    assert [hosts_of(a) for a in r.alternatives] == [("hA",)]
    assert r.search in ended(backend)
    assert [s.firm for s in r.summary] == [True] and "shared at hA" in r.summary[0].text
    # 25%: budget 62.5 -> hA and hB, complete; the host is open, the members firm
    r = checked(inst, find_alternatives(inst, n=5, slack=0.25, backend=backend))
    assert [hosts_of(a) for a in r.alternatives] == [("hA",), ("hB",)]
    assert r.search in ended(backend)
    assert r.alternatives[1].extra_gbp == approx(50.0)
    assert r.alternatives[1].extra_by_force == {"A": approx(25.0), "B": approx(25.0)}
    assert r.alternatives[1].changes == ["fin: host moved from hA to hB"]
    assert r.alternatives[1].distance == 6  # x_A and x_B at hA and at hB, y_hA, y_hB
    (fin,) = r.summary
    assert not fin.firm and "host free" in fin.text and "always shared by A and B" in fin.text
    assert all(f["firm"] is False for f in fin.forces)
    # 150%: all three plans; with n = 2 the search stops at n and says so
    r = checked(inst, find_alternatives(inst, n=5, slack=1.5, backend=backend))
    assert sorted(hosts_of(a) for a in r.alternatives) == [(), ("hA",), ("hB",)]
    assert r.search in ended(backend)
    r = checked(inst, find_alternatives(inst, n=2, slack=1.5, backend=backend))
    assert len(r.alternatives) == 2 and r.search == REACHED_N
    # the most diverse second plan: hB differs from hA in 6 decisions, alone in 3
    assert hosts_of(r.alternatives[1]) == ("hB",)


def test_slack_of_the_total():
    """basis 'total': 2% of 10,750 = 215 admits hB (+50) but not alone (+250)."""
    inst = instance_from_data(two_hosts())
    r = checked(inst, find_alternatives(inst, n=5, slack=0.02, basis="total"))
    assert r.budget_gbp == approx(215.0)
    assert sorted(hosts_of(a) for a in r.alternatives) == [("hA",), ("hB",)]
    assert r.search == COMPLETE


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_directions_by_hand(backend):
    inst = instance_from_data(two_functions())
    opts = {"n": 3, "slack": 0.25, "backend": backend}  # budget 125 of |opt - K| = 500
    # fewest units at force A's sites: both functions at hB (+100)
    r = checked(inst, find_alternatives(inst, direction=Direction("fewest_units", "A"), **opts))
    assert (hosts_of(r.alternatives[1]), hosts_of(r.alternatives[1], "hr")) == (("hB",), ("hB",))
    assert r.alternatives[1].direction_value == approx(0.0)
    # most units at hB: the same plan, by site id
    r = checked(inst, find_alternatives(inst, direction=Direction("most_units", "hB"), **opts))
    assert r.alternatives[1].direction_value == approx(2.0)
    # even spread: one function at each host (spread 0), the two such plans next
    r = checked(inst, find_alternatives(inst, direction=Direction("even_spread"), **opts))
    got = {(hosts_of(a), hosts_of(a, "hr")) for a in r.alternatives[1:]}
    assert got == {(("hA",), ("hB",)), (("hB",), ("hA",))}
    assert [a.direction_value for a in r.alternatives[1:]] == [approx(0.0), approx(0.0)]
    # closest to a plan with fin at hB, hr at hA: that plan itself (distance 0), within slack
    ref = r.alternatives[1].plan.to_dict() if hosts_of(r.alternatives[1]) == ("hB",) \
        else r.alternatives[2].plan.to_dict()
    r = checked(inst, find_alternatives(inst, direction=Direction("closest", reference=ref),
                                        **opts))
    assert (hosts_of(r.alternatives[1]), hosts_of(r.alternatives[1], "hr")) == (("hB",), ("hA",))
    assert r.alternatives[1].direction_value == approx(0.0)
    assert r.alternatives[2].direction_value == approx(6.0)  # one function moved (hB, hB)


@pytest.mark.parametrize("backend", BACKENDS)
def test_keep_local(backend):
    inst = instance_from_data(two_functions())
    # hr kept local costs +250: beyond a 25% budget (125); the run says what it would cost
    r = find_alternatives(inst, n=5, slack=0.25, backend=backend, keep_local=["hr"])
    assert len(r.alternatives) == 1 and not r.alternatives[0].meets_constraints
    assert r.search == COMPLETE and "cheapest that does costs £250.00 more" in r.message
    # with 55% (275) the only plan keeping hr local is fin at hA, hr alone: listed first
    r = checked(inst, find_alternatives(inst, n=5, slack=0.55, backend=backend,
                                        keep_local=["hr"]))
    assert [(hosts_of(a), hosts_of(a, "hr")) for a in r.alternatives[1:]] == [(("hA",), ())]
    assert r.alternatives[1].extra_gbp == approx(250.0) and r.search == COMPLETE
    hr = next(s for s in r.summary if s.function == "hr")
    assert hr.firm and "not shared" in hr.text  # over the plans that keep the rule
    # one force only: B keeps hr local -> hr cannot be shared at all (min 2 members)
    r = find_alternatives(inst, n=5, slack=0.55, backend=backend, keep_local=["hr:B"])
    assert [hosts_of(a, "hr") for a in r.alternatives[1:]] == [()]
    with pytest.raises(InstanceError, match="keep-local"):
        find_alternatives(inst, keep_local=["nosuch"])
    with pytest.raises(InstanceError, match="not a force"):
        find_alternatives(inst, keep_local=["hr:Z"])


def test_time_limit_is_shared_and_stated():
    """Far more plans wanted than 1.5 s allows: the run ends near the limit, says it was
    stopped by it, and every plan it did find is checked and within the slack."""
    from shareplan.models.load import load_instance

    inst, _ = load_instance("instances/bch-2013.json")
    r = find_alternatives(inst, n=200, slack=0.05, backend="highs",
                          options=SolveOptions(time_limit=1.5))
    assert r.times["total_s"] < 4.0
    assert r.search == TIME_LIMIT, (r.search, r.message)
    assert 1 <= len(r.alternatives) < 200
    checked(inst, r)


def test_a_limit_too_short_for_the_optimum():
    from shareplan.generate import generate_instance

    inst = instance_from_data(generate_instance(forces=12, functions=4, seed=3))
    r = find_alternatives(inst, n=10, slack=0.05, backend="highs",
                          options=SolveOptions(time_limit=0.3))
    assert r.search in (NO_OPTIMUM, TIME_LIMIT) and r.times["total_s"] < 3.0
    if r.search == NO_OPTIMUM:
        assert not r.alternatives and "no least-cost plan" in r.message


# ---------------------------------------------------------------- brute force


def enumerate_plans(data: dict) -> tuple[list[tuple[tuple, float]], float]:
    """Every feasible whole-force plan (key, total cost) and K, the cost no decision changes:
    alpha (local + standalone costs of every function each force may run alone)."""
    alpha = bf.annuity(data["horizon_years"], data["discount_rate"])
    fids = [f["id"] for f in data["forces"]]
    n = len(fids)
    local = np.zeros(n)
    for c in data["costs"]:
        fn = next(x for x in data["functions"] if x["id"] == c["function"])
        if not fn.get("shareable", True):
            local[fids.index(c["force"])] += alpha * c["standalone_cost_gbp"]
    funcs = [bf.Function(data, fn, alpha) for fn in data["functions"]
             if fn.get("shareable", True)]
    fixed = local.sum() + sum(alpha * fd.c[i] for fd in funcs for i in range(n)
                              if fd.standalone and i not in fd.must)
    baseline = local.copy()
    for fd in funcs:
        baseline += fd.costs(fd.status_quo)
    plans = [((), local.copy(), np.zeros(n))]
    for fd in funcs:
        plans = [((*key, tuple(None if h is None else fd.hosts[h] for h in a)),
                  cost + np.array(c), off + np.array(o))
                 for key, cost, off in plans for a, c, o in fd.candidates()]
    out = []
    aggregate = data.get("objective", {}).get("aggregate_savings_target_gbp")
    for key, cost, off in plans:
        savings = baseline - cost
        ok = all(f.get("savings_target_gbp") is None or savings[i] >= f["savings_target_gbp"]
                 - 1e-9 for i, f in enumerate(data["forces"]))
        ok &= all(f.get("frontline_floor_fte") is None or f["frontline_officers_fte"] + off[i]
                  >= f["frontline_floor_fte"] - 1e-9 for i, f in enumerate(data["forces"]))
        ok &= aggregate is None or savings.sum() >= aggregate - 1e-9
        if ok:
            out.append((key, float(cost.sum())))
    return out, float(fixed)


def key_of(plan, data: dict) -> tuple:
    fids = [f["id"] for f in data["forces"]]
    funcs = [fn["id"] for fn in data["functions"] if fn.get("shareable", True)]
    home = {(u.function, m.force): u.site for u in plan.units for m in u.members}
    return tuple(tuple(home.get((s, f)) for f in fids) for s in funcs)


def key_distance(a: tuple, b: tuple) -> int:
    """Hamming distance of two plans' unit decisions z = (x arcs, y units), from their keys."""
    d = 0
    for fa, fb in zip(a, b):
        d += sum((ha is not None) + (hb is not None) for ha, hb in zip(fa, fb) if ha != hb)
        d += len({h for h in fa if h} ^ {h for h in fb if h})
    return d


SLACKS = (0.05, 0.2, 1.0)


N_CASES = 16


@functools.cache
def cases() -> list[tuple[int, float]]:
    """(seed, slack) of whole-force random instances with 2 to 12 plans within the slack
    (the first slack of SLACKS, rotated by case, that gives that many)."""
    out = []
    for seed in range(400):
        data = bf.make_instance(seed)
        if any(fn.get("divisible") for fn in data["functions"]):
            continue
        plans, fixed = enumerate_plans(data)
        if not plans:
            continue
        opt = min(c for _, c in plans)
        for k in range(len(SLACKS)):
            slack = SLACKS[(len(out) + k) % len(SLACKS)]
            cap = opt + slack * max(1.0, abs(opt - fixed))
            if 2 <= sum(c <= cap for _, c in plans) <= 12:
                out.append((seed, slack))
                break
        if len(out) == N_CASES:
            break
    return out


def test_enough_cases():
    """The cases cover every slack, and programmes of one block and of several independent
    blocks (where each next plan starts from a change of one block)."""
    assert len(cases()) == N_CASES
    assert {slack for _, slack in cases()} == set(SLACKS)
    blocks = [len(independent_blocks(occupied_units(build_formulation(build_network(
        instance_from_data(bf.make_instance(seed))))))) for seed, _ in cases()]
    assert min(blocks) == 1 and max(blocks) >= 2, blocks


@pytest.mark.parametrize("backend", BACKENDS)
def test_alternatives_match_enumeration(backend):
    """Every plan the tool offers is a feasible plan within the slack (by enumeration), at its
    enumerated cost; plans are pairwise distinct; the first is the optimum; the search is
    complete and has found every plan within the slack; firm/open match the enumeration."""
    for seed, slack in cases():
        data = bf.make_instance(seed)
        inst = instance_from_data(data)
        plans, fixed = enumerate_plans(data)
        opt = min(c for _, c in plans)
        budget = slack * max(1.0, abs(opt - fixed))
        cost_of = dict(plans)
        r = checked(inst, find_alternatives(inst, n=14, slack=slack, backend=backend))
        where = f"seed {seed}, slack {slack}, {backend}"
        assert r.optimum_gbp == pytest.approx(opt, rel=1e-6, abs=1e-6), where
        assert r.fixed_gbp == pytest.approx(fixed, rel=1e-9, abs=1e-6), where
        assert r.budget_gbp == pytest.approx(budget, rel=1e-5, abs=1e-6), where
        keys = [key_of(a.plan, data) for a in r.alternatives]
        assert len(set(keys)) == len(keys), where
        assert cost_of[keys[0]] == pytest.approx(opt, rel=1e-6, abs=1e-6), where
        tol = 1e-6 * max(1.0, abs(opt)) + 1e-6
        for key, a in zip(keys, r.alternatives):
            assert key in cost_of, (where, key)
            assert a.plan.objective == pytest.approx(cost_of[key], rel=1e-7, abs=1e-4), where
            assert cost_of[key] <= opt + budget + tol, where
        assert r.search == COMPLETE, (where, r.search, r.message)
        within = {k for k, c in plans if c <= opt + budget - tol}
        assert within <= set(keys) <= {k for k, c in plans if c <= opt + budget + tol}, where
        # each plan is (within the diversity gap) the farthest, in summed Hamming distance
        # to the plans before it, of the plans within the slack not yet found
        for k in range(1, len(keys)):
            if r.alternatives[k].note != "most diverse":
                continue
            def spread(key, before=keys[:k]):
                return sum(key_distance(key, b) for b in before)
            best = max(spread(key) for key in within | set(keys[k:]) if key not in keys[:k])
            assert spread(keys[k]) >= (1 - DIVERSITY_GAP) * best - 1e-9, (where, k)
        # firm/open per function and per force, against the enumerated plans
        found = set(keys)
        for q, s in enumerate(r.summary):
            assert s.firm == (len({k[q] for k in found}) == 1), (where, s.text)
            for i, f in enumerate(s.forces):
                assert f["firm"] == (len({k[q][i] for k in found}) == 1), (where, s.text)


@pytest.mark.parametrize("backend", ["highs"])
def test_stopped_at_n_is_a_subset(backend):
    """With n below the number of plans, the plans offered are still among the enumerated
    ones within the slack, and the summary's 'open' is never wrong (each is witnessed)."""
    for seed, slack in cases():
        data = bf.make_instance(seed)
        plans, fixed = enumerate_plans(data)
        opt = min(c for _, c in plans)
        within = [k for k, c in plans if c <= opt + slack * max(1.0, abs(opt - fixed))
                  + 1e-6 * max(1.0, abs(opt))]
        if len(within) < 3:
            continue
        inst = instance_from_data(data)
        r = checked(inst, find_alternatives(inst, n=2, slack=slack, backend=backend))
        assert r.search == REACHED_N and len(r.alternatives) == 2
        assert {key_of(a.plan, data) for a in r.alternatives} <= set(within)
        for q, s in enumerate(r.summary):
            if not s.firm:
                assert len({k[q] for k in within}) > 1


# ---------------------------------------------------------------- command line


def test_command_line(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_hosts()))
    runner = CliRunner()
    out = runner.invoke(cli, ["alternatives", str(path), "--slack", "25%", "--n", "5",
                              "--csv", str(tmp_path / "csv"), "--out-dir", str(tmp_path / "p")])
    assert out.exit_code == 0, out.output
    assert "search complete" in out.output and "fin: host moved from hA to hB" in out.output
    assert "£62.50" in out.output  # the budget in pounds
    for name in ("alternatives.csv", "decisions.csv", "changes.csv"):
        assert (tmp_path / "csv" / name).exists()
    for k in (0, 1):
        plan = tmp_path / "p" / f"plan-{k:02d}.json"
        check = runner.invoke(cli, ["check", str(path), str(plan)])
        assert check.exit_code == 0, check.output
    out = runner.invoke(cli, ["alternatives", str(path), "--slack", "0.25", "--json"])
    doc = json.loads(out.output)
    assert doc["search"] == "complete" and len(doc["alternatives"]) == 2
    assert doc["budget_gbp"] == approx(62.5) and doc["slack_basis"] == "decisions"
    ref = tmp_path / "p" / "plan-01.json"
    out = runner.invoke(cli, ["alternatives", str(path), "--closest-to", str(ref), "--slack",
                              "25%", "--json"])
    assert json.loads(out.output)["alternatives"][1]["direction_value"] == approx(0.0)


@pytest.mark.parametrize(("args", "words"), [
    (["--slack", "abc"], "--slack"),
    (["--slack", "-1%"], "--slack"),
    (["--keep-local", "nosuch"], "keep-local"),
    (["--fewest-units-at", "nowhere"], "neither a site nor a force"),
    (["--even-spread", "--most-units-at", "hA"], "one direction at most"),
])
def test_bad_requests(tmp_path, args, words):
    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_hosts()))
    out = CliRunner().invoke(cli, ["alternatives", str(path), *args])
    assert out.exit_code == 2 and words in out.output, out.output
    assert "Traceback" not in out.output


def test_reference_plan_from_another_instance(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_hosts()))
    other = {"status": "optimal", "forces": [],
             "units": [{"function": "custody", "site": "kempston", "members": []}]}
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(other))
    out = CliRunner().invoke(cli, ["alternatives", str(path), "--closest-to", str(ref)])
    assert out.exit_code == 2 and "units[0]" in out.output, out.output


def test_as_a_real_process(tmp_path):
    """The console command end to end: exit 0, JSON on stdout, the plans within the slack."""
    import subprocess
    import sys

    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_hosts()))
    out = subprocess.run([sys.executable, "-m", "shareplan.cli", "alternatives", str(path),
                          "--slack", "150%", "--n", "5", "--json"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["search"] == "complete" and len(doc["alternatives"]) == 3
    assert all(a["objective"] <= doc["cap_gbp"] + 1e-6 for a in doc["alternatives"])


def test_infeasible_instance_exit_code(tmp_path):
    data = two_hosts()
    data["forces"][0]["savings_target_gbp"] = 1e6  # A can save at most 50 a year
    path = tmp_path / "infeasible.json"
    path.write_text(json.dumps(data))
    out = CliRunner().invoke(cli, ["alternatives", str(path)])
    assert out.exit_code == 3 and "no least-cost plan: infeasible" in out.output, out.output
