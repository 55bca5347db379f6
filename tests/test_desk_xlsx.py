"""Workbooks in and out: exact round trips, errors by sheet/row/column, a second reader.

Instance workbooks are written with openpyxl and read back with python-calamine (the
reader every command uses); plan and sweep workbooks are opened with pandas' calamine
engine and openpyxl, and compared with the plan JSON.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import approx, two_forces
from helpers import run_cli as run

from shareplan.formats.instance_xlsx import write_instance_workbook
from shareplan.models.load import InstanceError, instance_from_data, load_instance
from shareplan.testing.randinst import random_instance

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "instances").glob("*.json"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_instances_round_trip_exactly(path, tmp_path):
    inst, _ = load_instance(path)
    out = tmp_path / "inst.xlsx"
    write_instance_workbook(inst, out)
    back, _ = load_instance(out)
    assert back.model_dump() == inst.model_dump()


def test_fuzzed_instances_round_trip_exactly(tmp_path):
    out = tmp_path / "f.xlsx"
    for seed in range(25):
        data = random_instance(random.Random(1000 + seed))
        data["forces"][0]["name"] = "0123"  # a name that looks like a number stays text
        data["forces"][0]["provenance"] = {"name": "ESTIMATE: a guess, with a comma"}
        inst = instance_from_data(data)
        write_instance_workbook(inst, out)
        back, _ = load_instance(out)
        assert back.model_dump() == inst.model_dump(), seed


def test_template_has_the_sheets_validation_and_unit_notes(tmp_path):
    out = tmp_path / "template.xlsx"
    result = run("template", out, "--from", "bch-2013")
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    for sheet in ("settings", "forces", "functions", "sites", "costs", "existing", "policy"):
        assert sheet in wb.sheetnames
    costs = wb["costs"]
    formulas = {dv.formula1 for dv in costs.data_validations.dataValidation}
    assert any("forces!" in f for f in formulas) and any("functions!" in f for f in formulas)
    header = {c.value: c for c in costs[1]}
    assert "GBP" in header["standalone_cost_gbp"].comment.text
    assert costs.tables  # a real Excel table
    bools = {dv.formula1 for dv in wb["functions"].data_validations.dataValidation}
    assert '"TRUE,FALSE"' in bools
    empty = tmp_path / "empty.xlsx"
    assert run("template", empty).exit_code == 0
    result = run("validate", empty)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_solve_reads_a_workbook_like_its_json(tmp_path):
    src = tmp_path / "two.json"
    src.write_text(json.dumps(two_forces()), encoding="utf-8")
    book = tmp_path / "two.xlsx"
    write_instance_workbook(load_instance(src)[0], book)
    a = json.loads(run(src, "--json", "--shadow-budget", "0").stdout)
    b = json.loads(run(book, "--json", "--shadow-budget", "0").stdout)
    assert b["objective"] == approx(a["objective"])
    assert run("check", book, _plan(tmp_path, book)).exit_code == 0


def _plan(tmp_path, inst):
    out = tmp_path / "plan.json"
    assert run(inst, "--out", out, "--quiet").exit_code == 0
    return out


def _edit(path, sheet, cell, value):
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def test_errors_name_sheet_row_column_and_fix(tmp_path):
    book = tmp_path / "bad.xlsx"
    data = two_forces()
    write_instance_workbook(instance_from_data(data), book)
    header = [c.value for c in openpyxl.load_workbook(book)["costs"][1]]
    col = "ABCDEFGH"[header.index("standalone_cost_gbp")]
    _edit(book, "costs", f"{col}3", "lots")
    with pytest.raises(InstanceError) as err:
        load_instance(book)
    text = str(err.value)
    assert f"sheet 'costs', row 3, column {col} (standalone_cost_gbp)" in text
    assert "number" in text
    write_instance_workbook(instance_from_data(data), book)
    _edit(book, "costs", "A2", "nobody")  # a force id that does not exist
    result = run("validate", book)
    assert result.exit_code == 2
    assert "sheet 'costs', row 2" in result.output and "unknown force 'nobody'" in result.output
    write_instance_workbook(instance_from_data(data), book)
    _edit(book, "forces", "Z1", "colour")  # a column the model does not know
    result = run(book)
    assert result.exit_code == 2 and "column Z ('colour')" in result.output
    book.write_bytes(b"not a workbook")
    result = run("validate", book)
    assert result.exit_code == 2 and "xlsx" in result.output


def test_plan_workbook_opens_in_a_second_reader(tmp_path):
    src = ROOT / "instances" / "tiny-two-forces.json"
    book = tmp_path / "plan.xlsx"
    result = run(src, "--xlsx", book, "--json")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    sheets = pd.read_excel(book, sheet_name=None, engine="calamine")
    for name in ("summary", "forces", "units", "functions", "constraints", "solver"):
        assert name in sheets
    forces = sheets["forces"].dropna(subset=["force"])
    for f in plan["forces"]:
        got = forces.loc[forces["force"] == f["force"], "savings_gbp"].iloc[0]
        assert got == approx(f["savings_gbp"])
    wb = openpyxl.load_workbook(book)
    assert wb["units"].tables and wb["units"]["F2"].number_format.startswith("#,##0")


def test_sweep_of_a_workbook_instance_writes_a_workbook(tmp_path):
    src = tmp_path / "tiny.xlsx"
    write_instance_workbook(load_instance(ROOT / "instances" / "tiny-two-forces.json")[0], src)
    out = tmp_path / "results.xlsx"
    result = run("sweep", src, "--vary", "forces.north.savings_target_gbp=0,300000",
                 "--out", out, "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    df = pd.read_excel(out, engine="calamine")
    assert len(df) == 2 and set(df["status"]) == {"optimal"}
    # without north's target the unit sits at south_hq: 65.00m - 64.15m = 850,000 saved
    assert sorted(df["savings_total_gbp"]) == [approx(800_000), approx(850_000)]


def test_compare_writes_a_workbook(tmp_path):
    src = ROOT / "instances" / "tiny-two-forces.json"
    out = tmp_path / "compare.xlsx"
    result = run("compare", src, "--backends", "cbc,highs", "--xlsx", out)
    assert result.exit_code == 0, result.output
    runs = pd.read_excel(out, sheet_name="runs", engine="calamine")
    assert list(runs["backend"]) == ["cbc", "highs"]
    assert runs["objective_gbp"].tolist() == [approx(64_200_000)] * 2


def test_csv_folders_round_trip_and_solve(tmp_path):
    from shareplan.formats.instance_xlsx import write_instance_folder

    for path in BUNDLED:
        inst, _ = load_instance(path)
        folder = tmp_path / path.stem
        write_instance_folder(inst, folder)
        assert load_instance(folder)[0].model_dump() == inst.model_dump(), path.stem
    for seed in range(10):
        inst = instance_from_data(random_instance(random.Random(2000 + seed)))
        folder = tmp_path / f"f{seed}"
        write_instance_folder(inst, folder)
        assert load_instance(folder)[0].model_dump() == inst.model_dump(), seed
    folder = tmp_path / "tiny"
    assert run("template", folder, "--from", ROOT / "instances" / "tiny-two-forces.json"
               ).exit_code == 0
    plan = json.loads(run(folder, "--json", "--shadow-budget", "0").stdout)
    assert plan["objective"] == approx(64_200_000)
