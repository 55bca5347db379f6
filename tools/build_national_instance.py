"""Build instances/england-wales-43.json from data/police (see docs/national.md).

Every figure that is not a published number carries an 'ESTIMATE: ...' provenance.
Run from the repository root: python tools/build_national_instance.py [OUT.json] [--max-km KM]
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

# Frontline: officer shares (HO 2025) of Local Policing 39.6 + Investigations 15.6 +
# Public Protection 10.1 + Operational Support 6.1 + Intelligence 3.7 + Road Policing 2.8
# + Investigative Support 0.3 = 78.2% of officers.
FRONTLINE_SHARE = 0.782
FLOOR_SHARE = 0.995  # policy estimate: keep at least 99.5% of today's frontline
TARGET_SHARE = 0.025  # of annual budget, over 5 years (about a sixth of Herts 16%)
#: Regional rule: a unit serves forces of its host's region only (England and Wales
#: collaborate by region: regional organised crime units, the Eastern BCH alliance).
#: Pass MAX_KM instead (e.g. ``--max-km 150``) for a distance rule across regions.
MAX_KM: float | None = None
MAX_MEMBERS = 4
FIXED_OVERHEAD_BUDGET = 35e6  # per-force fixed overhead = what a GBP 35m budget spends on s
UNIT_FIXED_X = 1.5  # shared unit's annual fixed cost, x one force's fixed overhead
UNIT_SETUP_X = 1.0  # one-off set-up, x one force's fixed overhead
TRANSITION_SHARE = 0.05  # one-off joining cost, share of the force's annual cost of s

# id, name, budget share, officer share, marginal-cost factor v/u, travel GBP/unit/km, basis
FUNCTIONS = [
    ("finance", "Finance", 0.020, 0.001, 0.95, 50,
     "HMIC 2010 business support (HR, finance, IT) 11% of workforce time, split ICT 5.5 / HR 3.0 / finance 2.0 / legal 0.5"),
    ("fleet", "Fleet", 0.025, 0.002, 0.95, 200,
     "HMIC 2010 operational support (planning, estates, vehicles) 8%: estates 4.0 / fleet 2.5 / planning 1.5 (stays local)"),
    ("estates", "Estates and facilities", 0.040, 0.001, 0.97, 200,
     "HMIC 2010 operational support 8% (see fleet)"),
    ("legal", "Legal services", 0.005, 0.001, 0.95, 50,
     "HMIC 2010 business support 11% (see finance)"),
    ("hr", "Human resources", 0.030, 0.008, 0.95, 50,
     "HMIC 2010 business support 11% (see finance)"),
    ("professional_standards", "Professional standards", 0.005, 0.013, 0.97, 100,
     "GUESS: 0.5% of spend (not in the HMIC 2010 split; taken from 'investigating crime')"),
    ("training", "Training", 0.020, 0.020, 0.95, 200, "HMIC 2010 training 2%"),
    ("ict", "ICT", 0.055, 0.005, 0.93, 50, "HMIC 2010 business support 11% (see finance)"),
    ("firearms_licensing", "Firearms licensing", 0.003, 0.002, 0.95, 100,
     "GUESS: 0.3% of spend (small civilian teams; not in the HMIC 2010 split)"),
    ("custody", "Custody", 0.030, 0.020, 0.97, 500, "HMIC 2010 holding people in custody 3%"),
    ("crime_recording", "Crime recording", 0.010, 0.005, 0.95, 50,
     "ESTIMATE: 1% of spend taken from HMIC 2010 'investigating crime' 13%"),
]
LOCAL = [
    ("local_policing", "Local policing (response, neighbourhood, roads, 999 calls)", 0.47,
     "HMIC 2010: working in the community 36% + policing roads 4% + 999 calls and tasking 7%"),
    ("other_operational", "Investigation, public protection, specialist and other operational", None,
     "the rest of the budget after the shareable and local-policing shares (HMIC 2010 remainder, "
     "including units already shared such as armed policing and major crime)"),
]


def slug(name: str) -> str:
    special = {"London, City of": "city_of_london", "Metropolitan Police": "metropolitan"}
    if name in special:
        return special[name]
    s = re.sub(r"[^a-z0-9]+", "_", name.lower().replace("&", "and")).strip("_")
    return s


def main(out: str) -> None:
    with open(DATA / "forces43_workforce_hq_budget.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 43, len(rows)
    total_share = sum(f[2] for f in FUNCTIONS)
    local_share = LOCAL[0][2]
    other_share = 1.0 - total_share - local_share
    budgets = {slug(r["force"]): float(r["est_gross_spend_2014_15_gbp_m"]) * 1e6 for r in rows}
    officers = {slug(r["force"]): float(r["officer_fte_mar2015"]) for r in rows}
    forces, sites, costs = [], [], []
    for r in rows:
        fid = slug(r["force"])
        b = budgets[fid]
        off = officers[fid]
        front = round(off * FRONTLINE_SHARE, 1)
        forces.append({
            "id": fid, "name": r["force"], "region": r["region"],
            "lat": float(r["hq_lat_approx"]), "lon": float(r["hq_lon_approx"]),
            "budget_gbp": round(b), "officers_fte": off,
            "frontline_officers_fte": front,
            "frontline_floor_fte": round(front * FLOOR_SHARE, 1),
            "savings_target_gbp": round(TARGET_SHARE * b),
            "provenance": {
                "budget_gbp": "ESTIMATE: " + r["source_spend_estimate"].removeprefix("ESTIMATE: "),
                "officers_fte": "official: " + r["source_workforce"],
                "frontline_officers_fte": f"ESTIMATE: {FRONTLINE_SHARE:.1%} of officers_fte, the "
                    "officer share of Local Policing, Investigations, Public Protection, "
                    "Operational Support, Intelligence, Road Policing and Investigative Support "
                    "(Home Office workforce by function 2025, national shares)",
                "frontline_floor_fte": f"ESTIMATE: policy choice, {FLOOR_SHARE:.1%} of the "
                    "estimated frontline ('protect frontline officer numbers')",
                "savings_target_gbp": f"ESTIMATE: {TARGET_SHARE:.1%} of budget_gbp over "
                    f"{HORIZON} years: Hertfordshire's GBP 30m over five years is 16% of its "
                    "budget; about a sixth of that is asked of sharing these 11 functions "
                    "(NAO 2015: forces took 0-47% of their savings from collaboration of all "
                    "kinds)",
                "lat": "ESTIMATE: " + r["source_hq"].removeprefix("ESTIMATE: "),
                "lon": "ESTIMATE: approximate HQ longitude (see lat)",
            },
        })
        sites.append({
            "id": f"{fid}_hq", "name": f"{r['force']} HQ, {r['hq_site']}", "owner": fid,
            "lat": float(r["hq_lat_approx"]), "lon": float(r["hq_lon_approx"]),
            "provenance": {"lat": "ESTIMATE: " + r["source_hq"].removeprefix("ESTIMATE: "),
                           "lon": "ESTIMATE: approximate (see lat)"},
        })
    total_officers = sum(officers.values())
    functions = []
    for sid, name, share, oshare, vfac, tau, basis in FUNCTIONS:
        overhead = share * FIXED_OVERHEAD_BUDGET
        # marginal workload (GBP m) and officers, national totals -> officers per unit
        work = sum((share * b - overhead) / 1e6 for b in budgets.values())
        rho = oshare * total_officers / work
        functions.append({
            "id": sid, "name": name, "shareable": True,
            "variable_cost_gbp_per_unit": round(vfac * 1e6),
            "travel_cost_gbp_per_unit_km": float(tau),
            "officers_per_unit": round(rho, 4),
            "unit_fixed_cost_gbp": round(UNIT_FIXED_X * overhead),
            "unit_setup_cost_gbp": round(UNIT_SETUP_X * overhead),
            "min_members": 2, "max_members": MAX_MEMBERS,
            "provenance": {
                "variable_cost_gbp_per_unit": f"ESTIMATE: a shared unit runs a unit of marginal "
                    f"workload (GBP 1m of a force's own marginal spend) for {vfac:.0%} of it "
                    "(scale economies in purchasing and systems); the main saving is the "
                    "duplicated fixed overhead (see unit_fixed_cost_gbp)",
                "travel_cost_gbp_per_unit_km": "GUESS: cost per GBP 1m of workload per km "
                    "between force HQ and host (higher where work is tied to place)",
                "officers_per_unit": "ESTIMATE: national officers in the function (officer "
                    "share x officers) per unit of national marginal workload",
                "unit_fixed_cost_gbp": f"ESTIMATE: {UNIT_FIXED_X} x one force's fixed overhead "
                    f"(what a GBP {FIXED_OVERHEAD_BUDGET / 1e6:.0f}m budget spends on the "
                    "function): a shared unit's management and systems",
                "unit_setup_cost_gbp": f"ESTIMATE: {UNIT_SETUP_X} x one force's fixed overhead, "
                    "one-off (BCH received GBP 8m Home Office Innovation Fund for its programme)",
                "max_members": "ESTIMATE: units of at most 4 forces (BCH is 3)",
            },
        })
        for r in rows:
            fid = slug(r["force"])
            c = share * budgets[fid]
            costs.append({
                "force": fid, "function": sid, "standalone_cost_gbp": round(c),
                "demand": round((c - overhead) / 1e6, 4),
                "officers_fte": round(oshare * officers[fid], 2),
                "transition_cost_gbp": round(TRANSITION_SHARE * c),
                "provenance": {
                    "standalone_cost_gbp": f"ESTIMATE: {share:.1%} of budget ({basis})",
                    "demand": f"ESTIMATE: GBP m of marginal spend: standalone cost less a fixed "
                        f"overhead of GBP {overhead / 1e6:.3f}m",
                    "officers_fte": f"ESTIMATE: {oshare:.1%} of officers (Home Office 2025 "
                        "support functions 5.8% and criminal justice 2.5%, split by function)",
                    "transition_cost_gbp": f"ESTIMATE: {TRANSITION_SHARE:.0%} of the annual cost, "
                        "one-off",
                },
            })
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
            "the 11 support functions of the 2014 Bedfordshire-Cambridgeshire-Hertfordshire "
            "agreement to share, with whom and at which force HQ, over five years. Workforce "
            "and locations are public figures; budgets, function costs, economies of scale, "
            "targets and floors are ESTIMATES (see each provenance and docs/national.md)."),
        "horizon_years": HORIZON, "discount_rate": 0.0, "allocation": "demand",
        "forces": forces, "functions": functions, "sites": sites, "costs": costs,
        "policy": ({"max_distance_km": {f[0]: MAX_KM for f in FUNCTIONS}} if MAX_KM else
                   {"same_region": [f[0] for f in FUNCTIONS]}),
        "sources": [
            f"budget_gbp: ESTIMATE, {PAC}, apportioned by total workforce FTE",
            f"officers_fte: {HO_WORKFORCE}",
            f"function shares of spend: {HMIC_2010}",
            f"officer shares by function: {HO_FUNCTIONS}",
            "savings targets: Hertfordshire PCC open letter 2014 (GBP 30m over five years, 16% "
            "of budget), borehamwoodtimes.co.uk/opinion/letters/11759334; NAO 2015 (0-47% of "
            "savings from collaboration)",
            "scope: BCH memorandum of understanding, May 2014 (feeds.bbci.co.uk/news/uk-england-27397506)",
            "HQ sites and coordinates: ESTIMATE, general knowledge c. 2013-15, approximate (~1 km)",
            ("units within one region" if MAX_KM is None else f"max distance {MAX_KM:g} km")
            + " and at most 4 forces a unit: ESTIMATE (policy assumptions)",
            "data files: data/police/forces43_workforce_hq_budget.csv, function_shares.csv",
        ],
    }
    Path(out).write_text(json.dumps(inst, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--max-km" in args:
        k = args.index("--max-km")
        MAX_KM = float(args[k + 1])
        del args[k:k + 2]
    main(args[0] if args else str(Path(__file__).resolve().parents[1] / "instances"
                                  / "england-wales-43.json"))
