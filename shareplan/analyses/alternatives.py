"""Near-optimal alternatives: distinct sharing plans within a cost slack of the optimum.

Notation of solver/formulation.py. The unit decisions are the binary vector
``z = (x_a for the arcs of whole-force functions, y_sh for every host)``. Two plans
differ when their z differ: some function is shared by other forces or hosted
elsewhere (for a divisible function only which units are open counts, not how demand
splits between them). Rows ``y_sh <= sum_{a at h} x_a`` (a unit is open only with a
member) make z and a plan's units one-to-one.

Slack. The total cost is ``cost(x) = K + c'x``: K is the part no decision changes
(local policing, and every function each force may run alone, at standalone cost),
``c'x`` the part decisions change. With the least cost ``opt`` the budget is

    B = slack * max(1, |opt - K|)   (basis "decisions", the default)
    B = slack * |opt|               (basis "total")

and a plan is near-optimal when ``cost(x) <= opt + B``. On the default basis 1% is 1%
of what the optimum's sharing changes against every force running every function
alone; 1% of the total (mostly local policing) is a far looser budget.

Search (modelling to generate alternatives on integer decisions, cut by cut). With
the plans z^1..z^k found, the Hamming distance to z^j is linear,

    d_j(z) = sum_{q: z^j_q = 0} z_q + sum_{q: z^j_q = 1} (1 - z_q),

and the next plan solves

    max  sum_j d_j(z) - eps (cost(x) - opt)          eps = 1 / (2 max(B, 1))
    s.t. the model's rows,  cost(x) <= opt + B,  d_j(z) >= 1 for every j (no-good cuts)

so it is as far as possible from all plans so far; the cost term, worth less than one
decision, picks the cheapest of equally distant plans. When this programme is
infeasible every distinct plan within the slack has been found. A direction (fewest
or most units at a site or force, the most even spread of hosted units across forces,
the plan closest to a given one) is optimised first; a second solve with the
direction held at its best value then maximises the diversity objective above.
Which decisions are firm and which open over the plans found: :mod:`.firm_open`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from ..analysis import diff_plans
from ..models.instance import Instance
from ..models.load import InstanceError, Problem, instance_digest
from ..models.network import build_network
from ..solver.backends import DEFAULT_BACKEND, get_backend
from ..solver.core import BackendResult, SolveOptions, Status, relative_gap
from ..solver.formulation import Formulation, build_formulation
from ..solver.guard import VIOLATION_TOLERANCE
from ..solver.lp import Block, LinearProgram
from ..solver.plan import Plan, clean_solution, read_solution
from ..solver.programme import solve_programme
from ..text import money
from .firm_open import FunctionSummary, summarise

SLACK_BASES = ("decisions", "total")
DIRECTIONS = ("diverse", "fewest_units", "most_units", "even_spread", "closest")

#: How the search ended.
COMPLETE = "complete"  # the next search proved no other distinct plan within the slack
REACHED_N = "reached_n"  # n plans found; more may exist
TIME_LIMIT = "time_limit"  # the shared time limit ran out first
UNPROVEN = "unproven"  # no further plan found, and the solver cannot prove there is none
SOLVER_ERROR = "error"  # a solver failed or returned a plan the checks refuse
NO_OPTIMUM = "no_optimum"  # no least-cost plan, so no alternatives

#: Relative gap on the diversity objective (its value is a count of decisions): a plan
#: within it of the most diverse one is accepted without proof.
DIVERSITY_GAP = 1e-2


@dataclass(frozen=True)
class Direction:
    """What to optimise before diversity. ``kind`` is one of DIRECTIONS; ``target`` a
    site or force id (fewest_units, most_units); ``reference`` a plan dict (closest)."""

    kind: str = "diverse"
    target: str | None = None
    reference: dict | None = None

    def describe(self) -> str:
        return {"diverse": "as different as possible from each other",
                "fewest_units": f"fewest shared units at {self.target}",
                "most_units": f"most shared units at {self.target}",
                "even_spread": "the most even spread of hosted units across forces",
                "closest": "closest to the given plan"}[self.kind]


@dataclass
class Alternative:
    """One plan within the slack (rank 0: the least-cost plan itself)."""

    rank: int
    plan: Plan
    extra_gbp: float  # cost(x) - opt, over the horizon
    extra_by_force: dict[str, float]  # plan_i - plan_i(optimum)
    changes: list[str]  # what differs from the optimum, as `solve diff` says it
    distance: int  # unit decisions (entries of z) that differ from the optimum's
    direction_value: float | None
    note: str
    meets_constraints: bool = True  # keeps every --keep-local rule
    pattern: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    x: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def as_dict(self) -> dict:
        return {"rank": self.rank, "objective": self.plan.objective,
                "extra_gbp": round(self.extra_gbp, 2),
                "extra_by_force_gbp": {k: round(v, 2) for k, v in self.extra_by_force.items()},
                "distance_from_optimum": self.distance, "direction_value": self.direction_value,
                "note": self.note, "meets_constraints": self.meets_constraints,
                "changes_from_optimum": self.changes,
                "forces": [{"force": f.force, "name": f.name, "savings_gbp": f.savings_gbp,
                            "target_gbp": f.target_gbp, "frontline_fte": f.frontline_fte,
                            "floor_fte": f.floor_fte} for f in self.plan.forces],
                "plan": self.plan.to_dict()}


@dataclass
class AlternativesResult:
    instance_name: str
    backend: str
    slack: float
    basis: str
    direction: Direction
    keep_local: list[str]
    optimum_status: Status
    optimum_gbp: float | None
    bound_gbp: float | None
    fixed_gbp: float  # K: the part of the cost no decision changes
    budget_gbp: float | None  # B
    horizon_years: int
    search: str
    message: str
    alternatives: list[Alternative] = field(default_factory=list)
    summary: list[FunctionSummary] = field(default_factory=list)
    times: dict = field(default_factory=dict)

    @property
    def cap_gbp(self) -> float | None:
        return None if self.optimum_gbp is None else self.optimum_gbp + self.budget_gbp

    def scope(self) -> str:
        """Which plans the firm/open summary speaks for."""
        pct = _pct(self.slack)
        if self.search == COMPLETE:
            return f"in every plan within {pct} (all {self.n_summarised} of them found)"
        return (f"in the {self.n_summarised} plans found (the search stopped before "
                f"finding every plan within {pct}; others may differ)")

    @property
    def n_summarised(self) -> int:
        return sum(a.meets_constraints for a in self.alternatives)

    def as_dict(self) -> dict:
        return {"instance_name": self.instance_name, "backend": self.backend,
                "slack": self.slack, "slack_basis": self.basis,
                "direction": {"kind": self.direction.kind, "target": self.direction.target},
                "keep_local": self.keep_local, "optimum_status": self.optimum_status.value,
                "optimum_gbp": self.optimum_gbp, "bound_gbp": self.bound_gbp,
                "fixed_gbp": self.fixed_gbp, "budget_gbp": self.budget_gbp,
                "cap_gbp": self.cap_gbp, "horizon_years": self.horizon_years,
                "money": f"GBP over {self.horizon_years} years: present values at the "
                         "instance's discount rate, as every plan counts them (each unit from "
                         "its go-live, one-offs in the year they fall)",
                "search": self.search, "message": self.message, "scope": self.scope(),
                "alternatives": [a.as_dict() for a in self.alternatives],
                "summary": [{"function": s.function, "firm": s.firm, "text": s.text,
                             "arrangements": s.arrangements, "forces": s.forces}
                            for s in self.summary],
                "times": self.times}


# ---------------------------------------------------------------- the programme


def _stack_rows(lp: LinearProgram, family: str, M: sp.spmatrix, lo, hi, labels
                ) -> LinearProgram:
    """lp plus the rows lo <= M x <= hi (M has lp.n_cols columns)."""
    block = Block(family, lp.n_rows, list(labels))
    m = M.shape[0]
    return replace(lp, A=sp.vstack([lp.A, sp.csr_matrix(M)]).tocsr(),
                   row_lo=np.append(lp.row_lo, np.broadcast_to(np.asarray(lo, float), (m,))),
                   row_hi=np.append(lp.row_hi, np.broadcast_to(np.asarray(hi, float), (m,))),
                   row_blocks=[*lp.row_blocks, block])


def _add_columns(lp: LinearProgram, family: str, labels, lb, ub, integer: bool
                 ) -> LinearProgram:
    """lp with len(labels) new columns (no terms in any row yet, cost 0)."""
    m = len(labels)
    A = sp.hstack([lp.A, sp.csr_matrix((lp.n_rows, m))]).tocsr()
    return replace(lp, A=A, lb=np.append(lp.lb, np.broadcast_to(np.asarray(lb, float), (m,))),
                   ub=np.append(lp.ub, np.broadcast_to(np.asarray(ub, float), (m,))),
                   integer=np.append(lp.integer, np.full(m, integer)),
                   obj=np.append(lp.obj, np.zeros(m)),
                   col_blocks=[*lp.col_blocks, Block(family, lp.n_cols, list(labels))])


def _row(n: int, cols, vals) -> sp.csr_matrix:
    cols = np.asarray(cols, np.int64)
    return sp.csr_matrix((np.broadcast_to(np.asarray(vals, float), cols.shape),
                          (np.zeros(len(cols), np.int64), cols)), shape=(1, n))


@dataclass
class UnitDecisions:
    """The binary vector z of unit decisions: its columns and what each one means."""

    cols: np.ndarray
    labels: list[tuple]  # ("x", function, force, site) or ("y", function, site)

    @classmethod
    def of(cls, form: Formulation) -> UnitDecisions:
        net = form.net
        cols, labels = [], []
        for fd, x, y in zip(net.functions, form.x, form.y):
            sid = fd.fn.id
            if not fd.fn.divisible:
                cols.append(x)
                labels += [("x", sid, net.force_ids[i], fd.hosts[h])
                           for i, h in zip(fd.arc_force, fd.arc_host)]
            cols.append(y)
            labels += [("y", sid, h) for h in fd.hosts]
        return cls(np.concatenate(cols) if cols else np.zeros(0, np.int64), labels)

    def pattern(self, x: np.ndarray) -> np.ndarray:
        return (x[self.cols] > 0.5).astype(np.int8)

    def distance_terms(self, pattern: np.ndarray) -> tuple[np.ndarray, float]:
        """(w, w0) with d(z) = w'z + w0 the Hamming distance to ``pattern``."""
        return 1.0 - 2.0 * pattern, float(pattern.sum())

    def pattern_of_plan(self, plan: dict, form: Formulation, source: str) -> np.ndarray:
        """z of a plan file's units; a unit this instance cannot have is an error."""
        index = {lab: k for k, lab in enumerate(self.labels)}
        divisible = {fd.fn.id for fd in form.net.functions if fd.fn.divisible}
        z = np.zeros(len(self.labels), np.int8)
        problems = []
        for u, unit in enumerate(plan.get("units", [])):
            s, h = unit.get("function"), unit.get("site")
            if ("y", s, h) not in index:
                problems.append(Problem(f"units[{u}]", f"no unit of '{s}' can sit at '{h}' in "
                                        "this instance; is the plan from another instance?"))
                continue
            z[index[("y", s, h)]] = 1
            for m in unit.get("members", []) if s not in divisible else []:
                key = ("x", s, m.get("force"), h)
                if key not in index:
                    problems.append(Problem(f"units[{u}].members", f"'{m.get('force')}' cannot "
                                            f"be served for '{s}' at '{h}' in this instance"))
                else:
                    z[index[key]] = 1
        if problems:
            raise InstanceError(problems, source, "reference plan")
        return z


