"""Generate instances/bch-2013.json from the public figures (see docs/instances.md).

Usage: python tools/build_bch_instance.py [OUT.json] [name=value overrides for calibration]

Every number below is either a published figure (with its source) or an ESTIMATE /
DERIVED value whose formula is written next to it; the JSON carries the same labels.
"""
import json
import sys
from pathlib import Path

OUT = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / "instances" / "bch-2013.json")
P = dict(a.split("=") for a in sys.argv[2:])  # overrides for calibration runs

# ---------------------------------------------------------------- sources
S_BEDS_BUDGET = "https://eatonbray.com/news/2013/05/guest-post-from-olly-martins-police-crime-commissi"
S_CAMBS_BUDGET = "https://www.elystandard.co.uk/news/cambridgeshire-police-commissioner-announces-tax-increase-4849056"
S_HERTS_30M = "http://www.borehamwoodtimes.co.uk/opinion/letters/11759334.Freeze_the_policing_element_of_council_tax/"
S_WORKFORCE = ("Home Office, Police workforce England and Wales 30 Sep 2015, Tables 1-4, 31 Mar 2015 "
               "column (github.com/Resistance-Lab/resistancelab_data source_data/police-population/"
               "police-workforce-tabs-30sep15.ods)")
S_HMIC2010 = "https://www.justiceinspectorates.gov.uk/hmicfrs/news/releases/release-006-2010/"
S_HO2025 = ("Home Office police workforce functions 31 Mar 2025, officers (transcribed in "
            "github.com/isthisben/cbl-realcrime functions_loader.py)")
S_BEDS_SPLIT = "https://www.conservativehome.com/localgovernment/2015/02/labour-police-and-crime-commissioner-proposes-16-per-cent-increase-in-council-tax-precept.html"
S_BEDS_HQ = "https://bedfordshire.pcc.police.uk/pcc-d-125"
S_CAMBS_HQ = "https://wikisum.wiki/wiki/Cambridgeshire_Constabulary"
S_HERTS_HQ = "https://policeprofessional.com/news/70m-redevelopment-of-hertfordshire-constabulary-hq-given-go-ahead-by-pcc"
S_HUNTSPOST_3M = "https://www.huntspost.co.uk/news/police-collaboration-could-save-3m-a-year-for-cambs-herts-4953362"
S_HUNTSPOST_UNITS = "https://www.huntspost.co.uk/news/cambs-police-merges-three-units-with-two-counties-4960104"
S_BBC_PSU = "https://feeds.bbci.co.uk/news/uk-england-cambridgeshire-16485025"
S_CUSTODY = "https://www.peterboroughtoday.co.uk/news/crime/cambridgeshire-police-team-up-with-neighbouring-forces-to-tackle-mulit-million-pound-deficit-1-7016068"
S_INNOV = "https://www.bedfordtoday.co.uk/news/multi-million-pound-funding-help-police-bring-together-services-across-three-counties-2307343"
S_MOU = "https://feeds.bbci.co.uk/news/uk-england-27397506"
S_BEDS_UNITS = "http://www.bedfordshire.police.uk/about_us/collaboration.aspx"
S_GREEN_BOOK = "https://www.gov.uk/government/publications/the-green-book-appraisal-and-evaluation-in-central-governent"
S_GREEN_BOOK_35 = "https://www.gov.uk/government/publications/green-book-discount-rate-review-2026/review-of-discounting-in-the-green-book-terms-of-reference"
S_ALLIANCE = "http://www.bbc.co.uk/news/uk-england-cambridgeshire-13620843"
S_BEDS_SHARE = "https://www.police-life.co.uk/story/2011/08/24/three-way-police-alliance-bolsters-response-to-widespread-street-violence"

DATA = str(Path(__file__).resolve().parents[1] / "data" / "police") + "/"

