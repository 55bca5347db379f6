"""Faults a run survives with nothing lost, each injected for real.

- a Dask worker killed in the middle of a sweep: the sweep finishes, every scenario
  exactly once, the same figures as a run without faults;
- a local worker killed while it solves (retried on a fresh worker), a solver that
  crashes its process every time (a failed row naming the signal), a solver that
  overruns (its worker killed), the CBC process killed mid-solve (a failed row);
- the disk full (ENOSPC injected into write, fsync or rename) while writing a plan,
  a CSV folder, a sweep table or the sweep journal: a clear error naming the file,
  the old file intact, nothing half-written, no temporary file left;
- two sweeps on one output at once: the second is refused, the journal stays whole;
- a writer killed mid-write: the next write of that file removes its temporary file.
"""

from __future__ import annotations

import errno
import faulthandler
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import n_forces

import shareplan.io as sio
from shareplan.cli import cli
from shareplan.models.load import instance_from_data
from shareplan.solver.core import SolveOptions
from shareplan.solver.run import solve_instance
from shareplan.sweep import runner
from shareplan.sweep.command import sweep_cmd
from shareplan.sweep.journal import Journal, JournalBusy, journal_path
from shareplan.sweep.pool import Died, run_pool
from shareplan.sweep.spec import apply, prepare

if "sweep" not in cli.commands:  # until cli.py registers it
    cli.add_command(sweep_cmd)

LINUX = sys.platform.startswith("linux")
VARY = "functions.fin.unit_fixed_cost_gbp"


def small() -> dict:
    """Three forces and one shareable function: sharing pays below a fixed cost of about
    185 a year (standalone 100 + 120 + 150 against F + 0.5 x 370), not above."""
    return n_forces(["A", "B", "C"], c={"A": 100.0, "B": 120.0, "C": 150.0}, fixed=50.0,
                    variable=0.5, sites=("hX", "hY"))


@pytest.fixture
def inst_file(tmp_path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small()))
    return path


def _job(path: Path, backend: str = "cbc") -> runner.Job:
    from shareplan.models.load import read_instance_data

    data, digest = read_instance_data(path)
    return runner.Job(data, digest, str(path), backend, SolveOptions())


def _direct_objectives(job: runner.Job, scenarios) -> dict[int, float | None]:
    """Each scenario solved on its own, in this process: what a sweep must find."""
    out = {}
    for sc in scenarios:
        plan = solve_instance(instance_from_data(apply(job.data, sc.assign)), job.backend,
                              job.options, digest=job.digest)
        out[sc.index] = plan.objective if plan.has_solution else None
    return out


def _journal(out: Path) -> list[dict]:
    path = journal_path(out)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().decode().splitlines()]


def _temps(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.name.endswith(".tmp"))


def _sweep_cmd(inst: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "shareplan.sweep", str(inst), "--out", str(out), "-q",
            *extra]


def _assert_each_once(out: Path, n: int) -> pd.DataFrame:
    keys = [rec["key"] for rec in _journal(out)]
    assert len(keys) == n and len(set(keys)) == n, (len(keys), len(set(keys)))
    df = pd.read_csv(out, keep_default_na=False)
    assert sorted(df["scenario"]) == list(range(1, n + 1))
    return df


# ------------------------------------------------------------------ Dask ---