def occupied_units(form: Formulation) -> LinearProgram:
    """The model plus  y_sh - sum_{a at h} x_a <= 0  for every host with arcs."""
    lp = form.lp
    rows, cols, vals, labels = [], [], [], []
    for fd, x, y in zip(form.net.functions, form.x, form.y):
        for h in np.unique(fd.arc_host):
            r = len(labels)
            at = x[fd.arc_host == h]
            rows += [r] * (len(at) + 1)
            cols += [int(y[h]), *at.tolist()]
            vals += [1.0] + [-1.0] * len(at)
            labels.append((fd.fn.id, fd.hosts[h]))
    if not labels:
        return lp
    M = sp.csr_matrix((vals, (rows, cols)), shape=(len(labels), lp.n_cols))
    return _stack_rows(lp, "occupied", M, -np.inf, 0.0, labels)


def _local_columns(form: Formulation, keep_local: list[str]) -> np.ndarray:
    """x columns that ``--keep-local FUNCTION[:FORCE]`` rules set to 0."""
    net = form.net
    by_id = {fd.fn.id: (fd, x) for fd, x in zip(net.functions, form.x)}
    local_ids = {f.id for f in net.inst.functions if not f.shareable}
    cols, problems = [], []
    for rule in keep_local:
        sid, _, fid = rule.partition(":")
        if sid in local_ids:
            continue  # never shared anyway
        if sid not in by_id:
            problems.append(Problem("--keep-local", f"'{sid}' is not a function of this "
                                    f"instance; choose from {', '.join(sorted(by_id))}"))
            continue
        fd, x = by_id[sid]
        sel = np.ones(len(x), bool)
        if fid:
            if fid not in net.force_ids:
                problems.append(Problem("--keep-local", f"'{fid}' is not a force; choose "
                                        f"from {', '.join(net.force_ids)}"))
                continue
            sel = fd.arc_force == net.force_ids.index(fid)
        fixed = sel & (form.lp.lb[x] > 0.5)
        if fixed.any():
            problems.append(Problem("--keep-local", f"'{rule}' breaks the existing {sid} unit "
                                    "fixed in place by the instance; mark it reoptimisable"))
        cols.append(x[sel])
    if problems:
        raise InstanceError(problems, net.inst.name, "request")
    return np.concatenate(cols) if cols else np.zeros(0, np.int64)