# ---------------------------------------------------------------- forces
FORCES = [
    dict(id="beds", name="Bedfordshire Police", budget=102.8e6, officers=1072.9, workforce=2074.5,
         lat=52.116, lon=-0.502,
         budget_src=f"Bedfordshire budget GBP 102.8m 2013/14, reported by the PCC: {S_BEDS_BUDGET} "
                    f"(bch_force_facts.csv)"),
    dict(id="cambs", name="Cambridgeshire Constabulary", budget=131.5e6, officers=1362.0, workforce=2293.5,
         lat=52.329, lon=-0.203,
         budget_src=f"ESTIMATE: no 2013/14 figure found; GBP 131.5m is the 2014/15 nominal budget "
                    f"(PCC precept proposal via press: {S_CAMBS_BUDGET}), used as the nearest year "
                    f"(bch_force_facts.csv)"),
    dict(id="herts", name="Hertfordshire Constabulary", budget=187.5e6, officers=1910.5, workforce=3389.9,
         lat=51.793, lon=-0.220, target=30e6,
         budget_src=f"DERIVED: GBP 30m is '16% of the budget' (PCC open letter, {S_HERTS_30M}), "
                    f"so budget = 30 / 0.16 = GBP 187.5m (bch_force_facts.csv; no published 2013/14 "
                    f"Hertfordshire budget was found)"),
]
TOTAL_BUDGET = sum(f["budget"] for f in FORCES)
TOTAL_WORKFORCE = sum(f["workforce"] for f in FORCES)
# functions whose workload follows headcount (users, trainees, staff records): demand is the
# force's total workforce FTE (officers + staff + PCSOs + designated, 31 Mar 2015)
BY_WORKFORCE = {"hr", "training", "ict"}
FLOOR_PCT = float(P.get("floor", 0.99))
# alpha for the docs
R, Y = 0.035, 5
ALPHA = sum((1 + R) ** -k for k in range(1, Y + 1))

# ---------------------------------------------------------------- functions
# cost share of each force's budget (%), officer share of each force's officers (%).
# Shareable (2013 agreement) functions: v = variable cost per GBP of demand in a shared
# unit, f = fixed annual cost of a unit as a fraction of the three forces' combined
# demand D_s, g = gross set-up cost / D_s, t = transition cost / own annual cost,
# tau = travel cost per GBP of demand per km.
ELEVEN = [
    # id, name, cost%, officer%, v, f, g, t, tau
    ("finance", "Finance (incl. procurement and payroll accounting)", 2.5, 0.1,
     0.68, 0.06, 0.30, 0.10, 0.00012),
    ("fleet", "Fleet (vehicle purchase, maintenance, workshops)", 3.0, 0.1,
     0.77, 0.04, 0.12, 0.06, 0.0008),
    ("estates", "Estates and facilities", 5.5, 0.1,
     0.83, 0.03, 0.10, 0.06, 0.00015),
    ("legal", "Legal services", 0.5, 0.0,
     0.78, 0.14, 0.30, 0.15, 0.0001),
    ("hr", "Human resources (incl. pensions and payroll administration)", 3.0, 0.9,
     0.68, 0.06, 0.30, 0.10, 0.0001),
    ("professional_standards", "Professional standards", 1.0, 1.4,
     0.77, 0.08, 0.10, 0.10, 0.0002),
    ("training", "Training", 2.0, 2.6,
     0.70, 0.05, 0.15, 0.08, 0.0015),
    ("ict", "ICT", 6.5, 0.4,
     0.64, 0.06, 0.80, 0.20, 0.00008),
    ("firearms_licensing", "Firearms licensing", 0.3, 0.2,
     0.80, 0.14, 0.30, 0.15, 0.0002),
    ("custody", "Custody", 3.0, 1.8,
     0.87, 0.03, 0.08, 0.05, 0.00045),
    ("crime_recording", "Crime recording (crime bureau)", 1.2, 0.4,
     0.68, 0.06, 0.20, 0.12, 0.00011),
]
TRAVEL = {
    "finance": "staff travel between sites", "fleet": "vehicles driven to the host's workshops",
    "estates": "estates staff visiting the force's buildings", "legal": "lawyers attending the force",
    "hr": "staff travel between sites", "professional_standards": "investigators visiting the force",
    "training": "trainees travelling to the host's training school",
    "ict": "engineers visiting the force's sites", "firearms_licensing": "enquiry officers' home visits",
    "custody": "detainee escorts and custody staff travel", "crime_recording": "staff travel between sites",
}
WHY = {
    "finance": "transactional back office (payables, receivables, accounts) consolidates well: "
               "upper part of the 10-30% range",
    "fleet": "one workshop network and fleet contract; vehicles travel to the host's workshops",
    "estates": "the buildings stay local; only the estates team and facilities contracts are "
               "shared, so the saving is lower",
    "legal": "a small service where one head of legal and a case system are a fixed cost: the "
             "saving is too small to repay set-up and transition within five years",
    "hr": "transactional back office (recruitment administration, payroll, pensions), as finance",
    "professional_standards": "calibrated to the published ~GBP 640k a year of the January 2012 "
                              f"tri-force unit ({S_BBC_PSU}): 15% of D",
    "training": "one training school instead of three; trainees travel to the host",
    "ict": "one infrastructure, licence estate and service desk: 30%, the top of the range; "
           "systems convergence makes its set-up the largest one-off",
    "firearms_licensing": "a very small service; the fixed cost of a unit eats most of the saving",
    "custody": "calibrated to the published tri-force custody forecast of GBP 1m a year "
               f"({S_CUSTODY}): 10% of D before escort travel",
    "crime_recording": "one crime bureau instead of three, as finance",
}
PRE2013 = {
    "finance": "procurement (part of finance here) was already tri-force from April 2011",
    "hr": "Beds+Herts pensions, payroll and administration unit from November 2010",
    "ict": "Beds+Herts ICT department from December 2010",
    "firearms_licensing": "Beds+Herts firearms licensing unit from March 2011",
    "professional_standards": "tri-force professional standards unit from January 2012 "
                              "(Biggleswade)",
}
for k, row in enumerate(ELEVEN):
    row = list(row)
    for j, key in enumerate(("v", "f", "g", "t", "tau"), start=4):
        if f"{row[0]}.{key}" in P:
            row[j] = float(P[f"{row[0]}.{key}"])
    ELEVEN[k] = tuple(row)

