"""``solve export``: every column and row of the model keeps its readable name in the LP and
the MPS file, on a model with every kind of column the formulation makes (arcs x, hosts y,
member-set units, McCormick p and z, the ratio variable) and rows of every family.

The files are read back with HiGHS' own reader and their names compared with the
formulation's, one for one: a single name the writer cannot take makes HiGHS rename
every column c0..cN (a '+' in a member-set label once did).
"""

from __future__ import annotations

import re

import pytest
from helpers import run_cli, write_json

from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import formulation
from shareplan.solver.formulation import build_formulation


def names_instance(sense: str = "min_cost") -> dict:
    """Three forces with targets and floors; 'fin' (owned hosts, capacity, a forbidden pair,
    at most 2 units), 'hr' (an existing unit, an ownerless site), a local function."""
    force = lambda fid, target: {"id": fid, "savings_target_gbp": target,  # noqa: E731
                                 "frontline_officers_fte": 50, "frontline_floor_fte": 49}
    cost = lambda f, s, c: {"force": f, "function": s, "standalone_cost_gbp": c,  # noqa: E731
                            "officers_fte": 2, "transition_cost_gbp": 5}
    return {
        "name": "names", "horizon_years": 5, "discount_rate": 0.035,
        "forces": [force("alpha", 10.0), force("bravo", 5.0), force("charlie", None)],
        "functions": [
            {"id": "fin", "unit_fixed_cost_gbp": 40, "unit_setup_cost_gbp": 20,
             "variable_cost_gbp_per_unit": 0.5, "unit_capacity": 250, "max_units": 2,
             "officers_per_unit": 0.01},
            {"id": "hr", "unit_fixed_cost_gbp": 30, "variable_cost_gbp_per_unit": 0.6,
             "hosts": [{"site": "hub"}, {"site": "site_a"}]},
            {"id": "resp", "shareable": False},
        ],
        "sites": [{"id": "site_a", "owner": "alpha"}, {"id": "site_b", "owner": "bravo"},
                  {"id": "hub"}],
        "costs": [cost(f, s, c) for f in ("alpha", "bravo", "charlie")
                  for s, c in (("fin", 100.0), ("hr", 80.0), ("resp", 900.0))],
        "existing": [{"function": "hr", "site": "hub", "members": ["bravo", "charlie"],
                      "reoptimisable": True}],
        "policy": {"forbidden_partners": [{"forces": ["alpha", "charlie"],
                                           "functions": ["fin"]}]},
        "objective": {"sense": sense},
    }


def _read_back(path):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk, path
    lp = h.getLp()
    return list(lp.col_names_), list(lp.row_names_)


@pytest.mark.parametrize("allocation", ["member_sets", "mccormick"])
@pytest.mark.parametrize("sense", ["min_cost", "max_min_savings_ratio"])
def test_every_column_and_row_is_named_in_lp_and_mps(tmp_path, monkeypatch, allocation,
                                                     sense):
    if allocation == "mccormick":  # the products p, z instead of enumerated member sets
        monkeypatch.setattr(formulation, "MAX_ENUMERATED_SETS", 0)
    data = names_instance(sense)
    lp = build_formulation(build_network(instance_from_data(data))).lp
    cols, rows = lp.col_names(), lp.row_names()
    assert len(set(cols)) == len(cols) and len(set(rows)) == len(rows)  # names are keys
    families = {c.split("(")[0] for c in cols}
    expected = {"x", "y"} | ({"unit"} if allocation == "member_sets" else {"p", "z"})
    assert expected <= families, families
    if sense != "min_cost":
        assert "ratio" in families
    assert any(re.fullmatch(r"unit\(fin,site_a,alpha&bravo\)", c) for c in cols) \
        or allocation == "mccormick"
    assert {"assignment", "linking", "host_membership", "unit_size_min", "capacity",
            "unit_count", "savings_target", "frontline_floor", "forbidden_partners"} <= {
        r.split("(")[0] for r in rows}
    path = write_json(tmp_path, data)
    for fmt in ("lp", "mps"):
        out = tmp_path / f"model.{fmt}"
        result = run_cli("export", path, f"--{fmt}", out)
        assert result.exit_code == 0, result.output
        assert f"({lp.n_cols} variables, {lp.n_rows} constraints)" in result.output
        got_cols, got_rows = _read_back(out)
        assert sorted(got_cols) == sorted(cols), fmt  # the LP reader orders by appearance
        assert sorted(got_rows) == sorted(rows), fmt
        assert re.search(r"\bc\d+\b", out.read_text()) is None