def _sites_of(form: Formulation, target: str) -> set[str]:
    """A site id, or a force id standing for the sites it owns."""
    inst = form.net.inst
    site_ids = {s.id for s in inst.sites}
    if target in site_ids:
        return {target}
    owned = {s.id for s in inst.sites if s.owner == target}
    if target in {f.id for f in inst.forces}:
        if not owned:
            raise InstanceError([Problem("--fewest-units-at/--most-units-at",
                                         f"force '{target}' owns no site")], inst.name, "request")
        return owned
    raise InstanceError([Problem("--fewest-units-at/--most-units-at", f"'{target}' is neither "
                                 "a site nor a force of this instance")], inst.name, "request")


def _direction_programme(lp: LinearProgram, form: Formulation, dec: UnitDecisions,
                         direction: Direction, source: str):
    """(lp with the direction as its objective, True when it is maximised, a function
    giving the new programme's columns from a solution x of lp)."""
    n = lp.n_cols
    if direction.kind in ("fewest_units", "most_units"):
        sites = _sites_of(form, direction.target)
        vec = np.zeros(n)
        for fd, y in zip(form.net.functions, form.y):
            vec[[c for c, h in zip(y, fd.hosts) if h in sites]] = 1.0
        most = direction.kind == "most_units"
        return replace(lp, obj=vec, obj_offset=0.0, maximize=most), most, _same
    if direction.kind == "closest":
        w, w0 = dec.distance_terms(dec.pattern_of_plan(direction.reference, form, source))
        vec = np.zeros(n)
        vec[dec.cols] = w
        return replace(lp, obj=vec, obj_offset=w0, maximize=False), False, _same
    # even spread: hosted_f = sum of y at sites f owns;  t_max >= hosted_f >= t_min
    inst = form.net.inst
    owner = {s.id: s.owner for s in inst.sites if s.owner}
    hosting = sorted({owner[h] for fd in form.net.functions for h in fd.hosts if h in owner})
    if len(hosting) < 2:
        raise InstanceError([Problem("--even-spread", "fewer than two forces own candidate "
                                     "host sites; there is nothing to spread")], inst.name,
                            "request")
    lp = _add_columns(lp, "spread", [("max",), ("min",)], 0.0, np.inf, True)
    t_max, t_min = n, n + 1
    rows, cols, vals = [], [], []
    for r, f in enumerate(hosting):
        ys = [c for fd, y in zip(form.net.functions, form.y)
              for c, h in zip(y, fd.hosts) if owner.get(h) == f]
        rows += [2 * r] * (len(ys) + 1) + [2 * r + 1] * (len(ys) + 1)
        cols += [t_max, *ys, t_min, *ys]
        vals += [1.0] + [-1.0] * len(ys) + [-1.0] + [1.0] * len(ys)
    M = sp.csr_matrix((vals, (rows, cols)), shape=(2 * len(hosting), lp.n_cols))
    lp = _stack_rows(lp, "spread", M, 0.0, np.inf,
                     [(f, b) for f in hosting for b in ("max", "min")])
    vec = np.zeros(lp.n_cols)
    vec[[t_max, t_min]] = [1.0, -1.0]

    def extend(x: np.ndarray) -> np.ndarray:
        full = np.append(x, [0.0, 0.0])
        hosted = -(M[0::2] @ full)
        full[[t_max, t_min]] = [hosted.max(), hosted.min()]
        return full

    return replace(lp, obj=vec, obj_offset=0.0, maximize=False), False, extend