@pytest.mark.skipif(not LINUX, reason="kills worker processes by pid")
def test_dask_worker_killed_mid_sweep_loses_nothing(inst_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    n = 24
    out = tmp_path / "dask.csv"
    vary = f"{VARY}=0..300:{n}"
    kills = []
    import dask

    # LocalCluster gives up a worker slot still restarting 15 s after a kill; a slow
    # machine must not shrink the cluster under the test (bench/load.py says more)
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        proc = subprocess.Popen(_sweep_cmd(inst_file, out, "--vary", vary, "--scheduler",
                                           cluster.scheduler_address),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            for at in (3, 10):  # two kills, each of a worker holding a running scenario
                while len(_journal(out)) < at and proc.poll() is None:
                    assert time.monotonic() < deadline, "the sweep made no progress"
                    time.sleep(0.02)
                busy = {addr: tasks for addr, tasks in client.processing().items()
                        if any("run_scenario" in str(t) for t in tasks)}
                if not busy or proc.poll() is not None:
                    continue
                addr = next(iter(busy))
                pid = client.run(os.getpid, workers=[addr])[addr]
                os.kill(pid, signal.SIGKILL)
                kills.append((at, len(busy[addr])))
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, stderr
    assert kills, "no worker was killed while it ran a scenario; the test proved nothing"
    df = _assert_each_once(out, n)
    assert (df["status"] == "optimal").all(), df[["scenario", "status", "error"]]
    job = _job(inst_file)
    _, scenarios = prepare(job.data, [vary])
    expected = _direct_objectives(job, scenarios)
    got = dict(zip(df["scenario"], df["objective_gbp"]))
    for idx, value in expected.items():
        assert got[idx] == pytest.approx(value, rel=1e-6, abs=0.01), idx


# ------------------------------------------------------- local workers ---

def _crashing(marker: Path, victim: int, how: str):
    """A run_scenario that misbehaves on the scenario with ``victim`` as its value:
    ``sigsegv`` crashes its process every time; ``hang-once`` writes its pid to
    ``marker`` and waits to be killed, on the first attempt only."""
    real = runner.run_scenario

    def fake(job, assign):
        if assign and assign[0][1] == victim:
            with marker.open("a") as fh:
                fh.write(f"{os.getpid()}\n")
            if how == "sigsegv":
                faulthandler.disable()  # no traceback dump: just the crash
                os.kill(os.getpid(), signal.SIGSEGV)
            if how == "hang-once" and len(marker.read_text().split()) == 1:
                time.sleep(60)
        return real(job, assign)

    return fake


@pytest.mark.skipif(not LINUX, reason="needs fork to carry the injected fault")
def test_worker_killed_while_solving_is_retried(inst_file, tmp_path, monkeypatch):
    marker = tmp_path / "attempts"
    monkeypatch.setattr(runner, "run_scenario", _crashing(marker, 100, "hang-once"))
    job = _job(inst_file)
    _, scenarios = prepare(job.data, [f"{VARY}=0..300:7"])  # 0, 50, 100, ...

    killed = []

    def killer():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                pid = int(marker.read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.01)

    t = threading.Thread(target=killer)
    t.start()
    outcome = runner.run_sweep(job, scenarios, str(tmp_path / "k.csv"), workers=2,
                               quiet=True, start_method="fork")
    t.join()
    assert killed, "the injected hang never started"
    attempts = marker.read_text().split()
    assert len(attempts) == 2 and attempts[0] != attempts[1]  # run again on a new worker
    statuses = {sc.index: r["status"] for sc, r in outcome.results}
    assert len(outcome.results) == 7 and set(statuses.values()) == {"optimal"}
    expected = _direct_objectives(job, scenarios)
    for sc, r in outcome.results:
        assert r["objective_gbp"] == pytest.approx(expected[sc.index], rel=1e-6, abs=0.01)


@pytest.mark.skipif(not LINUX, reason="needs fork to carry the injected fault")
def test_solver_crashing_its_process_is_a_failed_row(inst_file, tmp_path, monkeypatch):
    marker = tmp_path / "attempts"
    monkeypatch.setattr(runner, "run_scenario", _crashing(marker, 100, "sigsegv"))
    job = _job(inst_file)
    _, scenarios = prepare(job.data, [f"{VARY}=0..300:7"])
    out = tmp_path / "c.csv"
    outcome = runner.run_sweep(job, scenarios, str(out), workers=2, quiet=True,
                               start_method="fork")
    rows = {sc.params[VARY]: r for sc, r in outcome.results}
    assert len(rows) == 7  # the sweep went on past the crash
    bad = rows.pop(100.0)
    assert bad["status"] == "error"
    assert "SIGSEGV" in bad["error"] and "3 times" in bad["error"], bad["error"]
    assert len(marker.read_text().split()) == 3  # tried three times, then given up
    assert {r["status"] for r in rows.values()} == {"optimal"}
    assert len(_journal(out)) == 7


def _sleepy(job, item):
    if item == "hang":
        time.sleep(60)
    return {"item": item}


@pytest.mark.skipif(not LINUX, reason="fork: workers start at once")
def test_stalled_worker_is_killed_and_the_rest_run():
    t0 = time.monotonic()
    got = dict(run_pool(_sleepy, None, ["a", "hang", "b", "c"], 2, stall_s=2.0,
                        start_method="fork"))
    assert time.monotonic() - t0 < 20
    assert got["a"] == {"item": "a"} and got["b"] == {"item": "b"} and got["c"] == {"item": "c"}
    assert isinstance(got["hang"], Died) and "stopped after 2 s" in got["hang"].reason


def _cbc_children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for c in children:
            try:
                if "cbc" in Path(f"/proc/{c}/comm").read_text().lower():
                    found.append(int(c))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not LINUX, reason="finds the CBC process in /proc")
def test_cbc_process_killed_mid_solve_is_a_failed_row(tmp_path, monkeypatch):
    from shareplan.generate import generate_instance
    from shareplan.solver import decompose

    # one CBC run to kill: the compact model (the decomposition's heuristic would try
    # its next MIP after a killed one)
    monkeypatch.setattr(decompose, "MIN_ARCS", 10**9)

    path = tmp_path / "gen.json"  # big enough that CBC runs for a second or two
    path.write_text(json.dumps(generate_instance(forces=10, functions=4, seed=3)))
    job = _job(path)
    _, scenarios = prepare(job.data, ["discount_rate=0,0.035"])
    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for pid in _cbc_children(os.getpid()):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.005)

    t = threading.Thread(target=killer)
    t.start()
    outcome = runner.run_sweep(job, scenarios, str(tmp_path / "cbc.csv"), workers=1,
                               quiet=True)
    t.join()
    assert killed, "never saw CBC running"
    first, second = (r for _, r in outcome.results)
    assert first["status"] == "error" and (first["error"] or first["message"]), first
    assert second["status"] == "optimal"  # the sweep went on


