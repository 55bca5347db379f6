"""Tables on the plan and the one writer by suffix (.csv, .parquet, .xlsx); compare on Plans.

Figures are worked out by hand on instances/tiny-two-forces.json (its description has the
algebra): the unit at north_hq, north pays 0.6 x 400,000 + 0.4 x 150,000 = 300,000 a year
and 50,000 + 0.4 x 200,000 = 130,000 once; south 0.6 x 600,000 + 30,000 + 0.6 x 150,000 =
480,000 and 170,000. Discount rate 0 and go-live 1, so in cash north saves 400,000 -
300,000 = 100,000 a year, less its one-offs in year 1.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from helpers import BACKENDS, approx, run_cli, solve

from shareplan.formats.tables import table_bytes, write_table, write_tables
from shareplan.models.load import InstanceError
from shareplan.solver.core import BackendError, Status
from shareplan.solver.plan import Plan
from shareplan.tables import Column, Table

ROOT = Path(__file__).resolve().parents[1]
TINY = json.loads((ROOT / "instances" / "tiny-two-forces.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plans():
    return {b: solve(TINY, b) for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_tables_by_hand(plans, backend):
    plan = plans[backend]
    units = {r["force"]: r for r in plan.units_table().records()}
    assert set(units) == {"north", "south"}
    assert {r["site"] for r in units.values()} == {"north_hq"}
    assert units["north"]["member_annual_gbp"] == approx(300_000)
    assert units["south"]["member_annual_gbp"] == approx(480_000)
    assert units["north"]["member_one_off_gbp"] == approx(130_000)
    assert units["south"]["member_one_off_gbp"] == approx(170_000)
    assert units["north"]["unit_annual_cost_gbp"] == approx(780_000)
    assert units["north"]["unit_one_off_cost_gbp"] == approx(300_000)
    assert units["north"]["member_saving_per_year_gbp"] == approx(100_000)
    forces = {r["force"]: r for r in plan.forces_table().records()}
    assert forces["north"]["savings_gbp"] == approx(370_000)
    assert forces["south"]["savings_gbp"] == approx(430_000)
    assert forces["north"]["target_gbp"] == approx(300_000) and forces["south"]["target_gbp"] \
        is None
    yearly = plan.yearly_table()
    north = [r["savings_gbp_cash"] for r in yearly.records() if r["force"] == "north"]
    assert north == [approx(v) for v in (-30_000, 100_000, 100_000, 100_000, 100_000)]
    assert [r["year"] for r in yearly.records() if r["force"] == "south"] == [1, 2, 3, 4, 5]
    # no existing units: what the units save each year is what the forces save
    unit_years = plan.unit_years_table()
    for k in range(1, 6):
        by_force = sum(r["savings_gbp_cash"] for r in yearly.records() if r["year"] == k)
        by_unit = sum(r["savings_gbp_cash"] for r in unit_years.records() if r["year"] == k)
        assert by_unit == approx(by_force)


def test_every_figure_column_says_its_unit(plans):
    for table in plans["cbc"].tables():
        for c in table.columns:
            if c.name.endswith(("_gbp", "_fte", "_cash", "_year", "fraction")):
                assert c.unit, (table.name, c.name)
        money = [c.unit for c in table.columns if c.name.endswith("_gbp")]
        assert all("cash" in u or "present value" in u for u in money), (table.name, money)


def test_table_rows_must_fit_the_columns():
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        Table("t", [Column("a"), Column("b")], [[1, 2], [3]])


def _sample() -> Table:
    return Table("sample", [Column("force"), Column("savings_gbp", "GBP, cash"),
                            Column("target_gbp", "GBP, cash"), Column("met")],
                 [["north", 370000.0, 300000, True], ["south", 430000.5, None, False]])


def test_csv_parquet_xlsx_round_trip(tmp_path):
    import openpyxl
    import pandas as pd
    import pyarrow.parquet as pq

    t = _sample()
    for suffix in (".csv", ".parquet", ".xlsx"):
        write_table(t, tmp_path / f"t{suffix}")
    rows = list(csv.reader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8"))))
    assert rows == [t.header, ["north", "370000.0", "300000", "True"],
                    ["south", "430000.5", "", "False"]]
    back = pq.read_table(tmp_path / "t.parquet")
    assert back.column_names == t.header
    assert json.loads(back.schema.metadata[b"shareplan.units"]) == t.units
    df = pd.read_parquet(tmp_path / "t.parquet")
    assert df["savings_gbp"].tolist() == [370000.0, 430000.5]
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["sample"]
    assert [c.value for c in ws[1]] == t.header
    assert ws["B1"].comment.text == "GBP, cash" and ws["B2"].number_format == "#,##0.00"
    assert ws["C3"].value is None and ws["D2"].value is True


def test_several_tables_by_their_suffixes_at_once(tmp_path):
    t = _sample()
    paths = write_tables({tmp_path / "a.csv": t, tmp_path / "b.xlsx": t})
    assert [p.name for p in paths] == ["a.csv", "b.xlsx"] and all(p.exists() for p in paths)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv, \.parquet, \.xlsx"):
        write_table(_sample(), tmp_path / "t.txt")


def test_parquet_without_pyarrow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(InstanceError) as err:
        table_bytes(_sample(), ".parquet")
    assert "pip install 'shareplan[parquet]'" in str(err.value)


def test_solve_csv_folder_has_every_plan_table(plans, tmp_path):
    out = tmp_path / "tables"
    result = run_cli(ROOT / "instances" / "tiny-two-forces.json", "--csv", out, "--quiet")
    assert result.exit_code == 0, result.output
    names = [t.name for t in plans["cbc"].tables()]
    assert names == ["units", "forces", "yearly", "unit_years"]
    helped = " ".join(run_cli("run", "--help").output.split())
    assert all(f"{name}.csv" in helped for name in names)  # the help names them all
    for name in names:
        with open(out / f"{name}.csv", newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header[:2] == {"units": ["function", "site"], "forces": ["force", "name"],
                              "yearly": ["force", "year"],
                              "unit_years": ["function", "site"]}[name]
    with open(out / "briefing_columns.csv", newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == ["table", "column", "label", "unit"]


def test_compare_keeps_a_failed_backend_as_an_error_plan(monkeypatch):
    """A backend that raises is a Plan of status error in the comparison, not a dict."""
    from shareplan.analyses.compare import compare_backends
    from shareplan.models.load import instance_from_data
    from shareplan.solver import run
    from shareplan.solver.core import SolveOptions

    real = run.solve_instance

    def fake(inst, name, options=None, **kw):
        if name == "highs":
            raise BackendError("highs: the solver library is missing")
        return real(inst, name, options, **kw)

    monkeypatch.setattr(run, "solve_instance", fake)
    inst = instance_from_data(TINY)
    c = compare_backends(inst, ["highs", "cbc"], SolveOptions(), "sha")
    assert all(isinstance(p, Plan) for p in c.plans)
    failed, solved = c.plans
    assert failed.status is Status.ERROR and not failed.has_solution
    assert "library is missing" in failed.message and failed.options["gap"] == 1e-6
    assert solved.status is Status.OPTIMAL and solved.objective == approx(64_200_000)
    assert c.reference == "cbc" and c.diffs == {} and c.disagreements == []
    runs = c.runs_table().records()
    assert [r["status"] for r in runs] == ["error", "optimal"]
    assert runs[0]["objective_gbp"] is None and runs[1]["objective_gbp"] == approx(64_200_000)
    doc = c.to_dict()
    assert doc["runs"][0]["message"] == failed.message
    assert doc["plan_differences"] == {"reference": "cbc"}


def test_sweep_table_keeps_its_dtypes_and_says_its_units(tmp_path):
    """The sweep hands the writer a DataFrame: Parquet keeps its dtypes, and every file
    format names the unit of the money, officer and time columns."""
    import openpyxl
    import pandas as pd
    import pyarrow.parquet as pq

    from shareplan.sweep.table import frame
    from shareplan.sweep.table import write_table as write_sweep

    cols = ["scenario", "forces.north.savings_target_gbp", "status", "objective_gbp", "gap",
            "savings_total_gbp", "frontline_north_fte", "pattern", "message", "error", "run_s"]
    df = frame([{"scenario": 1, "forces.north.savings_target_gbp": 3e5, "status": "optimal",
                 "objective_gbp": 64.2e6, "gap": 0.0, "savings_total_gbp": 8e5,
                 "frontline_north_fte": 98.8, "pattern": "finance@north_hq[north+south]",
                 "message": "", "error": "", "run_s": 0.4},
                {"scenario": 2, "status": "infeasible", "error": "", "message": "no plan"}],
               cols)
    write_sweep(df, tmp_path / "s.parquet")
    write_sweep(df, tmp_path / "s.xlsx")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"), df)
    units = json.loads(pq.read_table(tmp_path / "s.parquet").schema.metadata[
        b"shareplan.units"])
    assert "present value" in units["objective_gbp"] and "FTE" in units["frontline_north_fte"]
    assert units["run_s"].startswith("seconds")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["sweep"]
    notes = {c.value: c.comment.text for c in ws[1] if c.comment}
    assert notes["objective_gbp"] == units["objective_gbp"]


def test_sweep_to_parquet_without_pyarrow_stops_before_any_run(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = run_cli("sweep", "tiny-two-forces", "--vary", "discount_rate=0,0.035", "--out",
                     tmp_path / "s.parquet", "--workers", "1", "--quiet")
    assert result.exit_code == 2, result.output
    assert "pip install 'shareplan[parquet]'" in result.output
    assert not list(tmp_path.iterdir())  # no journal, no table: nothing ran