def _same(x: np.ndarray) -> np.ndarray:
    return x


def independent_blocks(lp: LinearProgram) -> list[np.ndarray]:
    """Column sets no row joins (groups of forces that can never share), largest first."""
    from scipy.sparse.csgraph import connected_components

    m, n = lp.A.shape  # rows and columns as the nodes of one graph, linked by nonzeros
    coo = lp.A.tocoo()
    graph = sp.csr_matrix((np.ones(coo.nnz), (coo.row, m + coo.col)), shape=(m + n, m + n))
    _, label = connected_components(graph, directed=False)
    label = label[m:]
    blocks = [np.nonzero(label == k)[0] for k in np.unique(label)]
    return sorted(blocks, key=len, reverse=True)


def _block(lp: LinearProgram, cols: np.ndarray) -> LinearProgram:
    """The rows and columns of one independent block, objective offset 0."""
    rows = np.unique(lp.A[:, cols].nonzero()[0])
    return replace(lp, A=lp.A[rows][:, cols].tocsr(), lb=lp.lb[cols], ub=lp.ub[cols],
                   integer=lp.integer[cols], obj=lp.obj[cols], obj_offset=0.0,
                   row_lo=lp.row_lo[rows], row_hi=lp.row_hi[rows], col_blocks=[],
                   row_blocks=[Block("block_row", 0, [(str(r),) for r in rows])])


def _solve_blocks(lp: LinearProgram, blocks: list[np.ndarray], backend: str,
                  clock: _Clock) -> BackendResult:
    """lp solved block by block (as solve_instance solves independent groups): x the union,
    objective and bound the sums, status the worst. Each block gets a share of the time
    left in proportion to its columns."""
    if len(blocks) <= 1:
        return solve_programme(lp, backend, clock.share(1))
    x = np.zeros(lp.n_cols)
    objective, bound, parts = lp.obj_offset, lp.obj_offset, []
    sizes = np.array([len(cols) for cols in blocks], float)
    for k, cols in enumerate(blocks):
        share = clock.share(sizes[k:].sum() / sizes[k])
        res = solve_programme(_block(lp, cols), backend, share)
        parts.append(res)
        if res.x is None:
            return replace(res, solve_s=sum(p.solve_s for p in parts))
        x[cols] = res.x
        objective += res.objective
        bound = None if bound is None or res.bound is None else bound + res.bound
    worst = next(st for st in (Status.ERROR, Status.FEASIBLE, Status.OPTIMAL)
                 if any(p.status is st for p in parts))
    return replace(parts[0], status=worst, x=x, objective=objective, bound=bound,
                   solve_s=sum(p.solve_s for p in parts),
                   message="; ".join(p.message for p in parts if p.message))


