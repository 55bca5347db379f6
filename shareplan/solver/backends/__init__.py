"""The backend registry: name -> where the class lives, its arguments and what it can do.

Backends are imported only when used (listing them loads no solver). Callers ask a
backend's :class:`Capabilities` (through :func:`capabilities` or :func:`backends_with`)
rather than naming one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from ..core import BackendError
from .base import Backend, Capabilities, preload_ortools


@dataclass(frozen=True)
class Entry:
    """One registered backend: ``module.cls(**kwargs, capabilities=...)``.

    ``alias_of``: another name for the same backend. ``main``: the one name tests and
    cross-checks run for its solver engine (others reach the same engine another way).
    """

    module: str
    cls: str
    kwargs: dict = field(default_factory=dict)
    capabilities: Capabilities = Capabilities()
    main: bool = True
    alias_of: str | None = None


REGISTRY: dict[str, Entry] = {
    "cbc": Entry("cbc", "CbcBackend"),
    "ortools": Entry("ortools_mb", "OrtoolsBackend", {"engine": "scip"}),
    "ortools-scip": Entry("ortools_mb", "OrtoolsBackend", {"engine": "scip"}, main=False,
                          alias_of="ortools"),
    # OR-Tools 9.x's HiGHS engine ends the process with a segfault on a solution hint
    "ortools-highs": Entry("ortools_mb", "OrtoolsBackend", {"engine": "highs"},
                           Capabilities(mip_start=False), main=False),
    # CP-SAT is integer-only and rounds non-integral coefficients: its "infeasible"
    # proves nothing on such rows
    "ortools-cpsat": Entry("ortools_mb", "OrtoolsBackend", {"engine": "sat"},
                           Capabilities(proves_infeasibility=False, continuous_columns=False)),
    "highs": Entry("highs", "HighsBackend"),
}

DEFAULT_BACKEND = "cbc"


def _entry(name: str) -> Entry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise BackendError(f"unknown backend '{name}'; choose from {', '.join(REGISTRY)}"
                           ) from None


def get_backend(name: str) -> Backend:
    """The backend registered as ``name``; BackendError lists the known names."""
    entry = _entry(name)
    preload_ortools()
    cls = getattr(import_module(f"{__name__}.{entry.module}"), entry.cls)
    return cls(**entry.kwargs, capabilities=entry.capabilities)


def capabilities(name: str) -> Capabilities:
    """What the backend registered as ``name`` can do (without importing it)."""
    return _entry(name).capabilities


def backends_with(main_only: bool = False, **needed: bool) -> list[str]:
    """Registered names (aliases left out) whose capabilities have every flag in
    ``needed`` (e.g. ``continuous_columns=True``); ``main_only``: one name per engine."""
    return [name for name, e in REGISTRY.items()
            if e.alias_of is None and (e.main or not main_only)
            and all(getattr(e.capabilities, flag) == value for flag, value in needed.items())]


__all__ = ["REGISTRY", "DEFAULT_BACKEND", "Backend", "Capabilities", "Entry", "backends_with",
           "capabilities", "get_backend"]
