"""Exit codes mean one thing: a reader that goes away (`solve ... | head`) never changes the
exit code of any command (docs/model.md section 11; issue 14 part 5). Each command runs as a real
process whose stdout pipe is closed before it writes, so its first write breaks the pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import two_forces

ORLIB = " 2 3\n capacity 100.\n capacity 50.\n 10\n 5. 20.\n 10\n 6. 30.\n 5\n 40. 4.\n"
HOLMBERG = "2 3\n20 100\n25 50\n10 10 5\n5 6 40\n20 30 4\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An instance, its plan, a tampered plan, an infeasible instance, benchmark files."""
    d = tmp_path_factory.mktemp("pipes")
    inst = d / "inst.json"
    inst.write_text(json.dumps(two_forces()))
    infeasible = two_forces(fixed=120)
    infeasible["forces"][0]["savings_target_gbp"] = 50
    (d / "infeasible.json").write_text(json.dumps(infeasible))
    (d / "bad.json").write_text('{"name": ')
    proc = subprocess.run([sys.executable, "-m", "shareplan.cli", str(inst), "--out",
                           str(d / "plan.json"), "--quiet"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((d / "plan.json").read_text())
    plan["objective"] += 100.0
    (d / "tampered.json").write_text(json.dumps(plan))
    (d / "cap.txt").write_text(ORLIB)
    (d / "p1.txt").write_text(HOLMBERG)
    return d


CASES = {  # command -> (arguments, the exit code it has with or without a reader)
    "run": (["{d}/inst.json"], 0),
    "run --json": (["{d}/inst.json", "--json"], 0),
    "run infeasible": (["{d}/infeasible.json"], 3),
    "run invalid": (["{d}/bad.json"], 2),
    "validate": (["validate", "{d}/inst.json"], 0),
    "schema": (["schema"], 0),
    "export": (["export", "{d}/inst.json", "--lp", "{d}/model.lp"], 0),
    "check": (["check", "{d}/inst.json", "{d}/plan.json"], 0),
    "check violations": (["check", "{d}/inst.json", "{d}/tampered.json"], 5),
    "check --json violations": (["check", "{d}/inst.json", "{d}/tampered.json", "--json"], 5),
    "compare": (["compare", "{d}/inst.json", "--backends", "cbc,highs"], 0),
    "diff": (["diff", "{d}/plan.json", "{d}/plan.json"], 0),
    "convert orlib": (["convert", "orlib", "{d}/cap.txt", "--capacity", "25", "--out",
                       "{d}/cap.json"], 0),
    "convert holmberg": (["convert", "holmberg", "{d}/p1.txt", "--out", "{d}/p1.json"], 0),
    "convert yang": (["convert", "yang", "{d}/p1.txt", "--out", "{d}/yang_p1.json"], 0),
    "generate": (["generate", "--forces", "3", "--functions", "2", "--out", "{d}/gen.json"], 0),
    "sweep": (["sweep", "{d}/inst.json", "--vary", "functions.fin.unit_fixed_cost_gbp=40,60",
               "--workers", "1", "--out", "{d}/sweep.csv"], 0),
    "help": (["--help"], 0),
    "alternatives": (["alternatives", "{d}/inst.json", "--n", "2"], 0),
    "shares": (["shares", "{d}/inst.json"], 0),
    "template": (["template", "{d}/template.xlsx"], 0),
    "report": (["report", "{d}/inst.json", "{d}/plan.json", "--html", "{d}/report.html"], 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_closed_pipe_keeps_the_exit_code(files, case):
    args, expected = CASES[case]
    args = [a.format(d=files) for a in args]
    for stale in files.glob("sweep*"):
        stale.unlink()  # a sweep that finds its own table resumes; start afresh
    proc = subprocess.Popen([sys.executable, "-m", "shareplan.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the command writes
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == expected, err.decode()
    assert b"Traceback" not in err and b"internal error" not in err, err.decode()


def test_both_streams_into_one_closed_pipe(files):
    """`solve check ... 2>&1 | head`: stderr shares the closed pipe."""
    proc = subprocess.Popen([sys.executable, "-m", "shareplan.cli", "check",
                             str(files / "inst.json"), str(files / "tampered.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdout.close()
    proc.wait(timeout=120)
    assert proc.returncode == 5
