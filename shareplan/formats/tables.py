"""One writer of tables by suffix: .csv, .parquet or .xlsx (an Excel table with number
formats and each column's unit as a header note), written atomically (temporary file,
fsync, rename). Every command that writes a table comes here."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ..tables import Column, Table
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


def as_table(data, name: str = "results") -> Table:
    """A :class:`Table` as it is, or a pandas DataFrame as a Table."""
    return data if isinstance(data, Table) else Table.from_frame(name, data)


def table_bytes(data, suffix: str, sheet: str | None = None,
                units: dict[str, str] | None = None) -> bytes:
    """The bytes of one table (a :class:`Table` or a DataFrame, ``units`` naming a
    DataFrame's column units) in the format of ``suffix``: .csv, .parquet or .xlsx."""
    from ..io import csv_bytes

    suffix = suffix.lower()
    if suffix == ".parquet":  # a DataFrame goes as it is: its dtypes are kept
        frame = data.to_frame() if isinstance(data, Table) else data
        return _parquet_bytes(frame, data.units if isinstance(data, Table) else units or {})
    table = as_table(data, sheet or "results")
    if units:
        table = Table(table.name, [Column(c.name, units.get(c.name, c.unit))
                                   for c in table.columns], table.rows)
    if suffix == ".csv":
        return csv_bytes(table.header, table.rows)
    if suffix == ".xlsx":
        return workbook_bytes([table], sheets=[sheet or table.name])
    raise ValueError(f"a table is written as {', '.join(SUFFIXES)}, not '{suffix}'")


def _parquet_bytes(frame, units: dict[str, str]) -> bytes:
    """Parquet through pyarrow (the ``parquet`` extra); the units in the file's metadata
    (key ``shareplan.units``, a JSON object column -> unit)."""
    need("pyarrow", "parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {**(arrow.schema.metadata or {}),
            b"shareplan.units": json.dumps(units).encode("utf-8")}
    buf = io.BytesIO()
    pq.write_table(arrow.replace_schema_metadata(meta), buf)
    return buf.getvalue()


def workbook_bytes(tables: list[Table], sheets: list[str] | None = None) -> bytes:
    """An Excel workbook with one sheet (an Excel table) per table."""
    openpyxl = need("openpyxl", "xlsx")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for table, sheet in zip(tables, sheets or [t.name for t in tables]):
        ws = wb.create_sheet(sheet[:31])
        write_sheet(ws, table.header, table.rows, sheet, table.units)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_table(data, out: str | Path, sheet: str | None = None,
                units: dict[str, str] | None = None) -> None:
    """A :class:`Table` (or a DataFrame) to ``out``, the format by its suffix."""
    from ..io import atomic_write_bytes

    suffix = Path(out).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{out}: write {', '.join(SUFFIXES)}")
    atomic_write_bytes(out, table_bytes(data, suffix, sheet, units))


def write_tables(files: dict[Path, Table]) -> list[Path]:
    """Several tables, each in the format of its path's suffix, all written before any
    replaces its old file (a full disk leaves every one of them old)."""
    from ..io import atomic_write_files

    atomic_write_files({path: table_bytes(t, Path(path).suffix) for path, t in files.items()})
    return list(files)


def write_workbook(tables: list[Table], out: str | Path) -> None:
    """Several tables as the sheets of one workbook, written atomically."""
    from ..io import atomic_write_bytes

    atomic_write_bytes(out, workbook_bytes(tables))
