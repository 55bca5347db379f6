"""Tables to files by suffix: .csv, .parquet or .xlsx (an Excel table with number formats),
written atomically (temporary file, fsync, rename)."""

from __future__ import annotations

import io
from pathlib import Path

from .extras import need

SUFFIXES = (".csv", ".parquet", ".xlsx")


def number_format(column: str) -> str | None:
    """Excel number format by column name: money, officers, ratios."""
    if column.endswith("_gbp") or column.endswith("_gbp_a_year"):
        return "#,##0.00"
    if column.endswith("_fte"):
        return "#,##0.0"
    if column.endswith("_years") or column.endswith("_s"):
        return "0.00"
    return None


def write_sheet(ws, header: list[str], rows: list[list], name: str, units: dict | None = None
                ) -> None:
    """One worksheet as an Excel table: header with unit notes, number formats, widths."""
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    ws.append(header)
    for r in rows:
        ws.append([None if (isinstance(v, float) and v != v) else v for v in r])
    for j, key in enumerate(header, start=1):
        if units and units.get(key):
            ws.cell(row=1, column=j).comment = Comment(units[key], "shareplan")
        fmt = number_format(key)
        if fmt:
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].number_format = fmt
        width = max([len(str(key))] + [len(str(r[j - 1])) for r in rows[:200]
                                       if r[j - 1] is not None])
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(10, width + 2))
    ref = f"A1:{get_column_letter(max(1, len(header)))}{max(2, len(rows) + 1)}"
    table = Table(displayName="t_" + "".join(ch if ch.isalnum() else "_" for ch in name),
                  ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"


def write_table(df, out: str | Path, sheet: str = "results") -> None:
    """A DataFrame to ``out``, the format by its suffix."""
    from ..io import atomic_write_bytes

    suffix = Path(out).suffix.lower()
    if suffix == ".csv":
        atomic_write_bytes(out, df.to_csv(index=False).encode("utf-8"))
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
        atomic_write_bytes(out, buf.getvalue())
    elif suffix == ".xlsx":
        openpyxl = need("openpyxl", "xlsx")
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = sheet
        rows = [[None if v is None or (isinstance(v, float) and v != v) else
                 (v.item() if hasattr(v, "item") else v) for v in r]
                for r in df.itertuples(index=False, name=None)]
        write_sheet(ws, [str(c) for c in df.columns], rows, sheet)
        buf = io.BytesIO()
        wb.save(buf)
        atomic_write_bytes(out, buf.getvalue())
    else:
        raise ValueError(f"{out}: write {', '.join(SUFFIXES)}")


def write_comparison(plans: list[dict], reference: str, diffs: dict, out: str | Path) -> None:
    """``solve compare --xlsx``: a runs sheet (one row per backend) and a differences sheet."""
    openpyxl = need("openpyxl", "xlsx")
    from ..io import atomic_write_bytes

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "runs"
    header = ["backend", "solver", "status", "objective_gbp", "bound_gbp", "gap", "build_s",
              "solve_s", "message"]
    rows = []
    for p in plans:
        t, solver = p.get("times") or {}, p.get("solver") or {}
        rows.append([p["backend"], f"{solver.get('name', '')} {solver.get('version', '')}"
                     .strip(), p["status"], p.get("objective"), p.get("bound"), p.get("gap"),
                     t.get("build_s"), t.get("solve_s"), p.get("message", "")])
    write_sheet(ws, header, rows, "runs", {"objective_gbp": "GBP over the horizon, as the "
                                           "instance counts it", "gap": "relative"})
    diff_rows = [[backend, reference, line] for backend, lines in diffs.items()
                 for line in lines]
    write_sheet(wb.create_sheet("differences"), ["backend", "reference", "change"], diff_rows,
                "differences")
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(out, buf.getvalue())
