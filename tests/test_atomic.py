"""Atomic outputs (docs/model.md section 11): a killed run leaves the old file or the new one.

Real processes are killed with SIGKILL at random moments (no cleanup handler
runs): ``solve INSTANCE --out plan.json --csv DIR`` over existing files, and a
child that rewrites a multi-megabyte file with ``shareplan.io.atomic_write_bytes``
in a loop, so most kills land in the middle of a write. After every kill each
file must be exactly the old content or a complete new one. A control run with
a plain ``open(path, "wb")`` writer shows the harness does catch torn files.

A kill mid-write may leave that write's temporary file (``.NAME.HOST-PID.XXXX.tmp``)
behind: nothing can remove it after SIGKILL. The next write of the same name removes
it (its writer is dead), so the tests check there is never more than one per output
file, and none after runs that finish (tests/test_faults.py has the direct test).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import n_forces

from shareplan.io import atomic_write_bytes, atomic_write_json

KILLS_CLI = 12
KILLS_WRITER = 30
PAYLOAD = 4 * 1024 * 1024


def _solve_command() -> list[str]:
    exe = Path(sys.executable).parent / "solve"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shareplan.cli"]


def _temps(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(".tmp"))


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


# ---------------------------------------------------------------- the command line

OLD_PLAN = b'{"old": "plan from an earlier run", "status": "optimal"}\n'
OLD_CSV = b"old,csv\n1,2\n"


def _reset(out: Path, csv_dir: Path) -> None:
    out.write_bytes(OLD_PLAN)
    csv_dir.mkdir(exist_ok=True)
    for name in ("units.csv", "forces.csv"):
        (csv_dir / name).write_bytes(OLD_CSV)


def _classify_outputs(out: Path, csv_dir: Path, digest: str, n: int) -> dict[str, str]:
    """'old' or 'new' per file; AssertionError on anything else (a torn file)."""
    kinds = {}
    raw = out.read_bytes()
    if raw == OLD_PLAN:
        kinds["plan"] = "old"
    else:
        plan = json.loads(raw)  # raises on a partial file
        assert plan["status"] == "optimal" and plan["instance_sha256"] == digest
        assert len(plan["forces"]) == n and raw.endswith(b"}\n")
        kinds["plan"] = "new"
    for name in ("units.csv", "forces.csv"):
        raw = (csv_dir / name).read_bytes()
        if raw == OLD_CSV:
            kinds[name] = "old"
            continue
        lines = raw.decode().splitlines()
        assert lines[0].startswith("function,site" if name == "units.csv" else "force,name")
        if name == "forces.csv":
            assert len(lines) == n + 1, lines
        assert raw.endswith(b"\n")
        kinds[name] = "new"
    return kinds


def test_killed_solve_leaves_old_or_new_outputs(tmp_path):
    ids = [f"F{i:02d}" for i in range(12)]
    data = n_forces(ids, sites=("hX", "hY", "hZ"))
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(data))
    digest = hashlib.sha256(inst.read_bytes()).hexdigest()
    out, csv_dir = tmp_path / "plan.json", tmp_path / "csv"
    cmd = [*_solve_command(), str(inst), "--out", str(out), "--csv", str(csv_dir), "-q"]

    # full runs: how long one takes once warm, the fastest of three (a cold start, or
    # one run slowed by a busy machine, can be many times slower and would put every
    # kill after the write), and that it writes new files
    full = float("inf")
    for _ in range(3):
        _reset(out, csv_dir)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=120)
        full = min(full, time.perf_counter() - t0)
    assert set(_classify_outputs(out, csv_dir, digest, len(ids)).values()) == {"new"}
    assert _temps(tmp_path) == [] and _temps(csv_dir) == []  # a finished run leaves none

    rng = random.Random(20240611)
    seen = []
    for k in range(KILLS_CLI):
        _reset(out, csv_dir)
        # spread kills over the whole run, denser near its end where the writes are
        delay = rng.uniform(0.05, 1.1 * full) if k % 2 else rng.uniform(0.7, 1.05) * full
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        _kill(proc)
        try:
            kinds = _classify_outputs(out, csv_dir, digest, len(ids))
        except Exception as exc:  # noqa: BLE001 - report which kill tore which file
            pytest.fail(f"kill {k} after {delay:.3f} s left a torn output: {exc!r}")
        seen.append((round(delay, 3), proc.returncode, kinds))
    print(f"full run {full:.2f} s; kills: {seen}")
    plans = [kinds["plan"] for _, _, kinds in seen]
    assert "old" in plans, seen  # some kills came before the write: the test saw them
    temps = _temps(tmp_path) + _temps(csv_dir)
    assert len(temps) <= 3, temps  # the last kill's, at most one per output file
    for t in temps:  # leftovers are only ever our own temporary files
        assert t.name.startswith((".plan.json.", ".units.csv.", ".forces.csv.")), t


# ---------------------------------------------------------------- the writer itself

WRITER = r"""
import sys
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
payloads = [b'{"v": "' + c * n + b'"}\n' for c in (b"a", b"b")]
if mode == "atomic":
    from shareplan.io import atomic_write_bytes as write