# ---------------------------------------------------------------- plans


def _plan(form: Formulation, inst: Instance, res: BackendResult, x: np.ndarray, status: Status,
          bound: float | None, backend: str, options: SolveOptions, digest: str,
          cost: np.ndarray, offset: float, message: str) -> Plan:
    """A plan file's Plan for the programme solution x (costed by the original objective)."""
    objective = float(cost @ x + offset)
    plan = Plan(status=status, objective=objective, bound=bound,
                gap=relative_gap(objective, bound, offset), backend=backend,
                solver={"name": res.solver, "version": res.version},
                instance_name=inst.name, instance_sha256=digest, options=options.as_dict(),
                times={"solve_s": round(res.solve_s, 4)}, horizon_years=inst.horizon_years,
                currency=inst.currency, message=message)
    plan.units, plan.forces = read_solution(form, x)
    return plan


def _checked(inst: Instance, plan: Plan, cap: float | None, tol: float) -> str | None:
    """Why the plan cannot be offered (the independent checker, the cost cap), or None."""
    from ..solver.checker import check_plan, recompute

    violations = check_plan(inst, plan.to_dict())
    if violations:
        return "the independent checker rejects it: " + "; ".join(map(str, violations[:3]))
    if cap is not None:
        total = recompute(inst, plan.to_dict())["objective"]
        if total > cap + tol:
            return (f"it costs {money(total - cap, 2)} more than the slack allows "
                    "(recomputed by the checker)")
    return None


class _Clock:
    """One time limit shared by every solve of the run."""

    def __init__(self, options: SolveOptions):
        self.options = options
        self.t0 = time.perf_counter()

    def left(self) -> float | None:
        if self.options.time_limit is None:
            return None
        return self.options.time_limit - (time.perf_counter() - self.t0)

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0.01

    def share(self, parts: float, gap: float | None = None, cap: float | None = None
              ) -> SolveOptions:
        """Options with 1/parts of the time left (at most ``cap`` seconds), another gap."""
        opts = self.options if gap is None else replace(self.options, gap=gap)
        left = self.left()
        limit = None if left is None else max(0.01, left / parts)
        if cap is not None:
            limit = cap if limit is None else min(limit, cap)
        return replace(opts, time_limit=limit)


#: Without --time-limit, each solve that ranks plans (direction, diversity) stops after
#: this many seconds with the best plan it has (a plan within the slack from the start).
RANKING_SECONDS = 10.0
#: Gap of the solve that finds a first distinct plan within the slack (any will do: it
#: is the start of the ranking solves).
START_GAP = 0.5


def _solve_from(prog: LinearProgram, backend: str, options: SolveOptions,
                start: np.ndarray) -> BackendResult:
    """A ranking solve from a known plan within the slack; never worse than the start.

    The backend is called with the start as MIP start (``solve_programme`` takes none);
    the rows are checked as ``solve_programme`` checks them.
    """
    value = float(prog.obj @ start + prog.obj_offset)
    try:
        solver = get_backend(backend)
        res = solver.solve(prog, options, start=start if solver.capabilities.mip_start else None)
    except Exception as exc:  # noqa: BLE001 - a crashed solver leaves the start, said so
        return BackendResult(Status.FEASIBLE, start, value, None, backend, "", 0.0,
                             message=f"ranking solve failed ({type(exc).__name__}: {exc})")
    if res.x is not None and prog.worst_row(res.x)[0] > VIOLATION_TOLERANCE:
        res.x = None
    better = res.x is not None and (res.objective > value - 1e-9 if prog.maximize
                                    else res.objective < value + 1e-9)
    if not better:
        proven = res.status is Status.OPTIMAL and res.x is not None
        return replace(res, x=start, objective=value,
                       status=Status.OPTIMAL if proven else Status.FEASIBLE)
    return res