# existing three-force units: cost% is today's cost (inside the budget); saving is the
# published yearly saving against running it alone.
EXISTING = [
    # id, name, cost%, officer%, host, saving, saving source, host reason
    ("armed_policing", "Armed policing (tri-force Armed Policing Unit, April 2012)", 2.0, 3.0,
     "hinchingbrooke", 0.542e6,
     f"GBP 0.542m a year forecast for the tri-force firearms unit ({S_HUNTSPOST_3M})",
     f"the unit works from all three headquarters (Hinchingbrooke, Kempston, Welwyn Garden City: "
     f"{S_HUNTSPOST_UNITS}); the model needs one host per unit and records Hinchingbrooke, named "
     f"first; the choice changes no figure because the unit is fixed and has no travel cost"),
    ("scientific_services", "Scientific services (tri-force Scientific Services Unit, April 2012)",
     2.0, 0.3, "sandy", 1.1e6,
     f"GBP 1.1m a year ({S_HUNTSPOST_UNITS})",
     f"the unit was established 'at its base in Sandy, Bedfordshire' ({S_HUNTSPOST_UNITS})"),
    ("major_crime", "Major crime (tri-force Major Crime Unit, 2012)", 2.0, 2.5,
     "welwyn_garden_city", 0.700e6,
     f"GBP 0.700m a year forecast for the tri-force major crime unit ({S_HUNTSPOST_3M})",
     f"the unit is based at Hinchingbrooke and Welwyn Garden City ({S_HUNTSPOST_UNITS}); the model "
     f"records Welwyn Garden City (Hertfordshire led the Beds+Herts major crime unit it grew from); "
     f"the choice changes no figure because the unit is fixed and has no travel cost"),
]
EXISTING_FIXED_FRACTION = 0.10

