"""What every command of the ``solve`` line shares: exit codes, error handling, solver options.

Exit codes: 0 a plan (optimal, or feasible with its gap); 2 bad usage or invalid
input; 3 proven infeasible; 4 no plan within the limits; 5 ``check`` found
violations, ``compare`` found disagreeing optima; 1 internal error.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_CHECK = 0, 1, 2, 3, 4, 5


BUNDLED_DIRS = (Path(__file__).parent / "instances", Path(__file__).parents[1] / "instances")


def bundled_names() -> list[str]:
    """Names of the bundled instances (``bch-2013``, ...), sorted."""
    return sorted({p.stem for root in BUNDLED_DIRS if root.is_dir() for p in root.glob("*.json")})


def _bundled(path: str) -> Path:
    """The file the user named: a path as given, or a bundled instance by bare name.

    A bare name (no folder, no suffix, such as ``bch-2013``) that is not a file here is
    the bundled instance of that name. Anything else is taken as a path and never
    replaced by a bundled file: a missing ``my_edits/tiny-infeasible.json`` is refused
    ("no such file", with the bundled names), not solved as the bundled ``tiny-infeasible``.
    """
    from .models.load import InstanceError, Problem

    p = Path(path)
    if p.exists():
        return p
    if not p.is_absolute() and len(p.parts) == 1 and not p.suffix:
        for root in BUNDLED_DIRS:
            if (root / f"{p.name}.json").is_file():
                return root / f"{p.name}.json"
    names = bundled_names()
    hint = (f"; bundled instances are reached by name alone: {', '.join(names)} "
            f"(e.g. 'solve {names[0]}')" if names else "")
    raise InstanceError([Problem("", "no such file" + hint)], str(p))


class _PipeSafe:
    """A text stream whose reader may go away (``solve ... | head``) without changing the
    command's exit code: on the first broken pipe the stream's descriptor is pointed at
    /dev/null and the command carries on, ending with the exit code it would have had."""

    def __init__(self, stream):
        self._stream = stream

    def _reader_gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # what was buffered goes to /dev/null too

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def protect_pipes() -> None:
    """Wrap stdout and stderr (once) so that a closed pipe never decides the exit code."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _PipeSafe):
            try:
                stream.fileno()
            except (OSError, ValueError, AttributeError):
                continue  # not a real descriptor (a test runner's buffer): leave it
            setattr(sys, name, _PipeSafe(stream))


def _fail(message: str, code: int) -> None:
    click.echo(message.rstrip(), err=True)
    sys.exit(code)


def guarded(fn):
    """Turn expected errors into a message and an exit code; --debug shows the traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .models.load import InstanceError
        from .solver.core import BackendError

        try:
            return fn(*args, **kwargs)
        except InstanceError as exc:
            _fail(str(exc), EXIT_USAGE)
        except BackendError as exc:
            _fail(f"error: {exc}", EXIT_USAGE)
        except OSError as exc:  # an output path that cannot be written, a full disk
            where = f" {exc.filename}" if exc.filename else ""
            _fail(f"error: cannot read or write{where}: {exc.strerror or exc}", EXIT_USAGE)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("SHAREPLAN_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc}\n"
                  "(set SHAREPLAN_DEBUG=1 for the traceback; please report it)", EXIT_INTERNAL)

    return wrapper


def solver_options(fn):
    """--backend, --time-limit, --gap, --threads, --seed, --log."""
    from .solver.backends import DEFAULT_BACKEND, REGISTRY

    decorators = [
        click.option("--backend", type=click.Choice(list(REGISTRY)), default=DEFAULT_BACKEND,
                     show_default=True, help="Solver backend."),
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
                     help="Seconds; a run cut short reports 'feasible' with its gap."),
        click.option("--gap", type=click.FloatRange(min=0), default=1e-6, show_default=True,
                     help="Relative MIP gap on the decision-dependent cost."),
        click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--log", is_flag=True, help="Show the solver's log."),
    ]
    for dec in reversed(decorators):
        fn = dec(fn)
    return fn


def make_options(time_limit, gap, threads, seed, log):
    from .solver.core import SolveOptions

    return SolveOptions(time_limit=time_limit, gap=gap, threads=threads, seed=seed, log=log)


def exit_code_for(status) -> int:
    from .solver.core import Status

    return {Status.OPTIMAL: EXIT_OK, Status.FEASIBLE: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE,
            Status.UNBOUNDED: EXIT_INFEASIBLE, Status.NO_SOLUTION: EXIT_NO_PLAN,
            Status.ERROR: EXIT_INTERNAL}[status]


def _read_plan(path: str, strict: bool = False) -> dict:
    """A plan file's JSON with the contract keys; ``strict`` checks every field's type too
    (``check`` does not: it reports a malformed plan as violations of its own)."""
    from .models.load import InstanceError, Problem, parse_json_text

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError([Problem("", f"cannot read: {exc}")], path, "plan") from None
    try:
        plan = parse_json_text(text, path)
    except InstanceError as exc:
        raise InstanceError(exc.problems, path, "plan") from None
    missing = [k for k in ("status", "units", "forces") if not isinstance(plan, dict)
               or k not in plan]
    if missing:
        raise InstanceError([Problem(k, "missing; is this a plan file written by "
                                        "'solve --out'?") for k in missing], path, "plan")
    if strict:
        from pydantic import ValidationError

        from .analysis import PlanShape
        from .models.load import pydantic_path

        try:
            PlanShape.model_validate(plan)
        except ValidationError as exc:
            raise InstanceError([Problem(pydantic_path(e["loc"]), e["msg"])
                                 for e in exc.errors(include_url=False)][:10], path,
                                "plan") from None
    return plan
