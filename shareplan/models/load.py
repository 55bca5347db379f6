"""Load an instance file safely: bounded size, strict JSON, typed, then rules.

Loading never executes anything from the file: it is parsed as JSON data only.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .instance import Instance
from .rules import InstanceError, Problem, check_rules

MAX_INSTANCE_BYTES = 64 * 1024 * 1024


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows; write a finite number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key '{key}' appears twice in one object; keep one")
        out[key] = value
    return out


def parse_json_text(text: str | bytes, source: str = "") -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys, bounded nesting, real text only."""
    try:
        data = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys
        )
    except json.JSONDecodeError as exc:
        raise InstanceError(
            [Problem(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}")],
            source,
        ) from None
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        msg = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InstanceError([Problem(_constant_position(text), f"not valid JSON: {msg}")],
                            source) from None
    if isinstance(text, str) and "\\u" in text:  # escapes may hide lone surrogates
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode()
            raise InstanceError([Problem("", f"a string holds the lone surrogate escape "
                                             f"'{bad}', which is not text; remove it")],
                                source) from None
        except RecursionError:
            raise InstanceError([Problem("", "not valid JSON: nested too deeply")],
                                source) from None
    return data


def _constant_position(text: str | bytes) -> str:
    """'line L column C' of the first bare NaN/Infinity token (outside strings), or ''."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for m in re.finditer(r"(?<=[:\[,])\s*(-?Infinity|NaN)\b", text):
        start = m.start(1)
        line = text.count("\n", 0, start) + 1
        return f"line {line} column {start - (text.rfind(chr(10), 0, start) + 1) + 1}"
    return ""


def pydantic_path(loc: tuple) -> str:
    """('forces', 2, 'lat') -> 'forces[2].lat'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_HINTS = {
    "missing": "add this field",
    "extra_forbidden": "remove it (check the spelling against 'solve schema')",
    "float_parsing": "write a number",
    "int_parsing": "write a whole number",
    "bool_parsing": "write true or false",
    "string_type": "write a string in quotes",
    "list_type": "write a JSON list [...]",
    "dict_type": "write a JSON object {...}",
    "model_type": "write a JSON object {...}",
    "string_pattern_mismatch": "ids start with a letter and use letters, digits and '_'",
}


def instance_from_data(data: Any, source: str = "") -> Instance:
    """Typed instance from parsed JSON; raises InstanceError listing every problem.

    Data read from a workbook carries ``locs`` (instance path -> sheet, row, column), and
    its problems name those."""
    try:
        return _instance_from_data(data, source)
    except InstanceError as exc:
        if not getattr(data, "locs", None):
            raise
        from ..formats.instance_xlsx import locate

        raise InstanceError(locate(exc.problems, data.locs), source) from None


def _instance_from_data(data: Any, source: str = "") -> Instance:
    if not isinstance(data, dict):
        raise InstanceError([Problem("", "the file must hold one JSON object {...}")], source)
    try:
        inst = Instance.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            hint = _HINTS.get(err["type"], "")
            msg = err["msg"] + (f"; {hint}" if hint else "")
            if err["type"] in ("float_parsing", "int_parsing") and isinstance(err.get("input"),
                                                                              str):
                msg = _text_for_number(err["input"], err["type"] == "int_parsing")
            problems.append(Problem(pydantic_path(err["loc"]) or "(top level)", msg))
        raise InstanceError(problems, source) from None
    problems = strict_numbers(inst, data) or check_rules(inst)
    if problems:
        raise InstanceError(problems, source)
    return inst


def strict_numbers(model: BaseModel, raw: Any, path: str = "") -> list[Problem]:
    """Numbers and true/false written as something else, which pydantic's lax mode would
    convert: ``"30000000"`` (a string) for a number, ``1`` or ``"yes"`` for true/false.

    A figure in quotes is often a spreadsheet's text cell; refusing it keeps the file what
    it says. Walks the validated model beside the parsed JSON, field by field.
    """
    out: list[Problem] = []
    _compare_types(model, raw, path, out)
    return out


def _compare_types(got: Any, raw: Any, path: str, out: list[Problem]) -> None:
    if isinstance(got, BaseModel):
        if isinstance(raw, dict):
            fields = type(got).model_fields
            for name, value in raw.items():
                if name in fields:
                    _compare_types(getattr(got, name), value, f"{path}.{name}" if path
                                   else name, out)
    elif isinstance(got, bool):
        if not isinstance(raw, bool):
            out.append(Problem(path, f"{json.dumps(raw)} is not true or false; write true "
                                     "or false, without quotes"))
    elif isinstance(got, int | float):
        if isinstance(raw, str):
            out.append(Problem(path, f"the number is written as a string ({json.dumps(raw)}); "
                                     f"write it without quotes: {raw.strip()}"))
        elif isinstance(raw, bool):
            out.append(Problem(path, f"{json.dumps(raw)} is not a number; write a number"))
    elif isinstance(got, list | tuple) and isinstance(raw, list):
        for k, (g, r) in enumerate(zip(got, raw)):
            _compare_types(g, r, f"{path}[{k}]", out)
    elif isinstance(got, dict) and isinstance(raw, dict):
        for key, value in raw.items():
            if key in got:
                _compare_types(got[key], value, f"{path}.{key}", out)


#: First bytes of files that are not JSON text: what they are and what to do instead.
_NOT_JSON = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
)
_INSTANCE_FIX = ("an instance is one JSON document (the layout 'solve schema' prints; "
                 "instances/bch-2013.json is an example), an .xlsx workbook or a folder of "
                 "CSV sheets laid out as 'solve template' writes them: put the figures there")


