"""Instances as workbooks: a template to fill in, and the reader every command uses for .xlsx.

The layout follows the instance model (:mod:`shareplan.models.instance`), so a field
added to a model gets its column without a change here:

* ``settings``: one row per top-level figure (``name``, ``horizon_years``, ...) and per
  field of ``objective`` (``objective.sense``); ``sources``: one source a row;
* ``forces``, ``functions``, ``sites``, ``costs``, ``existing``: one row per object, one
  column per field; lists of ids as comma-separated text; other nested fields as JSON;
* ``hosts`` (function, site and its cost overrides; the function's ``hosts`` column says
  ``all sites`` or ``listed``), ``arc_costs`` (function, force, site, GBP a year);
* ``policy``: one row per rule (opt_out, must_share, forbidden_partners, max_distance,
  same_region);
* ``provenance``: where each figure comes from (sheet, id, field, source).

Written with openpyxl (tables, data validation of ids and choices, number formats,
header notes with each field's unit); read with python-calamine when installed (fast),
else openpyxl. The same sheets as a folder of CSV files (``settings.csv``, ...) are
read and written too. Errors name the sheet, the row, the column and the fix.
"""

from __future__ import annotations

import io
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ..models.instance import (
    Cost,
    Existing,
    Force,
    Function,
    Host,
    Instance,
    Objective,
    Site,
)
from ..models.rules import InstanceError, Problem
from .extras import need

LIST_SHEETS: dict[str, type[BaseModel]] = {
    "forces": Force, "functions": Function, "sites": Site, "costs": Cost,
    "existing": Existing}
#: fields with sheets of their own
SPECIAL = {"provenance", "hosts", "arc_cost_gbp"}
POLICY_COLUMNS = ["rule", "force", "function", "other_force", "functions", "km", "note"]
POLICY_RULES = ["opt_out", "must_share", "forbidden_partners", "max_distance", "same_region"]
HOSTS_ALL, HOSTS_LISTED = "all sites", "listed"
SHEET_ORDER = ["about", "settings", "forces", "functions", "sites", "costs", "hosts",
               "arc_costs", "existing", "policy", "provenance", "sources"]
MAX_ROWS = 200_000


# --- field shapes -------------------------------------------------------------------

def _args(annotation) -> tuple:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _base(annotation):
    """The one non-None type of an annotation (Annotated and Optional removed)."""
    args = _args(annotation)
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Annotated:
        return _base(args[0])
    return args[0] if len(args) == 1 else annotation


def shape(annotation) -> str:
    """How a field sits in a cell: str, bool, int, float, choice, ids (comma list), json."""
    t = _base(annotation)
    if typing.get_origin(t) is Literal:
        return "choice"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "str"
    if typing.get_origin(t) in (list, tuple) and all(
            _base(a) is str for a in typing.get_args(t) if a is not Ellipsis):
        return "ids"
    return "json"


def choices(annotation) -> list[str]:
    t = _base(annotation)
    return [str(c) for c in typing.get_args(t)] if typing.get_origin(t) is Literal else []


def columns_of(model: type[BaseModel]) -> list[str]:
    cols = [k for k in model.model_fields if k not in SPECIAL]
    if model is Function:
        cols += ["hosts", "arc_costs"]
    return cols


def _cell(value, kind: str):
    if value is None:
        return None
    if kind == "ids":
        return ", ".join(value)
    if kind == "json":
        return json.dumps(to_jsonable_python(value), ensure_ascii=False)
    return value


