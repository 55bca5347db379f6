"""Typed domain objects of a shareplan instance (docs/model.md sections 2 and 12).

Money is GBP: annual figures end in ``_gbp`` (per year) unless the name says
``one_off``/``setup``/``transition``; officers are FTE; distances are km.
Field-level rules (types, signs, ranges) live here; rules that cross objects
(ids, references, floors against officers) live in :mod:`shareplan.models.rules`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 1

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    Field(description="Identifier: a letter, then letters, digits or '_' (at most 64)."),
]
#: Larger figures are typing errors (pence for pounds, a stray exponent) and would
#: break the solvers' numerics; £10 trillion is ten times the UK's yearly output.
MAX_MONEY = 1e13
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, description="GBP, not negative")]
Count = Annotated[float, Field(ge=0, le=MAX_MONEY)]
Rate = Annotated[float, Field(ge=0, le=1e6)]
Members = Annotated[int, Field(ge=1, le=10_000)]
Provenance = Annotated[
    dict[str, str],
    Field(
        default_factory=dict,
        description="Field name -> where the figure comes from; estimates start with 'ESTIMATE'.",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Force(_Strict):
    """A police force: one member candidate of shared units."""

    id: Id
    name: str = ""
    region: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    budget_gbp: Money | None = Field(None, description="Annual net revenue budget.")
    officers_fte: Count | None = None
    frontline_officers_fte: Count = Field(0.0, description="L_i: frontline officers today.")
    frontline_floor_fte: Count | None = Field(
        None, description="Lmin_i: the plan must keep at least this many frontline officers."
    )
    savings_target_gbp: Money | None = Field(
        None, description="T_i: savings required over the whole horizon, counted as the "
                          "objective counts them (present values; one-offs in their year).")
    savings_need_gbp: Money | None = Field(
        None, description="The force's whole savings need over the horizon (information; "
                          "savings_target_gbp is what sharing must carry).")
    savings_from_other_measures_gbp: Money | None = Field(
        None, description="The part of the need planned from other measures; when both are "
                          "given and savings_target_gbp is not, the target is the difference.")
    allocation_key: float | None = Field(
        None, gt=0, le=MAX_MONEY, description="k_i under allocation 'key' (default: budget_gbp)."
    )
    provenance: Provenance

    @model_validator(mode="before")
    @classmethod
    def _target_from_need(cls, data):
        """T_i = savings_need_gbp - savings_from_other_measures_gbp when T_i is not given.

        A target given explicitly (a number, or null for none) is the target: sweeps,
        shadow costs and the cost-sharing game vary or drop it with the need recorded
        beside it; a target that differs from the difference is warned about
        (models/rules.check_warnings)."""
        if not isinstance(data, dict):
            return data
        need, other = data.get("savings_need_gbp"), data.get("savings_from_other_measures_gbp")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (need, other)):
            return data
        if other > need:
            raise ValueError(f"savings_from_other_measures_gbp ({other:,.0f}) is more than "
                             f"savings_need_gbp ({need:,.0f}); lower it or raise the need")
        if "savings_target_gbp" not in data:
            return {**data, "savings_target_gbp": float(need - other)}
        return data


class ExtraSite(_Strict):
    """A further site a multi-site unit runs from, with that site's own annual cost."""

    site: Id
    fixed_cost_gbp: Money = Field(0.0, description="Annual cost of running from this site.")


#: When a shared unit goes live, in years on the horizon's own clock: 1 = its first day,
#: 2 = the start of year 2, 2.67 = two thirds into year 2 (1 December of an April year).
YearPoint = Annotated[float, Field(ge=1, le=101)]


class Host(_Strict):
    """A candidate site for a function's shared unit, with its own cost figures."""

    site: Id
    fixed_cost_gbp: Money | None = Field(None, description="F_sh, annual.")
    setup_cost_gbp: Money | None = Field(None, description="G_sh, one-off.")
    capacity: Count | None = Field(None, description="K_sh in demand units; none = unlimited.")
    go_live_year: YearPoint | None = Field(
        None, description="g_sh: this unit's go-live (default: the function's go_live_year).")
    also_sites: list[ExtraSite] = Field(
        default_factory=list,
        description="Further sites the unit runs from (a multi-site unit); F_sh adds each "
                    "site's fixed_cost_gbp and travel is to the nearest of its sites.")