LOCAL = [
    # id, name, cost%, officer%, why local, cost reason, officer reason
    ("incident_response", "Incident response", 17.0, 22.0,
     "local incident response stays with each force (2011 alliance exclusions; Dec 2013 agreement)",
     "half of 34% 'local policing': HMIC 2010 'working in the community' 36% of workforce time, "
     "Bedfordshire budget 33.1% local policing",
     "ESTIMATE: 22.0 of the 39.6% 'Local Policing' officer share (Home Office 2025), response "
     "taking the larger part"),
    ("neighbourhood_policing", "Neighbourhood policing", 17.0, 17.6,
     "neighbourhood policing stays with each force (2011 alliance exclusions; Dec 2013 agreement)",
     "half of 34% 'local policing' (as incident_response)",
     "ESTIMATE: 17.6 of the 39.6% 'Local Policing' officer share (Home Office 2025)"),
    ("investigations", "Investigations, public protection and intelligence", 13.0, 26.9,
     "volume crime investigation and protecting vulnerable people were excluded from joint working "
     f"in 2011 ({S_HUNTSPOST_3M})",
     "HMIC 2010: investigating crime 13% + intelligence 4% of workforce time, less major crime "
     "(2%) and crime recording (1.2%), scaled to 13% of spend",
     "ESTIMATE: Home Office 2025 Investigations 15.6% less major crime 2.5%, + Public Protection "
     "10.1% + Intelligence 3.7%"),
    ("contact_and_control", "Public contact and control room (999 calls, tasking)", 7.0, 1.8,
     "public contact centres and control rooms entered the scope only in the May 2014 MoU "
     f"({S_MOU}), not the December 2013 agreement modelled here",
     "HMIC 2010 'taking 999 calls and tasking' 7%; Bedfordshire budget 'dealing with the public' "
     "7.0%",
     "ESTIMATE: Home Office 2025 'Dealing with the Public' 2.2% less 0.4% crime recording"),
    ("local_specialist", "Roads policing, dogs and operational planning", 6.0, 5.9,
     "roads policing, dogs and civil contingencies were Beds+Herts units outside the three-force "
     "scope in 2013; kept local here",
     "HMIC 2010 policing roads 4% + the non-firearms part of specialist functions 2%; "
     "Bedfordshire budget road policing 3.9%",
     "ESTIMATE: Home Office 2025 Road Policing 2.8% + Operational Support 6.1% less armed "
     "policing 3.0%"),
    ("criminal_justice", "Criminal justice (case preparation, excluding custody)", 4.5, 0.7,
     "not in the 2013 agreement's list; kept local",
     "HMIC 2010 'preparing cases for court' 5% (scaled)",
     "ESTIMATE: Home Office 2025 Criminal Justice Arrangements 2.5% less custody 1.8%"),
    ("corporate_and_other", "Corporate, PCC office and other", 1.0, 11.3,
     "governance of each force (PCC office, chief officers) is not shareable",
     "HMIC 2010 'other (catering, stores)' 1%; Bedfordshire budget 'corporate and democratic "
     "core' 0.8%",
     "ESTIMATE: Home Office 2025 'Other' 6.9% + 'National Policing' 4.4% (secondments etc.)"),
]

total_cost_pct = sum(r[2] for r in ELEVEN) + sum(r[2] for r in EXISTING) + sum(r[2] for r in LOCAL)
total_off_pct = sum(r[3] for r in ELEVEN) + sum(r[3] for r in EXISTING) + sum(r[3] for r in LOCAL)
assert abs(total_cost_pct - 100) < 1e-9, total_cost_pct
assert abs(total_off_pct - 100) < 1e-9, total_off_pct

INNOVATION_FUND = 8e6  # GBP 2m (2013/14) + 6m (2014/15), Home Office Innovation Fund
gross_setup = {r[0]: r[6] * r[2] / 100 * TOTAL_BUDGET for r in ELEVEN}
GRANT_FRAC = INNOVATION_FUND / sum(gross_setup.values())
if "grant" in P:
    GRANT_FRAC = float(P["grant"]) / sum(gross_setup.values())


def rnd(x, step):
    return float(round(x / step) * step)


def pct(x):
    return f"{x:g}%"


