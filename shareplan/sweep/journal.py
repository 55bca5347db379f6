"""The sweep journal: one fsync'd JSON line per finished scenario, for resuming.

It sits next to the output (``OUT.journal.jsonl``). A line is
``{"key": ..., "index": ..., "params": {...}, "result": {...}}``; the key is a hash
of the scenario's changes, the instance's sha256, the backend and the solver
options, so a restart with the same arguments skips exactly the scenarios already
journaled, and a changed instance or option runs everything again. A kill can
leave at most a partial last line: it is cut off when the journal is reopened; an
append that fails (a full disk) cuts its own partial line at once.

Only one sweep may use a journal, and so its output, at a time: the journal is its
own lock file, locked with ``fcntl.lockf`` (chosen over ``flock`` and the
``filelock`` package on purpose). A POSIX record lock belongs to the process: forked
workers never hold it, and the kernel drops it the moment the sweep dies, even by
``kill -9``, so no stale lock can block a restart. It does not exclude the same
process, so a set of the journals this process holds does that. (A POSIX lock also
drops when the process closes *any* descriptor of the file: nothing here opens the
journal twice.) A second sweep on the same output is refused with
:class:`JournalBusy`; the command holds the lock until its table and plot are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path


def journal_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".journal.jsonl")


def scenario_key(assign, instance_sha256: str, backend: str, options: dict) -> str:
    """Hash of what decides a scenario's result (the values and where they go)."""
    text = json.dumps({"changes": sorted([list(steps), value] for steps, value in assign),
                       "instance": instance_sha256, "backend": backend, "options": options},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class JournalBusy(RuntimeError):
    pass


_HELD: set[Path] = set()  # journals this process has open (a POSIX lock cannot tell)
_HELD_LOCK = threading.Lock()


class Journal:
    """Append-only, fsync'd, locked; ``done`` maps key -> its (last) record."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = self.path.resolve()
        busy = JournalBusy(f"{self.path} is in use by another sweep; wait for it to "
                           "finish or write to another --out")
        with _HELD_LOCK:
            if self._key in _HELD:
                raise busy
            _HELD.add(self._key)
        try:
            self._fh = open(self.path, "a+b", buffering=0)  # noqa: SIM115 - see close()
        except BaseException:
            self._release()
            raise
        try:
            import fcntl

            fcntl.lockf(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: the in-process guard only
            pass
        except OSError:
            self._fh.close()
            self._release()
            raise busy from None
        self.done: dict[str, dict] = {}
        try:
            self.reload()
        except BaseException:
            self.close()
            raise

    def _release(self) -> None:
        with _HELD_LOCK:
            _HELD.discard(self._key)

    def reload(self) -> None:
        """Read what is on disk (cutting a partial last line) into ``done``."""
        self.done = {}
        self._fh.seek(0)
        data = self._fh.read()
        good = data.rfind(b"\n") + 1  # a partial last line is a write cut short by a kill
        if good < len(data):
            self._fh.truncate(good)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        for line in data[:good].splitlines():
            with contextlib.suppress(ValueError):
                rec = json.loads(line)
                if isinstance(rec, dict) and "key" in rec:
                    self.done[rec["key"]] = rec  # a retried scenario: the last line wins

    def append(self, record: dict) -> None:
        """One line, on disk before this returns; on a failed write (a full disk) the
        journal is cut back to what it held and the error names it."""
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False) + "\n"
        fd = self._fh.fileno()
        end = os.lseek(fd, 0, os.SEEK_END)
        data = memoryview(line.encode("utf-8"))
        try:
            while data:  # unbuffered: nothing is left in memory to be written later
                data = data[os.write(fd, data):]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):  # the journal as it was before this line
                os.ftruncate(fd, end)
                os.fsync(fd)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        self.done[record["key"]] = record

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self._release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
