"""Facility-location benchmark files -> shareplan instances (plain JSON-ready dicts).

The classic capacitated facility-location problem is a special case of the sharing
model (docs/model.md): one shareable function ``supply``; every customer is a force
that must be served (``standalone_allowed`` false, ``standalone_cost_gbp`` 0) with its
demand; every warehouse is a site without an owner, hosting a unit with its own
fixed cost and capacity; ``arc_cost_gbp[c][w]`` is the cost of serving the customer's
whole demand from that warehouse; ``min_members`` 1; one year, no discounting. The
objective of the instance is then exactly the benchmark's objective

    sum_w f_w y_w + sum_{c,w} a_cw x_cw

with ``x_cw`` in [0, 1] (``divisible``: multi-source) or {0, 1} (single-source).

Formats (see bench/data/orlib/OPTIMA.md):

- OR-Library ``cap41..cap134``, ``capa/capb/capc``: a stream of whitespace-separated
  numbers: ``m n``; m pairs ``capacity fixed_cost`` (in capa/b/c the capacity is the
  literal word ``capacity``); then for each customer ``demand`` and m costs.
- Holmberg et al. (1999) ``p1..p71``: ``m n``; m pairs ``capacity fixed_cost``; n
  demands; then the m x n cost matrix by warehouse (row i = c_i1..c_in).
- Yang, Chu and Chen (2012) ``p1..p20`` (30 to 80 warehouses, 200 to 400 customers):
  the Holmberg layout, read by the same parser; every number must be a whole number
  (the published sets are integral), which :func:`yang_to_instance` checks.

Nothing here imports a solver; the functions return dicts that
:func:`shareplan.models.load.instance_from_data` validates.
"""

from __future__ import annotations

import math
from pathlib import Path

FUNCTION_ID = "supply"

ORLIB_SOURCE = (
    "J.E. Beasley, OR-Library: capacitated warehouse location (cap41-cap134, capa-capc); "
    "Beasley, 'An algorithm for solving large capacitated warehouse location problems', "
    "EJOR 33 (1988) 314-325"
)
HOLMBERG_SOURCE = (
    "K. Holmberg, M. Ronnqvist, D. Yuan, 'An exact algorithm for the capacitated facility "
    "location problems with single sourcing', EJOR 113 (1999) 544-559"
)
YANG_SOURCE = (
    "Z. Yang, F. Chu, H. Chen, 'A cut-and-solve based algorithm for the single-source "
    "capacitated facility location problem', EJOR 221 (2012) 521-532"
)


class _Tokens:
    """Whitespace-separated tokens of a file, each with its line number, read in order."""

    def __init__(self, path: Path):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ValueError(f"{path}: is a directory, not a benchmark file") from None
        except OSError as exc:
            raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
        # DOS-era files end with NUL padding; treat NUL as white space.
        text = raw.replace(b"\x00", b" ").decode("ascii", errors="replace")
        self.path = path
        self.items = [(tok, lineno) for lineno, line in enumerate(text.splitlines(), 1)
                      for tok in line.split()]
        self.pos = 0

    def where(self, k: int | None = None) -> str:
        k = self.pos if k is None else k
        if k < len(self.items):
            return f"{self.path}: line {self.items[k][1]} (value {k + 1})"
        return f"{self.path}"

    def next_raw(self, what: str, expected: int) -> str:
        if self.pos >= len(self.items):
            raise ValueError(
                f"{self.path}: the file ends early, while reading {what}: expected "
                f"{expected} values in all, found {len(self.items)} (truncated file, or "
                "wrong format?)")
        tok = self.items[self.pos][0]
        self.pos += 1
        return tok

    def number(self, what: str, expected: int, *, positive: bool = False,
               integer: bool = False) -> float:
        k = self.pos
        tok = self.next_raw(what, expected)
        try:
            value = float(tok)
        except ValueError:
            raise ValueError(f"{self.where(k)}: {what} is {tok!r}, which is not a number"
                             ) from None
        if not math.isfinite(value):
            raise ValueError(f"{self.where(k)}: {what} is {tok!r}; write a finite number")
        if value < 0 or (positive and value == 0):
            need = "> 0" if positive else ">= 0"
            raise ValueError(f"{self.where(k)}: {what} is {tok}; it must be {need}")
        if integer and value != int(value):
            raise ValueError(f"{self.where(k)}: {what} is {tok}; it must be a whole number")
        return value

    def finish(self, expected: int) -> None:
        if self.pos < len(self.items):
            extra = len(self.items) - self.pos
            raise ValueError(
                f"{self.where()}: {extra} value(s) after the end of the data (expected "
                f"{expected} values in all for this m and n; wrong format or a "
                "corrupted file?)")


