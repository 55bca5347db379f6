"""Who pays what: the cost-sharing game of an instance, and every split of a plan checked.

The game (players: forces). The value ``v(S)`` of a coalition S is the most its
members save over the horizon by sharing only among themselves:

    v(S) = sum_i baseline_i - min { sum_i plan_i(x) : x a plan of the *coalition
           instance* of S }

The coalition instance is the instance with, for every force outside S, an opt-out
of every shareable function it is not already sharing (so it runs each one alone and
its plan cost is its baseline); every existing unit kept exactly as it is (members and
host fixed, ``reoptimisable`` treated as false: a coalition cannot rearrange what
outsiders already share); no savings target (per force or aggregate: the value is what
S can save, the targets are checked on the split); no must-share rule (a rule for the
whole plan, not for a coalition alone); the objective least cost; everything else
(frontline floors, capacities, distances, regions, forbidden partners) as given.
The total cost does not depend on the allocation rule, so neither does v(S).

What is split is the plan's total savings ``V = sum_i Savings_i`` (the plan solved
with the instance's own targets and rules unless given). Every allocation is a vector
of savings ``x`` with ``x(N) = V``; a force's charge is ``baseline_i - x_i`` (horizon
cost, the baseline under the instance's rule). ``v(N)`` from the game is reported
beside V: a plan held back by targets can save less than the grand coalition could.

- rule splits (demand, equal, key): the plan's units, their fixed and set-up costs
  shared by each rule, recomputed by the independent checker;
- the Shapley value, the nucleolus and a least-core point of the game with ``v(N) = V``.

Every allocation is checked: individually rational (``x_i >= v({i})``), in the core
(``x(S) >= v(S)`` for every S; otherwise the coalition that would do best alone and by
how much), and each force's target ``x_i >= T_i``.

Exact or not. Forces that can never share with each other (see
:mod:`shareplan.solver.components`, e.g. regions under a same-region rule) make
independent games: each is solved on its own (``v`` is additive across them, so the
Shapley value is exact for the whole; the core and nucleolus are per group, each
group splitting its own savings). A group of at most ``max_exact`` forces gets every
coalition value solved (in parallel on the sweep machinery, cached in a journal so no
value is solved twice and a killed run resumes). A larger group gets the Shapley value
from sampled random orders (with a confidence interval), and the least core,
nucleolus and core checks by row generation: a separation MIP (the sharing model with
a binary ``w_i`` per force: ``x_a <= w_i`` for every arc that is not the status quo)
finds the coalition with the least satisfaction ``x(S) - v(S)`` instead of listing
``2^n`` coalitions. A coalition value that is not a proven optimum is a lower bound
on v(S); the report lists them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..models.instance import Instance
from ..models.load import InstanceError, Problem, instance_from_data
from ..solver.core import SolveOptions, Status
from . import game

RULES = ("demand", "equal", "key")
GAME_ALLOCATIONS = ("shapley", "nucleolus", "least_core")
#: Groups of at most this many forces get every coalition value solved.
MAX_EXACT = 12
#: Money below this is rounding (plans keep pennies; the checker allows 2p per figure).
MONEY_TOL = 1.0


class SharesError(InstanceError):
    """An instance (or a coalition of it) that gives no game; the message names the fix."""


# ------------------------------------------------------------------ the game's instances ---

def game_base(inst: Instance) -> Instance:
    """The instance every coalition value starts from (see the module docstring)."""
    problems = [Problem(f"functions[{k}].standalone_allowed",
                        "false: a coalition's value needs every force outside it to run "
                        "this function alone; the sharing game is not defined")
                for k, fn in enumerate(inst.functions)
                if fn.shareable and not fn.standalone_allowed]
    if problems:
        raise SharesError(problems, inst.name)
    data = inst.model_dump(mode="json")
    for f in data["forces"]:
        f["savings_target_gbp"] = None
    for e in data["existing"]:
        e["reoptimisable"] = False
    data["policy"]["must_share"] = []
    data["objective"] = {"sense": "min_cost", "aggregate_savings_target_gbp": None}
    return instance_from_data(data, inst.name)


def groups_of(base: Instance) -> list[Instance]:
    """The independent games: one sub-instance per group of forces that can share."""
    from ..models.network import build_network
    from ..solver.components import split_instance

    return split_instance(base, build_network(base)) or [base]


def coalition_assign(data: dict, members: set[str]) -> tuple:
    """The sweep edit that makes the coalition instance of ``members`` from the base data:
    every outsider opts out of each shareable function it does not already share."""
    shareable = [fn["id"] for fn in data["functions"] if fn.get("shareable", True)]
    sharing = {(m, e["function"]) for e in data.get("existing", []) for m in e["members"]}
    opt_outs = list(data.get("policy", {}).get("opt_outs", []))
    have = {(r["force"], r["function"]) for r in opt_outs}
    for f in data["forces"]:
        if f["id"] in members:
            continue
        for s in shareable:
            if (f["id"], s) not in sharing and (f["id"], s) not in have:
                opt_outs.append({"force": f["id"], "function": s,
                                 "note": "outside the coalition"})
    return ((("policy", "opt_outs"), opt_outs),)


def _digest(data: dict) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "shareplan" / "shares" / "coalitions"


@dataclass
class CoalitionValue:
    value: float  # v(S), GBP over the horizon
    proven: bool  # a proven optimum (else a lower bound)
    status: str
    gap: float | None


@dataclass
class Group:
    """One independent game: its forces and every coalition value solved so far."""

    inst: Instance
    data: dict
    digest: str
    forces: list[str]
    values: dict[int, CoalitionValue] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.forces)

    @property
    def grand(self) -> int:
        return (1 << self.n) - 1

    def names(self, mask: int) -> list[str]:
        return [self.forces[i] for i in game.members(mask, self.n)]


@dataclass
class Solver:
    """Solves coalition values on the sweep machinery; the journal is the cache."""

    backend: str
    options: SolveOptions
    cache: Path
    workers: int | None = None
    scheduler: str | None = None
    quiet: bool = True
    solved: int = 0  # coalition solves run in this session
    reused: int = 0  # found in the cache
    wall_s: float = 0.0

    def values(self, group: Group, masks) -> None:
        """Make sure group.values holds every mask (solving the missing ones at once)."""
        from ..sweep.runner import Job, run_sweep
        from ..sweep.spec import Scenario

        todo = sorted({m for m in masks if m not in group.values})
        if not todo:
            return
        job = Job(data=group.data, digest=group.digest, source=group.inst.name,
                  backend=self.backend, options=self.options)
        scenarios = [Scenario(k + 1, {"coalition": "+".join(group.names(m))},
                              coalition_assign(group.data, set(group.names(m))))
                     for k, m in enumerate(todo)]
        outcome = run_sweep(job, scenarios, str(self.cache), workers=self.workers,
                            scheduler=self.scheduler, quiet=self.quiet)
        self.solved += outcome.ran
        self.reused += outcome.reused
        self.wall_s += outcome.wall_s
        by_index = {sc.index: res for sc, res in outcome.results}
        failed = []
        for k, m in enumerate(todo):
            res = by_index.get(k + 1)
            if res is None or res["status"] not in ("optimal", "feasible"):
                failed.append((m, res))
                continue
            group.values[m] = CoalitionValue(
                value=float(sum(v for v in res["savings_gbp"].values() if v is not None)),
                proven=res["status"] == "optimal", status=res["status"], gap=res.get("gap"))
        if outcome.interrupted:
            raise KeyboardInterrupt
        if failed:
            m, res = failed[0]
            why = "not run" if res is None else (res.get("error") or res.get("message")
                                                  or res["status"])
            raise SharesError([Problem(
                "coalition " + "+".join(group.names(m)),
                f"its value could not be solved ({res['status'] if res else 'missing'}: "
                f"{why}); {len(failed)} coalition(s) failed. Every coalition must have a "
                "plan with its outsiders alone and the existing units held as they are "
                "(check floors above the status quo and existing units that break a rule)")],
                group.inst.name)


def make_groups(inst: Instance) -> list[Group]:
    out = []
    for part in groups_of(game_base(inst)):
        data = part.model_dump(mode="json")
        out.append(Group(part, data, _digest(data), [f.id for f in part.forces]))
    return out


# ------------------------------------------------------------------ separation MIP ---

class Separation:
    """min over coalitions S (proper, non-empty, not excluded) of x(S) - v(S), as one MIP.

    The sharing model of the group's base instance (least cost, no targets) with a
    binary w_i per force, cost ``c'z + c0`` over the model's columns z::

        min  c'z + c0 + sum_i x_i w_i - sum_i baseline_i
        s.t. the sharing model's rows,
             z_a <= w_i          for every arc a of force i that is not the status quo,
             1 <= sum_i w_i <= n - 1,
             sum_{i in E} w_i - sum_{i not in E} w_i <= |E| - 1   for each excluded E.

    For fixed w = 1_S the inner minimum is ``sum baseline - v(S)``, so the optimum is
    the least satisfaction; the coalition found is then valued by its own (cached)
    coalition solve so that every value used is the same as enumeration's. Before the
    MIP, the coalitions already solved and those one force away from the three least
    satisfied of them are tried (solved in parallel): any of them below the level asked
    for is a valid answer, so the MIP runs only when they all pass, and proves it.
    """

    def __init__(self, group: Group, solver: Solver):
        from ..models.network import build_network
        from ..solver.formulation import build_formulation

        self.group, self.solver = group, solver
        form = build_formulation(build_network(group.inst))
        lp, n = form.lp, group.n
        self.lp, self.n = lp, n
        # (x columns, their forces) of every arc that is not the status quo
        self.links = [(xcols[fd.status_quo < 0.5], fd.arc_force[fd.status_quo < 0.5])
                      for fd, xcols in zip(form.net.functions, form.x)]
        self.calls = 0  # separation MIPs solved
        self.cached = 0  # answers found among the values already solved
        self.mip_s = 0.0

    def _least_known(self, x: np.ndarray, excluded: set[int]):
        """(satisfaction, mask, v, proven) of the least satisfied coalition solved so far."""
        known = [(m, cv) for m, cv in self.group.values.items()
                 if m != self.group.grand and m not in excluded]
        if not known:
            return None
        sat = [float(x[game.members(m, self.n)].sum()) - cv.value for m, cv in known]
        k = int(np.argmin(sat))
        return sat[k], known[k][0], known[k][1].value, known[k][1].proven

    def _neighbours(self, x: np.ndarray, excluded: set[int], best: int = 3) -> set[int]:
        """Coalitions one force away from the ``best`` least satisfied ones solved so far
        (a cheap search, solved in parallel, before the MIP is asked)."""
        known = sorted((float(x[game.members(m, self.n)].sum()) - cv.value, m)
                       for m, cv in self.group.values.items() if m != self.group.grand)
        out = set()
        for _, m in known[:best]:
            for i in range(self.n):
                other = m ^ (1 << i)
                if 0 < other < self.group.grand and other not in excluded:
                    out.add(other)
        return out

    def _programme(self, x: np.ndarray, excluded: set[int]):
        import scipy.sparse as sp

        from ..solver.lp import Block

        lp, n = self.lp, self.n
        w0 = lp.n_cols
        r, c, v = [], [], []
        k = 0
        for xc, force in self.links:
            for col, i in zip(xc, force):
                r += [k, k]
                c += [int(col), w0 + int(i)]
                v += [1.0, -1.0]
                k += 1
        lo = [-np.inf] * k
        hi = [0.0] * k
        r += [k] * n
        c += [w0 + i for i in range(n)]
        v += [1.0] * n
        lo.append(1.0)
        hi.append(n - 1.0)
        k += 1
        for mask in sorted(excluded):
            inside = game.members(mask, n)
            for i in range(n):
                r.append(k)
                c.append(w0 + i)
                v.append(1.0 if i in inside else -1.0)
            lo.append(-np.inf)
            hi.append(len(inside) - 1.0)
            k += 1
        extra = sp.csr_matrix((v, (r, c)), shape=(k, w0 + n))
        A = sp.vstack([sp.hstack([lp.A, sp.csr_matrix((lp.n_rows, n))]), extra]).tocsr()
        labels = [(f,) for f in self.group.forces]
        return replace(
            lp, lb=np.append(lp.lb, np.zeros(n)), ub=np.append(lp.ub, np.ones(n)),
            integer=np.append(lp.integer, np.ones(n, dtype=bool)),
            obj=np.append(lp.obj, x), A=A, row_lo=np.append(lp.row_lo, lo),
            row_hi=np.append(lp.row_hi, hi),
            col_blocks=[*lp.col_blocks, Block("member", w0, labels)],
            row_blocks=[*lp.row_blocks, Block("coalition", lp.n_rows,
                                              [(str(j),) for j in range(k)])])

    def __call__(self, x: np.ndarray, excluded: set[int], below: float = -math.inf):
        """(mask, v(mask), proven) of a coalition less satisfied than ``below`` among the
        values already solved or one force away from the least satisfied of them (no MIP
        needed), else of the least satisfied coalition by the MIP; None if none is left."""
        from ..solver.programme import solve_programme

        excluded = {m for m in excluded if m != self.group.grand}
        for search in (False, True):
            if search and math.isfinite(below):  # one force in or out of the least satisfied
                self.solver.values(self.group, self._neighbours(x, excluded))
            found = self._least_known(x, excluded)
            if found is not None and found[0] < below:
                self.cached += 1
                return found[1:]
        if len(excluded) >= (1 << self.n) - 2:
            return None
        self.calls += 1
        t0 = time.perf_counter()
        res = solve_programme(self._programme(x, excluded), self.solver.backend,
                              self.solver.options)
        self.mip_s += time.perf_counter() - t0
        if res.status is Status.INFEASIBLE:
            return None
        if res.x is None:
            raise SharesError([Problem("separation", f"the separation MIP found no solution "
                                       f"({res.status.value}: {res.message})")],
                              self.group.inst.name)
        w = np.round(res.x[self.lp.n_cols:]).astype(int)
        mask = game.mask_of([i for i in range(self.n) if w[i]])
        self.solver.values(self.group, [mask])
        cv = self.group.values[mask]
        return mask, cv.value, cv.proven and res.status is Status.OPTIMAL


# ------------------------------------------------------------------ allocations ---

@dataclass
class Allocation:
    name: str  # demand | equal | key | shapley | nucleolus | least_core
    savings: dict[str, float]  # force -> x_i (GBP over the horizon)
    charge: dict[str, float]  # force -> baseline_i - x_i
    note: str = ""
    half_width: dict[str, float] | None = None  # sampled Shapley: confidence half-width
    individually_rational: bool | None = None
    in_core: bool | None = None
    blocking: list[str] = field(default_factory=list)  # the coalition best off alone
    blocking_gain_gbp: float = 0.0  # how much more it would save alone
    worst_force: str = ""
    worst_force_gain_gbp: float = 0.0
    targets_met: dict[str, bool | None] = field(default_factory=dict)
    check_exact: bool = True  # core check over every coalition with proven values


@dataclass
class GroupReport:
    forces: list[str]
    exact: bool  # every coalition enumerated
    coalitions_solved: int
    unproven: list[list[str]]  # coalitions whose value is only a lower bound
    v_grand: float  # v(N) of the group (best plan without targets)
    plan_total: float  # V: what the plan saves in this group
    least_core_eps: float
    core_empty: bool
    shapley_samples: int | None = None
    confidence: float | None = None
    rowgen: dict = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)  # small groups: "a+b" -> v


@dataclass
class SharesReport:
    instance: str
    horizon_years: int
    discount_rate: float
    rule: str  # the instance's allocation rule
    plan_status: str
    plan_source: str
    forces: list[str]
    names: dict[str, str]
    baseline: dict[str, float]
    targets: dict[str, float | None]
    allocations: list[Allocation]
    groups: list[GroupReport]
    solves: dict
    split: dict | None = None  # --plan-rule: the split the planner asked for

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {"figures": "GBP over the horizon: present values at the instance's discount "
                           "rate, as every plan counts them (each unit from its go-live, "
                           "one-offs in the year they fall)", **asdict(self)}


def rule_splits(inst: Instance, plan: dict) -> dict[str, dict[str, tuple[float, float]]]:
    """rule -> force -> (baseline, savings) of the plan's units with that rule's shares
    (recomputed by the independent checker); a rule the instance cannot express is left
    out with its reason under key ``"_why"``."""
    from ..solver.checker import recompute

    out: dict = {}
    for rule in RULES:
        try:
            data = inst.model_dump(mode="json")
            data["allocation"] = rule
            variant = instance_from_data(data, inst.name)
        except InstanceError as exc:
            out.setdefault("_why", {})[rule] = "; ".join(p.message for p in exc.problems[:1])
            continue
        figs = recompute(variant, plan)["forces"]
        out[rule] = {f: (v["baseline_gbp"], v["savings_gbp"]) for f, v in figs.items()}
    return out


def _check(alloc: Allocation, group_checks: list[tuple[Group, game.CoreCheck, bool]]) -> None:
    ir, core, exact = True, True, True
    worst_gain, worst_f_gain = -math.inf, -math.inf
    for g, chk, ok in group_checks:
        exact &= ok
        ir &= chk.individually_rational
        core &= chk.in_core
        if chk.shortfall > worst_gain:
            worst_gain = chk.shortfall
            alloc.blocking = g.names(chk.worst)
        if chk.single_shortfall > worst_f_gain:
            worst_f_gain = chk.single_shortfall
            alloc.worst_force = g.names(chk.worst_single)[0] if chk.worst_single else ""
    alloc.individually_rational, alloc.in_core, alloc.check_exact = ir, core, exact
    alloc.blocking_gain_gbp = max(0.0, worst_gain)
    alloc.worst_force_gain_gbp = max(0.0, worst_f_gain)
    if core:
        alloc.blocking = []


def _group_check(g: Group, x: np.ndarray, sep: Separation | None) -> tuple[game.CoreCheck, bool]:
    """Core check of x (savings of the group's forces in group order); exact over all
    coalitions for an enumerated group, by one separation MIP (and the singletons) else."""
    vals = {m: cv.value for m, cv in g.values.items() if m != g.grand}
    proven = all(cv.proven for m, cv in g.values.items())
    if sep is not None:
        found = sep(x, set())
        if found is not None:
            vals[found[0]] = found[1]
            proven &= found[2]
    return game.core_check(g.n, vals, x, MONEY_TOL), proven


def analyse(inst: Instance, plan: dict, solver: Solver, *, max_exact: int = MAX_EXACT,
            samples: int = 64, seed: int = 0, plan_source: str = "solved",
            plan_rule: str | None = None) -> SharesReport:
    """Every split of ``plan`` with its checks (see the module docstring)."""
    forces = [f.id for f in inst.forces]
    rules = rule_splits(inst, plan)
    own = rules[inst.allocation]
    baseline = {f: round(own[f][0], 2) for f in forces}
    targets = {f.id: f.savings_target_gbp for f in inst.forces}
    allocs: dict[str, dict[str, float]] = {r: {f: s for f, (_, s) in rules[r].items()}
                                           for r in RULES if r in rules}
    game_x: dict[str, dict[str, float]] = {a: {} for a in GAME_ALLOCATIONS}
    half: dict[str, float] = {}
    reports, checks_by_group = [], []
    split_x: dict[str, float] = {}
    split_info: dict = {}
    for g in make_groups(inst):
        plan_total = sum(own[f][1] for f in g.forces)
        if g.n == 1:
            solver.values(g, [1])
            for a in GAME_ALLOCATIONS:
                game_x[a][g.forces[0]] = plan_total
            reports.append(GroupReport(g.forces, True, 1, [] if g.values[1].proven else
                                       [g.forces], g.values[1].value, plan_total, math.inf,
                                       False))
            checks_by_group.append((g, None))
            split_x[g.forces[0]] = plan_total
            continue
        exact = g.n <= max_exact
        sep = None
        if exact:
            solver.values(g, range(1, 1 << g.n))
            table = game.full_table(g.n, {m: cv.value for m, cv in g.values.items()})
            v_grand = table[-1]
            table[-1] = plan_total
            phi = game.shapley(g.n, table)
            eps, lc = game.least_core(g.n, table)
            nuc = game.nucleolus(g.n, table).x
            rep = GroupReport(g.forces, True, len(g.values), [], v_grand, plan_total, eps,
                              eps < -MONEY_TOL)
            if g.n <= 6:
                rep.values = {"+".join(g.names(m)): round(cv.value, 2)
                              for m, cv in sorted(g.values.items())}
        else:
            rep, phi, lc, nuc, sep = _large_group(g, solver, plan_total, samples, seed)
            for i, f in enumerate(g.forces):
                half[f] = float(rep.rowgen["shapley_half_width"][i])
        rep.unproven = [g.names(m) for m, cv in sorted(g.values.items()) if not cv.proven]
        for a, x in zip(GAME_ALLOCATIONS, (phi, nuc, lc)):
            for i, f in enumerate(g.forces):
                game_x[a][f] = float(x[i])
        if plan_rule:
            sx, info = _planner_split(g, inst, plan_total, plan_rule, sep)
            split_x.update({f: float(sx[i]) for i, f in enumerate(g.forces)} if sx is not None
                           else {})
            split_info["+".join(g.forces)] = info
        reports.append(rep)
        checks_by_group.append((g, sep))
    allocs.update(game_x)
    out = []
    notes = {"demand": "fixed and set-up costs shared by demand", "equal": "shared equally",
             "key": "shared by allocation key (budget if no key)",
             "shapley": "exact" if all(r.exact for r in reports) else
             "sampled orders; +- is the confidence half-width",
             "nucleolus": "over the imputations where they exist",
             "least_core": "one point of the least core (the LP's vertex)"}
    for name, x in allocs.items():
        out.append(_allocation(name, x, forces, baseline, targets, checks_by_group,
                               notes.get(name, ""), half if name == "shapley" and half else None))
    for name, why in rules.get("_why", {}).items():
        out.append(Allocation(name, {}, {}, note=f"not available: {why}"))
    split = None
    if plan_rule:
        split = {"rule": plan_rule, "groups": split_info}
        if len(split_x) == len(forces):
            a = _allocation(f"plan_rule_{plan_rule}", split_x, forces, baseline, targets,
                            checks_by_group, "", None)
            split["allocation"] = a
    return SharesReport(
        inst.name, inst.horizon_years, inst.discount_rate, inst.allocation,
        str(plan.get("status")), plan_source, forces,
        {f.id: f.name or f.id for f in inst.forces}, baseline, targets, out, reports,
        {"coalition_solves": solver.solved, "from_cache": solver.reused,
         "coalition_wall_s": round(solver.wall_s, 3), "backend": solver.backend,
         "cache": str(solver.cache)}, split)


def _allocation(name, x, forces, baseline, targets, checks_by_group, note, half) -> Allocation:
    alloc = Allocation(name, {f: round(x[f], 2) for f in forces},
                       {f: round(baseline[f] - x[f], 2) for f in forces}, note=note,
                       half_width=half)
    group_checks = []
    for g, sep in checks_by_group:
        if g.n == 1:
            continue
        xv = np.array([x[f] for f in g.forces])
        chk, ok = _group_check(g, xv, sep)
        group_checks.append((g, chk, ok))
    for g, _ in checks_by_group:
        if g.n == 1:  # a lone force: rational iff it saves at least v({i})
            f = g.forces[0]
            gain = g.values[1].value - x[f]
            group_checks.append((g, game.CoreCheck(gain <= MONEY_TOL, gain <= MONEY_TOL, 1,
                                                   gain, 1, gain), g.values[1].proven))
    _check(alloc, group_checks)
    alloc.targets_met = {f: (None if targets[f] is None else x[f] >= targets[f] - MONEY_TOL)
                         for f in forces}
    return alloc


def _large_group(g: Group, solver: Solver, plan_total: float, samples: int, seed: int):
    """Sampled Shapley and row-generation least core and nucleolus for a large group."""
    sep = Separation(g, solver)
    singles = [1 << i for i in range(g.n)]
    solver.values(g, [*singles, g.grand])
    orders = game.sample_orders(g.n, samples, seed)
    need = game.prefix_masks(orders)
    solver.values(g, need)

    def value(mask: int) -> float:
        return plan_total if mask == g.grand else g.values[mask].value

    sh = game.shapley_from_orders(g.n, orders, value)
    start = {m: cv.value for m, cv in g.values.items() if m != g.grand}
    t0 = time.perf_counter()
    lc = game.least_core_rowgen(g.n, plan_total, sep, start)
    lc_s = time.perf_counter() - t0
    lower = game.imputation_floor(g.n, [g.values[m].value for m in singles], plan_total)
    t0 = time.perf_counter()
    nuc = game.nucleolus_rowgen(g.n, plan_total, sep, dict(lc.coalitions), lower)
    nuc_s = time.perf_counter() - t0
    rep = GroupReport(g.forces, False, len(g.values), [], g.values[g.grand].value, plan_total,
                      lc.eps, lc.eps < -MONEY_TOL, samples, sh.confidence)
    rep.rowgen = {"least_core_rounds": lc.iterations, "least_core_rows": len(lc.coalitions),
                  "least_core_s": round(lc_s, 2), "nucleolus_rounds": nuc.iterations,
                  "nucleolus_rows": len(nuc.coalitions), "nucleolus_s": round(nuc_s, 2),
                  "separation_mips": sep.calls, "separation_s": round(sep.mip_s, 2),
                  "separation_from_cache": sep.cached,
                  "separation_proven": lc.proven and nuc.proven,
                  "shapley_half_width": [round(float(h), 2) for h in sh.half_width]}
    return rep, sh.value, lc.x, nuc.x, sep


def _planner_split(g: Group, inst: Instance, plan_total: float, rule: str,
                   sep: Separation | None) -> tuple[np.ndarray | None, dict]:
    """The split the planner asks for: the nucleolus of the group's game over the splits
    that meet every force's target (``x_i >= max(T_i, v({i}))``); its first stage is the
    least core with the targets, so ``eps >= 0`` means a core split meeting every target.

    Exact (given proven values): v(S) for S != N does not depend on the plan and the
    plan with the most savings is the least-cost plan without targets, so a split in the
    core meeting the targets exists for some plan iff it exists for that plan.
    """
    tgt = {f.id: f.savings_target_gbp or 0.0 for f in inst.forces}
    singles = np.array([g.values[1 << i].value for i in range(g.n)])
    lower = np.maximum(singles, [tgt[f] for f in g.forces])
    info = {"total_gbp": round(plan_total, 2), "targets_gbp": round(float(lower.sum()), 2)}
    if lower.sum() > plan_total + MONEY_TOL:
        info["verdict"] = (f"no split of these forces' savings ({plan_total:,.0f}) can give "
                           f"every force its target and what it saves alone "
                           f"({lower.sum():,.0f})")
        return None, info
    if sep is None:
        table = game.full_table(g.n, {m: cv.value for m, cv in g.values.items()})
        table[-1] = plan_total
        nuc = game.nucleolus(g.n, table, floor=lower)
        res, eps = nuc.x, nuc.levels[0]
    else:
        rg = game.nucleolus_rowgen(g.n, plan_total, sep,
                                   {m: cv.value for m, cv in g.values.items()
                                    if m != g.grand}, lower)
        res, eps = rg.x, (rg.levels[0] if rg.levels else math.inf)
    info["eps_gbp"] = round(eps, 2)
    info["verdict"] = ("in the core, every target met" if eps >= -MONEY_TOL else
                       f"no split meets every target inside the core: some coalition "
                       f"is short by {-eps:,.0f}; this is the least-core split with targets")
    info["exact"] = sep is None and all(cv.proven for cv in g.values.values())
    if rule == "core" and eps < -MONEY_TOL:
        return None, info
    return res, info
