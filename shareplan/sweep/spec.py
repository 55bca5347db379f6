"""What a sweep varies: ``PATH=SPEC`` parsing, paths into the instance, scenarios.

PATH addresses one number in the instance JSON by field names and ids::

    discount_rate
    forces.herts.savings_target_gbp
    functions.custody.variable_cost_gbp_per_unit
    functions.custody.hosts.welwyn_garden_city.capacity   (hosts are keyed by site)
    costs.herts.custody.standalone_cost_gbp       (costs are keyed by force, function)
    policy.max_distance_km.custody
    forces[2].budget_gbp                          (a list position works too)

SPEC is a list (``0.0,0.035``), a range with a count (``10e6..40e6:7``, both ends
included) or scale factors of the base value (``x0.8,x1,x1.2``, ``x0.5..x1.5:5``).

Every path is resolved against the instance and every value checked by loading
the changed instance (:func:`shareplan.models.load.instance_from_data`) before
any scenario runs; problems come back as :class:`SweepError` naming the path.
"""

from __future__ import annotations

import itertools
import math
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from ..models.instance import Cost, Existing, Force, Function, Host, Instance, Site
from ..models.load import InstanceError, instance_from_data, pydantic_path

MAX_SCENARIOS = 100_000
MAX_RANGE_COUNT = 10_000

# list items addressed by id: which fields make the key (costs: force then function)
_LIST_KEYS: dict[type, tuple[str, ...]] = {
    Force: ("id",), Function: ("id",), Site: ("id",), Host: ("site",),
    Cost: ("force", "function"), Existing: ("function", "site"),
}
# the only figure of a local (never shared) function a sweep may change
_LOCAL_OK = ("standalone_cost_gbp",)


class SweepError(ValueError):
    """Bad ``--vary`` arguments or values; every line names the path concerned."""

    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


# ---------------------------------------------------------------- values ---

@dataclass(frozen=True)
class ValueSpec:
    """Values to take, absolute or as factors of the base value (``scale``)."""

    values: tuple[float, ...]
    scale: bool = False

    def resolve(self, base: float | None, path: str) -> tuple[float, ...]:
        if not self.scale:
            return self.values
        if base is None:
            raise SweepError(f"{path}: has no value in the instance to scale; give values "
                             "instead (a list like 10e6,20e6 or a range like 10e6..40e6:4)")
        return tuple(_tidy(base * f) for f in self.values)


def _tidy(value: float) -> float:
    """Drop binary noise (0.30000000000000004 -> 0.3) so columns and keys read cleanly."""
    return float(f"{value:.12g}")


def _number(text: str, spec: str) -> float:
    try:
        value = float(text.strip().replace("_", ""))
    except ValueError:
        raise SweepError(f"'{spec}': '{text.strip()}' is not a number") from None
    if not math.isfinite(value):
        raise SweepError(f"'{spec}': values must be finite numbers")
    return value


_RANGE = re.compile(r"^\s*(x?)([^:]+?)\s*\.\.\s*(x?)([^:]+?)\s*:\s*(\S+)\s*$")


def parse_spec(spec: str) -> ValueSpec:
    """``a,b,c`` | ``lo..hi:count`` | ``xf1,xf2`` | ``xlo..xhi:count``."""
    text = spec.strip()
    if not text:
        raise SweepError("empty SPEC: give a list (0,0.035), a range (10e6..40e6:7) "
                         "or scale factors (x0.8,x1,x1.2)")
    if ".." in text:
        m = _RANGE.match(text)
        if not m:
            raise SweepError(f"'{spec}': a range is LO..HI:COUNT, e.g. 10e6..40e6:7")
        sx, lo, hx, hi, count = m.groups()
        if sx != hx:
            raise SweepError(f"'{spec}': write both ends as factors (x0.5..x1.5:5) or neither")
        try:
            n = int(count)
        except ValueError:
            raise SweepError(f"'{spec}': the count after ':' must be a whole number") from None
        if not 2 <= n <= MAX_RANGE_COUNT:
            raise SweepError(f"'{spec}': the count must be between 2 and {MAX_RANGE_COUNT}")
        a, b = _number(lo, spec), _number(hi, spec)
        if a == b:
            raise SweepError(f"'{spec}': the two ends are equal; give one value instead")
        values = tuple(_tidy(a + (b - a) * k / (n - 1)) for k in range(n))
        return ValueSpec(values, scale=bool(sx))
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise SweepError(f"'{spec}': an empty item between commas")
    scaled = [item[:1] in ("x", "X") for item in items]
    if any(scaled) and not all(scaled):
        raise SweepError(f"'{spec}': mixes scale factors (x...) and values; use one kind")
    values = tuple(_number(item[1:] if s else item, spec)
                   for item, s in zip(items, scaled, strict=True))
    return ValueSpec(values, scale=all(scaled))


