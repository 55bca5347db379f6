"""A plan as a workbook: one Excel table per briefing section (summary, forces, units,
functions, unshared, constraints, year by year where the plan has it, the model), each
column's unit in its header note, money as GBP with pence."""

from __future__ import annotations

import io
from pathlib import Path

from ..reports.briefing import Briefing
from .extras import need
from .tables import write_sheet


def write_plan_workbook(b: Briefing, plan: dict, path: str | Path) -> None:
    need("openpyxl", "xlsx")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from ..io import atomic_write_bytes

    wb = Workbook()
    about = wb.active
    about.title = "about"
    lines = [f"{b.instance_name}: {b.status}", b.accounting["text"],
             f"discount rate: {b.accounting['discount_rate']:.2%} a year; horizon "
             f"{b.accounting['horizon_years']} years; annuity factor "
             f"{b.accounting['annuity_factor']}",
             "Each sheet is a table; the note on each header gives the column's unit.",
             f"instance sha256: {plan.get('instance_sha256', '')}"] + b.messages
    for k, line in enumerate(lines, start=1):
        about.cell(row=k, column=1, value=line).font = Font(bold=k == 1)
    about.column_dimensions["A"].width = 110
    for t in [b.summary, *b.tables] + ([b.solver] if b.solver else []):
        keys = [c.key for c in t.columns]
        keys += list(dict.fromkeys(k for r in t.rows for k in r if k not in keys and
                                   k != "kind"))
        units = {c.key: c.unit for c in t.columns}
        ws = wb.create_sheet(t.name[:31])
        rows = [[_cell(r.get(k)) for k in keys] for r in t.rows]
        write_sheet(ws, keys, rows, t.name, units)
        if t.note:
            ws.cell(row=len(rows) + 3, column=1, value=t.note)
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue())


def _cell(value):
    if isinstance(value, list | dict):
        return str(value)
    return value
