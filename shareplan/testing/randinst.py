"""Seeded random instances and malformed variants of them, for fuzzing and cross-checks.

Shared by the tests (``tests/test_fuzz.py`` and others), ``bench/fuzz.py`` and
``bench/crosscheck.py``, which import it as ``shareplan.testing.randinst``. Everything
is driven by a ``random.Random`` so a case is reproduced from its seed alone.

:func:`random_instance` always returns a *valid* instance dict (small: 2-5
forces, 1-3 shareable functions, 1-4 sites) with a random mix of the model's
options. :func:`malformed_case` starts from one and breaks it (wrong types,
NaN/Infinity, huge and negative numbers, missing/extra keys, duplicate and
dangling ids, empty lists, unicode, deep nesting, text-level damage) and
returns the bytes of the file to feed the command line.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

FORCE_NAMES = ["Hertfordshire", "Bedfordshire", "Cambridgeshire", "Essex", "Kent",
               "Suffolk", "Norfolk", "Surrey"]
FUNCTION_IDS = ["custody", "hr", "fleet", "estates", "forensics"]
REGIONS = ["East", "South"]


def _coords(rng: random.Random) -> tuple[float, float]:
    return round(rng.uniform(51.0, 53.0), 4), round(rng.uniform(-1.5, 1.5), 4)


def _timing_and_mechanism(rng: random.Random, fn: dict, site_ids: list[str]) -> None:
    """Go-live, dual running, one-off timing, jointly managed and multi-site hosts."""
    if rng.random() < 0.4:
        fn["go_live_year"] = rng.choice([1.0, 1.67, 2.0, 3.0])
    if rng.random() < 0.2:
        fn["dual_running_years"] = rng.choice([0.5, 1.0])
    if rng.random() < 0.2:
        fn["one_off_year"] = rng.choice([1.0, 2.0, 2.5])
    if rng.random() < 0.25 and not fn.get("travel_cost_gbp_per_unit_km") \
            and not fn.get("arc_cost_gbp"):
        fn["mechanism"] = "jointly_managed"
    if rng.random() < 0.3:
        fn["staff_per_unit"] = rng.choice([1e-6, 3e-6])
    for spec in fn.get("hosts", []):
        if rng.random() < 0.25:
            spec["go_live_year"] = rng.choice([1.0, 2.0])
        others = [h for h in site_ids if h != spec["site"]]
        if others and rng.random() < 0.25:
            spec["also_sites"] = [{"site": rng.choice(others),
                                   "fixed_cost_gbp": round(rng.uniform(0, 0.5e6), -3)}]


def random_instance(rng: random.Random, *, n_forces: int | None = None,
                    n_functions: int | None = None, n_sites: int | None = None) -> dict:
    """A valid random instance dict with mixed options (see module docstring)."""
    n = n_forces or rng.randint(2, 5)
    k = n_functions or rng.randint(1, 3)
    m = n_sites or rng.randint(1, 4)
    fids = [f"F{i}_{FORCE_NAMES[i % len(FORCE_NAMES)][:4].lower()}" for i in range(n)]
    allocation = rng.choice(["demand", "demand", "equal", "key"])
    sense = rng.choices(["min_cost", "max_frontline", "max_min_savings_ratio"], [6, 1, 1])[0]
    use_coords = rng.random() < 0.6
    use_regions = rng.random() < 0.3
    # targets and divisible functions exclude each other (load rule); decide once
    divisible_ok = sense != "max_min_savings_ratio" and rng.random() < 0.3
    use_targets = not divisible_ok and rng.random() < 0.4

    keyed = allocation == "key" and rng.random() < 0.5  # allocation_key for all or none
    forces = []
    for i, fid in enumerate(fids):
        f: dict[str, Any] = {"id": fid, "name": FORCE_NAMES[i % len(FORCE_NAMES)]}
        if use_coords:
            f["lat"], f["lon"] = _coords(rng)
        if use_regions:
            f["region"] = rng.choice(REGIONS)
        f["budget_gbp"] = round(rng.uniform(50e6, 300e6), -3)
        if keyed:
            f["allocation_key"] = round(rng.uniform(0.5, 3.0), 3)
        L = float(rng.randint(200, 2000))
        f["frontline_officers_fte"] = L
        f["officers_fte"] = L + rng.randint(0, 500)
        if rng.random() < 0.3:
            f["frontline_floor_fte"] = round(L - rng.uniform(0, 30), 1)
        if use_targets and rng.random() < 0.5:
            f["savings_target_gbp"] = round(rng.uniform(0, 1.5e6), -3)
        forces.append(f)

    sites = []
    owners = rng.sample(fids, min(n, m))
    for j in range(m):
        s: dict[str, Any] = {"id": f"site{j}", "name": f"Site {j}"}
        if j < len(owners) and rng.random() < 0.75:
            s["owner"] = owners[j]
        if use_coords:
            s["lat"], s["lon"] = _coords(rng)
        if use_regions and "owner" not in s:
            s["region"] = rng.choice(REGIONS)
        sites.append(s)
    site_ids = [s["id"] for s in sites]

    functions, costs = [], []
    extra = random.Random(str(rng.getstate()))  # timing/mechanism draws: rng's stream unchanged
    for q in range(k):
        sid = FUNCTION_IDS[q]
        fn: dict[str, Any] = {
            "id": sid, "name": sid.title(),
            "variable_cost_gbp_per_unit": round(rng.uniform(0.4, 0.95), 3),
            "unit_fixed_cost_gbp": round(rng.uniform(0.1e6, 2e6), -3),
            "unit_setup_cost_gbp": round(rng.choice([0.0, rng.uniform(0, 3e6)]), -3),
            "officers_per_unit": rng.choice([0.0, 1e-6, 2e-6]),
        }
        if use_coords and rng.random() < 0.5:
            fn["travel_cost_gbp_per_unit_km"] = round(rng.uniform(0, 0.002), 5)
        divisible = divisible_ok and rng.random() < 0.6
        if divisible:
            fn["divisible"] = True
            fn["min_members"] = 1
        else:
            fn["min_members"] = rng.choice([1, 2, 2, 2, 3])
            if rng.random() < 0.3:
                fn["max_members"] = rng.randint(fn["min_members"], max(fn["min_members"], n))
        if rng.random() < 0.3:
            fn["max_units"] = rng.choice([0, 1, 1, 2, 2])
        if rng.random() < 0.15:
            fn["standalone_allowed"] = False
        if rng.random() < 0.2:
            fn["host_must_be_member"] = False
        if rng.random() < 0.3:
            fn["unit_capacity"] = round(rng.uniform(3e6, 20e6), -3)
        hosts = site_ids
        if rng.random() < 0.4:
            hosts = rng.sample(site_ids, rng.randint(1, m))
            fn["hosts"] = []
            for h in hosts:
                spec: dict[str, Any] = {"site": h}
                if rng.random() < 0.4:
                    spec["fixed_cost_gbp"] = round(rng.uniform(0.1e6, 2e6), -3)
                if rng.random() < 0.3:
                    spec["capacity"] = round(rng.uniform(3e6, 20e6), -3)
                fn["hosts"].append(spec)
        if rng.random() < 0.2:
            fn["arc_cost_gbp"] = {
                fid: {h: round(rng.uniform(0, 0.5e6), -3) for h in rng.sample(hosts, 1)}
                for fid in rng.sample(fids, rng.randint(1, n))}
        _timing_and_mechanism(extra, fn, site_ids)
        functions.append(fn)
        for fid in fids:
            c = round(rng.uniform(1e6, 8e6), -3)
            row: dict[str, Any] = {"force": fid, "function": sid, "standalone_cost_gbp": c}
            if rng.random() < 0.3:
                row["demand"] = round(c * rng.uniform(0.8, 1.2), -3)
            row["officers_fte"] = float(rng.randint(0, 40))
            if rng.random() < 0.5:
                row["transition_cost_gbp"] = round(rng.uniform(0, 1e6), -3)
            if extra.random() < 0.3 and fn.get("mechanism") != "jointly_managed":
                row["relocation_cost_gbp"] = round(extra.uniform(0, 0.5e6), -3)
            if extra.random() < 0.4:
                row["staff_fte"] = float(extra.randint(0, 60))
            costs.append(row)
    if rng.random() < 0.5:
        functions.append({"id": "response", "shareable": False})
        costs += [{"force": fid, "function": "response",
                   "standalone_cost_gbp": round(rng.uniform(20e6, 80e6), -3)} for fid in fids]

    data: dict[str, Any] = {
        "name": f"random-{rng.randint(0, 10**9)}",
        "horizon_years": rng.choice([1, 3, 5, 5, 10]),
        "discount_rate": rng.choice([0.0, 0.0, 0.035]),
        "allocation": allocation,
        "forces": forces, "functions": functions, "sites": sites, "costs": costs,
    }

    # existing units: on a host of the function, owner a member when required, members
    # disjoint per function (unless divisible), never opted out (no opt-out made for them)
    existing, taken = [], set()
    for fn in functions:
        if fn.get("shareable") is False or rng.random() > 0.25:
            continue
        hosts = [h["site"] for h in fn["hosts"]] if "hosts" in fn else site_ids
        site = rng.choice(hosts)
        owner = next((s.get("owner") for s in sites if s["id"] == site), None)
        pool = [f for f in fids if (fn["id"], f) not in taken]
        lo, hi = fn["min_members"], min(fn.get("max_members", n), len(pool))
        if lo > hi:
            continue
        members = rng.sample(pool, rng.randint(lo, hi))
        if owner and fn.get("host_must_be_member", True) and owner not in members:
            if (fn["id"], owner) in taken or len(members) + 1 > fn.get("max_members", n):
                continue
            members.append(owner)
        if fn.get("max_units") == 0:
            fn["max_units"] = 1
        existing.append({"function": fn["id"], "site": site, "members": members,
                         "reoptimisable": rng.random() < 0.5})
        taken.update((fn["id"], f) for f in members)
    if existing:
        data["existing"] = existing

    shareable = [fn["id"] for fn in functions if fn.get("shareable", True)]
    policy: dict[str, Any] = {}
    whole = [fn["id"] for fn in functions if fn.get("shareable", True)
             and not fn.get("divisible")]  # forbidden partners cannot apply to divisible ones
    if n >= 2 and whole and rng.random() < 0.3:
        a, b = rng.sample(fids, 2)
        pair: dict[str, Any] = {"forces": [a, b]}
        if rng.random() < 0.5 or len(whole) < len(shareable):
            pair["functions"] = [rng.choice(whole)]
        clash = any(not e["reoptimisable"] and {a, b} <= set(e["members"])
                    and e["function"] in pair.get("functions", shareable) for e in existing)
        if not clash:  # forbidden partners in a fixed existing unit: refused at load
            policy["forbidden_partners"] = [pair]
    if rng.random() < 0.2:
        f, s = rng.choice(fids), rng.choice(shareable)
        if (s, f) not in taken:
            policy["opt_outs"] = [{"force": f, "function": s}]
    if rng.random() < 0.2:
        f, s = rng.choice(fids), rng.choice(shareable)
        if {"force": f, "function": s} not in policy.get("opt_outs", []):
            policy["must_share"] = [{"force": f, "function": s}]
    if use_coords and rng.random() < 0.2:
        policy["max_distance_km"] = {rng.choice(shareable): round(rng.uniform(40, 300))}
    if use_regions and rng.random() < 0.5:
        policy["same_region"] = [rng.choice(shareable)]
    if policy:
        data["policy"] = policy
    objective: dict[str, Any] = {"sense": sense}
    if not divisible_ok and rng.random() < 0.15:
        objective["aggregate_savings_target_gbp"] = round(rng.uniform(0, 5e6), -3)
    data["objective"] = objective
    return data


# ------------------------------------------------------------------ malformed inputs

# wrong types, NaN/Infinity (written as bare tokens), negatives, big-but-plausible
# numbers, odd strings, empty and wrong containers
BAD_VALUES: list[Any] = [
    math.nan, math.inf, -math.inf, 1e15, -1e15, -1, -1e6, -0.0, 0, 1e-320, 3.5, -(2**70),
    "", "x" * 5000, "ünïcødé ✓ 警察", "\u0000", "\u202e", "🚓" * 50, True, False, None,
    [], {}, [1, 2], {"a": 1}, "1e6", "NaN", "F0_hert", "site0",
]
# values that hit bugs reported from fuzzing (kept out of the default test runs, in the
# bench runs with extended=True): finite numbers far beyond any budget overflow the
# model's arithmetic or the solvers' infinity (test_fuzz.py::test_overflowing_numbers);
# a lone surrogate cannot be printed or written (test_lone_surrogate_in_a_name)
KNOWN_BUG_VALUES: list[Any] = [1e308, -1e308, 1e100, 1e20, 2**70, 10**400, "\ud800",
                               "\udcff"]


def value_paths(obj: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every value (containers included) below obj."""
    out = []
    if isinstance(obj, dict):
        for key, v in obj.items():
            out.append(path + (key,))
            out += value_paths(v, path + (key,))
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            out.append(path + (k,))
            out += value_paths(v, path + (k,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


DEEP = "__deep_nesting_{}__"


def _nested(depth: int) -> Any:
    """A value nested ``depth`` lists deep; deep ones as a marker :func:`_dumps` expands
    (json.dumps itself would hit the recursion limit)."""
    if depth <= 50:
        leaf: Any = 1
        for _ in range(depth):
            leaf = [leaf]
        return leaf
    return DEEP.format(depth)


def mutate(data: dict, rng: random.Random, extended: bool = False) -> dict:
    """One structural mutation of a (copied) instance dict; ``extended`` adds the
    values of reported bugs (:data:`KNOWN_BUG_VALUES`) to the bad values."""
    paths = value_paths(data)
    path = rng.choice(paths)
    parent, key = _get(data, path[:-1]), path[-1]
    kind = rng.randrange(12)
    bad = BAD_VALUES + KNOWN_BUG_VALUES if extended else BAD_VALUES
    if kind <= 3:  # replace a value with a bad one
        parent[key] = copy.deepcopy(rng.choice(bad))
    elif kind == 4:  # delete a key / list item
        del parent[key]
    elif kind == 5:  # add an unknown key somewhere
        target = _get(data, path) if isinstance(_get(data, path), dict) else data
        target[rng.choice(["extra", "Name", "ID", "cost", "🚓", "__proto__"])] = rng.choice(
            bad[:12])
    elif kind == 6:  # duplicate an item of a list (duplicate ids, duplicate cost rows)
        lists = [p for p in paths if isinstance(_get(data, p), list) and _get(data, p)]
        if lists:
            lst = _get(data, rng.choice(lists))
            lst.append(copy.deepcopy(rng.choice(lst)))
    elif kind == 7:  # dangling reference: an id-like string pointing nowhere
        refs = [p for p in paths if p[-1] in ("force", "function", "site", "owner", "id")
                or (len(p) >= 2 and p[-2] in ("members", "forces", "same_region"))]
        if refs:
            p = rng.choice(refs)
            _get(data, p[:-1])[p[-1]] = rng.choice(["ghost", "Nowhere_1", "F9_none", "x"])
    elif kind == 8:  # empty a list or an object
        conts = [p for p in paths if isinstance(_get(data, p), (list, dict))]
        if conts:
            p = rng.choice(conts)
            _get(data, p[:-1])[p[-1]] = [] if isinstance(_get(data, p), list) else {}
    elif kind == 9:  # deep nesting in a value
        parent[key] = _nested(rng.choice([5, 50, 500, 5000]))
    elif kind == 10:  # swap two values of the same object (types land in wrong fields)
        if isinstance(parent, dict) and len(parent) >= 2:
            a, b = rng.sample(list(parent), 2)
            parent[a], parent[b] = parent[b], parent[a]
    else:  # numbers scaled to extremes, keeping the type
        nums = [p for p in paths if isinstance(_get(data, p), (int, float))
                and not isinstance(_get(data, p), bool)]
        if nums:
            p = rng.choice(nums)
            v = _get(data, p)
            factors = [-1, 0, 1e-300, 1e6] + ([1e12, 1e300, 10**30] if extended else [])
            _get(data, p[:-1])[p[-1]] = v * rng.choice(factors)
    return data


def _dumps(data: Any, ensure_ascii: bool = False) -> str:
    """JSON text; NaN and Infinity come out as the bare tokens NaN / Infinity, deep
    nesting markers as that many brackets."""
    text = json.dumps(data, ensure_ascii=ensure_ascii, allow_nan=True)
    for depth in (500, 5000):
        text = text.replace(json.dumps(DEEP.format(depth)), "[" * depth + "1" + "]" * depth)
    return text


def text_damage(text: str, rng: random.Random) -> bytes:
    """Damage at the text level: things no dict can express."""
    kind = rng.randrange(10)
    if kind == 0:  # truncated file
        return text[: rng.randrange(len(text))].encode("utf-8", "surrogatepass")
    if kind == 1:  # not UTF-8
        raw = text.encode("utf-8", "surrogatepass")
        at = rng.randrange(len(raw))
        return raw[:at] + bytes([0xFF, 0xFE, 0xC3]) + raw[at:]
    if kind == 2:  # a duplicate key in the top object
        return ('{"name": "dup", ' + text[1:]).encode("utf-8", "surrogatepass")
    if kind == 3:  # deep nesting past the parser's recursion limit
        depth = rng.choice([1000, 10000, 100000])
        return ('{"name": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == 4:  # not an object at the top
        return rng.choice([b"[]", b"null", b"42", b'"text"', b"NaN", b"", b" ", b"[" + text.encode(
            "utf-8", "surrogatepass") + b"]"])
    if kind == 5:  # byte order mark / trailing junk / comments
        return rng.choice(["\ufeff" + text, text + " trailing", "// c\n" + text,
                           text.replace(",", ",\n", 3) + ","]).encode("utf-8", "surrogatepass")
    if kind == 6:  # a bare token replacing a number
        out = text
        digits = [i for i, ch in enumerate(text) if ch.isdigit() and text[i - 1] in " :["]
        if digits:
            i = rng.choice(digits)
            j = i
            while j < len(text) and (text[j].isdigit() or text[j] in ".eE+-"):
                j += 1
            tok = rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "-0", "0x10", "01",
                              "1_000", "true", "\"12\""])
            out = text[:i] + tok + text[j:]
        return out.encode("utf-8", "surrogatepass")
    if kind == 7:  # control characters inside a string
        at = text.find('"name"')
        return (text[: at + 9] + "\x00\x07" + text[at + 9:]).encode("utf-8", "surrogatepass")
    if kind == 8:  # a huge number literal
        return text.replace('"horizon_years": ', '"horizon_years": ' + "9" * 5000 + "0 * ", 1
                            ).replace(" * ", "", 1).encode("utf-8", "surrogatepass")
    return text.encode("utf-8", "surrogatepass")  # unchanged text


def malformed_case(seed: int, extended: bool = False) -> tuple[bytes, str]:
    """(file bytes, a short description) of fuzz case ``seed``: a random valid instance,
    then 0-4 structural mutations, then sometimes damage at the text level."""
    rng = random.Random(seed)
    data = random_instance(rng)
    n_mut = rng.choices([0, 1, 2, 3, 4], [3, 6, 2, 1, 1])[0]
    for _ in range(n_mut):
        if not isinstance(data, dict) or not data:
            break
        data = mutate(data, rng, extended)
    text = _dumps(data, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.2:
        return text_damage(text, rng), f"seed {seed}: {n_mut} mutation(s) + text damage"
    return text.encode("utf-8", "surrogatepass"), f"seed {seed}: {n_mut} mutation(s)"


# ------------------------------------------------------------------ running a case

ALLOWED_EXITS = {0, 2, 3, 4}


def run_cli_case(raw: bytes, workdir, backend: str = "cbc", time_limit: float = 30.0,
                 extra_args: tuple = ()) -> tuple[int, str, str | None]:
    """Write ``raw`` as an instance file and run ``solve run`` on it in-process.

    Returns (exit code, stdout+stderr, problem): ``problem`` is None when the run
    ended as the command line promises (exit 0, 2, 3 or 4, a message with 2, no
    traceback, no escaped exception), else a description of what went wrong.
    """
    from pathlib import Path

    from click.testing import CliRunner

    from shareplan.cli import cli

    path = Path(workdir) / "instance.json"
    path.write_bytes(raw)
    runner = CliRunner()
    result = runner.invoke(cli, ["run", str(path), "--backend", backend, "--time-limit",
                                 str(time_limit), *extra_args], catch_exceptions=True)
    out = result.output  # click >= 8.2: stdout and stderr as the user sees them
    code = result.exit_code
    problem = None
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        problem = f"escaped exception {type(exc).__name__}: {exc}"[:500]
    elif code not in ALLOWED_EXITS:
        problem = f"exit {code}: {out.strip()[-400:]}"
    elif "Traceback" in out:
        problem = f"traceback in output (exit {code})"
    elif code == 2 and not out.strip():
        problem = "exit 2 without a message"
    return code, out, problem