# ---------------------------------------------------------------- build
sites = [
    dict(id="kempston", name="Bedfordshire Police HQ, Bridgebury House, Woburn Road, Kempston",
         owner="beds", lat=52.116, lon=-0.502,
         provenance={"name": f"HQ address from the PCC site: {S_BEDS_HQ}",
                     "owner": "Bedfordshire Police headquarters",
                     "lat": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)",
                     "lon": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)"}),
    dict(id="hinchingbrooke", name="Cambridgeshire Constabulary HQ, Hinchingbrooke Park, Huntingdon",
         owner="cambs", lat=52.329, lon=-0.203,
         provenance={"name": f"HQ site: {S_CAMBS_HQ}",
                     "owner": "Cambridgeshire Constabulary headquarters",
                     "lat": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)",
                     "lon": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)"}),
    dict(id="welwyn_garden_city", name="Hertfordshire Constabulary HQ, Stanborough Road, Welwyn Garden City",
         owner="herts", lat=51.793, lon=-0.220,
         provenance={"name": f"HQ site: {S_HERTS_HQ}",
                     "owner": "Hertfordshire Constabulary headquarters",
                     "lat": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)",
                     "lon": "ESTIMATE: approximate (~1 km), not geocoded (bch_force_facts.csv)"}),
    dict(id="sandy", name="Sandy, Bedfordshire (base of the tri-force Scientific Services Unit)",
         owner="beds", lat=52.131, lon=-0.297,
         provenance={"name": f"'established at its base in Sandy, Bedfordshire' ({S_HUNTSPOST_UNITS})",
                     "owner": "ESTIMATE: a Bedfordshire Police site (Sandy is in Bedfordshire)",
                     "lat": "ESTIMATE: centre of the town of Sandy, approximate (~1 km), not geocoded",
                     "lon": "ESTIMATE: centre of the town of Sandy, approximate (~1 km), not geocoded"}),
]
HQ = ["kempston", "hinchingbrooke", "welwyn_garden_city"]

forces = []
frontline = {}
for f in FORCES:
    support_off = sum(r[3] for r in ELEVEN) / 100 * f["officers"]
    L = round(f["officers"] - support_off, 1)
    frontline[f["id"]] = L
    floor = float(int(FLOOR_PCT * L * 10) / 10)
    prov = {
        "name": "force name",
        "region": "East of England region (forces43_workforce_hq_budget.csv: 'Eastern')",
        "lat": "ESTIMATE: headquarters location, approximate (~1 km), not geocoded (bch_force_facts.csv)",
        "lon": "ESTIMATE: headquarters location, approximate (~1 km), not geocoded (bch_force_facts.csv)",
        "budget_gbp": f["budget_src"],
        "officers_fte": f"police officer FTE at 31 Mar 2015: {S_WORKFORCE}",
        "frontline_officers_fte": (
            f"DERIVED: officers_fte x (1 - {sum(r[3] for r in ELEVEN):g}%), the officer share of the "
            f"eleven support functions of the 2013 agreement (ESTIMATE from the Home Office 2025 "
            f"officer split: 'Support Functions' 5.8% + custody 1.8% + crime recording 0.4%; "
            f"function_shares.csv); = {f['officers']} x {1 - sum(r[3] for r in ELEVEN) / 100:g} = {L}; 'frontline' here is every "
            f"officer outside those functions, including the force's officers in the three "
            f"tri-force operational units"),
        "frontline_floor_fte": (
            f"ESTIMATE: {FLOOR_PCT:.0%} of frontline_officers_fte ({L} x {FLOOR_PCT} = {floor}, "
            f"rounded down): the agreement pledges to 'protect frontline policing ... and help "
            f"safeguard police officer numbers' (data/background press release); 1% slack "
            f"because the frontline figure is itself an estimate"),
    }
    d = dict(id=f["id"], name=f["name"], region="East of England", lat=f["lat"], lon=f["lon"],
             budget_gbp=f["budget"], officers_fte=f["officers"], frontline_officers_fte=L,
             frontline_floor_fte=floor)
    if "target" in f:
        d["savings_target_gbp"] = f["target"]
        prov["savings_target_gbp"] = (
            f"Hertfordshire PCC: 'has to save GBP 30 million from its budget over the next five "
            f"years' (data/background press report; open letter {S_HERTS_30M}); a whole-force "
            f"savings need, here required from sharing alone")
    d["provenance"] = prov
    forces.append(d)