def _what_file(raw: bytes, path: Path) -> str | None:
    """What a file that is not an instance JSON document is, when it is recognisable."""
    for magic, what in _NOT_JSON:
        if raw.startswith(magic):
            if what.startswith("a zip") and (b"xl/" in raw[:4096] or
                                             path.suffix.lower() in (".xlsx", ".xlsm")):
                what = "an Excel workbook (.xlsx)"
            return what
    return None


def _looks_like_csv(text: str, path: Path) -> str | None:
    """'a CSV table (columns: ...)' for comma/semicolon/tab separated text, else None."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines or lines[0].lstrip().startswith(("{", "[")):
        return None
    for sep, name in ((",", "comma"), (";", "semicolon"), ("\t", "tab")):
        n = lines[0].count(sep)
        if n and (len(lines) == 1 or sum(ln.count(sep) == n for ln in lines[1:]) >=
                  (len(lines) - 1) / 2):
            columns = ", ".join(c.strip().strip('"') for c in lines[0].split(sep)[:6])
            return f"a {name}-separated table (CSV; columns: {columns}{', ...' if n > 5 else ''})"
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return f"a {path.suffix.lower()[1:].upper()} text file"
    return None


def _text_for_number(text: str, whole: bool) -> str:
    """The fix for text where a number belongs: '1,100' -> write 1100."""
    bare = re.sub(r"[,_\s£]", "", text)
    kind = "a whole number (an integer)" if whole else "a number"
    try:
        value = float(bare)
    except ValueError:
        return f"{json.dumps(text)} is not a number; write {kind}, without quotes"
    shown = f"{value:.0f}" if value.is_integer() else bare
    return (f"{json.dumps(text)} is text, not a number; write the number without quotes, "
            f"thousands separators or currency signs: {shown}")


def read_instance_data(path: str | Path) -> tuple[Any, str]:
    """The parsed JSON of an instance file and the sha256 of its bytes."""
    path = Path(path)
    source = str(path)
    if path.is_dir() and (path / "settings.csv").is_file():  # a folder of CSV sheets
        from ..formats.instance_xlsx import read_instance_folder

        return read_instance_folder(path)
    try:
        size = path.stat().st_size
        if size > MAX_INSTANCE_BYTES:
            raise InstanceError(
                [Problem("", f"file is {size:,} bytes; the limit is {MAX_INSTANCE_BYTES:,}")],
                source,
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InstanceError([Problem("", "no such file")], source) from None
    except IsADirectoryError:
        raise InstanceError([Problem("", "is a directory; give an instance .json file")],
                            source) from None
    except OSError as exc:
        raise InstanceError([Problem("", f"cannot read: {exc.strerror}")], source) from None
    if path.suffix.lower() == ".xlsx":  # a workbook (see shareplan.formats.instance_xlsx)
        from ..formats.instance_xlsx import read_instance_workbook

        return read_instance_workbook(raw, source), hashlib.sha256(raw).hexdigest()
    what = _what_file(raw, path)
    if what:
        raise InstanceError([Problem("", f"this is {what}, not an instance; {_INSTANCE_FIX}")],
                            source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InstanceError([Problem("", "not UTF-8 text; save the file as UTF-8")],
                            source) from None
    try:
        data = parse_json_text(text, source)
    except InstanceError:
        table = _looks_like_csv(text, path)
        if table:
            raise InstanceError([Problem("", f"this is {table}, not an instance; "
                                             f"{_INSTANCE_FIX}")], source) from None
        raise
    return data, hashlib.sha256(raw).hexdigest()


def load_instance(path: str | Path) -> tuple[Instance, str]:
    """The validated instance in a file and the sha256 of the file."""
    data, digest = read_instance_data(path)
    return instance_from_data(data, str(path)), digest


def instance_digest(inst: Instance) -> str:
    """sha256 of the instance's canonical JSON (for instances built in memory)."""
    text = json.dumps(inst.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_loadable_instance(text: str, out: str | Path) -> None:
    """Write instance JSON ``text`` to ``out`` atomically, only if it loads as this
    loader would read it back (every load-time rule); InstanceError otherwise."""
    from ..io import atomic_write_text

    instance_from_data(parse_json_text(text, str(out)), str(out))
    atomic_write_text(out, text)