# ----------------------------------------------------------------- paths ---

@dataclass(frozen=True)
class _Shape:
    kind: str  # model | list | dict | number | bool | other
    inner: Any = None  # model class, or the _Shape of list items / dict values
    integer: bool = False


def _shape(annotation) -> _Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _shape(args[0]) if len(args) == 1 else _Shape("other")
    if origin is list:
        return _Shape("list", _shape(get_args(annotation)[0]))
    if origin is dict:
        return _Shape("dict", _shape(get_args(annotation)[1]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _Shape("model", annotation)
    if annotation is bool:
        return _Shape("bool")
    if annotation in (int, float):
        return _Shape("number", integer=annotation is int)
    return _Shape("other")


@dataclass(frozen=True)
class Target:
    """A resolved PATH: the concrete keys into the instance JSON and the base value."""

    path: str  # as the user wrote it (the column name)
    steps: tuple  # keys and list positions into the JSON, e.g. ('costs', 7, 'demand')
    base: float | None  # value in the instance (its default when the file leaves it out)
    integer: bool  # the field holds whole numbers
    function: str | None = None  # the function the path belongs to, if any

    @property
    def location(self) -> str:
        """The path as validation messages write it: ``costs[7].standalone_cost_gbp``."""
        return pydantic_path(self.steps)

    def coerce(self, value: float) -> float | int:
        return int(value) if self.integer and float(value).is_integer() else value


_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")


def _split(path: str) -> list[str | int]:
    """'functions.custody.hosts[0].capacity' -> ['functions', 'custody', 'hosts', 0, 'capacity']."""
    out: list[str | int] = []
    for part in path.strip().split("."):
        m = _SEGMENT.match(part)
        if not part or not m:
            raise SweepError(f"{path}: not a path (write names and ids joined by '.', "
                             "e.g. forces.herts.savings_target_gbp)")
        if m.group(1):
            out.append(int(m.group(1)) if m.group(1).isdigit() else m.group(1))
        out.extend(int(k) for k in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def _listing(names) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:25])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 25 else "")


def _leads_to_number(shape: _Shape) -> bool:
    if shape.kind == "number":
        return True
    if shape.kind in ("list", "dict"):
        return _leads_to_number(shape.inner)
    return shape.kind == "model"


def _numeric_fields(model: type[BaseModel]) -> list[str]:
    """Fields of ``model`` a path can go through or end at."""
    return [name for name, f in model.model_fields.items()
            if _leads_to_number(_shape(f.annotation))]