def _parse(value, kind: str, where: str, problems: list[Problem]):
    """A cell's value as the model wants it (None: blank, the field takes its default)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "choice":
        if isinstance(value, str) and value.strip().isdigit():  # from CSV text
            return int(value)
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if kind == "str":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "1.0"):
            return True
        if text in ("false", "no", "0", "0.0"):
            return False
        problems.append(Problem(where, f"'{value}' is not TRUE or FALSE; write TRUE or FALSE"))
        return None
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "ids":
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if kind == "json":
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            problems.append(Problem(where, f"not valid JSON ({exc.msg}); write a JSON value"))
            return None
    if isinstance(value, str):  # a number typed as text
        try:
            return float(value.replace(",", "").replace("£", ""))
        except ValueError:
            return value  # the model reports it with the column's rule
    return value


# --- writing --------------------------------------------------------------------------

def _desc(model: type[BaseModel], key: str) -> str:
    f = model.model_fields.get(key)
    text = (f.description or "") if f else ""
    unit = ""
    if key.endswith("_gbp") or "_gbp_" in key:
        unit = "GBP" + ("" if any(w in key for w in ("setup", "transition", "target"))
                        else ", a year")
    elif key.endswith("_fte"):
        unit = "FTE officers"
    elif key.endswith("_km"):
        unit = "km"
    elif key in ("lat", "lon"):
        unit = "degrees (WGS84)"
    return "; ".join(p for p in (unit, text) if p)


def instance_rows(inst: Instance) -> dict[str, tuple[list[str], list[list]]]:
    """Every sheet's header and rows for ``inst`` (the workbook's content, no styling)."""
    sheets: dict[str, tuple[list[str], list[list]]] = {}
    settings = []
    for key, f in Instance.model_fields.items():
        if key in LIST_SHEETS or key in ("policy", "sources"):
            continue
        value = getattr(inst, key)
        if isinstance(value, BaseModel):
            for sub, sf in type(value).model_fields.items():
                settings.append([f"{key}.{sub}", _cell(getattr(value, sub), shape(sf.annotation)),
                                 _desc(type(value), sub)])
        else:
            settings.append([key, _cell(value, shape(f.annotation)), _desc(Instance, key)])
    sheets["settings"] = (["setting", "value", "unit and meaning"], settings)
    provenance = []
    hosts, arcs = [], []
    for name, model in LIST_SHEETS.items():
        cols = columns_of(model)
        rows = []
        for obj in getattr(inst, name):
            row = []
            for c in cols:
                if c == "hosts":
                    row.append(HOSTS_ALL if obj.hosts is None else HOSTS_LISTED)
                elif c == "arc_costs":
                    row.append(HOSTS_LISTED if obj.arc_cost_gbp is not None else None)
                else:
                    row.append(_cell(getattr(obj, c), shape(model.model_fields[c].annotation)))
            rows.append(row)
            for field_name, source in (getattr(obj, "provenance", None) or {}).items():
                provenance.append([name, _row_id(name, obj), field_name, source])
            if name == "functions":
                for h in obj.hosts or []:
                    hosts.append([obj.id] + [_cell(getattr(h, k), shape(f.annotation))
                                             for k, f in Host.model_fields.items()])
                for fid, row_ in (obj.arc_cost_gbp or {}).items():
                    arcs += [[obj.id, fid, site, v] for site, v in row_.items()] or [
                        [obj.id, fid, None, None]]
        sheets[name] = (cols, rows)
    sheets["hosts"] = (["function", *Host.model_fields], hosts)
    sheets["arc_costs"] = (["function", "force", "site", "cost_gbp"], arcs)
    p = inst.policy
    policy = [["opt_out", r.force, r.function, None, None, None, r.note or None]
              for r in p.opt_outs]
    policy += [["must_share", r.force, r.function, None, None, None, r.note or None]
               for r in p.must_share]
    policy += [["forbidden_partners", pr.forces[0], None, pr.forces[1],
                None if pr.functions is None else ", ".join(pr.functions), None, None]
               for pr in p.forbidden_partners]
    policy += [["max_distance", None, fid, None, None, km, None]
               for fid, km in p.max_distance_km.items()]
    policy += [["same_region", None, fid, None, None, None, None] for fid in p.same_region]
    sheets["policy"] = (POLICY_COLUMNS, policy)
    sheets["provenance"] = (["sheet", "id", "field", "source"], provenance)
    sheets["sources"] = (["source"], [[s] for s in inst.sources])
    return sheets


def _row_id(sheet: str, obj) -> str:
    if sheet == "costs":
        return f"{obj.force}/{obj.function}"
    if sheet == "existing":
        return f"{obj.function}@{obj.site}"
    return obj.id


ABOUT = """How to fill in this workbook
Each sheet is a table: one row per force, function, site, cost (force x function) or rule.
Column names are the fields of the instance file (see 'solve schema'); the note on each
header gives its unit and meaning. Money is GBP: a year unless the field is a set-up,
transition or target; officers are FTE; distances km.
Ids start with a letter and use letters, digits and '_'. Cells with a drop-down take one of
its values (ids from the forces, functions and sites sheets; TRUE/FALSE; choices).
A blank cell takes the default. Solve with: solve THIS.xlsx"""


def write_instance_workbook(inst: Instance | None, path: str | Path) -> None:
    """The workbook of ``inst`` (None: an empty template with default settings)."""
    need("openpyxl", "xlsx")
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table, TableStyleInfo

    from ..io import atomic_write_bytes

    template = inst is None
    if inst is None:
        fields = {k: f.get_default(call_default_factory=True)
                  for k, f in Instance.model_fields.items() if not f.is_required()}
        inst = Instance.model_construct(**{**fields, "name": "my-instance", "forces": [],
                                           "functions": [], "costs": []})
    sheets = instance_rows(inst)
    wb = Workbook()
    about = wb.active
    about.title = "about"
    for k, line in enumerate(ABOUT.splitlines(), start=1):
        about.cell(row=k, column=1, value=line).font = Font(bold=k == 1)
    about.column_dimensions["A"].width = 100
    id_range = {}
    for name in SHEET_ORDER[1:]:
        header, rows = sheets[name]
        ws = wb.create_sheet(name)
        ws.append(header)
        for r in rows:
            ws.append(r)
        model = LIST_SHEETS.get(name)
        for j, key in enumerate(header, start=1):
            cell = ws.cell(row=1, column=j)
            text = _desc(model, key) if model else ""
            if model is Function and key == "hosts":
                text = "'all sites' or 'listed' (then the hosts sheet lists them)"
            if text:
                cell.comment = Comment(text, "shareplan")
            width = max([len(str(key))] + [len(str(r[j - 1])) for r in rows[:200]
                                           if r[j - 1] is not None])
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(10, width + 2))
            if key.endswith("_gbp") or key == "cost_gbp":
                for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    row[0].number_format = "#,##0.00"
        last = max(2, len(rows) + 1)
        ref = f"A1:{get_column_letter(len(header))}{last}"
        table = Table(displayName=f"t_{name}", ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(table)
        ws.freeze_panes = "A2"
        if name in ("forces", "functions", "sites"):
            id_range[name] = f"{name}!$A$2:$A${max(last, 500)}"
    validations = {
        "costs": {"force": "forces", "function": "functions"},
        "sites": {"owner": "forces"},
        "existing": {"function": "functions", "site": "sites"},
        "hosts": {"function": "functions", "site": "sites"},
        "arc_costs": {"function": "functions", "force": "forces", "site": "sites"},
        "policy": {"force": "forces", "other_force": "forces"},
    }
    for name, ws in ((n, wb[n]) for n in SHEET_ORDER[1:]):
        header = sheets[name][0]
        n_rows = max(500, len(sheets[name][1]) + 200)
        for j, key in enumerate(header, start=1):
            col = get_column_letter(j)
            formula = None
            if key in validations.get(name, {}):
                formula = "=" + id_range[validations[name][key]]
            elif name == "policy" and key == "rule":
                formula = '"' + ",".join(POLICY_RULES) + '"'
            elif name == "functions" and key == "hosts":
                formula = f'"{HOSTS_ALL},{HOSTS_LISTED}"'
            elif name == "provenance" and key == "sheet":
                formula = '"' + ",".join(LIST_SHEETS) + '"'
            elif name in LIST_SHEETS and key in LIST_SHEETS[name].model_fields:
                ann = LIST_SHEETS[name].model_fields[key].annotation
                if shape(ann) == "bool":
                    formula = '"TRUE,FALSE"'
                elif choices(ann):
                    formula = '"' + ",".join(choices(ann)) + '"'
            if formula:
                dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                                    showErrorMessage=True, errorTitle=f"{name}.{key}",
                                    error="Pick one of the listed values")
                dv.add(f"{col}2:{col}{n_rows}")
                ws.add_data_validation(dv)
    settings_ws = wb["settings"]
    for k, (key, _, _) in enumerate(sheets["settings"][1], start=2):
        field = Instance.model_fields.get(key)
        sub = key.split(".", 1)
        if field is None and len(sub) == 2:
            field = Objective.model_fields.get(sub[1])
        opts = choices(field.annotation) if field else []
        if opts:
            dv = DataValidation(type="list", formula1='"' + ",".join(opts) + '"')
            dv.add(f"B{k}")
            settings_ws.add_data_validation(dv)
    if template:
        about.cell(row=len(ABOUT.splitlines()) + 2, column=1,
                   value="This is an empty template: fill in every sheet you need.")
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue())


# --- reading ---------------------------------------------------------------------------

def _read_sheets(raw: bytes) -> dict[str, list[list]]:
    """Every sheet's cell values (calamine when installed, else openpyxl)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        CalamineWorkbook = None
    if CalamineWorkbook is not None:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for name in wb.sheet_names}
    need("openpyxl", "xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def _letter(j: int) -> str:
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


class _Reader:
    def __init__(self, sheets: dict[str, list[list]], source: str):
        self.sheets = sheets
        self.source = source
        self.problems: list[Problem] = []
        self.locs: dict[str, str] = {}  # instance path -> "sheet 'x', row N, column C"

    def table(self, name: str, expected: list[str]) -> list[tuple[int, dict[str, tuple]]]:
        """Rows of a sheet as {header: (value, column index)}, with their Excel row."""
        rows = self.sheets.get(name)
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        for j, h in enumerate(header):
            if h and h not in expected:
                self.problems.append(Problem(
                    f"sheet '{name}', column {_letter(j)} ('{h}')",
                    f"unknown column; rename it to one of: {', '.join(expected)}"[:400]))
        out = []
        for k, r in enumerate(rows[1:MAX_ROWS + 1], start=2):
            cells = {h: (r[j] if j < len(r) else None, j) for j, h in enumerate(header)
                     if h in expected}
            if all(v is None or (isinstance(v, str) and not v.strip())
                   for v, _ in cells.values()):
                continue
            out.append((k, cells))
        return out

    def where(self, sheet: str, row: int, col: int | None = None, header: str = "") -> str:
        text = f"sheet '{sheet}', row {row}"
        return text + (f", column {_letter(col)} ({header})" if col is not None else "")

    def objects(self, name: str, model: type[BaseModel]) -> list[dict]:
        out = []
        cols = columns_of(model)
        for k, (row, cells) in enumerate(self.table(name, cols)):
            obj: dict[str, Any] = {}
            self.locs[f"{name}[{k}]"] = self.where(name, row)
            for key, (value, j) in cells.items():
                where = self.where(name, row, j, key)
                self.locs[f"{name}[{k}].{key}"] = where
                if key in ("hosts", "arc_costs"):
                    obj[f"_{key}"] = None if value in (None, "") else str(value).strip()
                    continue
                parsed = _parse(value, shape(model.model_fields[key].annotation), where,
                                self.problems)
                if parsed is not None:
                    obj[key] = parsed
            out.append(obj)
        return out


def read_instance_workbook(raw: bytes, source: str = "") -> dict:
    """The instance dict (the JSON an instance file holds) of a workbook's bytes.

    Raises :class:`InstanceError` whose problems name sheet, row and column."""
    try:
        sheets = _read_sheets(raw)
    except Exception as exc:  # noqa: BLE001 - a damaged or non-xlsx file
        raise InstanceError([Problem("", f"not a readable .xlsx workbook ({exc}); save it "
                                         "from Excel or LibreOffice as .xlsx")], source) from None
    return instance_from_sheets(sheets, source)


def write_instance_folder(inst: Instance, directory: str | Path) -> None:
    """The same sheets as CSV files (``settings.csv``, ``forces.csv``, ...) in a folder."""
    from ..io import atomic_write_csv

    for name, (header, rows) in instance_rows(inst).items():
        atomic_write_csv(Path(directory) / f"{name}.csv", header, rows)


def read_instance_folder(directory: str | Path) -> tuple[dict, str]:
    """The instance dict of a folder of CSV sheets, and a sha256 over its files."""
    import csv
    import hashlib

    digest = hashlib.sha256()
    sheets = {}
    for path in sorted(Path(directory).glob("*.csv")):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        text = raw.decode("utf-8-sig")
        sheets[path.stem] = [list(r) for r in csv.reader(io.StringIO(text))]
    return instance_from_sheets(sheets, str(directory)), digest.hexdigest()


def instance_from_sheets(sheets: dict[str, list[list]], source: str = "") -> dict:
    """The instance dict of sheets (name -> rows of cell values, header first)."""
    rd = _Reader(sheets, source)
    missing = [s for s in ("settings", "forces", "functions", "costs") if s not in sheets]
    if missing:
        raise InstanceError([Problem(f"sheet '{s}'", "missing; start from 'solve template'")
                             for s in missing], source)
    data: dict[str, Any] = {}
    for row, cells in rd.table("settings", ["setting", "value", "unit and meaning"]):
        key = cells.get("setting", (None, 0))[0]
        value, j = cells.get("value", (None, 1))
        if key is None:
            continue
        key = str(key).strip()
        where = rd.where("settings", row, j, key)
        head, _, sub = key.partition(".")
        owner = Instance.model_fields.get(head)
        if owner is None or (sub and sub not in (getattr(_base(owner.annotation),
                                                         "model_fields", None) or {})):
            rd.problems.append(Problem(where, "unknown setting; see 'solve schema'"))
            continue
        ann = _base(owner.annotation).model_fields[sub].annotation if sub else owner.annotation
        parsed = _parse(value, shape(ann), where, rd.problems)
        rd.locs[key] = where
        if parsed is None:
            continue
        if sub:
            data.setdefault(head, {})[sub] = parsed
        else:
            data[head] = parsed
    for name, model in LIST_SHEETS.items():
        data[name] = rd.objects(name, model)
    _attach_hosts(rd, data)
    _attach_provenance(rd, data)
    data["policy"] = _policy(rd)
    data["sources"] = [str(v) for _, c in rd.table("sources", ["source"])
                       if (v := c["source"][0]) not in (None, "")]
    if rd.problems:
        raise InstanceError(rd.problems[:20], source)
    return _Located(data, rd.locs)


class _Located(dict):
    """An instance dict that remembers where each path came from in the workbook."""

    def __init__(self, data: dict, locs: dict[str, str]):
        super().__init__(data)
        self.locs = locs


def _attach_hosts(rd: _Reader, data: dict) -> None:
    by_id = {f.get("id"): f for f in data["functions"]}
    idx = {f.get("id"): k for k, f in enumerate(data["functions"])}
    for row, cells in rd.table("hosts", ["function", *Host.model_fields]):
        fid = cells.get("function", (None, 0))[0]
        fn = by_id.get(fid)
        if fn is None:
            rd.problems.append(Problem(rd.where("hosts", row, cells["function"][1], "function"),
                                       f"unknown function '{fid}'; use an id of the "
                                       "functions sheet"))
            continue
        host = {}
        for key, (value, j) in cells.items():
            if key == "function":
                continue
            parsed = _parse(value, shape(Host.model_fields[key].annotation),
                            rd.where("hosts", row, j, key), rd.problems)
            if parsed is not None:
                host[key] = parsed
        fn.setdefault("hosts", []).append(host)
        k = len(fn["hosts"]) - 1
        rd.locs[f"functions[{idx[fid]}].hosts[{k}]"] = rd.where("hosts", row)
    for row, cells in rd.table("arc_costs", ["function", "force", "site", "cost_gbp"]):
        fid = cells.get("function", (None, 0))[0]
        fn = by_id.get(fid)
        if fn is None:
            rd.problems.append(Problem(rd.where("arc_costs", row), f"unknown function "
                                       f"'{fid}'; use an id of the functions sheet"))
            continue
        force = _parse(cells.get("force", (None, 0))[0], "str", "", rd.problems)
        site = _parse(cells.get("site", (None, 0))[0], "str", "", rd.problems)
        value = _parse(cells.get("cost_gbp", (None, 0))[0], "float",
                       rd.where("arc_costs", row), rd.problems)
        inner = fn.setdefault("arc_cost_gbp", {}).setdefault(force, {})
        if site is not None:
            inner[site] = value
            rd.locs[f"functions[{idx[fid]}].arc_cost_gbp.{force}.{site}"] = rd.where(
                "arc_costs", row, 3, "cost_gbp")
    for fn in data["functions"]:
        hosts_flag = fn.pop("_hosts", None)
        arcs_flag = fn.pop("_arc_costs", None)
        if hosts_flag == HOSTS_LISTED:
            fn.setdefault("hosts", [])
        elif "hosts" in fn and hosts_flag not in (None, HOSTS_LISTED):
            pass  # rows in the hosts sheet list them whatever the flag says
        if arcs_flag == HOSTS_LISTED:
            fn.setdefault("arc_cost_gbp", {})


def _attach_provenance(rd: _Reader, data: dict) -> None:
    keyed = {name: {_dict_id(name, o): o for o in data[name]} for name in LIST_SHEETS}
    for row, cells in rd.table("provenance", ["sheet", "id", "field", "source"]):
        sheet, oid, field_name, source = (cells.get(k, (None, 0))[0]
                                          for k in ("sheet", "id", "field", "source"))
        obj = keyed.get(str(sheet), {}).get(str(oid))
        if obj is None:
            rd.problems.append(Problem(rd.where("provenance", row),
                                       f"no row '{oid}' in sheet '{sheet}'; give a sheet name "
                                       "and the id of one of its rows (costs: force/function)"))
            continue
        obj.setdefault("provenance", {})[str(field_name)] = "" if source is None else str(source)


def _dict_id(sheet: str, obj: dict) -> str:
    if sheet == "costs":
        return f"{obj.get('force')}/{obj.get('function')}"
    if sheet == "existing":
        return f"{obj.get('function')}@{obj.get('site')}"
    return str(obj.get("id"))


def _policy(rd: _Reader) -> dict:
    policy: dict[str, Any] = {"opt_outs": [], "must_share": [], "forbidden_partners": [],
                              "max_distance_km": {}, "same_region": []}
    counts = dict.fromkeys(policy, 0)
    for row, cells in rd.table("policy", POLICY_COLUMNS):
        get = {k: _parse(v, "str" if k != "km" else "float", rd.where("policy", row, j, k),
                         rd.problems) for k, (v, j) in cells.items()}
        rule = get.get("rule")
        if rule in ("opt_out", "must_share"):
            key = "opt_outs" if rule == "opt_out" else "must_share"
            rec = {"force": get.get("force"), "function": get.get("function")}
            if get.get("note"):
                rec["note"] = get["note"]
            policy[key].append(rec)
        elif rule == "forbidden_partners":
            key = rule
            rec = {"forces": [get.get("force"), get.get("other_force")]}
            if get.get("functions") is not None:
                rec["functions"] = [p.strip() for p in get["functions"].split(",") if p.strip()]
            policy[key].append(rec)
        elif rule == "max_distance":
            key = "max_distance_km"
            policy[key][get.get("function")] = get.get("km")
            rd.locs[f"policy.max_distance_km.{get.get('function')}"] = rd.where("policy", row)
            continue
        elif rule == "same_region":
            key = "same_region"
            policy[key].append(get.get("function"))
        else:
            rd.problems.append(Problem(rd.where("policy", row, cells.get("rule", (0, 0))[1],
                                                "rule"),
                                       f"unknown rule '{rule}'; write one of "
                                       f"{', '.join(POLICY_RULES)}"))
            continue
        rd.locs[f"policy.{key}[{counts[key]}]"] = rd.where("policy", row)
        counts[key] += 1
    return policy


def locate(problems: list[Problem], locs: dict[str, str]) -> list[Problem]:
    """Problems with instance paths turned into sheet, row and column where known."""
    out = []
    for p in problems:
        path = p.path
        best = ""
        for cand in locs:
            if (path == cand or path.startswith(cand + ".") or path.startswith(cand + "[")) \
                    and len(cand) > len(best):
                best = cand
        if best:
            out.append(Problem(f"{locs[best]} [{path}]", p.message))
        else:
            out.append(p)
    return out
