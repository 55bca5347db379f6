"""Seeded synthetic police instances of any size, for scaling tests and benchmarks.

``generate_instance(forces=N, functions=K, seed=S)`` returns a JSON-ready dict (load it
with :func:`shareplan.models.load.instance_from_data`). The same arguments give the
identical dict. The figures are invented but shaped like England and Wales (see
docs/national.md for the real ones):

- forces: HQ coordinates inside an England-and-Wales-like box (lat 50.4..55.4,
  lon -4.6..1.5), clustered around ``regions`` centres; a log-normal annual budget
  (median about GBP 170m); about 7.5-11 officers per GBP 1m; 74-82% of officers
  frontline; targets on by default: 20-60% of what the force could save over the
  horizon by sharing every function with its best single partner in reach (forces
  that could save nothing get none); a frontline floor that leaves room for 30-80% of
  the officers that sharing would cost the force (today's frontline when sharing
  frees officers);
- functions: ``functions`` shareable support functions (finance, fleet, ... as in the
  BCH agreement, then ``function_12``...) with a budget share each, and
  ``local_functions`` never-shareable ones (local policing) holding the rest;
- per force and function: standalone cost = budget x share x an efficiency factor
  (0.85-1.15); demand in workload units of about GBP 1m of average-efficiency spend;
  officers in the function; a one-off transition cost of 5-12% of the standalone cost;
- shared units: a variable cost per demand unit of GBP 0.78-0.88m (below the average
  standalone unit cost of GBP 1m: economies of scale), an annual fixed cost of 8-15%
  and a one-off set-up of 20-40% of the function's mean standalone cost, travel
  cost per demand unit per km, officers per demand unit at 75-95% of today's ratio;
- sites: each force's HQ (owned by the force); policy: a maximum sharing distance
  (150 km default) and at most ``max_members`` (4) forces a unit.

``one_block=True`` places the forces instead as England and Wales lays out its 43: on
a plane around (52.5 N, 1.5 W), each new HQ 50 km (at most half the maximum distance)
to 0.8 x that distance from an earlier one, and at least 45 km (at most 0.45 x it) from
every other, so about as many neighbours in reach as a real force has and the distance
rule joins every force into one block (solver/components.py then finds no split).
"""

from __future__ import annotations

import json

import numpy as np

# (id, name, typical share of a force's budget): BCH 2014 scope first (ESTIMATE shares).
FUNCTION_CATALOGUE = [
    ("finance", "Finance", 0.015),
    ("fleet", "Fleet", 0.020),
    ("estates", "Estates and facilities", 0.040),
    ("legal", "Legal services", 0.005),
    ("hr", "Human resources", 0.025),
    ("professional_standards", "Professional standards", 0.010),
    ("training", "Training", 0.020),
    ("ict", "ICT", 0.055),
    ("firearms_licensing", "Firearms licensing", 0.003),
    ("custody", "Custody", 0.030),
    ("crime_recording", "Crime recording", 0.010),
    ("contact_centre", "Public contact centre", 0.030),
    ("control_room", "Control room", 0.040),
    ("procurement", "Procurement", 0.008),
]
LOCAL_CATALOGUE = [
    ("local_policing", "Local policing (response and neighbourhood)"),
    ("investigations", "Investigations and public protection"),
    ("operational_support", "Other operational policing"),
]
LAT_RANGE = (50.4, 55.4)
LON_RANGE = (-4.6, 1.5)
UNIT = 1e6  # GBP of average-efficiency spend per demand unit


#: Every figure at its widest in the file: the entries :func:`file_bytes_bound` measures.
#: Budgets are clipped to £3bn, so a yearly cost is below £10bn and a target over the
#: horizon below £100bn; demand is below 10,000 units, FTE below 100,000.
_WIDE_COST = 10**10 - 1
_WIDE_TARGET = 10**11 - 1


def _function_ids(functions: int) -> list[str]:
    return [FUNCTION_CATALOGUE[s][0] if s < len(FUNCTION_CATALOGUE) else f"function_{s + 1}"
            for s in range(functions)]


def _entry_bytes(key: str, item: dict) -> int:
    """Bytes one more ``item`` adds to the list ``key`` of a file written with indent 2."""
    one = json.dumps({key: [item]}, indent=2, ensure_ascii=False)
    two = json.dumps({key: [item, item]}, indent=2, ensure_ascii=False)
    return len(two.encode()) - len(one.encode())


