"""Shared test setup.

The tests import their helpers (``helpers.py``, ``browser.py``) as top-level modules:
this folder is put on ``sys.path`` here, so that holds under any pytest import mode.
Random instances come from the package (``shareplan.testing.randinst``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository: instances/, tools/, docs/ beside the package."""
    return ROOT


@pytest.fixture(scope="session")
def load_tool():
    """``load_tool("build_national_instance")``: a script of tools/ as a module (its
    ``main`` not run), for tests that call its functions."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools"
                                                      / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
