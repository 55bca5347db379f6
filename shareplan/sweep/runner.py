"""Run a sweep's scenarios: in-process, on local worker processes, or on Dask.

Each scenario is the base instance with its values substituted, validated by
:func:`shareplan.models.load.instance_from_data` and solved by
:func:`shareplan.solver.run.solve_instance`; what it finds is journaled as soon as
it is back (see :mod:`.journal`), so a sweep killed at any moment and started again
runs only the scenarios missing from the journal.

Local workers are a :class:`concurrent.futures.ProcessPoolExecutor` whose processes
are started once and hold the base instance (each task ships only its changes);
they are forked from the already-imported parent when that is safe (no other
thread yet), so starting them costs milliseconds, not an interpreter start each.
On Dask (``--scheduler``) the base instance is scattered to every worker once.
A worker whose parent disappears (``kill -9`` of the sweep) exits by itself.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..models.load import InstanceError, instance_from_data
from ..solver.backends.base import SolveOptions
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


class WorkerLost(RuntimeError):
    """The local worker pool broke (a worker died): nothing more can run in it."""


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

_WORKER_JOB: Job | None = None


def _watch_parent(main_pid: int) -> None:
    parent = os.getppid()  # the sweep, or the fork server between them
    while os.getppid() == parent and _alive(main_pid):
        time.sleep(0.5)
    os._exit(1)  # the sweep was killed: stop rather than linger as an orphan


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _init_worker(job: Job, main_pid: int) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    threading.Thread(target=_watch_parent, args=(main_pid,), daemon=True).start()


def _pool_task(assign) -> dict:
    assert _WORKER_JOB is not None
    return run_scenario(_WORKER_JOB, assign)


def _mp_context():
    """fork when it is safe (one thread: the parent has imported everything, so workers
    start at once); forkserver (preloading this module) or spawn otherwise."""
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__, "shareplan.solver.run"])
        return ctx
    return mp.get_context("spawn")


# Each executor starts its workers and submits every scenario when called (before any
# progress thread exists, so local workers can be forked), and returns an iterator of
# (scenario, result) in the order they finish.

def _run_inline(job: Job, pending: list[Scenario]) -> Iterator[tuple[Scenario, dict]]:
    for sc in pending:
        yield sc, run_scenario(job, sc.assign)


def _run_local(job: Job, pending: list[Scenario], workers: int
               ) -> Iterator[tuple[Scenario, dict]]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=_init_worker, initargs=(job, os.getpid()))
    todo = {pool.submit(_pool_task, sc.assign): sc for sc in pending}

    def results():
        try:
            while todo:
                done, _ = wait(todo, return_when=FIRST_COMPLETED)
                for fut in done:
                    sc = todo.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        raise WorkerLost(
                            f"a worker process died while running scenario {sc.index} (or "
                            "one near it); what finished is in the journal") from None
                    yield sc, result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return results()


def _run_dask(job: Job, pending: list[Scenario], scheduler: str
              ) -> Iterator[tuple[Scenario, dict]]:
    from distributed import Client, as_completed

    # the connect timeout is dask's distributed.comm.timeouts.connect
    client = Client(scheduler, set_as_default=False)
    try:
        job_f = client.scatter(job, broadcast=True, hash=False)
        todo = {client.submit(run_scenario, job_f, sc.assign, pure=False): sc
                for sc in pending}
    except BaseException:
        client.close()
        raise

    def results():
        try:
            for fut in as_completed(list(todo), loop=client.loop):
                sc = todo.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker lost mid-task
                    result = error_result(f"dask: {type(exc).__name__}: {exc}")
                yield sc, result
        finally:
            client.cancel(list(todo))
            client.close()

    return results()


# --------------------------------------------------------------- driver ---

def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_sweep(job: Job, scenarios: list[Scenario], out: str, *, workers: int | None = None,
              scheduler: str | None = None, quiet: bool = False,
              retry_failed: bool = False) -> Outcome:
    """Run what the journal next to ``out`` lacks; every scenario's record, in order."""
    t0 = time.perf_counter()
    # import the solver path here, once: forked workers inherit it ready to use
    from ..solver.backends import get_backend
    from ..solver.run import solve_instance  # noqa: F401

    get_backend(job.backend)  # unknown names fail here (BackendError), before any run
    opts = {k: v for k, v in job.options.as_dict().items() if k != "log"}
    opts["explain"] = job.explain
    keys = {sc.index: scenario_key(sc.assign, job.digest, job.backend, opts)
            for sc in scenarios}
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
            stream = _run_local(job, pending, n_workers)
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
        journal.close()
    return Outcome(results, ran, reused, time.perf_counter() - t0,
                   n_workers if not scheduler else 0, interrupted)
