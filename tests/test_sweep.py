"""Sweeps: SPEC parsing, paths, refusals, local/Dask runs, table and plot, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from shareplan.cli import cli
from shareplan.models.load import instance_from_data
from shareplan.solver.run import solve_instance
from shareplan.sweep.command import sweep_cmd
from shareplan.sweep.journal import Journal, JournalBusy, journal_path
from shareplan.sweep.spec import (
    SweepError,
    apply,
    build_scenarios,
    build_varies,
    parse_spec,
    resolve_path,
)

if "sweep" not in cli.commands:  # until cli.py registers it
    cli.add_command(sweep_cmd)

TARGET = "forces.herts.savings_target_gbp"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny() -> dict:
    """Three forces like Bedfordshire, Cambridgeshire and Hertfordshire: custody (hosts
    kempston and wgc, wgc with a capacity), hr, ict, and local 'response'.
    Hertfordshire's target decides where hr and ict sit; above about £9m it is infeasible."""
    forces = [
        {"id": "beds", "name": "Bedfordshire", "lat": 52.116, "lon": -0.502,
         "frontline_officers_fte": 800, "frontline_floor_fte": 790, "savings_target_gbp": 2e6},
        {"id": "cambs", "name": "Cambridgeshire", "lat": 52.329, "lon": -0.203,
         "frontline_officers_fte": 1000, "frontline_floor_fte": 990, "savings_target_gbp": 2e6},
        {"id": "herts", "name": "Hertfordshire", "lat": 51.793, "lon": -0.220,
         "frontline_officers_fte": 1400, "frontline_floor_fte": 1390, "savings_target_gbp": 3e6},
    ]
    sites = [{"id": "kempston", "owner": "beds", "lat": 52.116, "lon": -0.502},
             {"id": "hinchingbrooke", "owner": "cambs", "lat": 52.329, "lon": -0.203},
             {"id": "wgc", "owner": "herts", "lat": 51.793, "lon": -0.220}]
    functions = [
        {"id": "custody", "variable_cost_gbp_per_unit": 0.75,
         "travel_cost_gbp_per_unit_km": 0.002, "unit_fixed_cost_gbp": 0.8e6,
         "unit_setup_cost_gbp": 1.5e6,
         "hosts": [{"site": "kempston"}, {"site": "wgc", "capacity": 9e6}]},
        {"id": "hr", "variable_cost_gbp_per_unit": 0.7, "travel_cost_gbp_per_unit_km": 0.001,
         "unit_fixed_cost_gbp": 0.5e6, "unit_setup_cost_gbp": 0.8e6},
        {"id": "ict", "variable_cost_gbp_per_unit": 0.8, "travel_cost_gbp_per_unit_km": 0.0005,
         "unit_fixed_cost_gbp": 0.9e6, "unit_setup_cost_gbp": 2e6},
        {"id": "response", "shareable": False},
    ]
    size = {"beds": 1.0, "cambs": 1.3, "herts": 1.8}
    base = {"custody": 3e6, "hr": 2e6, "ict": 4e6, "response": 40e6}
    costs = [{"force": f, "function": fn, "standalone_cost_gbp": round(c * k),
              **({"officers_fte": round(10 * k), "transition_cost_gbp": round(0.15 * c * k)}
                 if fn != "response" else {})}
             for f, k in size.items() for fn, c in base.items()]
    return {"name": "tiny-bch", "horizon_years": 5, "forces": forces, "functions": functions,
            "sites": sites, "costs": costs}


@pytest.fixture
def inst_file(tmp_path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny()))
    return path


def sweep(*args: str):
    """Run ``solve sweep ARGS`` in this process; the click Result."""
    return CliRunner().invoke(cli, ["sweep", *map(str, args)], catch_exceptions=False)


def journal_lines(out: Path) -> list[dict]:
    path = journal_path(out)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ SPEC ---

def test_spec_list_range_and_scale():
    assert parse_spec("0.0,0.035").values == (0.0, 0.035)
    r = parse_spec("10e6..40e6:7")
    assert r.values == (10e6, 15e6, 20e6, 25e6, 30e6, 35e6, 40e6) and not r.scale
    assert parse_spec("0..1:11").values[3] == 0.3  # not 0.30000000000000004
    s = parse_spec("x0.8,x1,x1.2")
    assert s.scale and s.resolve(10.0, "p") == (8.0, 10.0, 12.0)
    assert parse_spec("x0.5..x1.5:3").resolve(4.0, "p") == (2.0, 4.0, 6.0)


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("1,,2", "empty item"), ("1,abc", "not a number"),
    ("x1,2", "mixes"), ("1..2", "LO..HI:COUNT"), ("1..2:1", "between 2"),
    ("1..2:many", "whole number"), ("3..3:4", "equal"), ("nan", "finite"),
    ("x1..2:3", "both ends"),
])
def test_spec_errors(text, words):
    with pytest.raises(SweepError, match=words):
        parse_spec(text)