def resolve_path(data: dict, path: str) -> Target:
    """Resolve PATH against the instance JSON ``data``; SweepError says what is wrong."""
    segs = _split(path)
    node: Any = data
    shape = _Shape("model", Instance)
    steps: list = []
    field_default: Any = None
    function: str | None = None
    i = 0
    while i < len(segs):
        seg = segs[i]
        here = pydantic_path(tuple(segs[:i])) or "the instance"  # as the user wrote it
        last = i == len(segs) - 1
        if shape.kind == "model":
            fields = shape.inner.model_fields
            if isinstance(seg, int) or seg not in fields:
                raise SweepError(f"{path}: {here} has no field '{seg}'; it has "
                                 f"{_listing(_numeric_fields(shape.inner))}")
            field = fields[seg]
            child_shape = _shape(field.annotation)
            steps.append(seg)
            child = node.get(seg) if isinstance(node, dict) else None
            if child is None:
                if child_shape.kind == "list" and not last:
                    raise SweepError(
                        f"{path}: {here} has no '{seg}' list in the instance"
                        + (" (every site is a candidate host with the function's unit_* "
                           "figures); vary those, or list hosts in the instance"
                           if seg == "hosts" else ""))
                if child_shape.kind in ("model", "dict"):
                    child = {}  # created when the value is set
                field_default = field.default if child_shape.kind == "number" else None
            node, shape = child, child_shape
            i += 1
        elif shape.kind == "list":
            items = node or []
            cls = shape.inner.inner if shape.inner.kind == "model" else None
            keys = _LIST_KEYS.get(cls, ())
            if isinstance(seg, int):
                if not 0 <= seg < len(items):
                    raise SweepError(f"{path}: {here} has {len(items)} items; "
                                     f"position {seg} is out of range")
                index, used = seg, 1
            elif keys:
                want = segs[i:i + len(keys)]
                if len(want) < len(keys) or not all(isinstance(w, str) for w in want):
                    raise SweepError(f"{path}: items of {here} are addressed by "
                                     f"{'.'.join(k.upper() for k in keys)}")
                found = [k for k, item in enumerate(items)
                         if all(isinstance(item, dict) and item.get(f) == w
                                for f, w in zip(keys, want, strict=True))]
                if not found:
                    have = [".".join(str(item.get(f)) for f in keys) for item in items
                            if isinstance(item, dict)]
                    raise SweepError(f"{path}: no item '{'.'.join(want)}' in {here}; "
                                     f"there are {_listing(have)}")
                index, used = found[0], len(keys)
            else:
                raise SweepError(f"{path}: address items of {here} by position, e.g. {here}[0]")
            item = items[index]
            if cls is Function:
                function = item.get("id")
            elif cls is Cost:
                function = item.get("function")
            steps.append(index)
            node, shape = item, shape.inner
            i += used
        elif shape.kind == "dict":
            key = str(seg)
            if steps == ["policy", "max_distance_km"]:
                function = key
            steps.append(key)
            child = node.get(key) if isinstance(node, dict) else None
            if child is None and shape.inner.kind == "dict":
                child = {}
            field_default = None
            node, shape = child, shape.inner
            i += 1
        else:
            raise SweepError(f"{path}: {here} is a single value; nothing lies below it")

    where = path.strip()
    if shape.kind != "number" or isinstance(node, bool):
        what = {"model": "an object", "list": "a list", "dict": "a table of values",
                "bool": "true/false", "other": "not a number"}.get(shape.kind, "not a number")
        raise SweepError(f"{where}: is {what}; a sweep varies numbers")
    if node is not None and not isinstance(node, int | float):
        raise SweepError(f"{where}: holds {node!r} in the instance, not a number")
    base = node if node is not None else field_default
    base = float(base) if isinstance(base, int | float) and not isinstance(base, bool) else None
    if function is not None and steps[-1] not in _LOCAL_OK and _is_local(data, function):
        raise SweepError(
            f"{path}: '{function}' is a local function and is never shared (docs/model.md "
            "section 5.8), so this has no meaning for it; only its "
            f"costs.FORCE.{function}.standalone_cost_gbp can be varied")
    return Target(path.strip(), tuple(steps), base, shape.integer, function)


def _is_local(data: dict, function: str) -> bool:
    for fn in data.get("functions") or []:
        if isinstance(fn, dict) and fn.get("id") == function:
            return fn.get("shareable") is False
    return False


def apply(base: dict, assign) -> dict:
    """A copy of ``base`` with each (steps, value) set; only the containers on the paths
    are copied (validation never mutates its input, so the rest is shared)."""
    root = dict(base)
    for steps, value in assign:
        node = root
        for key in steps[:-1]:
            child = node[key] if isinstance(node, list) or key in node else None
            child = list(child) if isinstance(child, list) else dict(child or {})
            node[key] = child
            node = child
        node[steps[-1]] = value
    return root


# ------------------------------------------------------------- scenarios ---

@dataclass(frozen=True)
class Vary:
    target: Target
    values: tuple  # numbers (int where the field is whole)


@dataclass(frozen=True)
class Scenario:
    index: int  # 1-based position in the sweep
    params: dict  # path -> value (None: as in the instance)
    assign: tuple  # ((steps, value), ...) that differ from the base instance
    varied: str = ""  # one-at-a-time: the path varied ("(base)" for the base scenario)


def parse_vary(text: str) -> tuple[str, ValueSpec]:
    path, sep, spec = text.partition("=")
    if not sep or not path.strip():
        raise SweepError(f"--vary '{text}': write PATH=SPEC, e.g. "
                         "forces.herts.savings_target_gbp=0..12e6:7")
    try:
        return path.strip(), parse_spec(spec)
    except SweepError as exc:
        raise SweepError([f"{path.strip()}: {line}" for line in exc.lines]) from None