class _Search:
    """The state of one run: the programme with the slack row, the plans found so far."""

    def __init__(self, inst, form, dec, base, local_cols, cap, eps, opt, backend, options,
                 clock, result, digest, tol):
        self.inst, self.form, self.dec, self.base = inst, form, dec, base
        self.cost, self.offset = base.obj.copy(), base.obj_offset
        free = replace(base, ub=base.ub.copy())  # the model with the --keep-local rules
        free.ub[local_cols] = 0.0
        self.free = free
        self.lp = _stack_rows(free, "slack", _row(free.n_cols, np.nonzero(self.cost)[0],
                                                  self.cost[self.cost != 0]),
                              -np.inf, cap - self.offset, [("cost",)])
        self.local_cols, self.cap, self.eps, self.opt = local_cols, cap, eps, opt
        self.backend, self.options, self.clock, self.result = backend, options, clock, result
        self.digest, self.tol = digest, tol
        self.ranking_cap = None if options.time_limit is not None else RANKING_SECONDS
        self.blocks = independent_blocks(base)
        self.turn = 0  # the block whose change gives the next start

    def anchor(self) -> Alternative | None:
        """The first plan found that keeps the --keep-local rules."""
        return next((a for a in self.result.alternatives if a.meets_constraints), None)

    def start_in_one_block(self, share: SolveOptions) -> np.ndarray | None:
        """A distinct plan within the slack that differs from the anchor in one block only.

        Block k of the anchor x^a is replaced by the most diverse plan of block k (the
        diversity objective restricted to block k) with
        cost_k <= cap - (cost(x^a) - cost_k(x^a_k)) and a no-good against every plan found
        that agrees with x^a outside block k; None when no block has one. Blocks take
        turns, largest first.
        """
        anchor = self.anchor()
        if anchor is None or len(self.blocks) <= 1:
            return None
        in_dec = np.zeros(self.base.n_cols, bool)
        in_dec[self.dec.cols] = True
        for step in range(len(self.blocks)):
            k = (self.turn + step) % len(self.blocks)
            cols = self.blocks[k]
            sub = _block(self.free, cols)
            c = self.cost[cols]
            room = self.cap - self.offset - (self.cost @ anchor.x - c @ anchor.x[cols])
            sub = _stack_rows(sub, "slack", _row(len(cols), np.nonzero(c)[0], c[c != 0]),
                              -np.inf, room, [("cost",)])
            zpos = np.nonzero(in_dec[cols])[0]  # block columns that are unit decisions
            zmask = np.isin(self.dec.cols, cols)
            order = np.argsort(self.dec.cols[zmask])  # dec.cols order -> block order
            outside = ~zmask
            vec, const = -self.eps * c, 0.0
            for alt in self.result.alternatives:
                w, w0 = self.dec.distance_terms(alt.pattern[zmask])
                row = np.zeros(len(cols))
                row[zpos] = w[order]
                vec += row
                const += w0
                if np.any(alt.pattern[outside] != anchor.pattern[outside]):
                    continue  # differs outside block k already
                sub = _stack_rows(sub, "nogood", _row(len(cols), np.arange(len(cols)), row),
                                  1.0 - w0, np.inf, [(str(alt.rank),)])
            sub = replace(sub, obj=vec, obj_offset=const, maximize=True)
            res = solve_programme(sub, self.backend, share)
            if res.x is not None and res.status in (Status.OPTIMAL, Status.FEASIBLE):
                self.turn = k + 1
                x = anchor.x.copy()
                x[cols] = clean_solution(res.x, sub.integer)
                return x
        return None

    def with_cuts(self) -> LinearProgram:
        """The slack programme with d_j(z) >= 1 for every plan found."""
        rows, w0s = [], []
        for alt in self.result.alternatives:
            w, w0 = self.dec.distance_terms(alt.pattern)
            rows.append(_row(self.lp.n_cols, self.dec.cols, w))
            w0s.append(w0)
        return _stack_rows(self.lp, "nogood", sp.vstack(rows), 1.0 - np.array(w0s), np.inf,
                           [(str(a.rank),) for a in self.result.alternatives])

    def diversity(self, prog: LinearProgram) -> LinearProgram:
        """max sum_j d_j(z) - eps (cost(x) - opt) over prog's rows."""
        vec = np.zeros(prog.n_cols)
        w0 = 0.0
        for alt in self.result.alternatives:
            w, c0 = self.dec.distance_terms(alt.pattern)
            vec[self.dec.cols] += w
            w0 += c0
        vec[: len(self.cost)] -= self.eps * self.cost
        return replace(prog, obj=vec, obj_offset=w0 - self.eps * (self.offset - self.opt),
                       maximize=True)

    def add(self, x: np.ndarray, res: BackendResult, note: str, value=None) -> str | None:
        """Append the plan of x (checked); why it is refused, or None."""
        r, optimum = self.result, self.result.alternatives[0].plan
        plan = _plan(self.form, self.inst, res, x, Status.FEASIBLE, r.bound_gbp, self.backend,
                     self.options, self.digest, self.cost, self.offset, note)
        reason = _checked(self.inst, plan, self.cap, self.tol)
        if reason:
            return reason
        pattern = self.dec.pattern(x)
        r.alternatives.append(Alternative(
            rank=len(r.alternatives), plan=plan, extra_gbp=plan.objective - self.opt,
            extra_by_force={f.force: f.plan_gbp - g.plan_gbp
                            for f, g in zip(plan.forces, optimum.forces)},
            changes=diff_plans(optimum.to_dict(), plan.to_dict()).changes,
            distance=int(np.sum(pattern != r.alternatives[0].pattern)), direction_value=value,
            note=note, meets_constraints=bool(np.all(x[self.local_cols] < 0.5)),
            pattern=pattern, x=x))
        return None

    def keep_local_first(self, keep_local: list[str], n: int) -> tuple[str, str]:
        """The least-cost plan keeping the --keep-local rules, when the optimum breaks them."""
        share = self.clock.share(n)
        res = _solve_blocks(self.free, self.blocks, self.backend, _Clock(share))
        rules = ", ".join(keep_local)
        if res.status is Status.INFEASIBLE:
            return COMPLETE, (f"no plan at all keeps {rules} local (a rule of the instance "
                              "requires sharing)")
        if res.x is None:
            return _stopped(res, share)
        x = clean_solution(res.x, self.free.integer)
        total = float(self.cost @ x + self.offset)
        if total > self.cap + self.tol:
            r = self.result
            share_of = (total - self.opt) / r.budget_gbp * r.slack if r.budget_gbp else 0.0
            return COMPLETE, (f"no plan within the slack keeps {rules} local: the cheapest that "
                              f"does costs {money(total - self.opt, 2)} more than the optimum "
                              f"({_pct(share_of)} on the {r.basis} basis)")
        reason = self.add(x, res, f"least cost keeping {rules} local")
        return (SOLVER_ERROR, reason) if reason else (REACHED_N, "")

    def next_plan(self, direction: Direction, source: str, wanted: int) -> tuple[str, str]:
        """Find and add one more distinct plan; (REACHED_N, "") or how the search ends."""
        prog = self.with_cuts()
        if len(self.blocks) <= 1 and direction.kind == "diverse":  # one solve, if it can
            share = self.clock.share(wanted, gap=DIVERSITY_GAP, cap=self.ranking_cap)
            res = solve_programme(self.diversity(prog), self.backend, share)
            if res.status is Status.INFEASIBLE:
                return COMPLETE, ""
            if res.x is not None and res.status in (Status.OPTIMAL, Status.FEASIBLE):
                note = ("most diverse" if res.status is Status.OPTIMAL else
                        f"diversity not proven best (stopped after {share.time_limit:.3g} s)")
                reason = self.add(clean_solution(res.x, self.base.integer), res, note)
                return (SOLVER_ERROR, reason) if reason else (REACHED_N, "")
            if self.clock.expired():
                return _stopped(res, share)
        half = None if self.ranking_cap is None else self.ranking_cap / 2
        x = self.start_in_one_block(self.clock.share(2 * wanted, DIVERSITY_GAP, half))
        share = self.clock.share(2 * wanted, gap=START_GAP)
        if x is None:  # any distinct plan within the slack, or the proof there is none
            first = solve_programme(prog, self.backend, share)
            if first.x is None or first.status not in (Status.OPTIMAL, Status.FEASIBLE):
                return _stopped(first, share)
            x = clean_solution(first.x, prog.integer)
        value, note = None, ""
        if direction.kind != "diverse":
            dprog, maximize, extend = _direction_programme(prog, self.form, self.dec,
                                                           direction, source)
            share = self.clock.share(2 * wanted, cap=self.ranking_cap)
            res = _solve_from(dprog, self.backend, share, extend(x))
            value = float(np.round(res.objective, 6)) + 0.0
            note = "" if res.status is Status.OPTIMAL else "direction not proven best; "
            held = np.round(res.objective - dprog.obj_offset)
            prog = _stack_rows(dprog, "direction",
                               _row(dprog.n_cols, np.nonzero(dprog.obj)[0],
                                    dprog.obj[dprog.obj != 0]),
                               held - 1e-6 if maximize else -np.inf,
                               np.inf if maximize else held + 1e-6, [("held",)])
            x = res.x
        cap = self.ranking_cap if len(self.blocks) <= 1 else half
        share = self.clock.share(wanted, gap=DIVERSITY_GAP, cap=cap)
        res = _solve_from(self.diversity(prog), self.backend, share, x)
        note += ("most diverse" if res.status is Status.OPTIMAL
                 else f"diversity not proven best (stopped after {share.time_limit:.3g} s)")
        if res.message.startswith("ranking solve failed"):
            note += f"; {res.message}"
        reason = self.add(clean_solution(res.x[: len(self.cost)], self.base.integer), res, note,
                          value)
        return (SOLVER_ERROR, reason) if reason else (REACHED_N, "")