def test_scale_needs_a_base_value():
    data = tiny()
    with pytest.raises(SweepError, match="no value in the instance to scale"):
        build_varies(data, ["policy.max_distance_km.custody=x0.5,x2"])


# ----------------------------------------------------------------- paths ---

def test_paths_resolve_by_id_and_key():
    data = tiny()
    t = resolve_path(data, TARGET)
    assert t.steps == ("forces", 2, "savings_target_gbp") and t.base == 3e6
    t = resolve_path(data, "costs.herts.custody.standalone_cost_gbp")
    assert data["costs"][t.steps[1]] == {**data["costs"][t.steps[1]], "force": "herts",
                                         "function": "custody"}
    assert t.base == round(3e6 * 1.8)
    t = resolve_path(data, "functions.custody.hosts.wgc.capacity")
    assert t.steps == ("functions", 0, "hosts", 1, "capacity") and t.base == 9e6
    t = resolve_path(data, "discount_rate")  # absent from the file: its default
    assert t.steps == ("discount_rate",) and t.base == 0.0
    t = resolve_path(data, "functions.hr.max_units")
    assert t.integer and t.base is None
    assert resolve_path(data, "forces[2].savings_target_gbp").steps == t_steps_herts()
    # substitution copies only the path it changes
    changed = apply(data, [(("functions", 0, "hosts", 1, "capacity"), 5e6)])
    assert changed["functions"][0]["hosts"][1]["capacity"] == 5e6
    assert data["functions"][0]["hosts"][1]["capacity"] == 9e6
    assert changed["forces"] is data["forces"]


def t_steps_herts():
    return ("forces", 2, "savings_target_gbp")


@pytest.mark.parametrize("vary, words", [
    ("forces.hertz.savings_target_gbp=1,2", "no item 'hertz' in forces; there are beds"),
    ("forces.herts.savings_targt=1,2", "no field 'savings_targt'"),
    ("functions.hr.hosts.wgc.capacity=1,2", "no 'hosts' list"),
    ("functions.custody.name=1", "not a number"),
    ("costs.herts=1", "FORCE.FUNCTION"),
    ("functions.response.unit_fixed_cost_gbp=1e6,2e6", "local function and is never shared"),
    ("policy.max_distance_km.response=50", "local function and is never shared"),
    ("costs.herts.custody.standalone_cost_gbp=-5e6,1e6", "greater than or equal to 0"),
    ("forces.herts.frontline_floor_fte=1300,1500", "must be <= frontline_officers_fte"),
    ("horizon_years=x1.5", "valid integer"),
    ("discount_rate=x1,x1.0", "more than once"),
])
def test_bad_paths_and_values_are_refused_before_any_run(inst_file, tmp_path, vary, words):
    out = tmp_path / "out.csv"
    res = sweep(inst_file, "--vary", vary, "--out", out, "--workers", 1)
    path = vary.partition("=")[0]
    assert res.exit_code == 2, res.output
    assert path in res.output and words in res.output, res.output
    assert "Traceback" not in res.output
    assert not out.exists() and not journal_path(out).exists()  # nothing ran


def test_local_function_standalone_cost_may_vary():
    varies = build_varies(tiny(), ["costs.herts.response.standalone_cost_gbp=x0.9,x1.1"])
    assert varies[0].values == (round(40e6 * 1.8) * 0.9, round(40e6 * 1.8) * 1.1)


def test_grid_and_one_at_a_time_scenarios():
    data = tiny()
    varies = build_varies(data, [f"{TARGET}=1e6,3e6,5e6", "discount_rate=0,0.035"])
    grid = build_scenarios(varies)
    assert [sc.params for sc in grid[:2]] == [{TARGET: 1e6, "discount_rate": 0.0},
                                              {TARGET: 1e6, "discount_rate": 0.035}]
    assert len(grid) == 6 and len({sc.assign for sc in grid}) == 6
    oat = build_scenarios(varies, one_at_a_time=True)
    # 3 targets (3e6 is the base) + the discount rates other than the base 0
    assert len(oat) == 4 and [sc.varied for sc in oat].count("(base)") == 1


