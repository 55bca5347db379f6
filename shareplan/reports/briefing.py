"""The planner's briefing of a plan: what it saves, who pays, what was left and why, what binds.

One :class:`Briefing` feeds every output (terminal, JSON, CSV, workbook, HTML), so
they all say the same thing. Money is counted as the model counts it (docs/model.md section 3):

* ``alpha = sum_{k=1..Y} (1+r)^-k``; horizon figures are present values at rate ``r``
  (cash when ``r = 0``) of each year's cost: a unit runs and saves from its go-live,
  and one-offs are discounted to the year they fall (the start unless the instance
  times them: ``go_live_year``, ``one_off_year``).
* a force's savings a year once running: the sum over the new units it joins of its
  ``saving_per_year_gbp`` (what it paid alone less its running cost and share of the
  unit's fixed cost, cash, once the unit is live); for a plan without per-member
  figures, ``(Savings_i + one_off_i) / alpha``;
* simple payback: ``one_offs / savings a year`` (years once live, undiscounted; it
  counts neither the wait for go-live nor dual running: the year-by-year cash table
  shows when savings turn positive).
* a unit saves ``sum_i c_si x_sih - (F_sh + sum_i m_sih x_sih)`` a year against its
  members running the function alone.
* the cost of a rule (a target, a floor): ``objective - objective without the rule``,
  measured by solving again without it (so a rule that is slack at the optimum can
  still cost money: the model is not convex).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np

from ..models.instance import Instance
from ..text import go_live_label, year_label
from ..text import money as money_text

#: plan keys that may hold a year-by-year table (a list of row dicts)
YEAR_KEYS = ("years", "year_by_year", "timeline")


@dataclass
class Column:
    key: str
    label: str
    kind: str  # text, gbp, fte, years, count, pct, flag
    unit: str = ""  # what the figure is: "GBP a year (cash, once running)"


@dataclass
class Table:
    name: str  # file and sheet name: forces, units, ...
    title: str
    columns: list[Column]
    rows: list[dict]
    note: str = ""

    def as_dict(self) -> dict:
        return {"title": self.title, "note": self.note,
                "columns": [{"key": c.key, "label": c.label, "unit": c.unit}
                            for c in self.columns],
                "rows": self.rows}


@dataclass
class Briefing:
    instance_name: str
    status: str
    has_solution: bool
    headline: str  # "bch-2013: optimal (cbc: CBC 2.10)"
    accounting: dict  # horizon_years, discount_rate, annuity_factor, discounted, one_offs, text
    summary: Table
    tables: list[Table] = field(default_factory=list)  # forces, units, functions, ...
    solver: Table | None = None
    messages: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def as_dict(self) -> dict:
        return {"instance": self.instance_name, "status": self.status,
                "accounting": self.accounting, "summary": self.summary.as_dict(),
                **{t.name: t.as_dict() for t in self.tables},
                "solver": self.solver.as_dict() if self.solver else None,
                "messages": self.messages}


def _short(name: str) -> str:
    """A site's display name: the part before the first comma."""
    return name.split(",")[0].strip()


def accounting(inst: Instance) -> dict:
    r, y = inst.discount_rate, inst.horizon_years
    alpha = inst.annuity_factor
    years = f"{y} year" + ("s" if y != 1 else "")
    if r > 0:
        horizon = f"present value, {years} at {r:.1%}"
        text = (f"Horizon figures are present values over {years}, discounted at {r:.1%} a "
                f"year (annuity factor {alpha:.3f}); figures a year are cash.")
    else:
        horizon = f"cash, {years}, not discounted"
        text = f"Figures are cash, not discounted (discount rate 0%), over {years}."
    timed = any(fn.go_live_year > 1 or fn.one_off_year not in (None, 1) or any(
        h.go_live_year not in (None, 1) for h in fn.hosts or []) for fn in inst.functions)
    if timed:
        one_offs = "in the year they fall, discounted to it, included in horizon figures"
        text += (" Each unit saves from its go-live; before it each force runs the function "
                 "alone. One-off costs (set-up, transition, relocation) are counted in the "
                 "year they fall" + (", discounted to it" if r > 0 else "") +
                 "; they are inside the horizon savings.")
    else:
        one_offs = "at the start, not discounted, included in horizon figures"
        text += (" One-off costs (set-up of units, transition of members) fall at the start "
                 "and are counted in full, not discounted; they are inside the horizon "
                 "savings.")
    return {"currency": inst.currency, "horizon_years": y, "discount_rate": r,
            "annuity_factor": round(alpha, 6), "discounted": r > 0,
            "one_offs": one_offs,
            "horizon_basis": horizon, "text": text}


