"""Load an instance file safely: bounded size, strict JSON, typed, then rules.

Loading never executes anything from the file: it is parsed as JSON data only.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .instance import Instance
from .rules import Problem, check_rules

MAX_INSTANCE_BYTES = 64 * 1024 * 1024


class InstanceError(Exception):
    """An instance that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem], source: str = "", what: str = "instance"):
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + f"invalid {what}\n" + "\n".join(f"  {p}" for p in problems))


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
            problems.append(Problem(pydantic_path(err["loc"]) or "(top level)", msg))
        raise InstanceError(problems, source) from None
    problems = check_rules(inst)
    if problems:
        raise InstanceError(problems, source)
    return inst


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
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InstanceError([Problem("", "not UTF-8 text; save the file as UTF-8")],
                            source) from None
    return parse_json_text(text, source), hashlib.sha256(raw).hexdigest()


def load_instance(path: str | Path) -> tuple[Instance, str]:
    """The validated instance in a file and the sha256 of the file."""
    data, digest = read_instance_data(path)
    return instance_from_data(data, str(path)), digest


def instance_digest(inst: Instance) -> str:
    """sha256 of the instance's canonical JSON (for instances built in memory)."""
    text = json.dumps(inst.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