# ------------------------------------------------------------------ runs ---

def test_sweep_20_scenarios_on_two_workers_writes_rows_and_plot(inst_file, tmp_path):
    out, png = tmp_path / "herts.csv", tmp_path / "herts.png"
    res = sweep(inst_file, "--vary", f"{TARGET}=0..19e6:20", "--workers", 2, "--out", out,
                "--plot", png, "--gap", 1e-4)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 20 and list(df["scenario"]) == list(range(1, 21))
    for col in (TARGET, "status", "objective_gbp", "gap", "savings_total_gbp",
                "savings_herts_gbp", "frontline_beds_fte", "pattern", "error"):
        assert col in df.columns
    assert df[TARGET].tolist() == [k * 1e6 for k in range(20)]
    solved = df[df["status"].isin(["optimal", "feasible"])]
    assert len(solved) >= 5 and (df["status"] == "infeasible").any()
    assert (solved["savings_herts_gbp"] >= solved[TARGET] - 1).all()  # targets hold
    assert solved["pattern"].str.fullmatch(r"(\w+@\w+\[\w+(\+\w+)+\](; )?)+").all()
    assert len(journal_lines(out)) == 20
    # a scenario's row is what solving its own instance gives
    data = tiny()
    data["forces"][2]["savings_target_gbp"] = 4e6
    plan = solve_instance(instance_from_data(data), explain=False)
    assert df.loc[df[TARGET] == 4e6, "objective_gbp"].item() == pytest.approx(plan.objective,
                                                                             rel=1e-4)
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000


def test_one_at_a_time_parquet_and_rerun_from_journal(inst_file, tmp_path):
    out, png = tmp_path / "oat.parquet", tmp_path / "oat.png"
    args = [inst_file, "--vary", f"{TARGET}=1e6,3e6,5e6", "--vary", "discount_rate=0,0.035",
            "--vary", "functions.custody.hosts.wgc.capacity=x0.5,x1", "--one-at-a-time",
            "--workers", 1, "--out", out, "--plot", png, "--gap", 1e-4]
    res = sweep(*args)
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(out)
    # 3 targets (3e6 is the base), discount 0.035 (0 is the base), capacity x0.5 (x1 is the base)
    assert len(df) == 5 and df["varied"].tolist().count("(base)") == 1
    assert df.loc[df["varied"] == "discount_rate", TARGET].tolist() == [3e6]
    assert png.read_bytes()[:8] == PNG_MAGIC
    lines = journal_lines(out)
    res = sweep(*args)  # everything is in the journal: nothing runs again
    assert res.exit_code == 0 and "0 run now" in res.output and "5 from the journal" in res.output
    assert journal_lines(out) == lines
    pd.testing.assert_frame_equal(pd.read_parquet(out), df)
    res = sweep(*args[:-1], 1e-5)  # other solver options: other scenarios
    assert res.exit_code == 0 and len(journal_lines(out)) == 10


def test_failing_scenario_becomes_a_row_with_its_error(inst_file, tmp_path, monkeypatch):
    import shareplan.solver.run as run

    real = run.solve_instance

    def flaky(inst, *args, **kwargs):
        if inst.discount_rate == 0.02:
            raise RuntimeError("solver crashed on purpose")
        return real(inst, *args, **kwargs)

    monkeypatch.setattr(run, "solve_instance", flaky)
    out = tmp_path / "f.csv"
    res = sweep(inst_file, "--vary", "discount_rate=0,0.02,0.04", "--workers", 1, "--out", out)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, keep_default_na=False)
    bad = df[df["discount_rate"] == 0.02]
    assert bad["status"].item() == "error"
    assert "solver crashed on purpose" in bad["error"].item()
    assert (df[df["discount_rate"] != 0.02]["status"] != "error").all()
    assert "failed" in res.output

    monkeypatch.setattr(run, "solve_instance", real)
    res = sweep(inst_file, "--vary", "discount_rate=0,0.02,0.04", "--workers", 1, "--out", out)
    assert "0 run now" in res.output  # a failure is a result: not re-run by default
    res = sweep(inst_file, "--vary", "discount_rate=0,0.02,0.04", "--workers", 1, "--out", out,
                "--retry-failed")
    assert res.exit_code == 0 and "1 run now" in res.output
    again = pd.read_csv(out, keep_default_na=False)
    assert (again["status"] != "error").all() and len(journal_lines(out)) == 4