functions = []
costs = []
off_total = {}
nonlocal_cost = {f["id"]: 0.0 for f in FORCES}
for (sid, name, cpct, opct, v, fr, g, t, tau) in ELEVEN:
    D = cpct / 100 * TOTAL_BUDGET
    officers_in_fn = opct / 100 * sum(f["officers"] for f in FORCES)
    F = rnd(fr * D, 10_000)
    G = rnd(g * D * (1 - GRANT_FRAC), 10_000)
    by_wf = sid in BY_WORKFORCE
    rho = float(f"{v * officers_in_fn / D:.4g}")
    cap = rnd(1.25 * D, 100_000)
    functions.append(dict(
        id=sid, name=name, shareable=True,
        variable_cost_gbp_per_unit=v,
        travel_cost_gbp_per_unit_km=tau,
        officers_per_unit=rho,
        unit_fixed_cost_gbp=F,
        unit_setup_cost_gbp=G,
        unit_capacity=cap,
        hosts=[dict(site=h) for h in HQ],
        provenance={
            "shareable": (f"named in the December 2013 three-force agreement (data/background; {S_MOU})"
                          + (f"; NOTE: {PRE2013[sid]} ({S_BEDS_UNITS}), not modelled: the "
                             f"baseline treats each force as running it alone"
                             if sid in PRE2013 else "")),
            "variable_cost_gbp_per_unit": (
                f"ESTIMATE: a shared unit runs at {v:g} of today's standalone cost per unit of "
                f"demand (demand = standalone cost in GBP); with the fixed cost F this gives a "
                f"three-force saving of {1 - v - fr:.0%} a year before travel, "
                f"{'inside' if 1 - v - fr >= 0.095 else 'below'} the 10-30% shared-service range "
                f"(economies_of_scale_evidence.csv): {WHY[sid]}"),
            "unit_fixed_cost_gbp": (
                f"ESTIMATE: {fr:.0%} of the three forces' combined standalone cost D = "
                f"GBP {D / 1e6:.3f}m (management, systems, premises of one unit), rounded to GBP 10k"),
            "unit_setup_cost_gbp": (
                f"ESTIMATE: gross set-up {g:.0%} of D (programme team, systems convergence, "
                f"accommodation) = GBP {g * D / 1e6:.3f}m, less its pro-rata share "
                f"({GRANT_FRAC:.1%}) of the GBP 8m Home Office Innovation Fund award to the "
                f"tri-force ({S_INNOV}), rounded to GBP 10k"),
            "unit_capacity": "ESTIMATE: 1.25 x D (all three forces with 25% headroom); not binding",
            "travel_cost_gbp_per_unit_km": (
                f"ESTIMATE: {tau * 40:.1%} of a force's cost a year at 40 km from the host "
                f"({TRAVEL[sid]})"),
            "officers_per_unit": (
                f"DERIVED: v x (three forces' officers in the function / D) = {v:g} x {officers_in_fn:.1f} / "
                f"{D:.0f}: a shared unit needs officers in proportion to its variable cost"),
            "hosts": "the three force headquarters",
        },
    ))
    for fdat in FORCES:
        if by_wf:
            c = rnd(D * fdat["workforce"] / TOTAL_WORKFORCE, 1000)
            ctext = (f"ESTIMATE: the three forces' spend D = {pct(cpct)} of their combined budgets "
                     f"(GBP {D / 1e6:.3f}m), split by total workforce FTE at 31 Mar 2015 "
                     f"({fdat['workforce']:g} of {TOTAL_WORKFORCE:g}: {S_WORKFORCE}) because the "
                     f"workload of {sid} follows headcount (users, trainees, staff records)")
        else:
            c = rnd(cpct / 100 * fdat["budget"], 1000)
            ctext = f"ESTIMATE: {pct(cpct)} of budget_gbp (function split, see docs/instances.md)"
        nonlocal_cost[fdat["id"]] += c
        o = round(opct / 100 * fdat["officers"], 1)
        tr = rnd(t * c, 1000)
        costs.append(dict(
            force=fdat["id"], function=sid, standalone_cost_gbp=c, officers_fte=o,
            transition_cost_gbp=tr,
            provenance={
                "standalone_cost_gbp": ctext,
                "officers_fte": f"ESTIMATE: {pct(opct)} of officers_fte (Home Office 2025 officer split)",
                "transition_cost_gbp": (f"ESTIMATE: {t:.0%} of standalone_cost_gbp (redundancy, "
                                        f"relocation, retraining, parallel running)"),
            }))

