"""Optional dependencies: a clear message naming the extra to install when one is missing."""

from __future__ import annotations

import importlib

from ..models.rules import InstanceError, Problem

EXTRAS = {"xlsx": "workbooks (openpyxl, python-calamine)",
          "report": "the HTML report (jinja2, matplotlib)",
          "parquet": "Parquet tables (pyarrow)"}


def need(module: str, extra: str):
    """Import ``module`` or stop with: install shareplan[extra]."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InstanceError([Problem("", f"{EXTRAS.get(extra, extra)} need the '{module}' "
                                         f"package: pip install 'shareplan[{extra}]'")],
                            "", "setup") from None
