"""Wall-clock limits that hold: the time left for each stage, and a watch over the whole.

A solve with a time limit T runs its stages (build, solver, re-solves, explanation)
in a worker thread under a :class:`Watch`; the caller waits until T and then, if the
worker is still busy, stops it: every solver process started under the watch is
killed and every in-process solver is asked to stop (HiGHS ``cancelSolve``,
OR-Tools ``stop_search``). Stages offer the watch each plan they hold (a heuristic
plan, the plan of every function alone when it meets every rule, a first-stage
plan), so a run cut short still returns the best of them as ``feasible``.

The promise is: the whole solve returns within T + margin(T), margin(T) = max(5% T,
2 s) (:func:`margin`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .backends.base import restore_stdout
from .core import SolveOptions


def margin(time_limit: float) -> float:
    """The stated overrun allowed past a time limit: max(5% of it, 2 s)."""
    return max(0.05 * time_limit, 2.0)


def remaining(options: SolveOptions, t0: float, parts: int = 1) -> SolveOptions:
    """The options with the time left since t0, shared evenly among ``parts`` solves."""
    if options.time_limit is None:
        return options
    left = options.time_limit - (time.perf_counter() - t0)
    return replace(options, time_limit=max(0.01, left / parts))


@dataclass
class Watch:
    """Stoppers for the solvers running now, and the plans offered for each part of the
    solve (``part``: which independent group of forces is being solved)."""

    stopped: bool = False
    part: int = 0
    reserve: float = 0.0  # seconds kept after the solvers stop, to read and check the plan
    offers: dict = field(default_factory=dict)  # part -> [(x, bound on the cost or None)]
    _stoppers: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0

    def offer(self, x, bound: float | None) -> None:
        """A plan (x of the part's programme) and, when known, a lower bound on its cost."""
        with self._lock:
            self.offers.setdefault(self.part, []).append((x, bound))

    def on_stop(self, stop: Callable[[], None]) -> int:
        """Register a callable that stops a running solver; returns its ticket.
        Called at once when the watch has already stopped."""
        with self._lock:
            self._next += 1
            ticket = self._next
            self._stoppers[ticket] = stop
            late = self.stopped
        if late:
            stop()
        return ticket

    def done(self, ticket: int) -> None:
        with self._lock:
            self._stoppers.pop(ticket, None)

    def stop(self) -> None:
        """Stop every solver registered (and any registered later)."""
        with self._lock:
            self.stopped = True
            stoppers = list(self._stoppers.values())
        for stop in stoppers:
            with contextlib.suppress(Exception):  # a solver already gone is stopped
                stop()


_current = threading.local()
_ABANDONED: list[threading.Thread] = []  # solve threads left running past their limit


@contextlib.contextmanager
def exit_past_abandoned_solvers():
    """Around a command: when a solve thread was abandoned and still runs, exit with the
    command's code at once (os._exit after flushing), since the interpreter's shutdown
    would wait on that thread or abort inside its solver (SCIP: SIGABRT, exit 134)."""
    code = 0
    try:
        yield
    except SystemExit as exc:
        if not any(t.is_alive() for t in _ABANDONED):
            raise
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if any(t.is_alive() for t in _ABANDONED):
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def current() -> Watch | None:
    """The watch of the solve running in this thread, if any."""
    return getattr(_current, "watch", None)


def watched(watch: Watch, work: Callable[[], object]) -> Callable[[], object]:
    """work, run with ``watch`` as this thread's watch."""
    def run():
        _current.watch = watch
        try:
            return work()
        finally:
            _current.watch = None
    return run


def offer(x, bound: float | None = None) -> None:
    """Offer a plan to the current watch (nothing when there is none)."""
    watch = current()
    if watch is not None and x is not None:
        watch.offer(x, bound)


def stopped() -> bool:
    """Has the current watch been stopped (the stage should give up)?"""
    watch = current()
    return watch is not None and watch.stopped


def run_process(args: list[str], log_path: str, timeout: float | None) -> int | None:
    """Run a solver binary with its output to log_path; kill it after ``timeout`` seconds
    or when the current watch stops. The exit code, or None when it was killed."""
    watch = current()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        ticket = watch.on_stop(proc.kill) if watch is not None else None
        try:
            code = proc.wait(timeout=timeout)
            return None if watch is not None and watch.stopped and code < 0 else code
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
        finally:
            if watch is not None:
                watch.done(ticket)


def run_watched(work: Callable[[], object], time_limit: float | None,
                on_tick: Callable[[float, Watch], None] | None = None,
                tick: float = 0.5) -> tuple[object, Watch, bool]:
    """(result of work(), the watch, finished in time?).

    With a time limit (or ``on_tick``) work runs in a daemon thread. Solvers get the time
    left as their own limit; a tenth of the margin past the limit the watch stops them,
    and the worker has until 35% of the margin past it to hand back what it has; after
    that the result is None and ``finished`` False (the caller uses the watch's offers;
    the rest of the margin is for reading and checking the plan, and for a worker that
    holds the interpreter lock in a long native call, such as writing a large model).
    Both moments come ``watch.reserve`` seconds earlier once the work sets it (a large
    plan takes seconds to read and check). ``on_tick(elapsed, watch)`` is called every
    ``tick`` seconds meanwhile.
    """
    watch = Watch()
    if time_limit is None and on_tick is None:
        return watched(watch, work)(), watch, True
    t0 = time.perf_counter()
    box: dict = {}

    def target():
        try:
            box["result"] = watched(watch, work)()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="shareplan-solve", daemon=True)
    worker.start()
    while worker.is_alive():
        early = watch.reserve  # set by the work once it knows how large the plan is
        limit = (float("inf") if time_limit is None
                 else time_limit + 0.1 * margin(time_limit) - early)
        hard = (float("inf") if time_limit is None
                else time_limit + 0.35 * margin(time_limit) - early)
        elapsed = time.perf_counter() - t0
        if elapsed >= limit and not watch.stopped:
            watch.stop()
        if elapsed >= hard:
            break
        next_stop = hard if watch.stopped else limit
        worker.join(max(0.01, min(tick, next_stop - elapsed)))
        if on_tick is not None and worker.is_alive():
            on_tick(time.perf_counter() - t0, watch)
    if "error" in box:
        raise box["error"]
    if worker.is_alive():  # abandoned: it may hold stdout silenced
        watch.stop()
        restore_stdout()
        _ABANDONED.append(worker)
        return None, watch, False
    return box.get("result"), watch, True