# -------------------------------------------------------------- full disk ---

class _HalfThenFull:
    """A file object that writes half of what it is given, then finds the disk full."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def inject_full_disk(monkeypatch, where: str, victim: str) -> None:
    """ENOSPC from the write, fsync or rename of the file ``victim`` (or its temporary
    file); writes of other files go through."""
    real_fdopen, real_fsync, real_replace = os.fdopen, os.fsync, os.replace

    def hits(path: str) -> bool:
        name = Path(path).name
        return name == victim or name.startswith(f".{victim}.")

    def fd_name(fd) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    if where == "write":
        def fdopen(fd, *args, **kwargs):
            fh = real_fdopen(fd, *args, **kwargs)
            return _HalfThenFull(fh) if hits(fd_name(fd)) else fh
        monkeypatch.setattr(sio.os, "fdopen", fdopen)
    elif where == "fsync":
        def fsync(fd):
            if hits(fd_name(fd)):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)
        monkeypatch.setattr(sio.os, "fsync", fsync)
    else:
        def replace(src, dst):
            if hits(str(dst)):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_replace(src, dst)
        monkeypatch.setattr(sio.os, "replace", replace)


POINTS = ["write", "fsync", "replace"]
pytestmark_linux = pytest.mark.skipif(not LINUX, reason="reads /proc/self/fd")


@pytestmark_linux
@pytest.mark.parametrize("where", POINTS)
def test_full_disk_writing_a_plan_keeps_the_old_one(inst_file, tmp_path, monkeypatch, where):
    plan = tmp_path / "plan.json"
    old = b'{"old": "plan"}\n'
    plan.write_bytes(old)
    inject_full_disk(monkeypatch, where, victim="plan.json")
    res = CliRunner().invoke(cli, [str(inst_file), "--out", str(plan), "-q"])
    assert res.exit_code == 2, res.output
    assert "plan.json" in res.output and "No space left on device" in res.output
    assert "Traceback" not in res.output
    assert plan.read_bytes() == old and _temps(tmp_path) == []


@pytestmark_linux
@pytest.mark.parametrize("where", ["write", "fsync"])
def test_full_disk_writing_a_csv_folder_keeps_both_old_files(inst_file, tmp_path, monkeypatch,
                                                              where):
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "units.csv").write_bytes(b"old units\n")
    (folder / "forces.csv").write_bytes(b"old forces\n")
    inject_full_disk(monkeypatch, where, victim="forces.csv")  # the second file written
    res = CliRunner().invoke(cli, [str(inst_file), "--csv", str(folder), "-q"])
    assert res.exit_code == 2 and "forces.csv" in res.output, res.output
    # units.csv was written fine, but does not replace the old one alone
    assert (folder / "units.csv").read_bytes() == b"old units\n"
    assert (folder / "forces.csv").read_bytes() == b"old forces\n"
    assert _temps(tmp_path) == []
    monkeypatch.undo()
    assert CliRunner().invoke(cli, [str(inst_file), "--csv", str(folder), "-q"]).exit_code == 0
    assert (folder / "forces.csv").read_text().startswith("force,name")


@pytestmark_linux
@pytest.mark.parametrize("where", POINTS)
def test_full_disk_writing_a_sweep_table_keeps_the_old_table(inst_file, tmp_path, monkeypatch,
                                                              where):
    out = tmp_path / "t.csv"
    args = ["sweep", str(inst_file), "--out", str(out), "--workers", "1", "-q"]
    res = CliRunner().invoke(cli, [*args, "--vary", f"{VARY}=0,100"])
    assert res.exit_code == 0, res.output
    old = out.read_bytes()
    inject_full_disk(monkeypatch, where, victim="t.csv")
    res = CliRunner().invoke(cli, [*args, "--vary", f"{VARY}=0,100,200"])
    assert res.exit_code == 2, res.output
    assert "t.csv" in res.output and "No space left on device" in res.output
    assert "journal" in res.output and "Traceback" not in res.output
    assert out.read_bytes() == old and _temps(tmp_path) == []
    assert len(_journal(out)) == 3  # the new scenario's result is kept
    monkeypatch.undo()
    res = CliRunner().invoke(cli, [*args, "--vary", f"{VARY}=0,100,200"])
    assert res.exit_code == 0
    assert len(_assert_each_once(out, 3)) == 3


@pytestmark_linux
def test_full_disk_appending_to_the_journal_keeps_it_whole(inst_file, tmp_path, monkeypatch):
    out = tmp_path / "j.csv"
    args = ["sweep", str(inst_file), "--out", str(out), "--workers", "1", "-q",
            "--vary", f"{VARY}=0..300:5"]
    real_write = os.write
    calls = {"n": 0}

    def write(fd, data):  # the third journal line: half of it reaches the disk
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".journal.jsonl"):
            calls["n"] += 1
            if calls["n"] == 3:
                real_write(fd, bytes(data[: len(data) // 2]))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr("shareplan.sweep.journal.os.write", write)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "j.csv.journal.jsonl" in res.output and "No space left on device" in res.output
    raw = journal_path(out).read_bytes()
    assert raw.endswith(b"\n") and len(_journal(out)) == 2  # the half line is gone
    assert not out.exists()
    monkeypatch.undo()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert journal_path(out).read_bytes().startswith(raw)
    _assert_each_once(out, 5)


# ----------------------------------------------------- two sweeps at once ---

def test_second_sweep_on_the_same_output_is_refused(inst_file, tmp_path):
    n = 30
    out = tmp_path / "both.csv"
    cmd = _sweep_cmd(inst_file, out, "--vary", f"{VARY}=0..300:{n}", "--workers", "1")
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _journal(out) and first.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        running = first.poll() is None
        first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert running, "the first sweep ended before the second started; nothing was tested"
    assert second.returncode == 2 and "in use by another sweep" in second.stderr
    assert first.returncode == 0
    _assert_each_once(out, n)


def test_journal_is_exclusive_within_one_process_and_across_the_table_write(
        inst_file, tmp_path, monkeypatch):
    path = tmp_path / "x.csv.journal.jsonl"
    with Journal(path), pytest.raises(JournalBusy):
        Journal(path)
    Journal(path).close()  # free again once closed

    import shareplan.sweep.table as table

    out = tmp_path / "x.csv"
    seen = []
    real = table.write_table

    def write_table(df, target):  # another sweep trying to start while the table is written
        try:
            Journal(journal_path(target)).close()
            seen.append("free")
        except JournalBusy:
            seen.append("busy")
        real(df, target)

    monkeypatch.setattr(table, "write_table", write_table)
    res = CliRunner().invoke(cli, ["sweep", str(inst_file), "--out", str(out), "--workers",
                                   "1", "-q", "--vary", f"{VARY}=0,100"])
    assert res.exit_code == 0, res.output
    assert seen == ["busy"]


# -------------------------------------------------- leftovers after a kill ---

WRITER = r"""
import sys
from shareplan.io import atomic_write_bytes
path = sys.argv[1]
while True:
    atomic_write_bytes(path, b"x" * (8 * 1024 * 1024))
