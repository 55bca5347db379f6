"""The plan: one result type for every solve, and its stable JSON contract.

Per force i, from the solution x (docs/model.md section 3, notation of formulation.py):
``plan_i = const_i + sum_a coef_a x_a + sum_{(s,h)} C_sh k_si x_sih / sum_j k_sj x_sjh``
(``const_i``, ``coef_a`` as in formulation.py),
``Savings_i = baseline_i - plan_i``, ``frontline_i = L_i + sum_a (o - rho d)_a (x_a - x0_a)``.

Year by year (cash, undiscounted; timing factors of models/network.py), force i's
cost in year k is ``sum_s c_si + sum_a x_a [frac_k(p_h) (m_a + F_h share_a)
- frac_k(g_h) c_si + [k = floor(q_h)] (t_a + G_h share_a)]`` plus its local cost;
``yearly_savings_gbp[k]`` is the status quo's cost in year k less that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..tables import Column, Table
from ..text import year_label
from .core import Status
from .host_choice import next_best_host

PLAN_SCHEMA_VERSION = 1
MONEY_DP = 2
FTE_DP = 3
FRACTION_DP = 9  # fine enough that costs recomputed from fractions agree to the penny


@dataclass
class Member:
    force: str
    fraction: float  # 1 for a whole force; share of its demand when divisible
    annual_gbp: float  # running cost plus its share of the unit's fixed cost, per year
    one_off_gbp: float  # transition plus its share of set-up (cash)
    saving_per_year_gbp: float = 0.0  # once live: c_si x - running - fixed share (cash)


@dataclass
class Unit:
    function: str
    site: str
    members: list[Member]
    annual_cost_gbp: float  # F_sh + sum of members' running costs
    one_off_cost_gbp: float  # G_sh + members' transitions
    demand: float
    capacity: float | None
    existing: bool
    go_live_year: float = 1.0  # g_sh on the horizon's clock (1 = its first day)
    saving_per_year_gbp: float = 0.0  # sum_i c_si x_i - annual_cost_gbp, once live (cash)
    payback_years: float | None = None  # one_off_cost_gbp / saving_per_year_gbp
    sites: list[str] = field(default_factory=list)  # every site of a multi-site unit
    mechanism: str = "co_located"
    yearly_savings_gbp: list[float] = field(default_factory=list)  # vs members alone, cash
    one_off_year: int | None = None  # horizon year in which its one-offs fall (cash)
    next_best_site: str | None = None  # the cheapest other host for the same members
    next_best_extra_gbp: float | None = None  # its extra horizon cost (host_choice.py)


@dataclass
class ForceResult:
    force: str
    name: str
    baseline_gbp: float  # horizon cost of the status quo
    plan_gbp: float  # horizon cost under the plan
    savings_gbp: float
    target_gbp: float | None
    one_off_gbp: float
    frontline_fte: float
    floor_fte: float | None
    shared: dict[str, str]  # function -> host site
    yearly_savings_gbp: list[float] = field(default_factory=list)  # cash, years 1..Y
    staff_released_fte: float = 0.0  # police staff posts no longer needed: sum (e - sigma d)


@dataclass
class Plan:
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    backend: str
    solver: dict
    instance_name: str
    instance_sha256: str
    options: dict
    times: dict
    horizon_years: int
    currency: str = "GBP"
    units: list[Unit] = field(default_factory=list)
    forces: list[ForceResult] = field(default_factory=list)
    message: str = ""
    explanation: list[dict] = field(default_factory=list)
    schema_version: int = PLAN_SCHEMA_VERSION
    first_financial_year: int | None = None  # horizon year 1 begins in this year (labels)

    @property
    def has_solution(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def failed(cls, backend: str, message: str, instance_name: str = "",
               instance_sha256: str = "", options: dict | None = None,
               horizon_years: int = 0) -> Plan:
        """A run that produced nothing: status ``error`` with its reason, no figures."""
        return cls(Status.ERROR, None, None, None, backend, {}, instance_name,
                   instance_sha256, options or {}, {}, horizon_years, message=message)

    # ---------------------------------------------------------------- tables
    def _horizon_money(self) -> str:
        return (f"GBP over the {self.horizon_years}-year horizon, present value at the "
                "instance's discount rate")

    def units_table(self) -> Table:
        """units: one row per member of each shared unit (what the member pays a year and
        once, beside the unit's totals)."""
        cash_year, cash = "GBP a year once live, cash", "GBP, cash"
        cols = [Column("function"), Column("site"), Column("existing"), Column("force"),
                Column("fraction", "share of the force's demand served (1 = all of it)"),
                Column("member_annual_gbp", cash_year), Column("member_one_off_gbp", cash),
                Column("unit_annual_cost_gbp", cash_year),
                Column("unit_one_off_cost_gbp", cash),
                Column("member_saving_per_year_gbp", cash_year),
                Column("go_live_year", "point on the horizon's clock (1 = its first day)")]
        return Table("units", cols, [
            [u.function, u.site, u.existing, m.force, m.fraction, m.annual_gbp, m.one_off_gbp,
             u.annual_cost_gbp, u.one_off_cost_gbp, m.saving_per_year_gbp, u.go_live_year]
            for u in self.units for m in u.members])

    def forces_table(self) -> Table:
        """forces: one row per force (horizon money as the model counts it, officers)."""
        money = self._horizon_money()
        cols = [Column("force"), Column("name"), Column("baseline_gbp", money),
                Column("plan_gbp", money), Column("savings_gbp", money),
                Column("target_gbp", money), Column("one_off_gbp", "GBP, cash"),
                Column("frontline_fte", "frontline officers, FTE, under the plan"),
                Column("floor_fte", "frontline officers, FTE"),
                Column("staff_released_fte", "police staff posts no longer needed, FTE")]
        return Table("forces", cols, [
            [f.force, f.name, f.baseline_gbp, f.plan_gbp, f.savings_gbp, f.target_gbp,
             f.one_off_gbp, f.frontline_fte, f.floor_fte, f.staff_released_fte]
            for f in self.forces])

    def yearly_table(self) -> Table:
        """yearly: one row per force and horizon year, its saving in that year (cash)."""
        cols = [Column("force"), Column("year", "horizon year (1 = the first)"),
                Column("label", "financial year when the plan knows its first"),
                Column("savings_gbp_cash", "GBP in that year, cash, against the status quo")]
        return Table("yearly", cols, [
            [f.force, k + 1, year_label(self.first_financial_year, k + 1), v]
            for f in self.forces for k, v in enumerate(f.yearly_savings_gbp)])

    def unit_years_table(self) -> Table:
        """unit_years: one row per shared unit and horizon year, what the unit saves its
        members in that year against each running the function alone (cash)."""
        cols = [Column("function"), Column("site"), Column("year", "horizon year (1 = the "
                                                                   "first)"),
                Column("label", "financial year when the plan knows its first"),
                Column("savings_gbp_cash", "GBP in that year, cash, against the members "
                                           "alone")]
        return Table("unit_years", cols, [
            [u.function, u.site, k + 1, year_label(self.first_financial_year, k + 1), v]
            for u in self.units for k, v in enumerate(u.yearly_savings_gbp)])

    def tables(self) -> list[Table]:
        """Every table of the plan, in the order files and sheets list them."""
        return [self.units_table(), self.forces_table(), self.yearly_table(),
                self.unit_years_table()]


def _r(value: float, dp: int) -> float:
    out = round(float(value), dp)
    return 0.0 if out == 0 else out  # no "-0.0" in files


#: Fractions within this of 0 or 1 are solver tolerance, not decisions (HiGHS and
#: SCIP accept 1e-6 primal infeasibility).
SNAP = 1e-6


def clean_solution(x: np.ndarray, integer: np.ndarray, lb: np.ndarray | None = None
                   ) -> np.ndarray:
    """Round integer columns and snap near-0/1 fractions so reports are exact; values
    below 0 are raised to 0, except in columns whose lower bound ``lb`` is negative (the
    min savings ratio of a plan where a force loses money: clipping it broke its rows)."""
    x = np.asarray(x, dtype=float).copy()
    x[integer] = np.round(x[integer])
    x[np.abs(x) < SNAP] = 0.0
    x[np.abs(x - 1) < SNAP] = 1.0
    floor = 0.0 if lb is None else np.minimum(0.0, np.maximum(lb, x))
    return np.maximum(x, floor)


def read_solution(form, x: np.ndarray) -> tuple[list[Unit], list[ForceResult]]:
    """Units and per-force figures from the x of a built formulation (vectorised costing)."""
    net = form.net
    inst = net.inst
    n = net.n_forces
    Y = inst.horizon_years
    plan_cost = form.force_const.copy()
    one_off = np.zeros(n)
    yearly = np.zeros((n, Y))  # cash savings against the status quo, year by year
    frontline = np.array([f.frontline_officers_fte for f in inst.forces], dtype=float)
    staff = np.zeros(n)
    shared: list[dict[str, str]] = [{} for _ in range(n)]
    units: list[Unit] = []
    existing_hosts = {(fd.fn.id, fd.hosts[u.host]) for fd in net.functions for u in fd.existing}
    also = {(fn.id, hs.site): [x.site for x in hs.also_sites]
            for fn in inst.functions for hs in fn.hosts or []}
    for fd, xcols, ycols, coef in zip(net.functions, form.x, form.y, form.arc_coef):
        xa = np.where(x[ycols][fd.arc_host] > 0.5, x[xcols], 0.0)  # nobody at a closed host
        np.add.at(plan_cost, fd.arc_force, coef * xa)
        np.add.at(one_off, fd.arc_force, fd.arc_transition * xa)
        np.add.at(frontline, fd.arc_force, fd.officer_delta * (xa - fd.status_quo))
        np.add.at(staff, fd.arc_force, fd.staff_delta * (xa - fd.status_quo))
        for xs, sign in ((xa, -1.0), (fd.status_quo, 1.0)):  # plan's cost, then status quo's
            _add_yearly(yearly, fd, xs, sign, Y)
        for h in np.unique(fd.arc_host[xa > 1e-9]):
            at = np.nonzero((fd.arc_host == h) & (xa > 1e-9))[0]
            forces = fd.arc_force[at]
            keys = fd.key[forces] * xa[at]
            shares = keys / keys.sum()
            fixed_share = fd.a_run[h] * fd.fixed[h] * shares
            setup_share = fd.setup[h] * shares
            np.add.at(plan_cost, forces, fixed_share + fd.b_one_off[h] * setup_share)
            np.add.at(one_off, forces, setup_share)
            running = fd.arc_annual[at] * xa[at]
            alone = fd.cost[forces] * xa[at]
            members = []
            order = np.argsort([net.force_ids[i] for i in forces], kind="stable")
            for k in order:
                i = forces[k]
                members.append(Member(
                    force=net.force_ids[i], fraction=_r(xa[at[k]], FRACTION_DP),
                    annual_gbp=_r(running[k] + fd.fixed[h] * shares[k], MONEY_DP),
                    one_off_gbp=_r(fd.arc_transition[at[k]] * xa[at[k]] + setup_share[k],
                                   MONEY_DP),
                    saving_per_year_gbp=_r(alone[k] - running[k] - fd.fixed[h] * shares[k],
                                           MONEY_DP)))
                shared[i][fd.fn.id] = fd.hosts[h]
            unit_one_off = fd.setup[h] + (fd.arc_transition[at] * xa[at]).sum()
            alternative = next_best_host(fd, coef, xa, int(h))
            saving = alone.sum() - running.sum() - fd.fixed[h]
            units.append(Unit(
                function=fd.fn.id, site=fd.hosts[h], members=members,
                annual_cost_gbp=_r(fd.fixed[h] + running.sum(), MONEY_DP),
                one_off_cost_gbp=_r(unit_one_off, MONEY_DP),
                demand=_r((fd.demand[forces] * xa[at]).sum(), FTE_DP),
                capacity=None if not np.isfinite(fd.capacity[h]) else float(fd.capacity[h]),
                existing=(fd.fn.id, fd.hosts[h]) in existing_hosts,
                go_live_year=float(fd.go_live[h]), saving_per_year_gbp=_r(saving, MONEY_DP),
                payback_years=_r(unit_one_off / saving, 2) if saving > 0 else None,
                sites=[fd.hosts[h], *also.get((fd.fn.id, fd.hosts[h]), [])],
                mechanism=fd.fn.mechanism,
                yearly_savings_gbp=[_r(-v, MONEY_DP) for v in
                                    _unit_year_costs(fd, xa, int(h), Y)[1].sum(axis=0)],
                one_off_year=_one_off_year(fd, int(h), Y),
                next_best_site=alternative[0] if alternative else None,
                next_best_extra_gbp=_r(alternative[1], MONEY_DP) if alternative else None))
    forces_out = []
    for i, f in enumerate(inst.forces):
        forces_out.append(ForceResult(
            force=f.id, name=f.name or f.id, baseline_gbp=_r(form.baseline[i], MONEY_DP),
            plan_gbp=_r(plan_cost[i], MONEY_DP),
            savings_gbp=_r(form.baseline[i] - plan_cost[i], MONEY_DP),
            target_gbp=f.savings_target_gbp, one_off_gbp=_r(one_off[i], MONEY_DP),
            frontline_fte=_r(frontline[i], FTE_DP), floor_fte=f.frontline_floor_fte,
            shared=dict(sorted(shared[i].items())),
            yearly_savings_gbp=[_r(v, MONEY_DP) for v in yearly[i]],
            staff_released_fte=_r(staff[i], FTE_DP)))
    units.sort(key=lambda u: (u.function, u.site))
    return units, forces_out


def _one_off_year(fd, h: int, Y: int) -> int | None:
    """floor(q_h) when it falls within the horizon, else None."""
    k = int(np.floor(fd.one_off_at[h]))
    return k if 1 <= k <= Y else None


def _add_yearly(yearly: np.ndarray, fd, xs: np.ndarray, sign: float, Y: int) -> None:
    """yearly[i, k] += sign * (cost of i's membership xs in year k, relative to alone)."""
    live = xs > 1e-12
    for h in np.unique(fd.arc_host[live]):
        forces, cost = _unit_year_costs(fd, xs, int(h), Y)
        np.add.at(yearly, forces, sign * cost)


def _unit_year_costs(fd, xs: np.ndarray, h: int, Y: int) -> tuple[np.ndarray, np.ndarray]:
    """(members, cost[member, k]): each member's cash cost of the unit at h in year k,
    relative to running s alone: frac_k(p_h) (m_a + F_h share_a) - frac_k(g_h) c_si, plus
    t_a + G_h share_a in year floor(q_h); share_a = k_si x_a / sum_j k_sj x_j."""
    from ..models.network import year_fractions

    at = np.nonzero((fd.arc_host == h) & (xs > 1e-12))[0]
    forces = fd.arc_force[at]
    keys = fd.key[forces] * xs[at]
    shares = keys / keys.sum()
    run = year_fractions(fd.paid_from[h], Y)
    on = year_fractions(fd.go_live[h], Y)
    annual = fd.arc_annual[at] * xs[at] + fd.fixed[h] * shares
    cost = np.outer(annual, run) - np.outer(fd.cost[forces] * xs[at], on)
    k = int(np.floor(fd.one_off_at[h])) - 1
    if 0 <= k < Y:
        cost[:, k] += fd.arc_transition[at] * xs[at] + fd.setup[h] * shares
    return forces, cost