existing = []
for (sid, name, cpct, opct, host, saving, ssrc, why) in EXISTING:
    A = cpct / 100 * TOTAL_BUDGET  # today's cost of the unit
    C = A + saving  # what the three would spend alone
    F = rnd(EXISTING_FIXED_FRACTION * A, 10_000)
    v = round((A - F) / C, 4)
    officers_in_fn = opct / 100 * sum(f["officers"] for f in FORCES)
    rho = float(f"{officers_in_fn / C:.4g}")
    functions.append(dict(
        id=sid, name=name, shareable=True, variable_cost_gbp_per_unit=v,
        travel_cost_gbp_per_unit_km=0.0, officers_per_unit=rho, unit_fixed_cost_gbp=F,
        unit_setup_cost_gbp=0.0, hosts=[dict(site=host)],
        provenance={
            "shareable": f"an existing tri-force unit ({S_BEDS_UNITS}); fixed in place",
            "hosts": why,
            "unit_fixed_cost_gbp": (f"ESTIMATE: {EXISTING_FIXED_FRACTION:.0%} of the unit's cost "
                                    f"today A = {pct(cpct)} of the three budgets = "
                                    f"GBP {A / 1e6:.3f}m"),
            "variable_cost_gbp_per_unit": (
                f"DERIVED: (A - F) / C where C = A + the published saving ({ssrc}) = "
                f"GBP {C / 1e6:.3f}m is the three forces' cost alone; so today's cost of the unit is "
                f"exactly its share of the budgets"),
            "officers_per_unit": "DERIVED: the unit's officers today / C (it needs the officers it has)",
            "unit_setup_cost_gbp": "sunk: the unit exists",
            "travel_cost_gbp_per_unit_km": "ESTIMATE: 0 - travel is inside today's budgets",
        }))
    for fdat in FORCES:
        nonlocal_cost[fdat["id"]] += cpct / 100 * fdat["budget"]  # today's cost, in the budget
        c = rnd(C * fdat["budget"] / TOTAL_BUDGET, 1000)
        costs.append(dict(
            force=fdat["id"], function=sid, standalone_cost_gbp=c,
            officers_fte=round(opct / 100 * fdat["officers"], 1), transition_cost_gbp=0.0,
            provenance={
                "standalone_cost_gbp": (
                    f"DERIVED: counterfactual cost alone = ({pct(cpct)} of budget_gbp) x C / A "
                    f"(today's share plus its share of the published saving)"),
                "officers_fte": f"ESTIMATE: {pct(opct)} of officers_fte (Home Office 2025 officer split)",
                "transition_cost_gbp": "sunk: already a member",
            }))
    existing.append(dict(function=sid, site=host, members=[f["id"] for f in FORCES],
                         reoptimisable=False, name=name))

LOCAL_PCT = sum(r[2] for r in LOCAL)
# local functions take what is left of each budget (scale k_i close to 1: the people-driven
# functions are split by workforce, not budget)
local_scale = {f["id"]: (f["budget"] - nonlocal_cost[f["id"]]) / (LOCAL_PCT / 100 * f["budget"])
               for f in FORCES}
local_sum = {f["id"]: 0.0 for f in FORCES}
for k, (sid, name, cpct, opct, why, creason, oreason) in enumerate(LOCAL):
    functions.append(dict(id=sid, name=name, shareable=False,
                          provenance={"shareable": f"local: {why}"}))
    last = k == len(LOCAL) - 1
    for fdat in FORCES:
        ks = local_scale[fdat["id"]]
        if last:  # the remainder, so the force's functions add up to its budget exactly
            c = fdat["budget"] - nonlocal_cost[fdat["id"]] - local_sum[fdat["id"]]
            ctext = (f"DERIVED: the remainder of budget_gbp (about {pct(cpct)} x {ks:.4f}; "
                     f"{creason})")
        else:
            c = rnd(cpct / 100 * fdat["budget"] * ks, 1000)
            ctext = (f"ESTIMATE: {pct(cpct)} of budget_gbp x {ks:.4f} ({creason}); the factor "
                     f"makes the force's functions add up to its budget")
        local_sum[fdat["id"]] += c
        costs.append(dict(
            force=fdat["id"], function=sid, standalone_cost_gbp=float(round(c, 2)),
            officers_fte=round(opct / 100 * fdat["officers"], 1),
            provenance={"standalone_cost_gbp": ctext, "officers_fte": oreason}))