def _num(value: float) -> int | float:
    """Whole numbers as int (shorter JSON), others unchanged."""
    return int(value) if value == int(value) and abs(value) < 2**53 else value


def _header(tok: _Tokens) -> tuple[int, int]:
    m = int(tok.number("the number of warehouses m (first value)", 2, positive=True,
                       integer=True))
    n = int(tok.number("the number of customers n (second value)", 2, positive=True,
                       integer=True))
    return m, n


def parse_orlib(path: str | Path, capacity: float | None = None
                ) -> tuple[list[float], list[float], list[float], list[list[float]]]:
    """(capacities[m], fixed[m], demands[n], cost[n][m]) of an OR-Library cap file.

    ``capacity`` replaces the literal word ``capacity`` (capa/capb/capc, where it is
    required) and, when given, also overrides numeric capacities.
    """
    path = Path(path)
    if capacity is not None and (not math.isfinite(capacity) or capacity <= 0):
        raise ValueError(f"capacity must be a positive number, not {capacity}")
    tok = _Tokens(path)
    m, n = _header(tok)
    expected = 2 + 2 * m + n * (1 + m)
    caps, fixed = [], []
    for w in range(m):
        k = tok.pos
        raw = tok.next_raw(f"the capacity of warehouse {w + 1}", expected)
        if raw.lower() == "capacity":
            if capacity is None:
                raise ValueError(
                    f"{tok.where(k)}: capacities are given as the word 'capacity' (capa, capb, "
                    "capc): pass the capacity to use (e.g. capacity=8000 for capa; "
                    "OPTIMA.md lists the published settings)")
            caps.append(float(capacity))
        else:
            tok.pos = k
            value = tok.number(f"the capacity of warehouse {w + 1}", expected, positive=True)
            caps.append(float(capacity) if capacity is not None else value)
        fixed.append(tok.number(f"the fixed cost of warehouse {w + 1}", expected))
    demands, cost = [], []
    for c in range(n):
        demands.append(tok.number(f"the demand of customer {c + 1}", expected, positive=True))
        cost.append([tok.number(f"the cost of serving customer {c + 1} from warehouse "
                                f"{w + 1}", expected) for w in range(m)])
    tok.finish(expected)
    return caps, fixed, demands, cost


def parse_holmberg(path: str | Path
                   ) -> tuple[list[float], list[float], list[float], list[list[float]]]:
    """(capacities[m], fixed[m], demands[n], cost[n][m]) of a Holmberg et al. file."""
    path = Path(path)
    tok = _Tokens(path)
    m, n = _header(tok)
    expected = 2 + 2 * m + n + m * n
    caps, fixed = [], []
    for w in range(m):
        if tok.pos < len(tok.items) and tok.items[tok.pos][0].lower() == "capacity":
            raise ValueError(f"{tok.where()}: the word 'capacity' is an OR-Library capa/capb/"
                             "capc feature; convert this file with orlib_to_instance")
        caps.append(tok.number(f"the capacity of warehouse {w + 1}", expected, positive=True))
        fixed.append(tok.number(f"the fixed cost of warehouse {w + 1}", expected))
    demands = [tok.number(f"the demand of customer {c + 1}", expected, positive=True)
               for c in range(n)]
    by_warehouse = [[tok.number(f"the cost of serving customer {c + 1} from warehouse "
                                f"{w + 1}", expected) for c in range(n)] for w in range(m)]
    tok.finish(expected)
    cost = [[by_warehouse[w][c] for w in range(m)] for c in range(n)]
    return caps, fixed, demands, cost


