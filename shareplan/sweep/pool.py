"""Local worker processes that outlive a worker's death.

Not :class:`concurrent.futures.ProcessPoolExecutor`: that pool breaks as a whole
when one worker dies (``BrokenProcessPool``) and cannot say which task killed it.
Here each worker has a pipe of its own and runs one scenario at a time, so the
sweep always knows which scenario a dead worker held:

- a worker that dies (a solver that crashes the process, the OOM killer, ``kill``)
  is replaced at once and its scenario runs again on the new one, up to
  ``attempts`` times in all; past that the scenario's result is :class:`Died`
  with the reason (``killed by SIGSEGV``), and the sweep goes on;
- a scenario still running ``stall_s`` seconds after it started (a solver that
  ignores its time limit) has its worker killed and is :class:`Died` at once
  (running it again would only stall again).

Workers are forked from the already-imported parent when that is safe (one
thread), so starting one costs milliseconds; forkserver (preloading the solver) or
spawn otherwise, and for replacements started once the sweep's progress thread
runs. A worker stopped by Ctrl-C exits with 130 and its scenario is not charged an
attempt. A worker whose parent disappears (``kill -9`` of the sweep) exits by itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait

ATTEMPTS = 3
EXIT_INTERRUPTED = 130  # a worker stopped by Ctrl-C: its scenario is not charged


@dataclass(frozen=True)
class Died:
    """A scenario that no worker could finish: why."""

    reason: str


def exit_reason(exitcode: int | None) -> str:
    """``killed by SIGKILL`` / ``exited with code 3`` from a process's exit code."""
    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


# ------------------------------------------------------------ the worker ---

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_parent(main_pid: int) -> None:
    parent = os.getppid()  # the sweep, or the fork server between them
    while os.getppid() == parent and _alive(main_pid):
        time.sleep(0.5)
    os._exit(1)  # the sweep was killed: stop rather than linger as an orphan


def _worker_main(conn, task: Callable, job, main_pid: int) -> None:
    """Receive an item, send back ``task(job, item)``; None stops."""
    threading.Thread(target=_watch_parent, args=(main_pid,), daemon=True).start()
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                return
            conn.send(task(job, msg))
    except (EOFError, OSError):  # the sweep closed the pipe
        return
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group
        sys.exit(EXIT_INTERRUPTED)


# ------------------------------------------------------------ the parent ---

def start_context(method: str | None = None):
    """fork when it is safe (one thread: the parent has imported everything, so workers
    start at once); forkserver (preloading the solver) or spawn otherwise."""
    import multiprocessing as mp

    if method:
        return mp.get_context(method)
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["shareplan.sweep.runner", "shareplan.solver.run"])
        return ctx
    return mp.get_context("spawn")


@dataclass
class _Worker:
    process: object
    conn: object
    running: tuple | None = None  # (item, attempt, started at)


@dataclass
class _Pool:
    ctx: object
    task: Callable
    job: object
    fixed: bool  # the caller chose the start method
    workers: list[_Worker] = field(default_factory=list)

    def start(self) -> _Worker:
        ctx = self.ctx
        if not self.fixed and threading.active_count() > 1:
            ctx = start_context()  # no fork once the progress thread runs
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, daemon=True,
                                args=(child_end, self.task, self.job, os.getpid()))
        proc.start()
        child_end.close()  # the worker holds the only copy: its death is EOF here
        w = _Worker(proc, parent_end)
        self.workers.append(w)
        return w

    def retire(self, w: _Worker, kill: bool = False) -> str:
        """Remove a worker (killing it first if asked); why it ended."""
        if kill and w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        if w.process.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
            w.process.kill()
            w.process.join(5)
        w.conn.close()
        self.workers.remove(w)
        return exit_reason(w.process.exitcode)

    def shutdown(self) -> None:
        for w in self.workers:
            if w.running is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
            else:  # its result is no longer wanted
                w.process.terminate()
        deadline = time.monotonic() + 5
        for w in self.workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()
        self.workers.clear()


def run_pool(task: Callable, job, items: list, workers: int, *, attempts: int = ATTEMPTS,
             stall_s: float | None = None, start_method: str | None = None
             ) -> Iterator[tuple[object, object]]:
    """Run ``task(job, item)`` for every item on ``workers`` processes.

    Starts the workers before returning; yields ``(item, result)`` in the order they
    finish, ``result`` being :class:`Died` for an item whose worker died ``attempts``
    times or stalled. Closing the iterator stops the workers.
    """
    pool = _Pool(start_context(start_method), task, job, fixed=start_method is not None)
    queue: deque[tuple[object, int]] = deque((item, 1) for item in items)
    for _ in range(min(workers, len(items))):
        pool.start()

    def results():
        try:
            while queue or any(w.running for w in pool.workers):
                for w in list(pool.workers):
                    if w.running is None and queue:
                        if not w.process.is_alive():  # died while idle
                            pool.retire(w)
                            w = pool.start()
                        item, attempt = queue.popleft()
                        w.running = (item, attempt, time.monotonic())
                        with contextlib.suppress(OSError):  # died just now: seen below
                            w.conn.send(item)
                busy = [w for w in pool.workers if w.running]
                timeout = None
                if stall_s is not None:
                    oldest = min(w.running[2] for w in busy)
                    timeout = max(0.0, oldest + stall_s - time.monotonic())
                ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                                 timeout))
                for w in busy:
                    item, attempt, started = w.running
                    outcome = None
                    if w.conn in ready or w.process.sentinel in ready:
                        outcome = _receive(w)
                        if outcome is None:  # the worker died
                            reason = pool.retire(w)
                            if w.process.exitcode == EXIT_INTERRUPTED:
                                queue.appendleft((item, attempt))  # not the scenario's fault
                            elif attempt < attempts:
                                queue.appendleft((item, attempt + 1))
                            else:
                                times = "once" if attempt == 1 else f"{attempt} times"
                                outcome = Died(f"the worker process died {times} running "
                                               f"this scenario (last {reason})")
                            if queue:
                                pool.start()
                    elif stall_s is not None and time.monotonic() - started >= stall_s:
                        pool.retire(w, kill=True)
                        outcome = Died(f"stopped after {stall_s:.0f} s without a result "
                                       "(the solver overran its time limit); worker killed")
                        if queue:
                            pool.start()
                    if outcome is not None:
                        w.running = None
                        yield item, outcome
        finally:
            pool.shutdown()

    return results()


def _receive(w: _Worker):
    """The result a worker sent, or None if it died first."""
    try:
        return w.conn.recv() if w.conn.poll() else None
    except (EOFError, OSError):
        return None