def build_varies(data: dict, texts: list[str]) -> list[Vary]:
    """Resolve every ``--vary``; all problems at once, each naming its path."""
    if not texts:
        raise SweepError("give at least one --vary PATH=SPEC")
    problems: list[str] = []
    varies: list[Vary] = []
    seen: dict[tuple, str] = {}
    for text in texts:
        try:
            path, spec = parse_vary(text)
            target = resolve_path(data, path)
            values = tuple(target.coerce(v) for v in spec.resolve(target.base, path))
        except SweepError as exc:
            problems.extend(exc.lines)
            continue
        if target.steps in seen:
            problems.append(f"{path}: varied twice (also as {seen[target.steps]}); "
                            "give each parameter one --vary")
            continue
        seen[target.steps] = path
        dups = sorted({v for v in values if values.count(v) > 1})
        if dups:
            problems.append(f"{path}: value(s) {', '.join(map(_fmt, dups))} appear more than "
                            "once")
            continue
        varies.append(Vary(target, values))
    if problems:
        raise SweepError(problems)
    return varies


def _assign(varies: list[Vary], values) -> tuple:
    return tuple((v.target.steps, x) for v, x in zip(varies, values, strict=True)
                 if x is not None and x != v.target.base)


def build_scenarios(varies: list[Vary], one_at_a_time: bool = False) -> list[Scenario]:
    """The full grid (first --vary outermost), or each parameter around the base.

    One at a time, a value equal to the base value gives the base scenario, which runs
    once (its ``varied`` is "(base)").
    """
    paths = [v.target.path for v in varies]
    out: list[Scenario] = []
    if not one_at_a_time:
        total = math.prod(len(v.values) for v in varies)
        if total > MAX_SCENARIOS:
            raise SweepError(f"the grid has {total:,} scenarios (limit {MAX_SCENARIOS:,}); "
                             "use fewer values or --one-at-a-time")
        for k, combo in enumerate(itertools.product(*(v.values for v in varies)), start=1):
            out.append(Scenario(k, dict(zip(paths, combo, strict=True)), _assign(varies, combo)))
        return out
    seen: set[tuple] = set()
    base = [v.target.coerce(v.target.base) if v.target.base is not None else None
            for v in varies]
    for j, vary in enumerate(varies):
        for value in vary.values:
            combo = list(base)
            combo[j] = value
            assign = _assign(varies, combo)
            if assign in seen:
                continue
            seen.add(assign)
            out.append(Scenario(len(out) + 1, dict(zip(paths, combo, strict=True)), assign,
                                varied=vary.target.path if assign else "(base)"))
    return out


def _fmt(value) -> str:
    if value is None:
        return "(as in the instance)"
    return f"{value:,.0f}" if abs(value) >= 1000 and float(value).is_integer() else f"{value:g}"


def _problems_for(data: dict, assign, source: str) -> list:
    try:
        instance_from_data(apply(data, assign), source)
    except InstanceError as exc:
        return exc.problems
    return []


def check_scenarios(data: dict, varies: list[Vary], scenarios: list[Scenario],
                    source: str = "", limit: int = 8) -> None:
    """Load every scenario's instance before anything runs; SweepError names the paths.

    Each value is first tried alone (so a bad value is pinned on its path), then every
    grid scenario that changes several numbers at once.
    """
    lines: list[str] = []
    for vary in varies:
        t = vary.target
        for value in vary.values:
            if value == t.base:
                continue
            problems = _problems_for(data, ((t.steps, value),), source)
            if problems:
                own = [p for p in problems if p.path.startswith(t.location)] or problems
                lines.append(f"{t.path}={_fmt(value)} makes the instance invalid: "
                             + "; ".join(p.message if p.path == t.location else str(p)
                                         for p in own[:3]))
                break  # one value per path is enough to show the problem
    if lines:
        raise SweepError(lines)
    bad = 0
    for sc in scenarios:
        if len(sc.assign) < 2:
            continue  # checked above
        problems = _problems_for(data, sc.assign, source)
        if problems:
            bad += 1
            if bad <= limit:
                where = ", ".join(f"{p}={_fmt(v)}" for p, v in sc.params.items())
                lines.append(f"scenario {sc.index} ({where}) makes the instance invalid: "
                             + "; ".join(str(p) for p in problems[:3]))
    if bad:
        if bad > limit:
            lines.append(f"... and {bad - limit} more scenario(s)")
        raise SweepError(lines)


def prepare(data: dict, vary_texts: list[str], one_at_a_time: bool = False, source: str = ""
            ) -> tuple[list[Vary], list[Scenario]]:
    """Resolve the ``--vary`` texts, build the scenarios and check every one of them."""
    varies = build_varies(data, vary_texts)
    scenarios = build_scenarios(varies, one_at_a_time)
    check_scenarios(data, varies, scenarios, source)
    return varies, scenarios