"""


@pytest.mark.skipif(not LINUX, reason="signals")
def test_kill_mid_write_leaves_no_temporary_after_the_next_run(tmp_path):
    target = tmp_path / "plan.json"
    target.write_bytes(b"{}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not _temps(tmp_path):  # kill while a temporary file exists: mid-write
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.001)
    finally:
        proc.kill()
        proc.wait()
    left = _temps(tmp_path)
    assert len(left) == 1 and f"-{proc.pid}." in left[0].name  # the killed writer's
    # a live writer's temporary file is not touched
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = tmp_path / f".plan.json.{sio._host()}-{live.pid}.abcdefgh.tmp"
        theirs.write_bytes(b"being written")
        sio.atomic_write_bytes(target, b'{"new": 1}\n')  # the next run
        assert json.loads(target.read_bytes()) == {"new": 1}
        assert _temps(tmp_path) == [theirs]
    finally:
        live.kill()
        live.wait()
    sio.atomic_write_bytes(target, b'{"new": 2}\n')  # its writer gone: removed too
    assert _temps(tmp_path) == []


def test_dask_cluster_without_workers_stops_the_sweep(inst_file, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "NO_WORKERS_S", 2.0)
    monkeypatch.setattr(runner, "ASK_EVERY_S", 0.5)
    job = _job(inst_file)
    _, scenarios = prepare(job.data, [f"{VARY}=0,100"])
    out = tmp_path / "none.csv"
    with distributed.LocalCluster(n_workers=0, processes=True,
                                  dashboard_address=":0") as cluster:
        t0 = time.monotonic()
        with pytest.raises(runner.ClusterLost, match="no workers for"):
            runner.run_sweep(job, scenarios, str(out), scheduler=cluster.scheduler_address,
                             quiet=True)
    assert time.monotonic() - t0 < 30
    assert _journal(out) == []