def test_resume_matches_scenarios_by_content_not_position(inst_file, tmp_path):
    out = tmp_path / "r.csv"
    assert sweep(inst_file, "--vary", "discount_rate=0,0.04", "--workers", 1,
                 "--out", out).exit_code == 0
    first = pd.read_csv(out).set_index("discount_rate")["objective_gbp"]
    res = sweep(inst_file, "--vary", "discount_rate=0.04,0.02,0", "--workers", 1, "--out", out)
    assert res.exit_code == 0 and "1 run now" in res.output
    df = pd.read_csv(out)
    assert df["discount_rate"].tolist() == [0.04, 0.02, 0.0]
    assert df.set_index("discount_rate")["objective_gbp"][[0.0, 0.04]].tolist() == \
        first[[0.0, 0.04]].tolist()


def test_journal_cuts_a_partial_line_and_locks(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"key": "a", "result": {}}\n{"key": "b", "res')  # killed mid-write
    with Journal(path) as j:
        assert set(j.done) == {"a"}
        with pytest.raises(JournalBusy):
            _other_process_opens(path)
        j.append({"key": "c", "result": {}})
    assert [json.loads(x)["key"] for x in path.read_text().splitlines()] == ["a", "c"]


def _other_process_opens(path):
    code = ("import sys\nfrom shareplan.sweep.journal import Journal, JournalBusy\n"
            f"try:\n    Journal({str(path)!r})\nexcept JournalBusy:\n    sys.exit(7)\n")
    if subprocess.run([sys.executable, "-c", code]).returncode == 7:
        raise JournalBusy("locked")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the workers")
def test_killed_grid_resumes_without_losing_or_repeating(inst_file, tmp_path):
    out, png = tmp_path / "grid.csv", tmp_path / "grid.png"
    cmd = [sys.executable, "-m", "shareplan.sweep", str(inst_file),
           "--vary", f"{TARGET}=0..10e6:6", "--vary", "discount_rate=0..0.05:5",
           "--workers", "2", "--out", str(out), "--plot", str(png), "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(journal_lines(out)) < 4 and proc.poll() is None:
            assert time.monotonic() < deadline, "the sweep made no progress"
            workers.update(_children(proc.pid))
            time.sleep(0.01)
        workers.update(_children(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = journal_path(out).read_bytes()
        n_before = len(journal_lines(out))
        assert 4 <= n_before < 30, "killed too late to test resuming"
        assert not out.exists()  # the table is written only at the end
        deadline = time.monotonic() + 10  # orphaned workers notice and exit
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)

        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    finally:
        for w in workers:  # only the processes this test started
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    after = journal_path(out).read_bytes()
    assert after.startswith(before)  # nothing finished was lost or redone
    keys = [rec["key"] for rec in journal_lines(out)]
    assert len(keys) == 30 and len(set(keys)) == 30  # every scenario exactly once
    df = pd.read_csv(out)
    assert sorted(df["scenario"]) == list(range(1, 31))
    assert df[[TARGET, "discount_rate"]].drop_duplicates().shape[0] == 30
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_sweep_on_a_dask_local_cluster(inst_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    out_dask, out_local = tmp_path / "dask.csv", tmp_path / "local.csv"
    vary = ["--vary", f"{TARGET}=0..10e6:6", "--gap", 1e-4, "-q"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        res = sweep(inst_file, *vary, "--scheduler", cluster.scheduler_address,
                    "--out", out_dask)
    assert res.exit_code == 0, res.output
    assert sweep(inst_file, *vary, "--workers", 1, "--out", out_local).exit_code == 0
    a, b = pd.read_csv(out_dask), pd.read_csv(out_local)
    assert len(a) == 6 and a["status"].tolist() == b["status"].tolist()
    pd.testing.assert_series_equal(a["objective_gbp"], b["objective_gbp"], rtol=1e-4)
    assert len(journal_lines(out_dask)) == 6


def test_unreachable_scheduler_is_a_clear_error(inst_file, tmp_path):
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        res = sweep(inst_file, "--vary", "discount_rate=0,0.01", "--scheduler",
                    "tcp://127.0.0.1:9", "--out", tmp_path / "x.csv", "-q")
    assert res.exit_code == 2 and "Dask scheduler" in res.output


def test_solve_start_up_does_not_import_sweep_libraries():
    code = ("import sys, shareplan.cli, shareplan.sweep.command\n"
            "heavy = [m for m in ('dask', 'distributed', 'matplotlib', 'pyarrow') "
            "if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
