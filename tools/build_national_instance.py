"""Build instances/england-wales-43.json from data/police (see docs/national.md).

Every figure that is not a published number carries an 'ESTIMATE: ...' provenance.
Run from the repository root:
    python tools/build_national_instance.py [OUT.json] [--max-km KM] [--target-share F]

``--max-km 150`` replaces the regional rule by a distance rule (every force within KM of
another joins one block); ``--target-share 0.01`` gives every force a savings target for
sharing of F x its budget over the horizon (savings_from_other_measures_gbp = need - target).
"""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "police"
HORIZON = 5
PAC = ("Public Accounts Committee HC 288 (2015-16) para 2: gross spend of the 43 forces "
       "GBP 12.8bn in 2014-15, publications.parliament.uk/pa/cm201516/cmselect/cmpubacc/288/28806.htm")
HO_WORKFORCE = ("Home Office, Police workforce England and Wales 30 Sep 2015, Tables 1-4 "
                "(31 Mar 2015 FTE), via github.com/Resistance-Lab/resistancelab_data")
HMIC_2010 = ("HMIC Value for Money 2010 (workforce time by function), "
             "justiceinspectorates.gov.uk/hmicfrs/news/releases/release-006-2010/")
HO_FUNCTIONS = ("Home Office police workforce by function, 31 Mar 2025 (officer FTE shares), "
                "transcribed in github.com/isthisben/cbl-realcrime functions_loader.py")

# Frontline: every officer outside the shareable functions (as in the BCH instance).
#: Regional rule: a unit serves forces of its host's region only (England and Wales
#: collaborate by region: regional organised crime units, the Eastern BCH alliance).
#: Pass MAX_KM instead (e.g. ``--max-km 150``) for a distance rule across regions.
MAX_KM: float | None = None
#: A savings target for sharing as a share of budget (``--target-share``); None: no target.
TARGET_SHARE: float | None = None
MAX_MEMBERS = 4
FLOOR_SHARE = 0.995  # of today's frontline (see frontline_floor_fte's provenance)
BCH = Path(__file__).resolve().parents[1] / "instances" / "bch-2013.json"
#: The BCH calibration, read from the bundled BCH instance: per shareable function the
#: saving rate r of a full unit (r = 1 - v - F / D), fixed share f = F / D, travel tau,
#: mechanism, go-live, and the one-off rule (1.5 years of saving, 60% set-up).
ONE_OFF_YEARS_OF_SAVING = 1.5
SETUP_SHARE = 0.6
RELOCATION_SHARE = 0.5
#: Savings need: Hertfordshire's GBP 30m is 16% of its budget. No part planned from other
#: measures is given, so no force has a target for sharing: with the BCH derivation
#: (collaboration carried 8/36 of Hertfordshire's 2011-15 savings: 3.6% of budget) the
#: instance is proven infeasible (Dorset, Gloucestershire, Wiltshire, ...), and at 2.5% of
#: budget no backend finds a plan within 150 s (docs/national.md). A planner states
#: savings_from_other_measures_gbp per force to set one.
NEED_SHARE = 0.16
LOCAL = [
    ("local_policing", "Local policing (response, neighbourhood, roads)", 0.40,
     "HMIC 2010: working in the community 36% + policing roads 4% (999 calls and tasking are "
     "the shareable contact_and_control)"),
    ("other_operational", "Investigation, public protection, specialist and other operational", None,
     "the rest of the budget after the shareable and local-policing shares (HMIC 2010 remainder, "
     "including units already shared such as armed policing and major crime)"),
]


