"""Random capacitated facility-location instances for tests and benchmarks.

``cfl_instance`` is an OR-Library-style instance (one function every force must share,
explicit serving costs); ``threshold_instance`` is one at the host-fixing reduction's
real threshold (20,000 arcs, ``solver.reduce.MIN_ARCS``).
"""

from __future__ import annotations

import math
import random


def cfl_instance(n_forces: int = 100, n_sites: int = 30, seed: int = 1,
                 slack: float = 3.0) -> dict:
    """Random capacitated facility location as a shareplan instance.

    Forces and sites are points in a 100 x 100 square; force i has demand d_i in
    5..35 and must be served (standalone_allowed false) by exactly one site
    (divisible false); serving costs d_i x distance / 10 a year (explicit
    arc_cost_gbp), opening a site 600..1000 a year; capacities total ``slack`` x
    the demand, spread evenly. min_members 1: a site may serve a single force.
    """
    rng = random.Random(seed)
    forces = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n_forces)]
    sites = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n_sites)]
    demand = [rng.randint(5, 35) for _ in range(n_forces)]
    per_site = slack * sum(demand) / n_sites
    hosts = [{"site": f"s{j}", "fixed_cost_gbp": float(rng.randint(600, 1000)),
              "capacity": float(round(per_site * rng.uniform(0.8, 1.2)))}
             for j in range(n_sites)]
    arc = {f"f{i}": {f"s{j}": round(demand[i] * math.dist(forces[i], sites[j]) / 10, 2)
                     for j in range(n_sites)} for i in range(n_forces)}
    return {
        "name": f"cfl-{n_forces}x{n_sites}-{seed}", "horizon_years": 1,
        "forces": [{"id": f"f{i}"} for i in range(n_forces)],
        "sites": [{"id": f"s{j}"} for j in range(n_sites)],
        "functions": [{"id": "serve", "divisible": False, "standalone_allowed": False,
                       "min_members": 1, "hosts": hosts, "arc_cost_gbp": arc}],
        "costs": [{"force": f"f{i}", "function": "serve", "standalone_cost_gbp": 1000.0,
                   "demand": float(demand[i])} for i in range(n_forces)],
    }


def threshold_instance(seed: int = 1) -> dict:
    """400 forces x 50 sites, one function every force must share: 20,000 arcs, the
    reduction's real threshold (MIN_ARCS). Opening a site costs 12,000-20,000 a year
    against serving costs of a few hundred, so few open and both solves prove it."""
    data = cfl_instance(n_forces=400, n_sites=50, seed=seed, slack=10.0)
    for host in data["functions"][0]["hosts"]:
        host["fixed_cost_gbp"] *= 20
    return data
