"""The sweep journal: one fsync'd JSON line per finished scenario, for resuming.

It sits next to the output (``OUT.journal.jsonl``). A line is
``{"key": ..., "index": ..., "params": {...}, "result": {...}}``; the key is a hash
of the scenario's changes, the instance's sha256, the backend and the solver
options, so a restart with the same arguments skips exactly the scenarios already
journaled, and a changed instance or option runs everything again. A kill can
leave at most a partial last line: it is cut off when the journal is reopened.
Only one sweep may write a journal at a time (an exclusive lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
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


class Journal:
    """Append-only, fsync'd, locked; ``done`` maps key -> its (last) record."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")  # noqa: SIM115 - closed in close()
        try:
            import fcntl

            # lockf, not flock: a POSIX lock is the process's own, so forked workers
            # never hold it (a restart after kill -9 is not blocked by orphans)
            fcntl.lockf(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no lock
            pass
        except OSError:
            self._fh.close()
            raise JournalBusy(f"{self.path} is in use by another sweep; wait for it to "
                              "finish or write to another --out") from None
        self.done: dict[str, dict] = {}
        self.reload()

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
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False) + "\n"
        self._fh.seek(0, os.SEEK_END)
        self._fh.write(line.encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done[record["key"]] = record

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
