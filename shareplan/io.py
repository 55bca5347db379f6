"""Atomic file output: a killed run leaves the old file or the new one, never half of one.

Each file is written to a temporary file in its own directory
(``.NAME.HOST-PID.XXXXXXXX.tmp``), flushed and fsync'd, then renamed over ``NAME``;
the directory is fsync'd after the rename. Files that belong together (a plan's CSV
folder) are all written and fsync'd before the first rename, so a full disk leaves
every one of them as it was.

What a failure leaves:

- an error (a full disk, no permission) raises ``OSError`` naming the file, after
  the temporary files of that write are removed: the old files are intact;
- a kill (``kill -9``, a power cut) can leave that write's temporary file: the next
  write of the same name on the same host removes it once the process that made it
  is gone (the host and pid in its name say whose it is; a live writer's is left).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import socket
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove temporary files of ``path`` left by killed writers on this host."""
    path = Path(path)
    prefix = f".{path.name}.{_host()}-"
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens directories
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _named(exc: OSError, path: Path) -> OSError:
    """The error with the file the user named (a failed write() names no file)."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def _stage(path: Path, data: bytes) -> str:
    """Write ``data`` to a fsync'd temporary file next to ``path``; its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_host()}-{os.getpid()}.",
                               suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600: the usual mode
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write_files(files: dict[str | Path, bytes]) -> None:
    """Write several files so that a failure before the renames leaves all of them old."""
    staged: list[tuple[str, Path]] = []
    current = None
    try:
        for path, data in files.items():
            current = Path(path)
            staged.append((_stage(current, data), current))
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
        for directory in {path.parent for _, path in staged}:
            _fsync_directory(directory)
    except BaseException as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and current is not None and exc.filename is None:
            raise _named(exc, current) from exc
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    atomic_write_files({path: data})


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def atomic_write_csv(path: str | Path, header: list[str], rows: list[list]) -> None:
    atomic_write_bytes(path, csv_bytes(header, rows))
