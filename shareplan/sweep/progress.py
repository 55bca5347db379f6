"""Progress of a sweep on stderr: a rich bar on a terminal, plain lines otherwise.

Both show runs done (of all scenarios, counting those found in the journal),
failed (an error) and infeasible, and the time left, estimated from the runs
finished in this session.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Silent (``--quiet``); the base of the two that print."""

    def __init__(self, total: int, done: int):
        self.total, self.done = total, done
        self.failed = self.infeasible = 0
        self._start = time.monotonic()
        self._ran = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, status: str) -> None:
        self.done += 1
        self._ran += 1
        self.failed += status == "error"
        self.infeasible += status == "infeasible"
        self.update()

    def seconds_left(self) -> float | None:
        if not self._ran:
            return None
        rate = (time.monotonic() - self._start) / self._ran
        return rate * (self.total - self.done)

    def update(self) -> None:
        pass

    def close(self) -> None:
        pass


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class LineProgress(Progress):
    """A plain line every ``every`` seconds and at the end (for logs and pipes)."""

    def __init__(self, total: int, done: int, every: float = 5.0, stream=None):
        super().__init__(total, done)
        self.every = every
        self.stream = stream or sys.stderr
        self._last = time.monotonic()
        if done:
            self._line(f"resuming: {done} of {total} scenarios already in the journal")

    def _line(self, text: str) -> None:
        print(f"sweep: {text}", file=self.stream, flush=True)

    def _status(self) -> str:
        return (f"{self.done}/{self.total} done, {self.failed} failed, "
                f"{self.infeasible} infeasible")

    def update(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every and self.done < self.total:
            self._last = now
            self._line(f"{self._status()}, about {_clock(self.seconds_left())} left")

    def close(self) -> None:
        self._line(f"{self._status()} in {_clock(time.monotonic() - self._start)}")


class RichProgress(Progress):
    """A rich progress bar: done/total, failed, infeasible, elapsed, time left."""

    def __init__(self, total: int, done: int):
        super().__init__(total, done)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TextColumn("{task.fields[infeasible]} infeasible"),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False)
        self._task = self._bar.add_task("sweep", total=total, completed=done, failed=0,
                                        infeasible=0)
        self._bar.start()

    def update(self) -> None:
        self._bar.update(self._task, completed=self.done, failed=self.failed,
                         infeasible=self.infeasible)

    def close(self) -> None:
        self._bar.stop()


def make_progress(total: int, done: int, quiet: bool) -> Progress:
    if quiet:
        return Progress(total, done)
    if sys.stderr.isatty():
        return RichProgress(total, done)
    return LineProgress(total, done)