def _units_of(plan: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for u in plan.get("units", []):
        out.setdefault(u["function"], []).append(u)
    return out


def status_quo_units(inst: Instance) -> list:
    """The existing units as the status quo runs them, costed by the plan reader."""
    if not inst.existing:
        return []
    from ..models.network import build_network
    from ..solver.formulation import build_formulation
    from ..solver.plan import read_solution

    form = build_formulation(build_network(inst))
    x = np.zeros(form.lp.n_cols)
    for fd, xcols, ycols in zip(form.net.functions, form.x, form.y):
        x[xcols] = fd.status_quo
        for unit in fd.existing:
            x[ycols[unit.host]] = 1.0
    units, _ = read_solution(form, x)
    return units


def _unshared_reason(inst: Instance, net, loose, fid: str) -> str:
    """Why a shareable function has no unit: opt-out, policy, capacity or not worth it.

    ``net`` is the instance's network, ``loose()`` the same without capacity pruning
    (built once, on first need)."""
    fn = next(f for f in inst.functions if f.id == fid)
    need = fn.min_members
    if fn.max_units == 0:
        return "policy: max_units is 0 for this function"
    opted = {r.force for r in inst.policy.opt_outs if r.function == fid}
    if len(inst.forces) - len(opted) < need:
        names = ", ".join(sorted(_force_names(inst)[f] for f in opted))
        return f"opt-out: {names} opted out, fewer than {need} forces remain"

    def enough(net) -> bool:
        fd = next((d for d in net.functions if d.fn.id == fid), None)
        if fd is None:
            return False
        return any(len(set(fd.arc_force[fd.arc_host == h].tolist())) >= need
                   for h in range(len(fd.hosts)))

    if not enough(loose()):
        return ("policy: distance, region or host rules leave no site that "
                f"{need} forces may share")
    fd = next((d for d in net.functions if d.fn.id == fid), None)
    if not enough(net) or fd is None or not any(
            np.sort(fd.demand[np.unique(fd.arc_force[fd.arc_host == h])])[:need].sum()
            <= fd.capacity[h] + 1e-9 for h in range(len(fd.hosts))):
        return f"capacity: no site can take the demand of {need} forces"
    return "not worth it: a unit was possible but none lowers the total cost within the rules"


def _left_out_reason(inst: Instance, net, fid: str, force: str, units: list[dict]) -> str:
    """Why one force runs a shared function alone: opt-out, the rules, or not worth it."""
    if any(r.force == force and r.function == fid for r in inst.policy.opt_outs):
        return "opt-out"
    fd = next(d for d in net.functions if d.fn.id == fid)
    i = net.force_ids.index(force)
    open_hosts = {fd.hosts.index(u["site"]) for u in units if u["site"] in fd.hosts}
    reachable = {int(h) for h in fd.arc_host[fd.arc_force == i]}
    if not reachable & open_hosts:
        return ("policy or capacity: the rules (distance, region, capacity) do not let it "
                "join the open unit" + ("s" if len(open_hosts) > 1 else ""))
    return "not worth it: joining would not lower the total cost within the rules"


def short_force_name(name: str) -> str:
    """'Hertfordshire Constabulary' -> 'Hertfordshire' (for lists of members)."""
    for tail in (" Police Service", " Constabulary", " Police"):
        if name.endswith(tail) and len(name) > len(tail):
            return name[: -len(tail)]
    return name


def _force_names(inst: Instance) -> dict[str, str]:
    return {f.id: f.name or f.id for f in inst.forces}


def _money_cols(acc: dict) -> dict[str, str]:
    when = "at the start" if acc["one_offs"].startswith("at the start") else \
        "in the year it falls"
    return {"horizon": f"GBP, {acc['horizon_basis']}", "year": "GBP a year, cash, once running",
            "one_off": f"GBP one-off, cash, {when}"}


#: Below this share of the objective a host choice is not worth a planner's attention.
HOST_CHOICE_NEGLIGIBLE = 1e-3


def _go_live(plan: dict, u: dict) -> str:
    """The unit's go-live in planner words ('2015/16 + 67%'), '' for an existing unit."""
    if u.get("existing") or "go_live_year" not in u:
        return ""
    return go_live_label(plan.get("first_financial_year"), u["go_live_year"])


def _host_choice(plan: dict, u: dict, sites: dict[str, str]) -> str:
    """How much the host matters: the next-best host and its extra cost over the horizon,
    flagged when under 0.1% of the objective."""
    if u.get("existing") or "next_best_extra_gbp" not in u:
        return ""
    extra, other = u["next_best_extra_gbp"], u.get("next_best_site")
    if extra is None or other is None:
        return "no other site takes these members"
    if extra < 0:  # cheaper yet not chosen: the plan's other rules rule it out
        return (f"{sites.get(other, other)} would cost {money_text(-extra)} less but is "
                "ruled out by a target, floor or policy rule")
    where = f"{sites.get(other, other)} {money_text(extra)} more"
    objective = plan.get("objective") or 0.0
    if objective and abs(extra) < HOST_CHOICE_NEGLIGIBLE * abs(objective):
        return f"nearly free (< 0.1% of objective): {where}"
    return where


def _year_table(plan: dict) -> Table | None:
    """The plan's year-by-year table, when the model gives one (rendered generically)."""
    for key in YEAR_KEYS:
        rows = plan.get(key)
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            keys: list[str] = []
            for r in rows:
                keys += [k for k, v in r.items() if k not in keys and not isinstance(
                    v, dict | list)]
            cols = [Column(k, k.replace("_", " "), _kind_of(k), _unit_of(k)) for k in keys]
            return Table("years", "Year by year", cols,
                         [{k: r.get(k) for k in keys} for r in rows],
                         note=plan.get("years_note", ""))
    return _force_year_table(plan)


def _force_year_table(plan: dict) -> Table | None:
    """Per-force figures by year (a force field named ``*year*`` holding a list of numbers,
    or a {year: number} object): one row per force, one column per year."""
    forces = plan.get("forces") or []
    for key in dict.fromkeys(k for f in forces for k in f if "year" in k):
        series = {}
        for f in forces:
            v = f.get(key)
            if isinstance(v, dict):
                v = {str(y): x for y, x in v.items()}
            elif isinstance(v, list) and all(isinstance(x, int | float) for x in v):
                v = {str(y): x for y, x in enumerate(v, start=1)}
            else:
                continue
            series[f.get("name") or f["force"]] = v
        if series:
            years = list(dict.fromkeys(y for v in series.values() for y in v))
            kind = _kind_of(key)
            first = plan.get("first_financial_year")
            numbered = all(y.isdigit() for y in years)
            cols = [Column("name", "force", "text")] + [
                Column(y, year_label(first, int(y)) if numbered else f"year {y}", kind,
                       _unit_of(key)) for y in years]
            title = ("Savings year by year (cash, undiscounted; one-offs in their year)"
                     if key == "yearly_savings_gbp" else f"Year by year: {key.replace('_', ' ')}")
            return Table("years", title, cols, [{"name": n, **v} for n, v in series.items()])
    return None


def _kind_of(key: str) -> str:
    if key.endswith("_gbp"):
        return "gbp"
    if key.endswith("_fte"):
        return "fte"
    return "text" if key in ("force", "name", "function", "site") else "count"


def _unit_of(key: str) -> str:
    return {"gbp": "GBP", "fte": "FTE"}.get(_kind_of(key), "")


def make_briefing(inst: Instance, plan: dict, shadow_costs: list[dict] | None = None
                  ) -> Briefing:
    """The briefing of ``plan`` (a plan dict, the JSON contract) for ``inst``.

    ``shadow_costs`` comes from :func:`measure_shadow_costs` (omitted: the section says
    so)."""
    acc = accounting(inst)
    money = _money_cols(acc)
    alpha = inst.annuity_factor
    names = _force_names(inst)
    sites = {h.id: _short(h.name) if h.name else h.id for h in inst.sites}
    fnames = {f.id: f.name or f.id for f in inst.functions}
    has = plan.get("status") in ("optimal", "feasible") and bool(plan.get("forces"))
    frontline_today = {f.id: f.frontline_officers_fte for f in inst.forces}
    cost = {(c.force, c.function): c.standalone_cost_gbp for c in inst.costs}

    per_member = has and all("saving_per_year_gbp" in m for u in plan.get("units", [])
                             for m in u["members"])
    live_saving: dict[str, float] = {}
    for u in plan.get("units", []) if per_member else []:
        if not u.get("existing"):
            for m in u["members"]:
                live_saving[m["force"]] = live_saving.get(m["force"], 0.0) + \
                    m["saving_per_year_gbp"]
    forces_rows = []
    for f in plan.get("forces", []) if has else []:
        fid = f["force"]
        year = live_saving.get(fid, 0.0) if per_member else \
            (f["savings_gbp"] + f["one_off_gbp"]) / alpha
        target = f.get("target_gbp")
        forces_rows.append({
            "force": fid, "name": names.get(fid, fid),
            "savings_gbp": f["savings_gbp"], "target_gbp": target,
            "margin_gbp": None if target is None else round(f["savings_gbp"] - target, 2),
            "savings_a_year_gbp": round(year, 2), "one_off_gbp": f["one_off_gbp"],
            "payback_years": _payback(f["one_off_gbp"], year),
            "frontline_before_fte": frontline_today.get(fid),
            "frontline_after_fte": f["frontline_fte"], "floor_fte": f.get("floor_fte")})
    total_h = sum(r["savings_gbp"] for r in forces_rows)
    total_y = sum(r["savings_a_year_gbp"] for r in forces_rows)
    total_one = sum(r["one_off_gbp"] for r in forces_rows)
    summary_rows = []
    if has:
        y = inst.horizon_years
        summary_rows = [
            {"figure": "savings over the horizon", "value": round(total_h, 2),
             "kind": "gbp", "unit": money["horizon"]},
            {"figure": "savings a year once running", "value": round(total_y, 2),
             "kind": "gbp", "unit": money["year"]},
            {"figure": "one-off costs", "value": round(total_one, 2), "kind": "gbp",
             "unit": money["one_off"]},
            {"figure": "payback", "value": _payback(total_one, total_y), "kind": "years",
             "unit": "years once live: one-offs / savings a year (cash, simple)"},
            {"figure": "horizon", "value": y, "kind": "count", "unit": "years"},
            {"figure": "discount rate", "value": inst.discount_rate, "kind": "pct",
             "unit": "a year"},
            {"figure": "forces meeting their target",
             "value": f"{sum(1 for r in forces_rows if r['margin_gbp'] is None or r['margin_gbp'] >= -0.01)} of {len(forces_rows)}",  # noqa: E501
             "kind": "text", "unit": "no target counts as met"}]
    summary = Table("summary", "The plan in brief", [
        Column("figure", "figure", "text"), Column("value", "value", "value"),
        Column("unit", "unit", "text")], summary_rows, note=acc["text"])

    tables = []
    tables.append(Table("forces", "Forces", [
        Column("name", "force", "text"),
        Column("savings_gbp", "savings", "gbp", money["horizon"]),
        Column("target_gbp", "target", "gbp", money["horizon"]),
        Column("margin_gbp", "vs target", "gbp", money["horizon"]),
        Column("savings_a_year_gbp", "a year", "gbp", money["year"]),
        Column("one_off_gbp", "one-off", "gbp", money["one_off"]),
        Column("payback_years", "payback", "years", "years once live (simple)"),
        Column("frontline_before_fte", "frontline now", "fte", "FTE officers"),
        Column("frontline_after_fte", "after", "fte", "FTE officers"),
        Column("floor_fte", "floor", "fte", "FTE officers")], forces_rows,
        note="savings, target and vs target over the horizon; 'a year' once every unit "
             "runs; frontline officers today, under the plan, and the floor the plan keeps"))

    units_rows = []
    by_fn = _units_of(plan) if has else {}
    for u in plan.get("units", []) if has else []:
        alone = sum(cost.get((m["force"], u["function"]), 0.0) * m["fraction"]
                    for m in u["members"])
        units_rows.append({
            "function": u["function"], "function_name": fnames.get(u["function"], u["function"]),
            "site": u["site"], "host": sites.get(u["site"], u["site"]),
            "members": ", ".join(short_force_name(names.get(m["force"], m["force"])) + (
                "" if m["fraction"] >= 1 - 1e-9 else f" ({m['fraction']:.0%})")
                for m in u["members"]),
            "existing": bool(u.get("existing")),
            "alone_a_year_gbp": round(alone, 2), "unit_a_year_gbp": u["annual_cost_gbp"],
            "saves_a_year_gbp": round(alone - u["annual_cost_gbp"], 2),
            "one_off_gbp": u["one_off_cost_gbp"],
            "goes_live": _go_live(plan, u), "payback_years": u.get("payback_years"),
            "host_choice": _host_choice(plan, u, sites)})
    tables.append(Table("units", "Shared units", [
        Column("function_name", "function", "text"), Column("host", "host", "text"),
        Column("members", "members", "text"),
        Column("alone_a_year_gbp", "alone", "gbp", money["year"]),
        Column("unit_a_year_gbp", "shared", "gbp", money["year"]),
        Column("saves_a_year_gbp", "saves", "gbp", money["year"]),
        Column("one_off_gbp", "one-off", "gbp", money["one_off"]),
        Column("goes_live", "goes live", "text"),
        Column("payback_years", "payback", "years", "years once live: one-off / saves a year"),
        Column("host_choice", "host choice", "text")], units_rows,
        note="a year: what the members paid running it alone, what the unit costs, the "
             "difference (cash, once live); payback undiscounted; host choice: the next-best "
             "host for the same members and its extra horizon cost; existing units are "
             "marked '(existing)'"))

    fn_rows, unshared_rows = [], []
    if has:
        from ..models.network import build_network

        net = build_network(inst)
        loose = functools.cache(lambda: build_network(inst, capacity_prunes=False))
        before_units = _units_of({"units": [_unit_dict(u) for u in status_quo_units(inst)]})
        for fn in inst.functions:
            if not fn.shareable:
                continue
            before = _function_cost(inst, fn.id, before_units.get(fn.id, []), cost)
            after = _function_cost(inst, fn.id, by_fn.get(fn.id, []), cost)
            fn_rows.append({"function": fn.id, "name": fnames[fn.id],
                            "before_a_year_gbp": round(before, 2),
                            "after_a_year_gbp": round(after, 2),
                            "saves_a_year_gbp": round(before - after, 2)})
            if fn.id not in by_fn:
                unshared_rows.append({"function": fn.id, "name": fnames[fn.id],
                                      "reason": _unshared_reason(inst, net, loose, fn.id)})
            else:
                inside = {m["force"] for u in by_fn[fn.id] for m in u["members"]}
                for f in inst.forces:
                    if f.id not in inside:
                        unshared_rows.append({
                            "function": fn.id, "name": f"{fnames[fn.id]}: {names[f.id]} alone",
                            "reason": _left_out_reason(inst, net, fn.id, f.id,
                                                       by_fn[fn.id])})
    tables.append(Table("functions", "Cost per function a year, before and after", [
        Column("name", "function", "text"),
        Column("before_a_year_gbp", "before", "gbp", money["year"]),
        Column("after_a_year_gbp", "after", "gbp", money["year"]),
        Column("saves_a_year_gbp", "saves", "gbp", money["year"])], fn_rows,
        note="all forces together, once running; 'before' is today's arrangement "
             "(existing units as they are)"))
    if fn_rows:
        before = sum(r["before_a_year_gbp"] for r in fn_rows)
        after = sum(r["after_a_year_gbp"] for r in fn_rows)
        summary.rows[4:4] = [
            {"figure": "baseline: shareable functions", "value": round(before, 2),
             "kind": "gbp", "unit": money["year"].replace("once running", "today")},
            {"figure": "plan: shareable functions", "value": round(after, 2), "kind": "gbp",
             "unit": money["year"]}]
    local = [fnames[f.id] for f in inst.functions if not f.shareable]
    tables.append(Table("unshared", "Left unshared, and why", [
        Column("name", "function", "text"), Column("reason", "reason", "text")],
        unshared_rows, note="local policing, never shared: " + "; ".join(local)
        if local else ""))

    shadow_rows = shadow_costs or []
    tables.append(Table("constraints", "Rules that bind, and what each costs", [
        Column("rule", "rule", "text"), Column("slack", "slack", "text"),
        Column("cost_gbp", "cost", "gbp", money["horizon"]),
        Column("note", "how measured", "text")], shadow_rows,
        note=("cost of a rule: how much lower the total cost over the horizon would be "
              "without it, measured by solving again without it (shadow cost; 0 = the rule "
              "costs nothing)") if shadow_costs is not None else
        "shadow costs not measured (run with a shadow budget above 0)"))
    years = _year_table(plan)
    if years is not None:
        tables.append(years)

    gap = plan.get("gap")
    solver_rows = [
        {"figure": "status", "value": plan.get("status"), "kind": "text", "unit": ""},
        {"figure": "objective (total cost)", "value": plan.get("objective"), "kind": "gbp",
         "unit": money["horizon"] + ", local policing included"},
        {"figure": "bound", "value": plan.get("bound"), "kind": "gbp",
         "unit": money["horizon"]},
        {"figure": "gap", "value": "-" if gap is None else f"{gap:.2e}", "kind": "text",
         "unit": "relative, on the part of the cost decisions change"},
        {"figure": "backend", "value": f"{plan.get('backend', '')}: "
         f"{(plan.get('solver') or {}).get('name', '')} "
         f"{(plan.get('solver') or {}).get('version', '')}".strip(), "kind": "text",
         "unit": ""},
        {"figure": "times", "value": _times(plan.get("times") or {}), "kind": "text",
         "unit": "wall-clock"}]
    solver = Table("solver", "The model", [
        Column("figure", "figure", "text"), Column("value", "value", "value"),
        Column("unit", "unit", "text")], solver_rows)
    messages = [e["message"] for e in plan.get("explanation") or []]
    if plan.get("message") and not messages:
        messages.append(plan["message"])
    solver_name = (plan.get("solver") or {})
    headline = (f"{inst.name}: {plan.get('status', '')} ({plan.get('backend', '')}: "
                f"{solver_name.get('name', '')} {solver_name.get('version', '')}".rstrip() + ")")
    return Briefing(inst.name, plan.get("status", ""), has, headline, acc, summary, tables,
                    solver, messages)


def _times(t: dict) -> str:
    return ", ".join(f"{k.removesuffix('_s')} {v:.2f} s" for k, v in t.items()
                     if isinstance(v, int | float))


def _payback(one_off: float, a_year: float) -> float | None:
    """Years to earn back the one-offs (None: never, savings a year not positive)."""
    if one_off <= 0.005:
        return 0.0
    return round(one_off / a_year, 2) if a_year > 0.005 else None


def _unit_dict(u) -> dict:
    return {"function": u.function, "site": u.site, "annual_cost_gbp": u.annual_cost_gbp,
            "members": [{"force": m.force, "fraction": m.fraction} for m in u.members]}


def _function_cost(inst: Instance, fid: str, units: list[dict], cost: dict) -> float:
    """A year, all forces: the units' costs plus what forces outside them pay alone."""
    inside: dict[str, float] = {}
    total = 0.0
    for u in units:
        total += u["annual_cost_gbp"]
        for m in u["members"]:
            inside[m["force"]] = inside.get(m["force"], 0.0) + m["fraction"]
    for f in inst.forces:
        total += cost.get((f.id, fid), 0.0) * max(0.0, 1.0 - inside.get(f.id, 0.0))
    return total


def measure_shadow_costs(inst: Instance, plan: dict, backend: str, options,
                         budget_s: float = 20.0) -> list[dict]:
    """The cost of each savings target and frontline floor: solve again without it.

    cost = objective(plan) - objective(best plan without the rule). Rules are tried
    tightest first; once ``budget_s`` seconds are spent the rest are listed as not
    measured. A re-solve that is not proven optimal gives a lower bound ("at least").
    Only for the least-cost objective (other objectives are not money)."""
    from dataclasses import replace

    from ..solver.run import solve_instance

    if plan.get("status") not in ("optimal", "feasible") or plan.get("objective") is None:
        return []
    if plan["status"] != "optimal":  # differences of unproven objectives mean nothing
        return [{"rule": "every target and floor", "slack": "", "cost_gbp": None,
                 "note": "not measured: the plan was cut short, not proven best"}]
    obj = plan["objective"]
    forces = {f["force"]: f for f in plan.get("forces", [])}
    rules = []
    for f in inst.forces:
        rec = forces.get(f.id)
        if rec is None:
            continue
        name = f.name or f.id
        if f.savings_target_gbp is not None:
            rules.append((rec["savings_gbp"] - f.savings_target_gbp,
                          f"savings target of {name}", "target", f.id))
        if f.frontline_floor_fte is not None:
            rules.append(((rec["frontline_fte"] - f.frontline_floor_fte) * 1e4,
                          f"frontline floor of {name}", "floor", f.id))
    agg = inst.objective.aggregate_savings_target_gbp
    if agg is not None:
        total = sum(r["savings_gbp"] for r in forces.values())
        rules.append((total - agg, "aggregate savings target", "aggregate", ""))
    if inst.objective.sense != "min_cost":
        return [{"rule": r[1], "slack": _slack_text(r), "cost_gbp": None,
                 "note": f"not measured: the objective is {inst.objective.sense}, not money"}
                for r in rules]
    rules.sort(key=lambda r: (abs(r[0]) >= 1.0, r[2] == "floor", r[0]))  # tight, targets first
    out, t0 = [], time.perf_counter()
    tol = max(1.0, (plan.get("options") or {}).get("gap", 1e-6) * abs(obj))
    for slack, label, kind, fid in rules:
        left = budget_s - (time.perf_counter() - t0)
        row = {"rule": label, "slack": _slack_text((slack, label, kind, fid)),
               "cost_gbp": None, "note": ""}
        out.append(row)
        if left <= 0:
            row["note"] = "not measured (shadow budget spent)"
            continue
        relaxed = _without(inst, kind, fid)
        limit = left if options.time_limit is None else min(left, options.time_limit)
        res = solve_instance(relaxed, backend, replace(options, time_limit=limit),
                             explain=False)
        if res.objective is None:
            row["note"] = f"not measured (re-solve: {res.status.value})"
            continue
        diff = obj - res.objective
        diff = 0.0 if abs(diff) < tol else round(diff, 2)
        if diff < 0 and res.status.value != "optimal":  # the re-solve was cut short
            row["note"] = "not measured (the re-solve found no plan as good in its time)"
            continue
        row["cost_gbp"] = diff
        row["note"] = ("solved again without it" if res.status.value == "optimal"
                       else "at least this: the re-solve was not proven optimal")
    return out


def _slack_text(rule: tuple) -> str:
    slack, _, kind, _ = rule
    if kind == "floor":
        v = slack / 1e4
        return "tight" if abs(v) < 1e-3 else f"{v:,.1f} FTE above"
    from ..text import money

    return "tight" if abs(slack) < 1.0 else f"{money(slack)} above"


def _without(inst: Instance, kind: str, fid: str) -> Instance:
    """The instance with one rule removed."""
    if kind == "aggregate":
        return inst.model_copy(update={"objective": inst.objective.model_copy(
            update={"aggregate_savings_target_gbp": None})})
    field_name = "savings_target_gbp" if kind == "target" else "frontline_floor_fte"
    return inst.model_copy(update={"forces": [
        f.model_copy(update={field_name: None}) if f.id == fid else f for f in inst.forces]})