def bch_calibration() -> list[dict]:
    """Per shareable new function of the BCH instance: its calibrated figures and sources."""
    bch = json.loads(BCH.read_text(encoding="utf-8"))
    existing = {e["function"] for e in bch["existing"]}
    out = []
    for fn in bch["functions"]:
        if not fn.get("shareable", True) or fn["id"] in existing:
            continue
        rows = [c for c in bch["costs"] if c["function"] == fn["id"]]
        D = sum(c["standalone_cost_gbp"] for c in rows)
        budgets = {f["id"]: f["budget_gbp"] for f in bch["forces"]}
        people = {c["force"]: c for c in rows}
        out.append({
            "id": fn["id"], "name": fn["name"], "mechanism": fn["mechanism"],
            "go_live_year": fn["go_live_year"],
            "go_source": fn["provenance"]["go_live_year"],
            "r": 1 - fn["variable_cost_gbp_per_unit"] - fn["unit_fixed_cost_gbp"] / D,
            "f": fn["unit_fixed_cost_gbp"] / D,
            "tau": fn["travel_cost_gbp_per_unit_km"],
            "share": D / sum(budgets.values()),
            "officer_share": sum(c["officers_fte"] for c in rows)
                / sum(f["officers_fte"] for f in bch["forces"]),
            "rate_source": fn["provenance"]["variable_cost_gbp_per_unit"],
            "officers_per_unit": fn["officers_per_unit"],
            "staff_per_unit": fn["staff_per_unit"],
            "bch_staff": sum(people[f]["staff_fte"] for f in people),
        })
    return out


def slug(name: str) -> str:
    special = {"London, City of": "city_of_london", "Metropolitan Police": "metropolitan"}
    if name in special:
        return special[name]
    s = re.sub(r"[^a-z0-9]+", "_", name.lower().replace("&", "and")).strip("_")
    return s