def file_bytes_bound(forces: int, functions: int, local_functions: int = 1) -> int:
    """An upper bound on the bytes of ``generate_instance(forces, functions, ...)`` written as
    the CLI writes it (JSON, indent 2), without generating it:

    bytes(2 forces) + (n - 2) (force + site) + (n - 2) (k + L) cost entries + 1 KiB,

    each added entry measured with every figure at its widest and the longest id.
    """
    n, k, n_local = max(int(forces), 2), int(functions), int(local_functions)
    small = generate_instance(forces=2, functions=k, local_functions=n_local)
    base = len(json.dumps(small, indent=2, ensure_ascii=False).encode())
    fid = "f" + "9" * len(str(n))
    ids = _function_ids(k) + [f"local_{j + 1}" for j in range(n_local)]
    longest = max(ids, key=len)
    force = {"id": fid, "name": f"Synthetic force {n}", "region": f"Region {n}",
             "lat": -55.4444, "lon": -55.4444, "budget_gbp": _WIDE_COST,
             "officers_fte": 99999.9, "frontline_officers_fte": 99999.9,
             "frontline_floor_fte": 99999.9, "savings_target_gbp": _WIDE_TARGET}
    site = {"id": f"{fid}_hq", "name": f"HQ of synthetic force {n}", "owner": fid,
            "lat": -55.4444, "lon": -55.4444}
    cost = {"force": fid, "function": longest, "standalone_cost_gbp": _WIDE_COST,
            "demand": 9999.9999, "officers_fte": 99999.99, "transition_cost_gbp": _WIDE_COST}
    widen = 2 * (k + n_local + 2) * len(str(n))  # the 2-force file's ids are narrower
    return (base + widen + 1024 + (n - 2) * (_entry_bytes("forces", force)
                                             + _entry_bytes("sites", site))
            + (n - 2) * (k + n_local) * _entry_bytes("costs", cost))