# order costs by force, then function order
order = {fn["id"]: k for k, fn in enumerate(functions)}
forder = {f["id"]: k for k, f in enumerate(FORCES)}
costs.sort(key=lambda c: (forder[c["force"]], order[c["function"]]))

inst = dict(
    schema_version=1,
    name="bch-2013",
    description="",
    currency="GBP",
    horizon_years=Y,
    discount_rate=R,
    allocation="demand",
    forces=forces,
    functions=functions,
    sites=sites,
    costs=costs,
    existing=existing,
    policy={},
    objective={"sense": "min_cost"},
    sources=[],
)
inst["description"] = (
    "Bedfordshire, Cambridgeshire and Hertfordshire police, December 2013 three-force "
    "collaboration agreement: which of the eleven support functions named in the agreement "
    "(finance, fleet, estates, legal, HR, professional standards, training, ICT, firearms "
    "licensing, custody, crime recording) to share, by whom and where (the three force "
    "headquarters), over five years at the Green Book 3.5% discount rate, with Hertfordshire "
    "required to save GBP 30m and every force keeping at least 99% of its frontline officers. "
    "The tri-force armed policing, scientific services and major crime units (2012) are fixed. "
    "Local policing (incident response, neighbourhood policing, investigations, contact, roads, "
    "criminal justice, corporate) is never shared; its cost is a constant. Budgets and officer "
    "numbers are published figures; the split of each budget by function and every cost of "
    "sharing are ESTIMATES (see each object's provenance and docs/instances.md). "
    "Discount rate: HM Treasury Green Book 3.5%. Shared units' fixed and set-up costs are "
    "split by demand (= standalone cost: in proportion to budget, or to workforce for HR, "
    "training and ICT), matching the 2011 alliance in which Bedfordshire (24% of the three "
    "budgets) was to bank GBP 5m of the GBP 20m a year savings (25%).")
inst["sources"] = [
    f"Bedfordshire budget 2013/14: {S_BEDS_BUDGET}",
    f"Cambridgeshire budget 2014/15: {S_CAMBS_BUDGET}",
    f"Hertfordshire GBP 30m = 16% of budget (PCC open letter): {S_HERTS_30M}",
    f"Police officer FTE 31 Mar 2015: {S_WORKFORCE}",
    f"HMIC 2010 value for money, workforce time by function: {S_HMIC2010}",
    f"Officer split by function: {S_HO2025}",
    f"Bedfordshire budget split c.2015: {S_BEDS_SPLIT}",
    f"Headquarters: {S_BEDS_HQ}; {S_CAMBS_HQ}; {S_HERTS_HQ}",
    f"Tri-force units, bases and savings: {S_HUNTSPOST_UNITS}; {S_HUNTSPOST_3M}",
    f"Joint units and dates: {S_BEDS_UNITS}",
    f"Professional standards unit (Jan 2012, ~GBP 640k a year): {S_BBC_PSU}",
    f"Custody collaboration GBP 1m; GBP 62m funding gap: {S_CUSTODY}",
    f"Innovation Fund GBP 2m + 6m; GBP 23m over four years forecast: {S_INNOV}",
    f"Alliance GBP 20m a year target by 2015: {S_ALLIANCE}",
    f"Bedfordshire share of alliance savings GBP 5m of 20m: {S_BEDS_SHARE}",
    f"May 2014 MoU scope: {S_MOU}",
    f"HM Treasury Green Book discount rate 3.5%: {S_GREEN_BOOK}; {S_GREEN_BOOK_35}",
    "Collected figures with status labels: data/police/*.csv (README.md there)",
]

with open(OUT, "w", encoding="utf-8") as fh:
    json.dump(inst, fh, indent=2, ensure_ascii=False)
    fh.write("\n")
print("wrote", OUT, "alpha", ALPHA, "grant_frac", GRANT_FRAC, "frontline", frontline,
      file=sys.stderr)
