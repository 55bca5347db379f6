"""The backend registry: name -> (module, class, arguments), imported only when used."""

from __future__ import annotations

from importlib import import_module

from ..core import BackendError
from .base import Backend, preload_ortools

REGISTRY: dict[str, tuple[str, str, dict]] = {
    "cbc": ("cbc", "CbcBackend", {}),
    "ortools": ("ortools_mb", "OrtoolsBackend", {"engine": "scip"}),
    "ortools-scip": ("ortools_mb", "OrtoolsBackend", {"engine": "scip"}),
    "ortools-highs": ("ortools_mb", "OrtoolsBackend", {"engine": "highs"}),
    "ortools-cpsat": ("ortools_mb", "OrtoolsBackend", {"engine": "sat"}),
    "highs": ("highs", "HighsBackend", {}),
}

DEFAULT_BACKEND = "cbc"


def get_backend(name: str) -> Backend:
    """The backend registered as ``name``; BackendError lists the known names."""
    try:
        module, cls, kwargs = REGISTRY[name]
    except KeyError:
        raise BackendError(f"unknown backend '{name}'; choose from {', '.join(REGISTRY)}"
                           ) from None
    preload_ortools()
    return getattr(import_module(f"{__name__}.{module}"), cls)(**kwargs)


__all__ = ["REGISTRY", "DEFAULT_BACKEND", "Backend", "get_backend"]