def build() -> dict:
    """The national instance as a dict (MAX_KM sets the distance rule, if any)."""
    with open(DATA / "forces43_workforce_hq_budget.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 43, len(rows)
    calib = bch_calibration()
    total_share = sum(c["share"] for c in calib)
    local_share = LOCAL[0][2]
    other_share = 1.0 - total_share - local_share
    budgets = {slug(r["force"]): float(r["est_gross_spend_2014_15_gbp_m"]) * 1e6 for r in rows}
    officers = {slug(r["force"]): float(r["officer_fte_mar2015"]) for r in rows}
    people = {slug(r["force"]): float(r["officer_fte_mar2015"]) + float(
        r["police_staff_fte_mar2015"]) + float(r["designated_officer_fte_mar2015"]) for r in rows}
    support_share = sum(c["officer_share"] for c in calib)
    forces, sites, costs = [], [], []
    for r in rows:
        fid = slug(r["force"])
        b = budgets[fid]
        off = officers[fid]
        front = round(off * (1 - support_share), 1)
        need = round(NEED_SHARE * b, -3)
        forces.append({
            "id": fid, "name": r["force"], "region": r["region"],
            "lat": float(r["hq_lat_approx"]), "lon": float(r["hq_lon_approx"]),
            "budget_gbp": round(b), "officers_fte": off,
            "frontline_officers_fte": front, "frontline_floor_fte": round(FLOOR_SHARE * front, 1),
            "savings_need_gbp": need,
            **({} if TARGET_SHARE is None else {"savings_from_other_measures_gbp": round(
                need - round(TARGET_SHARE * b, -3))}),
            "provenance": {
                "budget_gbp": "ESTIMATE: " + r["source_spend_estimate"].removeprefix("ESTIMATE: "),
                "officers_fte": "official: " + r["source_workforce"],
                "frontline_officers_fte": f"DERIVED: officers_fte x (1 - {support_share:.2%}), the "
                    "officer share of the shareable functions (as in bch-2013.json)",
                "frontline_floor_fte": f"ESTIMATE: {FLOOR_SHARE:.1%} of the frontline. The BCH "
                    "pledge (floor = frontline) is infeasible nationally with these estimates: a "
                    "force with fewer officers per GBP than the national average (e.g. Wiltshire) "
                    "loses officers to any unit, whose officer need is set nationally",
                "savings_need_gbp": f"ESTIMATE: {NEED_SHARE:.0%} of budget_gbp over 5 years, "
                    "Hertfordshire's GBP 30m as a share of its budget (PCC open letter 2014)",
                "lat": "ESTIMATE: " + r["source_hq"].removeprefix("ESTIMATE: "),
                "lon": "ESTIMATE: approximate HQ longitude (see lat)",
                **({} if TARGET_SHARE is None else {"savings_from_other_measures_gbp": (
                    f"ESTIMATE (policy, a benchmark setting): the need less a target for "
                    f"sharing of {TARGET_SHARE:.2%} of budget_gbp over 5 years")}),
            },
        })
        sites.append({
            "id": f"{fid}_hq", "name": f"{r['force']} HQ, {r['hq_site']}", "owner": fid,
            "lat": float(r["hq_lat_approx"]), "lon": float(r["hq_lon_approx"]),
            "provenance": {"lat": "ESTIMATE: " + r["source_hq"].removeprefix("ESTIMATE: "),
                           "lon": "ESTIMATE: approximate (see lat)"},
        })
    median_budget = sorted(budgets.values())[len(budgets) // 2]
    functions = []
    for c in calib:
        D3 = 3 * c["share"] * median_budget  # a three-force unit of median forces
        F = round(c["f"] * D3)
        G = round(SETUP_SHARE * ONE_OFF_YEARS_OF_SAVING * c["r"] * D3)
        v = round(1 - c["r"] - c["f"], 4)
        national_D = c["share"] * sum(budgets.values())
        national_staff = sum(max(0.0, c["share"] * people[f] - c["officer_share"] * officers[f])
                             for f in budgets)
        functions.append({
            "id": c["id"], "name": c["name"], "shareable": True, "mechanism": c["mechanism"],
            "go_live_year": c["go_live_year"],
            "variable_cost_gbp_per_unit": round(1 - c["r"] - c["f"], 4),
            "travel_cost_gbp_per_unit_km": c["tau"],
            "officers_per_unit": float(f"{v * c['officer_share'] * sum(officers.values()) / national_D:.4g}"),
            "staff_per_unit": float(f"{v * national_staff / national_D:.4g}"),
            "unit_fixed_cost_gbp": F, "unit_setup_cost_gbp": G,
            "min_members": 2, "max_members": MAX_MEMBERS,
            "provenance": {
                "mechanism": "as in bch-2013.json (custody and criminal justice jointly managed)",
                "go_live_year": "the BCH programme's go-live applied to every region: "
                    + c["go_source"],
                "variable_cost_gbp_per_unit": f"the BCH calibration: v = 1 - r - f with r = "
                    f"{c['r']:.4f}, f = {c['f']:.4f} ({c['rate_source'][:300]})",
                "travel_cost_gbp_per_unit_km": "as in bch-2013.json (per GBP of demand per km)",
                "officers_per_unit": "DERIVED as in bch-2013.json, nationally: v x the 43 "
                    "forces' officers in the function / their spend on it",
                "staff_per_unit": "DERIVED as in bch-2013.json, nationally: v x police staff in "
                    "the function / spend",
                "unit_fixed_cost_gbp": f"f x D3, D3 = 3 x {c['share']:.2%} x the median force "
                    f"budget (GBP {median_budget / 1e6:.1f}m): a unit's fixed cost as in BCH",
                "unit_setup_cost_gbp": f"ESTIMATE as in BCH: {SETUP_SHARE:.0%} of "
                    f"{ONE_OFF_YEARS_OF_SAVING:g} years of the saving r D3 (no Innovation Fund "
                    "outside BCH)",
                "max_members": "ESTIMATE: units of at most 4 forces (BCH is 3)",
            },
        })
        for r in rows:
            fid = slug(r["force"])
            cost = c["share"] * budgets[fid]
            t = (1 - SETUP_SHARE) * ONE_OFF_YEARS_OF_SAVING * c["r"] * cost
            o = round(c["officer_share"] * officers[fid], 2)
            row = {
                "force": fid, "function": c["id"], "standalone_cost_gbp": round(cost),
                "officers_fte": o,
                "staff_fte": round(max(0.0, c["share"] * people[fid] - o), 2),
                "provenance": {
                    "standalone_cost_gbp": f"ESTIMATE: {c['share']:.2%} of budget, the function's "
                        "share of the three BCH budgets (bch-2013.json)",
                    "officers_fte": f"ESTIMATE: {c['officer_share']:.2%} of officers (as in BCH)",
                    "staff_fte": "DERIVED: the spend share of officers + police staff + designated "
                        "officers (31 Mar 2015, " + HO_WORKFORCE + ") less the officers",
                },
            }
            if c["mechanism"] == "co_located":
                row["transition_cost_gbp"] = round((1 - RELOCATION_SHARE) * t)
                row["relocation_cost_gbp"] = round(RELOCATION_SHARE * t)
                row["provenance"]["relocation_cost_gbp"] = (
                    f"ESTIMATE as in BCH: {RELOCATION_SHARE:.0%} of the member's one-offs, only "
                    "when its work moves to another force's site")
            else:
                row["transition_cost_gbp"] = round(t)
            row["provenance"]["transition_cost_gbp"] = (
                f"ESTIMATE as in BCH: {1 - SETUP_SHARE:.0%} of {ONE_OFF_YEARS_OF_SAVING:g} "
                "years of the member's saving r c")
            costs.append(row)
    for sid, name, share, basis in LOCAL:
        sh = share if share is not None else other_share
        functions.append({"id": sid, "name": name, "shareable": False,
                          "provenance": {"name": f"ESTIMATE: {sh:.1%} of budget, never shared "
                                         f"({basis})"}})
        for r in rows:
            fid = slug(r["force"])
            costs.append({"force": fid, "function": sid,
                          "standalone_cost_gbp": round(sh * budgets[fid]),
                          "provenance": {"standalone_cost_gbp": f"ESTIMATE: {sh:.1%} of budget"}})
    inst = {
        "name": "england-wales-43",
        "description": (
            "The 43 territorial police forces of England and Wales (2014-15 figures): which of "
            "the support functions of the 2014 Bedfordshire-Cambridgeshire-Hertfordshire "
            "memorandum (with control rooms and public contact, and criminal justice) to share, "
            "with whom and at which force HQ, over five years from 2014/15, with the BCH "
            "calibration: saving rates, go-live waves, jointly managed custody and criminal "
            "justice, officers and staff apart, targets as need less other measures. Workforce "
            "and locations are public figures; budgets, function costs, needs and floors are "
            "ESTIMATES (see each provenance and docs/national.md)."),
        "horizon_years": HORIZON, "first_financial_year": 2014, "discount_rate": 0.0,
        "allocation": "demand",
        "forces": forces, "functions": functions, "sites": sites, "costs": costs,
        "policy": ({"max_distance_km": {c["id"]: MAX_KM for c in calib}} if MAX_KM else
                   {"same_region": [c["id"] for c in calib]}),
        "sources": [
            f"budget_gbp: ESTIMATE, {PAC}, apportioned by total workforce FTE",
            f"officers_fte: {HO_WORKFORCE}",
            f"function shares of spend: {HMIC_2010}",
            f"officer shares by function: {HO_FUNCTIONS}",
            "savings needs: Hertfordshire PCC open letter 2014 (GBP 30m over five years, 16% "
            "of budget; GBP 8m of 36m from collaboration), "
            "borehamwoodtimes.co.uk/opinion/letters/11759334",
            "calibration, timing and mechanisms: instances/bch-2013.json, bench/backtest.py",
            "scope: BCH memorandum of understanding, May 2014 (feeds.bbci.co.uk/news/uk-england-27397506)",
            "HQ sites and coordinates: ESTIMATE, general knowledge c. 2013-15, approximate (~1 km)",
            ("units within one region" if MAX_KM is None else f"max distance {MAX_KM:g} km")
            + " and at most 4 forces a unit: ESTIMATE (policy assumptions)",
            "data files: data/police/forces43_workforce_hq_budget.csv, function_shares.csv",
        ],
    }
    return inst


def main(argv=None) -> int:
    """Build, validate with the package's loader (every load-time rule), write atomically."""
    import argparse

    global MAX_KM, TARGET_SHARE
    from shareplan.models.load import InstanceError, write_loadable_instance

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(
        Path(__file__).resolve().parents[1] / "instances" / "england-wales-43.json"))
    parser.add_argument("--max-km", type=float, help="distance rule instead of regions")
    parser.add_argument("--target-share", type=float,
                        help="per-force savings target for sharing, share of budget")
    cli = parser.parse_args(argv)
    if cli.max_km is not None and not cli.max_km > 0:
        parser.error("--max-km: give a distance in km above 0, e.g. --max-km 150")
    if cli.target_share is not None and not 0 <= cli.target_share <= NEED_SHARE:
        parser.error(f"--target-share: give a share of budget from 0 to {NEED_SHARE} "
                     "(the savings need), e.g. --target-share 0.01")
    MAX_KM, TARGET_SHARE = cli.max_km, cli.target_share
    out = cli.out
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    try:
        write_loadable_instance(text, out)
    except InstanceError as exc:
        print(f"not written: {out} would not load:\n{exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
