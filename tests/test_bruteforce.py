"""Brute force against the solvers on small seeded random instances.

An independent enumerator, written from docs/model.md sections 3 to 5 with plain scalar code
on the instance dict (it imports nothing from shareplan): for each shareable
function, every assignment of each force to 'standalone' or a host site; keep the
assignments that respect the per-function rules (assignment, host membership,
unit size, capacity, unit count, existing units, policy); combine functions and
keep the combinations that meet the per-force savings targets, the aggregate
target and the frontline floors; the least total horizon cost is the optimum.

Costs, per force i and function s (alpha = sum_{k=1..Y} (1+r)^-k):
  alone:          alpha c_si
  in unit s at h: alpha c_si + A_run (v_s d_si + a_sih) - A_live c_si + B t'_si
                  + (A_run F_sh + B G'_sh) k_i / sum_{j in unit} k_j
where a_sih is the explicit arc cost or tau_s d_si dist_ih (none when s is jointly
managed; dist to the nearest site of a multi-site unit, whose F adds each site's
cost), t' and G' are 0 where an existing unit already sits (sunk), t' adds the
relocation cost when s is co-located and i owns none of the unit's sites, and k is
d (demand), 1 (equal) or the key. Timing, per host: go-live g, paid from
p = max(1, g - D), one-offs at q (default p), all 1 at an existing unit;
A(t) = sum_k (1+r)^-k min(1, max(0, k + 1 - t)), A_run = A(p), A_live = A(g),
B = (1+r)^-(q - 1).
baseline_i is the same sum for the status quo (existing units as listed).

Divisible functions (a few seeds, no targets, floors, capacities or partner
rules) have an integral optimum once the open units are chosen: each force takes
its cheapest open option. So they are enumerated over the sets of open units.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import random
import time

import numpy as np
import pytest
from helpers import BACKENDS, solve, status

from shareplan.models.load import instance_from_data
from shareplan.models.network import build_network
from shareplan.solver import formulation
from shareplan.solver.formulation import build_formulation

SEEDS = range(150)
EARTH_RADIUS_KM = 6371.0088


# ---------------------------------------------------------------- random instances


def make_instance(seed: int) -> dict:
    """A small random instance; every tenth seed (9, 19, ...) has a divisible function."""
    rng = random.Random(seed)
    divisible_mode = seed % 10 == 9
    nf = rng.randint(2, 4)
    forces = []
    for k in range(nf):
        forces.append({
            "id": f"F{k}", "region": rng.choice(["east", "west"]),
            "lat": round(rng.uniform(51.6, 52.6), 4), "lon": round(rng.uniform(-1.0, 1.0), 4),
            "allocation_key": round(rng.uniform(1, 5), 3),
            "frontline_officers_fte": round(rng.uniform(50, 150), 2),
        })
    fids = [f["id"] for f in forces]
    sites = []
    for k in range(rng.randint(1, 3)):
        owner = rng.choice(fids) if rng.random() < 0.65 else None
        site = {"id": f"h{k}"}
        if owner and owner not in [s.get("owner") for s in sites]:
            site["owner"] = owner
            f = forces[fids.index(owner)]
            site.update(lat=f["lat"], lon=f["lon"])
        else:
            site.update(lat=round(rng.uniform(51.6, 52.6), 4),
                        lon=round(rng.uniform(-1.0, 1.0), 4))
            if rng.random() < 0.7:
                site["region"] = rng.choice(["east", "west"])
        sites.append(site)
    site_ids = [s["id"] for s in sites]
    extra = random.Random(seed * 7919 + 1)  # the timing/mechanism draws: other draws unchanged

    functions, costs = [], []
    n_share = rng.randint(1, 2)
    for k in range(n_share):
        sid = f"s{k}"
        fn = {
            "id": sid,
            "variable_cost_gbp_per_unit": round(rng.uniform(0.2, 0.8), 3),
            "unit_fixed_cost_gbp": round(rng.uniform(10, 140), 2),
            "unit_setup_cost_gbp": round(rng.choice([0, rng.uniform(0, 150)]), 2),
        }
        divisible = divisible_mode and k == 0
        if rng.random() < 0.3:
            fn["travel_cost_gbp_per_unit_km"] = round(rng.uniform(0.0005, 0.003), 5)
        if rng.random() < 0.6:
            fn["officers_per_unit"] = round(rng.uniform(0.0, 0.06), 4)
        if divisible:
            fn.update(divisible=True, min_members=1)
        else:
            fn["min_members"] = rng.choice([2, 2, 2, 1, 3])
            if rng.random() < 0.3:
                fn["max_members"] = max(fn["min_members"], rng.choice([2, 3]))
            if rng.random() < 0.35:
                fn["unit_capacity"] = round(rng.uniform(100, 350), 1)
        if rng.random() < 0.3:
            fn["max_units"] = rng.choice([0, 1, 1, 2])
        if rng.random() < 0.06:
            fn["standalone_allowed"] = False
        if rng.random() < 0.2:
            fn["host_must_be_member"] = False
        if rng.random() < 0.35:  # own host list with overrides, maybe a subset
            chosen = [h for h in site_ids if rng.random() < 0.8] or [site_ids[0]]
            hosts = []
            for h in chosen:
                spec = {"site": h}
                if rng.random() < 0.5:
                    spec["fixed_cost_gbp"] = round(rng.uniform(10, 140), 2)
                if rng.random() < 0.3:
                    spec["setup_cost_gbp"] = round(rng.uniform(0, 150), 2)
                if rng.random() < 0.3 and not divisible:
                    spec["capacity"] = round(rng.uniform(100, 350), 1)
                hosts.append(spec)
            fn["hosts"] = hosts
        host_ids = [h["site"] for h in fn["hosts"]] if "hosts" in fn else site_ids
        if rng.random() < 0.25:
            fn["arc_cost_gbp"] = {
                f: {h: round(rng.uniform(0, 30), 2) for h in host_ids if rng.random() < 0.5}
                for f in fids if rng.random() < 0.6}
        _timing_and_mechanism(extra, fn, site_ids)
        functions.append(fn)
        for f in fids:
            c = round(rng.uniform(50, 150), 2)
            row = {"force": f, "function": sid, "standalone_cost_gbp": c,
                   "officers_fte": round(rng.uniform(0, 5), 2)}
            if rng.random() < 0.5:
                row["demand"] = round(rng.uniform(30, 150), 2)
            if rng.random() < 0.5:
                row["transition_cost_gbp"] = round(rng.uniform(0, 40), 2)
            if extra.random() < 0.4 and fn.get("mechanism") != "jointly_managed":
                row["relocation_cost_gbp"] = round(extra.uniform(0, 60), 2)
            if extra.random() < 0.4:
                row["staff_fte"] = round(extra.uniform(0, 6), 2)
            costs.append(row)
    functions.append({"id": "loc", "shareable": False})
    for f in fids:
        costs.append({"force": f, "function": "loc",
                      "standalone_cost_gbp": round(rng.uniform(500, 1500), 2)})

    data = {
        "name": f"random{seed}", "horizon_years": rng.randint(1, 6),
        "discount_rate": rng.choice([0.0, 0.035, 0.1]),
        "allocation": rng.choice(["demand", "equal", "key"]),
        "forces": forces, "functions": functions, "sites": sites, "costs": costs,
    }
    shareable = [fn["id"] for fn in functions if fn.get("shareable", True)]
    nondiv = [fn["id"] for fn in functions if fn.get("shareable", True)
              and not fn.get("divisible")]

    policy: dict = {}
    opt_outs = {(f, s) for f in fids for s in shareable if rng.random() < 0.12}
    if opt_outs:
        policy["opt_outs"] = [{"force": f, "function": s} for f, s in sorted(opt_outs)]
    must = {(f, s) for f in fids for s in shareable
            if rng.random() < 0.04 and (f, s) not in opt_outs}
    if must:
        policy["must_share"] = [{"force": f, "function": s} for f, s in sorted(must)]
    if not divisible_mode and rng.random() < 0.3:
        a, b = rng.sample(fids, 2)
        pair: dict = {"forces": [a, b]}
        if len(nondiv) > 1 and rng.random() < 0.5:
            pair["functions"] = [rng.choice(nondiv)]
        policy["forbidden_partners"] = [pair]
    if rng.random() < 0.25:
        policy["max_distance_km"] = {rng.choice(shareable): round(rng.uniform(40, 120), 1)}
    if rng.random() < 0.2:
        policy["same_region"] = [rng.choice(shareable)]
    if policy:
        data["policy"] = policy

    # an existing unit whose every member may be served there under the policy
    if not divisible_mode and rng.random() < 0.35:
        s = rng.choice(nondiv)
        fn = next(x for x in functions if x["id"] == s)
        host_ids = [h["site"] for h in fn["hosts"]] if "hosts" in fn else site_ids
        h = rng.choice(host_ids)
        owner = next(x for x in sites if x["id"] == h).get("owner")
        others = [f for f in fids if f != owner]
        lo = max(2, fn.get("min_members", 2))
        size = min(nf, rng.randint(lo, max(lo, fn.get("max_members") or 3)))
        if owner and fn.get("host_must_be_member", True):
            chosen = [owner, *rng.sample(others, size - 1)]
        else:
            chosen = rng.sample(fids, size)
        ok = all(_policy_allows(data, s, f, h) for f in chosen)
        # a fixed unit must meet the unit rules (refused at load otherwise): one that holds
        # forbidden partners or more than max_members is made re-optimisable
        misfit = len(chosen) > (fn.get("max_members") or nf) or any(
            {p["forces"][0], p["forces"][1]} <= set(chosen) and s in p.get("functions", [s])
            for p in policy.get("forbidden_partners", []))
        if ok:
            data["existing"] = [{"function": s, "site": h, "members": sorted(chosen),
                                 "reoptimisable": rng.random() < 0.5 or misfit}]

    alpha = annuity(data["horizon_years"], data["discount_rate"])
    # targets and floors near what the least-cost plan without them gives: one force gets a
    # rule that the free optimum breaks (so it binds), the others rules it meets
    free = enumerate_optimum(data, details=True) if not divisible_mode else None
    if free is not None and free[0] == "optimal" and rng.random() < 0.7:
        savings, frontline = free[3], free[4]
        tight = [(i, "target") for i in range(nf) if savings[i] < -0.01]
        tight += [(i, "floor") for i in range(nf)
                  if frontline[i] < forces[i]["frontline_officers_fte"] - 0.01]
        tight = rng.choice(tight) if tight else (rng.randrange(nf), "target")
        use_targets = tight[1] == "target" or rng.random() < 0.5
        use_floors = tight[1] == "floor" or rng.random() < 0.5
        for i, f in enumerate(forces):
            L = f["frontline_officers_fte"]
            if use_targets and (tight == (i, "target") or rng.random() < 0.5):
                if tight == (i, "target"):  # 0 if f loses money in the free optimum
                    target = max(0.0, savings[i] * rng.uniform(1.0, 1.2))
                else:
                    target = max(0.0, savings[i] * rng.uniform(0.0, 0.9))
                f["savings_target_gbp"] = round(target, 2)
            if use_floors and (tight == (i, "floor") or rng.random() < 0.5):
                if tight == (i, "floor"):  # between the free optimum and L
                    floor = frontline[i] + rng.uniform(0.0, L - frontline[i])
                else:
                    floor = min(L, frontline[i]) - rng.uniform(0.0, 3.0)
                f["frontline_floor_fte"] = round(max(0.0, floor), 2)
    elif not divisible_mode and rng.random() < 0.5:  # targets and floors at random
        for f in forces:
            if rng.random() < 0.4:
                own = sum(c["standalone_cost_gbp"] for c in costs
                          if c["force"] == f["id"] and c["function"] != "loc")
                target = rng.choice([0.0, 0.0, rng.uniform(0, 0.05)]) * alpha * own
                f["savings_target_gbp"] = round(target, 2)
            if rng.random() < 0.5:
                f["frontline_floor_fte"] = round(f["frontline_officers_fte"]
                                                 - rng.uniform(0, 6), 2)
    if not divisible_mode and rng.random() < 0.1:
        total = sum(c["standalone_cost_gbp"] for c in costs if c["function"] != "loc")
        data["objective"] = {"aggregate_savings_target_gbp":
                             round(rng.uniform(0, 0.04) * alpha * total, 2)}
    return data


# ---------------------------------------------------------------- the enumerator


def _timing_and_mechanism(rng: random.Random, fn: dict, site_ids: list[str]) -> None:
    """Go-live, dual running, one-off timing, jointly managed, multi-site hosts (at random)."""
    if rng.random() < 0.5:
        fn["go_live_year"] = rng.choice([1.0, 1.5, 2.0, 2.67, 3.0, 4.0])
    if rng.random() < 0.3:
        fn["dual_running_years"] = rng.choice([0.5, 1.0, 2.0])
    if rng.random() < 0.25:
        fn["one_off_year"] = rng.choice([1.0, 1.4, 2.0, 3.0])
    if rng.random() < 0.3 and not fn.get("travel_cost_gbp_per_unit_km") \
            and not fn.get("arc_cost_gbp"):
        fn["mechanism"] = "jointly_managed"
    if rng.random() < 0.3:
        fn["staff_per_unit"] = round(rng.uniform(0.0, 0.05), 4)
    for spec in fn.get("hosts", []):
        if rng.random() < 0.3:
            spec["go_live_year"] = rng.choice([1.0, 2.0, 3.5])
        others = [h for h in site_ids if h != spec["site"]]
        if others and rng.random() < 0.3:
            spec["also_sites"] = [{"site": rng.choice(others),
                                   "fixed_cost_gbp": round(rng.uniform(0, 60), 2)}]


def annuity(years: int, rate: float) -> float:
    return sum((1.0 + rate) ** -k for k in range(1, years + 1))


def from_point(years: int, rate: float, start: float) -> float:
    """A(t) = sum_{k=1..Y} (1+r)^-k min(1, max(0, k + 1 - t)): the horizon from t on."""
    return sum((1.0 + rate) ** -k * min(1.0, max(0.0, k + 1 - start))
               for k in range(1, years + 1))


def unit_sites(spec: dict) -> list[str]:
    """The sites a unit runs from: its site, then any further sites."""
    return [spec["site"]] + [x["site"] for x in spec.get("also_sites", [])]


def _spec(data: dict, s: str, h: str) -> dict:
    fn = next(x for x in data["functions"] if x["id"] == s)
    return next((sp for sp in fn.get("hosts") or [] if sp["site"] == h), {"site": h})


def nearest_km(data: dict, force: dict, s: str, h: str) -> float:
    """Distance from the force to the nearest site of the unit of s at h."""
    sites = {x["id"]: x for x in data["sites"]}
    return min(distance_km(force, sites[x]) for x in unit_sites(_spec(data, s, h)))


def distance_km(a: dict, b: dict) -> float:
    """Great-circle distance between two {lat, lon} dicts (haversine)."""
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dp = p2 - p1
    dl = math.radians(b["lon"] - a["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _policy_allows(data: dict, s: str, f: str, h: str) -> bool:
    """Opt-outs, maximum distance and same-region rules for force f served for s at h."""
    policy = data.get("policy", {})
    if any(r["force"] == f and r["function"] == s for r in policy.get("opt_outs", [])):
        return False
    force = next(x for x in data["forces"] if x["id"] == f)
    site = next(x for x in data["sites"] if x["id"] == h)
    limits = policy.get("max_distance_km", {})
    limit = limits.get(s, limits.get("*"))
    fn = next(x for x in data["functions"] if x["id"] == s)
    co_located = fn.get("mechanism", "co_located") == "co_located"
    if limit is not None and co_located and nearest_km(data, force, s, h) > limit:
        return False
    if s in policy.get("same_region", []):
        owner = site.get("owner")
        region = site.get("region") or (
            next(x for x in data["forces"] if x["id"] == owner)["region"] if owner else None)
        if force["region"] != region:
            return False
    return True


class Function:
    """Everything about one shareable function that the enumeration needs, by force index."""

    def __init__(self, data: dict, fn: dict, alpha: float):
        fids = [f["id"] for f in data["forces"]]
        s = fn["id"]
        self.id = s
        self.n = len(fids)
        rows = {c["force"]: c for c in data["costs"] if c["function"] == s}
        self.c = [rows[f]["standalone_cost_gbp"] for f in fids]
        self.d = [rows[f].get("demand", rows[f]["standalone_cost_gbp"]) for f in fids]
        self.o = [rows[f].get("officers_fte", 0.0) for f in fids]
        self.t = [rows[f].get("transition_cost_gbp", 0.0) for f in fids]
        rule = data.get("allocation", "demand")
        self.k = (self.d if rule == "demand" else [1.0] * self.n if rule == "equal"
                  else [f.get("allocation_key", f.get("budget_gbp")) for f in data["forces"]])
        self.divisible = fn.get("divisible", False)
        self.min_m = fn.get("min_members", 2)
        self.max_m = fn.get("max_members")
        self.max_units = fn.get("max_units")
        self.standalone = fn.get("standalone_allowed", True)
        self.host_member = fn.get("host_must_be_member", True)
        rho = fn.get("officers_per_unit", 0.0)
        self.delta = [self.o[i] - rho * self.d[i] for i in range(self.n)]
        specs = fn["hosts"] if fn.get("hosts") is not None else [
            {"site": h["id"]} for h in data["sites"]]
        sites = {h["id"]: h for h in data["sites"]}
        self.hosts = [sp["site"] for sp in specs]

        def pick(spec, key, default):
            return spec[key] if spec.get(key) is not None else default

        F = [pick(sp, "fixed_cost_gbp", fn.get("unit_fixed_cost_gbp", 0.0))
             + sum(x["fixed_cost_gbp"] for x in sp.get("also_sites", [])) for sp in specs]
        G = [pick(sp, "setup_cost_gbp", fn.get("unit_setup_cost_gbp", 0.0)) for sp in specs]
        self.K = [pick(sp, "capacity", fn.get("unit_capacity")) for sp in specs]
        self.owner = [fids.index(sites[h]["owner"]) if sites[h].get("owner") else None
                      for h in self.hosts]
        # existing unit(s) of this function: host index -> (members, reoptimisable)
        self.existing = {}
        for e in data.get("existing", []):
            if e["function"] == s:
                self.existing[self.hosts.index(e["site"])] = (
                    {fids.index(m) for m in e["members"]}, e.get("reoptimisable", False))
        for h in self.existing:
            G[h] = 0.0  # sunk
        Y, r = data["horizon_years"], data["discount_rate"]
        a_run, a_live, b = [], [], []
        for h, sp in enumerate(specs):
            g = 1.0 if h in self.existing else pick(sp, "go_live_year", fn.get("go_live_year", 1.0))
            p = 1.0 if h in self.existing else max(1.0, g - fn.get("dual_running_years", 0.0))
            q = p if fn.get("one_off_year") is None or h in self.existing else fn["one_off_year"]
            a_run.append(from_point(Y, r, p))
            a_live.append(from_point(Y, r, g))
            b.append((1.0 + r) ** -(q - 1.0))
        self.C = [a_run[h] * F[h] + b[h] * G[h] for h in range(len(self.hosts))]
        co_located = fn.get("mechanism", "co_located") == "co_located"
        reloc = [rows[f].get("relocation_cost_gbp", 0.0) for f in fids]
        v = fn.get("variable_cost_gbp_per_unit", 0.0)
        tau = fn.get("travel_cost_gbp_per_unit_km", 0.0)
        arcs = fn.get("arc_cost_gbp") or {}
        policy = data.get("policy", {})
        self.must = {fids.index(r["force"]) for r in policy.get("must_share", [])
                     if r["function"] == s}
        self.forbidden = [(fids.index(p["forces"][0]), fids.index(p["forces"][1]))
                          for p in policy.get("forbidden_partners", [])
                          if p.get("functions") is None or s in p["functions"]]
        # cost of force i in a unit at h, apart from its share of C_h; None = no arc
        self.arc = [[None] * len(self.hosts) for _ in range(self.n)]
        for i, f in enumerate(fids):
            for h, hid in enumerate(self.hosts):
                member = h in self.existing and i in self.existing[h][0]
                if not member and not _policy_allows(data, s, f, hid):
                    continue  # listed members of an existing unit keep their arc
                if (not member and not self.divisible and self.K[h] is not None
                        and self.d[i] > self.K[h]):
                    continue
                explicit = arcs.get(f, {}).get(hid)
                if not co_located:
                    annual = v * self.d[i]
                elif explicit is not None:
                    annual = v * self.d[i] + explicit
                else:
                    annual = v * self.d[i] + tau * self.d[i] * min(
                        distance_km(data["forces"][i], sites[x]) for x in unit_sites(specs[h]))
                owns = any(sites[x].get("owner") == f for x in unit_sites(specs[h]))
                one_off = self.t[i] + (reloc[i] if co_located and not owns else 0.0)
                self.arc[i][h] = (alpha * self.c[i] + a_run[h] * annual - a_live[h] * self.c[i]
                                  + (0.0 if member else b[h] * one_off))
        self.alpha = alpha
        self.status_quo = [None] * self.n
        for h, (mem, _) in self.existing.items():
            for i in mem:
                self.status_quo[i] = h

    def options(self, i: int) -> list:
        """None (alone) and every host i may be served from."""
        alone = [None] if self.standalone and i not in self.must else []
        return alone + [h for h in range(len(self.hosts)) if self.arc[i][h] is not None]

    def feasible(self, assign) -> bool:
        """The per-function rules for a whole-force assignment (tuple: host or None)."""
        units: dict[int, list[int]] = {}
        for i, h in enumerate(assign):
            if h is not None:
                units.setdefault(h, []).append(i)
        if self.max_units is not None and len(units) > self.max_units:
            return False
        for h, mem in units.items():
            if len(mem) < self.min_m or (self.max_m is not None and len(mem) > self.max_m):
                return False
            if self.K[h] is not None and sum(self.d[i] for i in mem) > self.K[h] + 1e-9:
                return False
            if self.host_member and self.owner[h] is not None and self.owner[h] not in mem:
                return False
        for h, (mem, reopt) in self.existing.items():
            if not reopt and set(units.get(h, [])) != mem:
                return False
        for i, j in self.forbidden:
            if assign[i] is not None and assign[i] == assign[j]:
                return False
        return True

    def costs(self, assign) -> list[float]:
        """Per-force horizon cost of this function under a whole-force assignment."""
        out = [self.alpha * self.c[i] for i in range(self.n)]
        keys: dict[int, float] = {}
        for i, h in enumerate(assign):
            if h is not None:
                keys[h] = keys.get(h, 0.0) + self.k[i]
        for i, h in enumerate(assign):
            if h is not None:
                out[i] = self.arc[i][h] + self.C[h] * self.k[i] / keys[h]
        return out

    def officers(self, assign) -> list[float]:
        """Officers returned to the frontline against the status quo."""
        return [self.delta[i] * ((assign[i] is not None) - (self.status_quo[i] is not None))
                for i in range(self.n)]

    def candidates(self):
        """(assignment, per-force costs, per-force officer change) of every feasible choice."""
        if self.divisible:
            yield from self._divisible_candidates()
            return
        for assign in itertools.product(*(self.options(i) for i in range(self.n))):
            if self.feasible(assign):
                yield assign, self.costs(assign), self.officers(assign)

    def _divisible_candidates(self):
        """Per set of open units: owners at their own sites, everyone else at its cheapest."""
        H = len(self.hosts)
        for r in range(H + 1):
            if self.max_units is not None and r > self.max_units:
                break
            for open_ in itertools.combinations(range(H), r):
                fixed: dict[int, int] = {}
                ok = True
                for h in open_:
                    o = self.owner[h]
                    if self.host_member and o is not None:
                        if o in fixed or self.arc[o][h] is None:
                            ok = False
                        fixed[o] = h
                if not ok:
                    continue
                per_force = []
                for i in range(self.n):
                    if i in fixed:
                        per_force.append(self.arc[i][fixed[i]])
                        continue
                    choices = [self.alpha * self.c[i]] if self.options(i)[:1] == [None] else []
                    choices += [self.arc[i][h] for h in open_ if self.arc[i][h] is not None]
                    if not choices:
                        ok = False
                        break
                    per_force.append(min(choices))
                if ok:  # the fixed charges C_h go to the first force: only totals are compared
                    per_force[0] += sum(self.C[h] for h in open_)
                    yield open_, per_force, [0.0] * self.n


def enumerate_optimum(data: dict, details: bool = False):
    """('optimal', cost, choice) or ('infeasible', None, None) by brute force.

    With ``details``, also the per-force savings and frontline officers of the optimum.
    """
    alpha = annuity(data["horizon_years"], data["discount_rate"])
    fids = [f["id"] for f in data["forces"]]
    n = len(fids)
    local = [0.0] * n
    for c in data["costs"]:
        fn = next(x for x in data["functions"] if x["id"] == c["function"])
        if not fn.get("shareable", True):
            local[fids.index(c["force"])] += alpha * c["standalone_cost_gbp"]
    funcs = [Function(data, fn, alpha) for fn in data["functions"] if fn.get("shareable", True)]
    baseline = np.array(local)
    for fd in funcs:
        baseline += fd.costs(fd.status_quo)
    total_cost = np.array(local)[None, :]
    officers = np.zeros((1, n))
    choices: list[tuple] = [()]
    for fd in funcs:
        cands = list(fd.candidates())
        if not cands:
            return ("infeasible", None, None) + ((None, None) if details else ())
        c = np.array([x[1] for x in cands])
        o = np.array([x[2] for x in cands])
        total_cost = (total_cost[:, None, :] + c[None, :, :]).reshape(-1, n)
        officers = (officers[:, None, :] + o[None, :, :]).reshape(-1, n)
        choices = [(*a, x[0]) for a in choices for x in cands]
    ok = np.ones(len(total_cost), dtype=bool)
    savings = baseline[None, :] - total_cost
    for i, f in enumerate(data["forces"]):
        if f.get("savings_target_gbp") is not None:
            ok &= savings[:, i] >= f["savings_target_gbp"] - 1e-9
        if f.get("frontline_floor_fte") is not None:
            ok &= f["frontline_officers_fte"] + officers[:, i] >= f["frontline_floor_fte"] - 1e-9
    aggregate = data.get("objective", {}).get("aggregate_savings_target_gbp")
    if aggregate is not None:
        ok &= savings.sum(axis=1) >= aggregate - 1e-9
    if not ok.any():
        return ("infeasible", None, None) + ((None, None) if details else ())
    totals = np.where(ok, total_cost.sum(axis=1), np.inf)
    best = int(np.argmin(totals))
    out = ("optimal", float(totals[best]), choices[best])
    if details:
        frontline = [f["frontline_officers_fte"] for f in data["forces"]] + officers[best]
        out += (savings[best], frontline)
    return out


def evaluate_plan(data: dict, plan) -> dict:
    """Per-force figures of a solver's (whole-force) plan, recomputed by the enumerator's code."""
    alpha = annuity(data["horizon_years"], data["discount_rate"])
    fids = [f["id"] for f in data["forces"]]
    funcs = {fn["id"]: Function(data, fn, alpha) for fn in data["functions"]
             if fn.get("shareable", True)}
    assign = {s: [None] * len(fids) for s in funcs}
    for u in plan.units:
        fd = funcs[u.function]
        for m in u.members:
            assert m.fraction == pytest.approx(1.0), (u.function, u.site, m)
            assert assign[u.function][fids.index(m.force)] is None, "force in two units"
            assign[u.function][fids.index(m.force)] = fd.hosts.index(u.site)
    out = {"feasible": True, "plan": np.zeros(len(fids)), "baseline": np.zeros(len(fids)),
           "frontline": np.array([f["frontline_officers_fte"] for f in data["forces"]])}
    for c in data["costs"]:
        if c["function"] not in funcs:
            out["plan"][fids.index(c["force"])] += alpha * c["standalone_cost_gbp"]
            out["baseline"][fids.index(c["force"])] += alpha * c["standalone_cost_gbp"]
    for s, fd in funcs.items():
        a = tuple(assign[s])
        arcs_ok = all(h is None or h in fd.options(i) for i, h in enumerate(a))
        alone_ok = all(h is not None or None in fd.options(i) for i, h in enumerate(a))
        out["feasible"] &= arcs_ok and alone_ok and fd.feasible(a)
        if arcs_ok:
            out["plan"] += fd.costs(a)
            out["baseline"] += fd.costs(fd.status_quo)
            out["frontline"] += fd.officers(a)
    return out


# ---------------------------------------------------------------- the tests


@functools.cache
def case(seed: int) -> tuple[str, tuple]:
    """The instance (as JSON text, so no test can change it) and its enumerated optimum."""
    data = make_instance(seed)
    return json.dumps(data), enumerate_optimum(data)


def _params():
    for seed in SEEDS:
        for backend in BACKENDS:
            yield pytest.param(seed, backend, id=f"{seed}-{backend}")


_ELAPSED: list[float] = []  # seconds spent by each test of this module so far


@pytest.fixture(autouse=True)
def _timed():
    t0 = time.perf_counter()
    yield
    _ELAPSED.append(time.perf_counter() - t0)


@pytest.mark.parametrize(("seed", "backend"), list(_params()))
def test_solvers_match_enumeration(seed, backend):
    text, (want, best, choice) = case(seed)
    data = json.loads(text)
    divisible = any(fn.get("divisible") for fn in data["functions"])
    plan = solve(data, backend)  # helpers.solve also runs the independent checker on the plan
    where = f"{backend}, seed {seed}: {text}"
    assert status(plan) == want, (
        f"{where}\nenumerated {want} {best} {choice}; solver {status(plan)} "
        f"{plan.objective} bound {plan.bound} {plan.message}")
    if want != "optimal":
        return
    assert plan.objective == pytest.approx(best, rel=1e-6, abs=1e-6), (
        f"{where}\nenumerated optimum {best} with {choice}, solver {plan.objective} "
        f"with {[(u.function, u.site, sorted(m.force for m in u.members)) for u in plan.units]}")
    if divisible:
        return
    # the solver's plan, costed by the enumerator's code, is feasible and costs its objective
    got = evaluate_plan(data, plan)
    assert got["feasible"], f"{where}\nplan breaks a rule: {plan.units}"
    assert got["plan"].sum() == pytest.approx(plan.objective, rel=1e-6), where
    for i, f in enumerate(plan.forces):
        assert f.force == data["forces"][i]["id"], where
        assert f.plan_gbp == pytest.approx(got["plan"][i], abs=0.011), (where, f)
        assert f.baseline_gbp == pytest.approx(got["baseline"][i], abs=0.011), (where, f)
        assert f.savings_gbp == pytest.approx(got["baseline"][i] - got["plan"][i],
                                              abs=0.021), (where, f)
        assert f.frontline_fte == pytest.approx(got["frontline"][i], abs=2e-3), (where, f)
        if data["discount_rate"] == 0 and all(fn.get("one_off_year", 1) < data["horizon_years"]
                                              + 1 for fn in data["functions"]):
            # cash years add up to the undiscounted horizon saving (each one-off in its year)
            assert sum(f.yearly_savings_gbp) == pytest.approx(f.savings_gbp, abs=0.05), (
                where, f)


@pytest.mark.skipif(not hasattr(formulation, "MAX_ENUMERATED_SETS"),
                    reason="one allocation representation only")
def test_mccormick_allocation_matches_enumeration(monkeypatch):
    """The McCormick form of the exact allocation (forced) against the enumerator.

    By default small functions write the allocation over enumerated member sets; both
    representations must give the same optimum on every instance (docs/model.md section 5.11).
    """
    monkeypatch.setattr(formulation, "MAX_ENUMERATED_SETS", -1)
    checked, failures = 0, []
    for seed in SEEDS:
        text, (want, best, _) = case(seed)
        data = json.loads(text)
        if not any(f.get("savings_target_gbp") is not None for f in data["forces"]):
            continue
        lp = build_formulation(build_network(instance_from_data(data))).lp
        checked += any(b.family == "allocation_z_sum" for b in lp.row_blocks)
        plan = solve(data, "ortools")
        got = (status(plan), plan.objective)
        if got[0] != want or (want == "optimal" and got[1] != pytest.approx(best, rel=1e-6)):
            failures.append(f"seed {seed}: enumerated {want} {best}, McCormick {got}")
    assert checked >= 20, checked  # instances whose programme has McCormick rows
    assert not failures, "\n".join(failures)


def test_generator_covers_the_options():
    """The seeds exercise every option, and the outcomes are mixed (guards the generator)."""
    seen: dict[str, int] = {}

    def mark(key, cond=True):
        if cond:
            seen[key] = seen.get(key, 0) + 1

    for seed in SEEDS:
        text, (want, best, choice) = case(seed)
        data = json.loads(text)
        mark(want)
        mark(f"allocation {data['allocation']}")
        mark("targets", any("savings_target_gbp" in f for f in data["forces"]))
        mark("floors", any("frontline_floor_fte" in f for f in data["forces"]))
        mark("aggregate", "objective" in data)
        mark("existing fixed", any(not e["reoptimisable"] for e in data.get("existing", [])))
        mark("existing reoptimisable", any(e["reoptimisable"] for e in data.get("existing", [])))
        for key in ("opt_outs", "must_share", "forbidden_partners", "max_distance_km",
                    "same_region"):
            mark(key, key in data.get("policy", {}))
        fns = [fn for fn in data["functions"] if fn.get("shareable", True)]
        mark("capacity", any("unit_capacity" in fn or any("capacity" in h for h in
                                                         fn.get("hosts", [])) for fn in fns))
        mark("max_units", any("max_units" in fn for fn in fns))
        mark("max_members", any("max_members" in fn for fn in fns))
        mark("min_members 1", any(fn.get("min_members") == 1 for fn in fns))
        mark("min_members 3", any(fn.get("min_members") == 3 for fn in fns))
        mark("no standalone", any(fn.get("standalone_allowed") is False for fn in fns))
        mark("divisible", any(fn.get("divisible") for fn in fns))
        mark("two functions", len(fns) == 2)
        mark("ownerless site", any("owner" not in h for h in data["sites"]))
        mark("4 forces", len(data["forces"]) == 4)
        mark("go-live later", any(fn.get("go_live_year", 1) > 1 for fn in fns))
        mark("unit go-live", any("go_live_year" in h for fn in fns for h in fn.get("hosts", [])))
        mark("dual running", any("dual_running_years" in fn for fn in fns))
        mark("one-off year", any("one_off_year" in fn for fn in fns))
        mark("jointly managed", any(fn.get("mechanism") == "jointly_managed" for fn in fns))
        mark("multi-site", any("also_sites" in h for fn in fns for h in fn.get("hosts", [])))
        mark("relocation", any("relocation_cost_gbp" in c for c in data["costs"]))
        if want == "optimal" and not any(fn.get("divisible") for fn in fns):
            mark("some sharing", any(h is not None for a in choice for h in a))
            mark("no sharing", all(h is None for a in choice for h in a))
            # a target or floor that changes the optimum (binds)
            loose = json.loads(text)
            for f in loose["forces"]:
                f.pop("savings_target_gbp", None)
                f.pop("frontline_floor_fte", None)
            loose.pop("objective", None)
            mark("targets or floors bind", enumerate_optimum(loose)[1] < best - 1e-6)
    for key in ["optimal", "infeasible", "allocation demand", "allocation equal",
                "allocation key", "targets", "floors", "aggregate", "existing fixed",
                "existing reoptimisable", "opt_outs", "must_share", "forbidden_partners",
                "max_distance_km", "same_region", "capacity", "max_units", "max_members",
                "min_members 1", "min_members 3", "no standalone", "divisible",
                "two functions", "ownerless site", "4 forces", "some sharing", "no sharing",
                "targets or floors bind", "go-live later", "unit go-live", "dual running",
                "one-off year", "jointly managed", "multi-site", "relocation"]:
        assert seen.get(key, 0) >= 3, (key, seen)
    assert seen["optimal"] >= 0.5 * len(SEEDS), seen
    assert seen["targets or floors bind"] >= 8, seen


def test_runtime_of_this_file():
    """Runs last in the file (pytest keeps definition order): the tests above took < 90 s."""
    elapsed = sum(_ELAPSED)
    assert elapsed < 90, f"brute force took {elapsed:.0f} s; keep it under ~90 s"