else:
    def write(p, data):  # the control: overwrite in place, in chunks
        with open(p, "wb") as fh:
            for k in range(0, len(data), 65536):
                fh.write(data[k:k + 65536])
                fh.flush()
print("ready", flush=True)
k = 0
while True:
    write(path, payloads[k % 2])
    k += 1
"""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _kill_writer_many_times(tmp_path: Path, mode: str, kills: int, seed: int):
    target = tmp_path / "out.json"
    old = b'{"v": "old"}\n'
    target.write_bytes(old)
    expected = {_digest(old): "old"}
    for c in ("a", "b"):
        expected[_digest(b'{"v": "' + c.encode() * PAYLOAD + b'"}\n')] = c
    rng = random.Random(seed)
    outcomes, torn, temps_after = [], [], []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(PAYLOAD), mode],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.12))
        _kill(proc)
        proc.stdout.close()
        raw = target.read_bytes()
        kind = expected.get(_digest(raw))
        if kind is None:
            torn.append((k, len(raw)))
            target.write_bytes(old)
        else:
            json.loads(raw)
            outcomes.append(kind)
        temps_after.append(len(_temps(tmp_path)))
    return outcomes, torn, temps_after


def test_killed_atomic_writer_leaves_old_or_new(tmp_path):
    outcomes, torn, temps_after = _kill_writer_many_times(tmp_path, "atomic", KILLS_WRITER, 7)
    assert torn == [], f"torn files after kills {torn}"
    assert len(outcomes) == KILLS_WRITER
    assert set(outcomes) - {"old"}, f"no kill came after a finished write: {outcomes}"
    # never more than the last kill's temporary file (each run removes the one before),
    # and the kills did land mid-write
    assert all(n <= 1 for n in temps_after), temps_after
    assert any(temps_after), "no kill landed during a write; the test proved nothing"
    others = [p for p in tmp_path.iterdir() if p.name != "out.json" and not
              (p.name.startswith(".out.json.") and p.name.endswith(".tmp"))]
    assert others == []


def test_control_plain_writer_is_caught_torn(tmp_path):
    """The same harness on a non-atomic writer finds torn files: it can fail."""
    outcomes, torn, _ = _kill_writer_many_times(tmp_path, "plain", 20, 11)
    assert torn, f"no torn file in 20 kills of a plain writer: {outcomes}"


# ---------------------------------------------------------------- failures and leftovers


def test_failed_write_removes_its_temporary_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"data")
    assert _temps(tmp_path) == []
    assert target.is_dir()


def test_atomic_write_replaces_and_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "plan.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_json(path, {"x": 2, "name": "ünïcødé"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"x": 2, "name": "ünïcødé"}
    assert _temps(path.parent) == []


def test_outputs_of_other_commands_leave_no_temporaries(tmp_path):
    from click.testing import CliRunner

    from shareplan.cli import cli

    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(n_forces(["A", "B", "C"])))
    runner = CliRunner()
    assert runner.invoke(cli, ["schema", "--out", str(tmp_path / "schema.json")]).exit_code == 0
    assert runner.invoke(cli, ["export", str(inst), "--lp", str(tmp_path / "m.lp"),
                               "--mps", str(tmp_path / "m.mps")]).exit_code == 0
    assert runner.invoke(cli, [str(inst), "--out", str(tmp_path / "p.json"),
                               "--csv", str(tmp_path / "csv"), "-q"]).exit_code == 0
    assert json.loads((tmp_path / "schema.json").read_text())["title"] == "Instance"
    assert (tmp_path / "m.lp").stat().st_size > 0 and (tmp_path / "m.mps").stat().st_size > 0
    assert _temps(tmp_path) == [] and _temps(tmp_path / "csv") == []


def test_written_files_get_the_usual_mode(tmp_path):
    path = tmp_path / "plan.json"
    atomic_write_bytes(path, b"{}")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("command", ["run", "schema", "export"])
def test_unwritable_output_is_a_usage_error(tmp_path, command):
    from click.testing import CliRunner

    from shareplan.cli import cli

    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(n_forces(["A", "B"])))
    (tmp_path / "afile").write_text("a file, not a directory")
    target = str(tmp_path / "afile" / "out.json")
    args = {"run": [str(inst), "--out", target, "-q"], "schema": ["schema", "--out", target],
            "export": ["export", str(inst), "--lp", target]}[command]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception)
    assert result.exit_code == 2, result.output
    assert "afile" in result.output and "Traceback" not in result.output