def largest_forces(functions: int, local_functions: int = 1, limit: int | None = None,
                   most: int = 5000) -> int:
    """The most forces (at most ``most``) whose file :func:`file_bytes_bound` keeps within
    ``limit`` bytes (default: the loader's MAX_INSTANCE_BYTES); 0 if even one does not fit."""
    from .models.load import MAX_INSTANCE_BYTES

    limit = MAX_INSTANCE_BYTES if limit is None else limit
    lo, hi = 0, most
    while lo < hi:  # the bound grows with n: the largest n with bound <= limit
        mid = (lo + hi + 1) // 2
        if file_bytes_bound(mid, functions, local_functions) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _one_block_layout(n: int, reach_km: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """HQ positions grown from one seed: each new HQ min(50 km, reach / 2) .. 0.8 reach from
    a random earlier one and min(45 km, 0.45 reach) from all, so one in reach (one block)."""
    xy = np.zeros((n, 2))
    step = (min(50.0, 0.5 * reach_km), 0.8 * reach_km)  # below reach: a neighbour in reach
    apart = min(45.0, 0.45 * reach_km)
    placed = 1
    while placed < n:
        base = xy[rng.integers(placed)]
        r = rng.uniform(*step)
        angle = rng.uniform(0, 2 * np.pi)
        cand = base + r * np.array([np.cos(angle), np.sin(angle)])
        if np.min(np.hypot(*(xy[:placed] - cand).T)) >= apart:
            xy[placed] = cand
            placed += 1
    lat = 52.5 + xy[:, 1] / 111.2
    lon = -1.5 + xy[:, 0] / (111.2 * np.cos(np.radians(lat)))
    return np.round(lat, 4), np.round(lon, 4)


def _money(v: float) -> int:
    return int(round(float(v)))


def generate_instance(forces: int = 10, functions: int = 5, seed: int = 0, *,
                      local_functions: int = 1, regions: int | None = None,
                      targets: bool = True, floors: bool = True,
                      max_distance_km: float | None = 150.0, max_members: int | None = 4,
                      min_members: int = 2, horizon_years: int = 5,
                      discount_rate: float = 0.0, allocation: str = "demand",
                      target_range: tuple[float, float] = (0.2, 0.6),
                      name: str | None = None, one_block: bool = False) -> dict:
    """A synthetic instance with ``forces`` forces and ``functions`` shareable functions.

    ``target_range``: each force's savings target is drawn from this fraction of what
    it could save sharing every function with its best single partner in reach.
    """
    if forces < 1 or functions < 0 or local_functions < 0 or functions + local_functions < 1:
        raise ValueError("need forces >= 1 and at least one function")
    if min_members < 1 or (max_members is not None and max_members < min_members):
        raise ValueError("need 1 <= min_members <= max_members")
    rng = np.random.default_rng(seed)
    n, k = int(forces), int(functions)
    n_regions = int(regions) if regions else max(1, round(n / 5))

    # forces: positions clustered around region centres, inside the box
    centres = np.column_stack([rng.uniform(*LAT_RANGE, n_regions),
                               rng.uniform(*LON_RANGE, n_regions)])
    region = np.arange(n) % n_regions
    rng.shuffle(region)
    lat = np.clip(centres[region, 0] + rng.normal(0, 0.35, n), *LAT_RANGE)
    lon = np.clip(centres[region, 1] + rng.normal(0, 0.55, n), *LON_RANGE)
    if one_block:
        lat, lon = _one_block_layout(n, max_distance_km or 150.0, rng)
    budget = np.clip(rng.lognormal(np.log(170e6), 0.55, n), 60e6, 3000e6)
    officers = budget / 1e6 * rng.uniform(7.5, 11.0, n)
    frontline = officers * rng.uniform(0.74, 0.82, n)
    width = len(str(n))
    fids = [f"f{i + 1:0{width}d}" for i in range(n)]

    # functions
    cat = [FUNCTION_CATALOGUE[s] if s < len(FUNCTION_CATALOGUE)
           else (f"function_{s + 1}", f"Function {s + 1}", float(rng.uniform(0.005, 0.03)))
           for s in range(k)]
    share = np.array([c[2] for c in cat]) * rng.uniform(0.8, 1.2, k)
    if share.sum() > 0.6:  # keep local policing the larger part of any budget
        share *= 0.6 / share.sum()
    officer_ratio = rng.uniform(0.2, 0.6, k)  # officers per GBP vs the force average
    efficiency = rng.uniform(0.85, 1.15, (n, k))
    cost = budget[:, None] * share[None, :] * efficiency
    demand = budget[:, None] * share[None, :] * rng.uniform(0.95, 1.05, (n, k)) / UNIT
    fn_officers = (officers / budget)[:, None] * cost * officer_ratio[None, :] * \
        rng.uniform(0.8, 1.2, (n, k))
    transition = cost * rng.uniform(0.05, 0.12, (n, k))
    mean_cost = cost.mean(axis=0) if n else np.zeros(k)
    variable = UNIT * rng.uniform(0.78, 0.88, k)
    fixed = mean_cost * rng.uniform(0.08, 0.15, k)
    setup = mean_cost * rng.uniform(0.20, 0.40, k)
    travel = UNIT * rng.uniform(0.0001, 0.0004, k)
    rho = (fn_officers / demand).mean(axis=0) * rng.uniform(0.75, 0.95, k) if n else \
        np.zeros(k)
    n_local = int(local_functions)
    local = [LOCAL_CATALOGUE[j] if j < len(LOCAL_CATALOGUE)
             else (f"local_{j + 1}", f"Local function {j + 1}") for j in range(n_local)]
    local_cost = budget * (1.0 - share.sum()) / max(1, n_local)

    # What each force could save by sharing each function with its best single partner
    # (a unit of two at either HQ, fixed and set-up costs split by demand): targets are
    # a fraction of that, so a force is never asked for more than it could save alone
    # with one partner within its floor; floors leave room for part of the officers
    # such sharing would cost.
    dlat = np.radians(lat[:, None] - lat[None, :])
    dlon = np.radians(lon[:, None] - lon[None, :])
    a = np.sin(dlat / 2) ** 2 + np.cos(np.radians(lat))[:, None] * \
        np.cos(np.radians(lat))[None, :] * np.sin(dlon / 2) ** 2
    dist = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    reach = max_distance_km if max_distance_km is not None else np.inf
    partner = (dist <= reach) & ~np.eye(n, dtype=bool)
    if max_members is not None and max_members < 2 or min_members > 2:
        partner[:] = False  # no unit of two: no estimate, no targets
    alpha = sum((1 + discount_rate) ** -y for y in range(1, horizon_years + 1))
    value = np.zeros((n, k))  # best horizon saving of force i from function s, >= 0
    for s in range(k):
        d = demand[:, s]
        frac = d[:, None] / (d[:, None] + d[None, :])  # i's share of a pair's fixed costs
        shared_fixed = (alpha * fixed[s] + setup[s]) * frac
        base = alpha * (cost[:, s] - variable[s] * d) - transition[:, s]
        here = base[:, None] - shared_fixed  # hosted at i's HQ: no travel for i
        there = here - alpha * travel[s] * d[:, None] * dist  # hosted at the partner's HQ
        best = np.where(partner, np.maximum(here, there), -np.inf)
        value[:, s] = np.maximum(0.0, best.max(axis=1)) if n > 1 else 0.0
    delta = fn_officers - rho[None, :] * demand  # frontline change when i shares s
    loss = -np.minimum(0.0, np.where(value > 0, delta, 0.0))  # officers lost per function
    allowed = loss.sum(axis=1) * rng.uniform(0.3, 0.8, n)
    floor = np.maximum(0.0, frontline - allowed)
    # reachable within the floor: every function that costs no officers, then the
    # others by value per officer lost while the allowance lasts
    potential = np.zeros(n)
    for i in range(n):
        used = 0.0
        for s in sorted(range(k), key=lambda s: -value[i, s] / max(loss[i, s], 1e-12)):
            if value[i, s] > 0 and used + loss[i, s] <= allowed[i] + 1e-9:
                used += loss[i, s]
                potential[i] += value[i, s]
    target = potential * rng.uniform(*target_range, n)

    force_list = []
    for i in range(n):
        f = {"id": fids[i], "name": f"Synthetic force {i + 1}",
             "region": f"Region {region[i] + 1}", "lat": round(float(lat[i]), 4),
             "lon": round(float(lon[i]), 4), "budget_gbp": _money(budget[i]),
             "officers_fte": round(float(officers[i]), 1),
             "frontline_officers_fte": round(float(frontline[i]), 1)}
        if floors:
            # rounded down, so rounding never tightens the floor
            f["frontline_floor_fte"] = min(float(np.floor(floor[i] * 10)) / 10,
                                           f["frontline_officers_fte"])
        if targets and potential[i] > 0:
            f["savings_target_gbp"] = _money(target[i])
        force_list.append(f)

    fn_list = []
    for s, (sid, sname, _) in enumerate(cat):
        fn_list.append({
            "id": sid, "name": sname, "shareable": True,
            "variable_cost_gbp_per_unit": _money(variable[s]),
            "travel_cost_gbp_per_unit_km": round(float(travel[s]), 2),
            "officers_per_unit": round(float(rho[s]), 4),
            "unit_fixed_cost_gbp": _money(fixed[s]),
            "unit_setup_cost_gbp": _money(setup[s]),
            "min_members": int(min_members),
            "max_members": None if max_members is None else int(max_members),
        })
    for sid, sname in local:
        fn_list.append({"id": sid, "name": sname, "shareable": False})

    costs = []
    for i in range(n):
        for s in range(k):
            costs.append({"force": fids[i], "function": cat[s][0],
                          "standalone_cost_gbp": _money(cost[i, s]),
                          "demand": round(float(demand[i, s]), 4),
                          "officers_fte": round(float(fn_officers[i, s]), 2),
                          "transition_cost_gbp": _money(transition[i, s])})
        for sid, _ in local:
            costs.append({"force": fids[i], "function": sid,
                          "standalone_cost_gbp": _money(local_cost[i])})

    policy: dict = {}
    if max_distance_km is not None and k > 0:
        # one entry per function: the schema's key type (Id) does not accept "*" today
        policy["max_distance_km"] = {sid: float(max_distance_km) for sid, _, _ in cat}
    return {
        "name": name or f"synthetic-{n}x{k}-seed{seed}",
        "description": (f"Synthetic police instance: {n} forces, {k} shareable and {n_local} "
                        f"local functions, seed {seed} (shareplan.generate). All figures "
                        "are invented."),
        "horizon_years": int(horizon_years),
        "discount_rate": float(discount_rate),
        "allocation": allocation,
        "forces": force_list,
        "functions": fn_list,
        "sites": [{"id": f"{fid}_hq", "name": f"HQ of synthetic force {i + 1}",
                   "owner": fid, "lat": force_list[i]["lat"], "lon": force_list[i]["lon"]}
                  for i, fid in enumerate(fids)],
        "costs": costs,
        "policy": policy,
        "sources": ["synthetic: shareplan.generate.generate_instance "
                    f"(forces={n}, functions={k}, seed={seed})"],
    }
