"""Tables as every output writes them: rows under named columns, each column with its unit.

A :class:`Table` is plain data (no pandas needed to build one); the plan, the sweep, the
shares and alternatives reports and ``compare`` hand theirs to one writer by suffix,
:func:`shareplan.formats.tables.write_table` (.csv, .parquet, .xlsx).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A column: its name (``*_gbp`` money, ``*_fte`` people, ``*_years``) and its unit,
    in words a planner reads (``"GBP a year, cash"``); empty for ids and text."""

    name: str
    unit: str = ""


@dataclass
class Table:
    """``rows[k][j]`` is the value of ``columns[j]`` in row k (None when not applicable)."""

    name: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)

    def __post_init__(self) -> None:
        width = len(self.columns)
        bad = [k for k, r in enumerate(self.rows) if len(r) != width]
        if bad:
            raise ValueError(f"table {self.name}: row {bad[0]} has {len(self.rows[bad[0]])} "
                             f"values for {width} columns")

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def units(self) -> dict[str, str]:
        return {c.name: c.unit for c in self.columns}

    def records(self) -> list[dict]:
        """One dict per row, keyed by column name."""
        return [dict(zip(self.header, r)) for r in self.rows]

    def to_frame(self):
        """The table as a pandas DataFrame (columns in order)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.header)

    @classmethod
    def from_frame(cls, name: str, df, units: dict[str, str] | None = None) -> Table:
        """A DataFrame as a Table: NaN becomes None, numpy scalars become Python numbers."""
        units = units or {}
        rows = [[_plain(v) for v in r] for r in df.itertuples(index=False, name=None)]
        return cls(name, [Column(str(c), units.get(str(c), "")) for c in df.columns], rows)


def _plain(value):
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