def facility_instance(name: str, capacities: list[float], fixed: list[float],
                      demands: list[float], cost: list[list[float]], *, divisible: bool,
                      description: str = "", sources: list[str] | None = None) -> dict:
    """The sharing-model instance of a capacitated facility-location problem.

    ``cost[c][w]`` is the total cost of serving customer c's whole demand from
    warehouse w. Customers become forces ``c1..cn``, warehouses sites ``w1..wm``.
    """
    m, n = len(capacities), len(demands)
    if len(fixed) != m or len(cost) != n or any(len(row) != m for row in cost):
        raise ValueError("capacities/fixed must have m entries and cost must be n rows of m")
    sites = [f"w{w + 1}" for w in range(m)]
    forces = [f"c{c + 1}" for c in range(n)]
    function = {
        "id": FUNCTION_ID,
        "name": "supply from a warehouse",
        "shareable": True,
        "standalone_allowed": False,
        "min_members": 1,
        "divisible": divisible,
        "host_must_be_member": False,
        "hosts": [{"site": s, "fixed_cost_gbp": _num(f), "capacity": _num(k)}
                  for s, f, k in zip(sites, fixed, capacities, strict=True)],
        "arc_cost_gbp": {fid: {s: _num(a) for s, a in zip(sites, row, strict=True)}
                         for fid, row in zip(forces, cost, strict=True)},
    }
    return {
        "name": name,
        "description": description,
        "horizon_years": 1,
        "discount_rate": 0.0,
        "allocation": "demand",
        "forces": [{"id": fid, "name": f"customer {c + 1}"} for c, fid in enumerate(forces)],
        "functions": [function],
        "sites": [{"id": s, "name": f"warehouse {w + 1}"} for w, s in enumerate(sites)],
        "costs": [{"force": fid, "function": FUNCTION_ID, "standalone_cost_gbp": 0,
                   "demand": _num(d)} for fid, d in zip(forces, demands, strict=True)],
        "sources": list(sources or []),
    }


def _stem(path: Path) -> str:
    return path.name[:-4] if path.name.endswith(".txt") else path.name


def orlib_to_instance(path: str | Path, capacity: float | None = None,
                      single_source: bool = False) -> dict:
    """An OR-Library capacitated warehouse file (cap41..cap134, capa/b/c) as an instance.

    Multi-source (``divisible``) by default, as in the published optima (capopt);
    ``single_source=True`` makes each customer's assignment binary. ``capacity`` is
    required for capa/capb/capc and overrides the capacities of the other files.
    """
    path = Path(path)
    caps, fixed, demands, cost = parse_orlib(path, capacity)
    stem = _stem(path)
    if capacity is None:
        name = stem
    elif stem in ("capa", "capb", "capc"):
        name = f"{stem}{_num(capacity)}"  # as in capopt_abc.txt: capa8000
    else:
        name = f"{stem}_capacity{_num(capacity)}"
    kind = "single-source" if single_source else "multi-source"
    cap_note = f", every capacity {_num(capacity)}" if capacity is not None else ""
    desc = (f"OR-Library capacitated warehouse location {stem} ({len(caps)} warehouses x "
            f"{len(demands)} customers{cap_note}), {kind}, as a one-function sharing instance.")
    return facility_instance(name, caps, fixed, demands, cost, divisible=not single_source,
                             description=desc, sources=[ORLIB_SOURCE, f"file: {path.name}"])


def holmberg_to_instance(path: str | Path) -> dict:
    """A Holmberg et al. single-source capacitated facility-location file as an instance."""
    path = Path(path)
    caps, fixed, demands, cost = parse_holmberg(path)
    stem = _stem(path)
    desc = (f"Holmberg et al. single-source capacitated facility location {stem} "
            f"({len(caps)} warehouses x {len(demands)} customers) as a one-function "
            "sharing instance.")
    return facility_instance(f"holmberg_{stem}", caps, fixed, demands, cost, divisible=False,
                             description=desc, sources=[HOLMBERG_SOURCE, f"file: {path.name}"])


def yang_to_instance(path: str | Path) -> dict:
    """A Yang, Chu and Chen (2012) single-source file (Holmberg layout) as an instance.

    Their sets are integral (capacities, fixed costs, demands, costs); a fractional
    value means another format was given, and is refused with its place in the file.
    """
    path = Path(path)
    caps, fixed, demands, cost = parse_holmberg(path)
    m, n = len(caps), len(demands)
    named = ([(f"the capacity of warehouse {w + 1}", v) for w, v in enumerate(caps)]
             + [(f"the fixed cost of warehouse {w + 1}", v) for w, v in enumerate(fixed)]
             + [(f"the demand of customer {c + 1}", v) for c, v in enumerate(demands)]
             + [(f"the cost of serving customer {c + 1} from warehouse {w + 1}", v)
                for c, row in enumerate(cost) for w, v in enumerate(row)])
    for what, value in named:
        if value != int(value):
            raise ValueError(f"{path}: {what} is {value}; the Yang et al. sets hold whole "
                             "numbers only (wrong file? Holmberg files convert with "
                             "holmberg_to_instance)")
    stem = _stem(path)
    desc = (f"Yang, Chu and Chen single-source capacitated facility location {stem} "
            f"({m} warehouses x {n} customers) as a one-function sharing instance.")
    return facility_instance(f"yang_{stem}", caps, fixed, demands, cost, divisible=False,
                             description=desc, sources=[YANG_SOURCE, f"file: {path.name}"])
