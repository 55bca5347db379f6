"""Run a sweep's scenarios: in-process, on local worker processes, or on Dask.

Each scenario is the base instance with its values substituted, validated by
:func:`shareplan.models.load.instance_from_data` and solved by
:func:`shareplan.solver.run.solve_instance`; what it finds is journaled as soon as
it is back (see :mod:`.journal`), so a sweep killed at any moment and started again
runs only the scenarios missing from the journal.

Local workers (:mod:`.pool`) are started once and hold the base instance (each
task ships only its scenario); a worker that dies is replaced and its scenario run
again, and a scenario that keeps killing its worker is a failed row naming the
signal. On Dask (``--scheduler``) the base instance is a task every scenario depends
on, and a scenario whose worker is lost is submitted again. Faults and what each
leaves behind: docs/sweeps.md, "Faults".
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..models.load import InstanceError, instance_from_data
from ..solver.core import SolveOptions
from .journal import Journal, journal_path, scenario_key
from .progress import make_progress
from .spec import Scenario, apply
from .table import result_from_plan


@dataclass(frozen=True)
class Job:
    """What every scenario shares: the base instance JSON and how to solve."""

    data: dict
    digest: str  # sha256 of the instance file
    source: str
    backend: str
    options: SolveOptions
    explain: bool = False  # elastic re-solve of infeasible scenarios (slower)


@dataclass
class Outcome:
    results: list[tuple[Scenario, dict]]  # scenarios with a result, in scenario order
    ran: int  # scenarios run in this session
    reused: int  # scenarios found in the journal
    wall_s: float
    workers: int  # local worker processes (1: in-process); 0 on a Dask cluster
    interrupted: bool = False


def error_result(message: str) -> dict:
    return {"status": "error", "objective_gbp": None, "gap": None, "savings_gbp": {},
            "frontline_fte": {}, "pattern": "", "message": "", "error": message}


def run_scenario(job: Job, assign) -> dict:
    """Load and solve one scenario; any failure is returned as an error result."""
    t0 = time.perf_counter()
    try:
        from ..solver.run import solve_instance

        inst = instance_from_data(apply(job.data, assign), job.source)
        # digest: the plan is not written, so the base file's hash is enough provenance
        plan = solve_instance(inst, job.backend, job.options, digest=job.digest,
                              explain=job.explain)
        result = result_from_plan(plan)
    except InstanceError as exc:
        result = error_result(str(exc).replace("\n", " "))
    except Exception as exc:  # noqa: BLE001 - a failed scenario is a row, not the end
        result = error_result(f"{type(exc).__name__}: {exc}")
    result["run_s"] = round(time.perf_counter() - t0, 4)
    return result


# ------------------------------------------------------------ executors ---

# Each executor starts its workers and submits every scenario when called (before any
# progress thread exists, so local workers can be forked), and returns an iterator of
# (scenario, result) in the order they finish.

def _run_inline(job: Job, pending: list[Scenario]) -> Iterator[tuple[Scenario, dict]]:
    for sc in pending:
        yield sc, run_scenario(job, sc.assign)


def _pool_task(job: Job, sc: Scenario) -> dict:
    return run_scenario(job, sc.assign)


def stall_seconds(options: SolveOptions) -> float | None:
    """How long a scenario may run before its worker is killed: three times the time
    limit plus a minute (no guard without a time limit)."""
    limit = options.time_limit
    return None if limit is None else 3 * limit + 60


def _run_local(job: Job, pending: list[Scenario], workers: int, start_method: str | None
               ) -> Iterator[tuple[Scenario, dict]]:
    from .pool import Died, run_pool

    stream = run_pool(_pool_task, job, pending, workers, stall_s=stall_seconds(job.options),
                      start_method=start_method)

    def results():
        try:
            for sc, result in stream:
                if isinstance(result, Died):
                    result = error_result(result.reason)
                yield sc, result
        finally:
            stream.close()

    return results()


class SchedulerUnreachable(OSError):
    """The Dask scheduler named by ``--scheduler`` did not answer."""


DASK_ATTEMPTS = 3  # submissions of one scenario before its failure is its result


def _the_job(job: Job) -> Job:
    return job


def _run_dask(job: Job, pending: list[Scenario], scheduler: str
              ) -> Iterator[tuple[Scenario, dict]]:
    """On a Dask cluster. The job is a task (not scattered data), so the scheduler can
    compute it again if every worker holding it dies; a scenario whose future fails
    (a worker lost mid-task more often than the scheduler's ``allowed-failures``) is
    submitted again, up to ``DASK_ATTEMPTS`` times, before the failure is its row."""
    from distributed import Client, as_completed

    try:  # the connect timeout is dask's distributed.comm.timeouts.connect
        client = Client(scheduler, set_as_default=False)
    except OSError as exc:
        raise SchedulerUnreachable(f"cannot use the Dask scheduler at {scheduler}: "
                                   f"{exc}") from exc
    try:
        job_f = client.submit(_the_job, job, pure=False)

        def submit(sc: Scenario):
            return client.submit(run_scenario, job_f, sc.assign, pure=False)

        todo = {submit(sc): (sc, 1) for sc in pending}
    except BaseException:
        client.close()
        raise

    def results():
        try:
            finished = as_completed(list(todo), loop=client.loop)
            watch = _WorkerWatch(client, scheduler)
            while todo:
                batch = finished.next_batch(block=False)
                if not batch:
                    watch.check()  # raises ClusterLost after long without workers
                    time.sleep(0.05)
                    continue
                for fut in batch:
                    sc, attempt = todo.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. a worker lost mid-task
                        if attempt < DASK_ATTEMPTS:
                            again = submit(sc)
                            todo[again] = (sc, attempt + 1)
                            finished.add(again)
                            continue
                        result = error_result(f"dask, {attempt} attempts: "
                                              f"{type(exc).__name__}: {exc}")
                    yield sc, result
        finally:
            client.cancel(list(todo))
            client.close()

    return results()


class ClusterLost(RuntimeError):
    """The Dask cluster has had no workers for ``NO_WORKERS_S`` seconds."""


NO_WORKERS_S = 120.0
ASK_EVERY_S = 5.0


class _WorkerWatch:
    """Asks the scheduler for its workers (every ``ASK_EVERY_S``) while nothing finishes."""

    def __init__(self, client, scheduler: str):
        self.client, self.scheduler = client, scheduler
        self.asked = self.seen = time.monotonic()

    def check(self) -> None:
        now = time.monotonic()
        if now - self.asked < ASK_EVERY_S:
            return
        self.asked = now
        if self.client.scheduler_info().get("workers"):
            self.seen = now
        elif now - self.seen >= NO_WORKERS_S:
            raise ClusterLost(f"the Dask cluster at {self.scheduler} has had no workers for "
                              f"{now - self.seen:.0f} s")


# --------------------------------------------------------------- driver ---

def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_sweep(job: Job, scenarios: list[Scenario], out: str, *, workers: int | None = None,
              scheduler: str | None = None, quiet: bool = False,
              retry_failed: bool = False, journal: Journal | None = None,
              start_method: str | None = None) -> Outcome:
    """Run what the journal next to ``out`` lacks; every scenario's record, in order.

    ``journal``: one the caller opened (and so locked) to hold past this call, e.g.
    while it writes the table; otherwise it is opened and closed here.
    ``start_method``: of local workers (fork, forkserver, spawn); by default fork when
    the process has one thread."""
    t0 = time.perf_counter()
    # import the solver path here, once: forked workers inherit it ready to use
    from ..solver.backends import get_backend
    from ..solver.run import solve_instance  # noqa: F401

    get_backend(job.backend)  # unknown names fail here (BackendError), before any run
    opts = {k: v for k, v in job.options.as_dict().items() if k != "log"}
    opts["explain"] = job.explain
    keys = {sc.index: scenario_key(sc.assign, job.digest, job.backend, opts)
            for sc in scenarios}
    own_journal = journal is None
    if journal is None:
        journal = Journal(journal_path(out))
    try:
        def wanted(sc: Scenario) -> bool:
            rec = journal.done.get(keys[sc.index])
            return rec is None or (retry_failed and rec["result"].get("status") == "error")

        pending = [sc for sc in scenarios if wanted(sc)]
        reused = len(scenarios) - len(pending)
        n_workers = 1 if scheduler else max(1, min(workers or default_workers(), len(pending)))
        if not pending:
            stream = iter(())
        elif scheduler:
            stream = _run_dask(job, pending, scheduler)
        elif n_workers > 1:
            stream = _run_local(job, pending, n_workers, start_method)
        else:
            stream = _run_inline(job, pending)
        ran = 0
        interrupted = False
        with make_progress(len(scenarios), reused, quiet) as progress:
            try:
                for sc, result in stream:
                    journal.append({"key": keys[sc.index], "index": sc.index,
                                    "params": sc.params, "result": result})
                    ran += 1
                    progress.advance(result.get("status", "error"))
            except KeyboardInterrupt:
                interrupted = True
            finally:
                if hasattr(stream, "close"):
                    stream.close()
        if interrupted:
            journal.reload()  # an interrupt may land between a line's fsync and ``done``
        results = [(sc, journal.done[keys[sc.index]]["result"]) for sc in scenarios
                   if keys[sc.index] in journal.done]
    finally:
        if own_journal:
            journal.close()
    return Outcome(results, ran, reused, time.perf_counter() - t0,
                   n_workers if not scheduler else 0, interrupted)