class Function(_Strict):
    """A police function: shareable support function or local (never shared)."""

    id: Id
    name: str = ""
    shareable: bool = True
    variable_cost_gbp_per_unit: Rate = Field(
        0.0, description="v_s: annual cost per demand unit served in a shared unit."
    )
    travel_cost_gbp_per_unit_km: Rate = Field(
        0.0, description="tau_s: annual cost per demand unit per km from force to host."
    )
    officers_per_unit: Rate = Field(
        0.0, description="rho_s: officers a shared unit needs per demand unit."
    )
    unit_fixed_cost_gbp: Money = Field(0.0, description="F_sh default, annual.")
    unit_setup_cost_gbp: Money = Field(0.0, description="G_sh default, one-off.")
    unit_capacity: Count | None = Field(None, description="K_sh default; none = unlimited.")
    hosts: list[Host] | None = Field(
        None, description="Candidate host sites (default: every site), with cost overrides."
    )
    arc_cost_gbp: dict[Id, dict[Id, Money]] | None = Field(
        None,
        description="a_sih: explicit annual cost of serving force -> site; overrides travel.",
    )
    min_members: Members = Field(2, description="minm_s: members a unit needs.")
    max_members: Members | None = None
    max_units: int | None = Field(None, ge=0, le=100_000, description="U_s: open units at most.")
    divisible: bool = Field(False, description="A force's demand may be split across units.")
    standalone_allowed: bool = True
    host_must_be_member: bool = Field(
        True, description="A unit at a force-owned site must serve that force."
    )
    mechanism: Literal["co_located", "jointly_managed"] = Field(
        "co_located",
        description="co_located: the work moves to the host (travel, relocation); "
                    "jointly_managed: the work stays in each force under shared management "
                    "and systems (no travel, no relocation, no distance rule).")
    go_live_year: YearPoint = Field(
        1.0, description="g_s: a shared unit runs and saves from this point of the horizon; "
                         "before it each member runs the function alone.")
    dual_running_years: float = Field(
        0.0, ge=0, le=100,
        description="D_s: years before go-live in which members pay the unit's running "
                    "costs as well as their own (parallel running during the change).")
    one_off_year: YearPoint | None = Field(
        None, description="q_s: point of the horizon at which one-offs (set-up, transition, "
                          "relocation) are paid, discounted to then; default: the start "
                          "of the change, max(1, g - D).")
    staff_per_unit: Rate = Field(
        0.0, description="sigma_s: police staff a shared unit needs per demand unit.")
    provenance: Provenance


class Site(_Strict):
    """A place a shared unit can be hosted (usually a force headquarters)."""

    id: Id
    name: str = ""
    owner: Id | None = Field(None, description="o(h): the force that owns the site.")
    region: str | None = Field(None, description="Default: the owner's region.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    provenance: Provenance


class Cost(_Strict):
    """What one force spends on one function today, and what joining would take."""

    force: Id
    function: Id
    standalone_cost_gbp: Money = Field(description="c_si: annual cost run alone.")
    demand: Count | None = Field(None, description="d_si workload units (default: c_si).")
    officers_fte: Count = Field(0.0, description="o_si: officers working in it today.")
    staff_fte: Count = Field(0.0, description="e_si: police staff working in it today.")
    transition_cost_gbp: Money = Field(0.0, description="t_si: one-off cost of joining a unit.")
    relocation_cost_gbp: Money = Field(
        0.0, description="l_si: one-off cost of moving the work to a unit at a site the force "
                         "does not own (co_located functions only).")
    provenance: Provenance


class Existing(_Strict):
    """A shared unit already running: fixed in place unless re-optimisable."""

    function: Id
    site: Id
    members: list[Id] = Field(min_length=1)
    reoptimisable: bool = False
    name: str = ""


class ForcePair(_Strict):
    forces: tuple[Id, Id]
    functions: list[Id] | None = Field(None, description="Default: every shareable function.")


class ForceFunction(_Strict):
    force: Id
    function: Id
    note: str = ""


class Policy(_Strict):
    opt_outs: list[ForceFunction] = Field(default_factory=list)
    must_share: list[ForceFunction] = Field(default_factory=list)
    forbidden_partners: list[ForcePair] = Field(default_factory=list)
    max_distance_km: dict[
        Annotated[str, StringConstraints(pattern=r"^(\*|[A-Za-z][A-Za-z0-9_]{0,63})$")],
        Annotated[float, Field(gt=0, le=50_000)],
    ] = Field(
        default_factory=dict, description="Function id (or '*' for all) -> km."
    )
    same_region: list[Id] = Field(
        default_factory=list,
        description="Functions whose units serve only forces in the host site's region.",
    )


ObjectiveSense = Literal["min_cost", "max_min_savings_ratio", "max_frontline"]


class Objective(_Strict):
    sense: ObjectiveSense = "min_cost"
    aggregate_savings_target_gbp: Money | None = Field(
        None, description="Savings over all forces together, over the horizon."
    )


class Instance(_Strict):
    """One planning question: forces, functions, sites, costs, rules and objective."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str
    description: str = ""
    currency: Literal["GBP"] = "GBP"
    horizon_years: int = Field(5, ge=1, le=100)
    first_financial_year: int | None = Field(
        None, ge=1900, le=2200,
        description="Calendar year in which horizon year 1 begins (2014 = 2014/15); labels only.")
    discount_rate: float = Field(0.0, ge=0, lt=1)
    allocation: Literal["demand", "equal", "key"] = "demand"
    forces: list[Force] = Field(min_length=1)
    functions: list[Function] = Field(min_length=1)
    sites: list[Site] = Field(default_factory=list)
    costs: list[Cost]
    existing: list[Existing] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    objective: Objective = Field(default_factory=Objective)
    sources: list[str] = Field(default_factory=list)

    def year_factors(self) -> list[float]:
        """Discount factor of each horizon year's annual flows: (1+r)^-k, k = 1..Y."""
        r = self.discount_rate
        return [(1 + r) ** -k for k in range(1, self.horizon_years + 1)]

    @property
    def annuity_factor(self) -> float:
        """alpha = sum_{k=1..Y} (1+r)^-k (= Y when r = 0)."""
        r = self.discount_rate
        return float(sum((1 + r) ** -k for k in range(1, self.horizon_years + 1)))