# ---------------------------------------------------------------- the search


def find_alternatives(inst: Instance, n: int = 10, slack: float = 0.01,
                      backend: str = DEFAULT_BACKEND, options: SolveOptions | None = None,
                      basis: str = "decisions", direction: Direction | None = None,
                      keep_local: list[str] | None = None, digest: str | None = None,
                      source: str = "") -> AlternativesResult:
    """The least-cost plan and up to n - 1 distinct plans within the slack (module docstring).

    ``keep_local`` rules (``FUNCTION`` or ``FUNCTION:FORCE``) bind every alternative; the
    least-cost plan that keeps them comes first after the optimum. ``options.time_limit``
    is shared by the whole run; without one, each ranking solve stops after
    RANKING_SECONDS with the best plan it has.
    """
    options = options or SolveOptions()
    direction = direction or Direction()
    keep_local = list(keep_local or [])
    if basis not in SLACK_BASES:
        raise ValueError(f"basis must be one of {SLACK_BASES}")
    if inst.objective.sense != "min_cost":
        raise InstanceError([Problem("objective.sense", f"alternatives are plans within a cost "
                                     f"slack of the least cost; '{inst.objective.sense}' "
                                     "ranks plans otherwise: set it to min_cost")],
                            source or inst.name)
    clock = _Clock(options)
    digest = digest or instance_digest(inst)
    form = build_formulation(build_network(inst))
    dec = UnitDecisions.of(form)
    base = occupied_units(form)
    local_cols = _local_columns(form, keep_local)
    if direction.kind != "diverse":  # a bad direction is refused before any solve
        dprog, _, extend = _direction_programme(base, form, dec, direction, source)
    cost, offset = base.obj.copy(), base.obj_offset
    build_s = time.perf_counter() - clock.t0

    result = AlternativesResult(
        instance_name=inst.name, backend=backend, slack=slack, basis=basis,
        direction=direction, keep_local=keep_local, optimum_status=Status.NO_SOLUTION,
        optimum_gbp=None, bound_gbp=None, fixed_gbp=offset, budget_gbp=None,
        horizon_years=inst.horizon_years, search=NO_OPTIMUM, message="")

    first = _solve_blocks(base, independent_blocks(base), backend,
                          _Clock(clock.share(2 if n > 1 else 1)))
    result.optimum_status = first.status
    if first.x is None or first.status not in (Status.OPTIMAL, Status.FEASIBLE):
        result.message = f"no least-cost plan: {first.status.value} {first.message}".strip()
        if first.status is Status.INFEASIBLE:
            result.message += " (solve the instance itself for the reason in policy terms)"
        result.times = {"build_s": round(build_s, 4),
                        "total_s": round(time.perf_counter() - clock.t0, 4)}
        return result
    x0 = clean_solution(first.x, base.integer)
    opt = float(cost @ x0 + offset)
    scale = max(1.0, abs(opt - offset)) if basis == "decisions" else abs(opt)
    budget = slack * scale
    tol = max(0.05, 1e-7 * scale)
    result.optimum_gbp, result.bound_gbp, result.budget_gbp = opt, first.bound, budget
    notes = [] if first.status is Status.OPTIMAL else [
        "the least cost is not proven (time limit): the slack is measured from the best plan "
        f"found, {money(opt, 2)}, bound {money(first.bound, 2)}"]
    optimum = _plan(form, inst, first, x0, first.status, first.bound, backend, options,
                    digest, cost, offset, first.message)
    reason = _checked(inst, optimum, None, tol)
    if reason:
        result.optimum_status, result.search = Status.ERROR, SOLVER_ERROR
        result.message = f"the least-cost plan is refused: {reason}"
        return result
    result.alternatives.append(Alternative(
        rank=0, plan=optimum, extra_gbp=0.0,
        extra_by_force={f.force: 0.0 for f in optimum.forces}, changes=[], distance=0,
        direction_value=None if direction.kind == "diverse" else
        float(np.round(dprog.obj @ extend(x0) + dprog.obj_offset, 6)) + 0.0,
        note="least cost" + ("" if first.status is Status.OPTIMAL else " found (not proven)"),
        meets_constraints=bool(np.all(x0[local_cols] < 0.5)), pattern=dec.pattern(x0), x=x0))

    search = _Search(inst, form, dec, base, local_cols, opt + budget, 0.5 / max(budget, 1.0),
                     opt, backend, options, clock, result, digest, tol)
    state, stop_message = REACHED_N, ""
    if keep_local and not result.alternatives[0].meets_constraints and n > 1:
        state, stop_message = search.keep_local_first(keep_local, n)
    while state == REACHED_N and len(result.alternatives) < n:
        if clock.expired():
            state, stop_message = TIME_LIMIT, "the time limit ran out"
            break
        state, stop_message = search.next_plan(direction, source, n - len(result.alternatives))
    result.search = state
    result.message = "; ".join(notes + ([stop_message] if stop_message else []))
    result.summary = summarise(result, [f.id for f in inst.forces],
                               [fd.fn.id for fd in form.net.functions])
    result.times = {"build_s": round(build_s, 4),
                    "solve_s": round(sum(a.plan.times.get("solve_s", 0.0)
                                         for a in result.alternatives), 4),
                    "total_s": round(time.perf_counter() - clock.t0, 4)}
    return result


def _stopped(res: BackendResult, share: SolveOptions) -> tuple[str, str]:
    """How the search ends when a solve (given ``share``) brings no plan."""
    if res.status is Status.INFEASIBLE:
        return COMPLETE, ""
    limited = share.time_limit is not None and res.solve_s >= 0.9 * share.time_limit
    if res.status is Status.NO_SOLUTION and limited:
        return TIME_LIMIT, "the time limit ran out before another plan was found"
    if res.status is Status.NO_SOLUTION:
        return UNPROVEN, res.message or "the solver stopped without a plan or a proof"
    return SOLVER_ERROR, f"{res.solver}: {res.status.value} {res.message}".strip()


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.3g}%"
