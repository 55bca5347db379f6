"""Generate instances/bch-2013.json from the public figures (see docs/instances.md).

Usage: python tools/build_bch_instance.py [OUT.json] [name=value overrides]

Every number below is either a published figure (with its source) or an ESTIMATE /
DERIVED value whose formula is written next to it; the JSON carries the same labels.
The savings rates marked CALIBRATED are solved so that the model's own plan
reproduces the published figure bench/backtest.py marks as calibration (each rate
against one figure); the other figures there are held out.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

OUT = str(ROOT / "instances" / "bch-2013.json")
P: dict[str, str] = {}  # name=value overrides from the command line (see main)

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

S_OUTCOMES_2016 = "https://www.hertscommissioner.org/2016-01-commissioner-commenty-on-signifiant-progress-in-tri-force-collaboration"
S_CONTROL_2015 = "https://www.hertscommissioner.org/2015-07-police-forces-agree-to-collaboration-of-public-contact-functions"
S_FL_FBC = "https://vdocuments.site/full-business-case-fbc-programme-project-operational-.html"
S_CJ = "cambridgeshire-pcc.gov.uk (newly collaborated criminal justice function)"
S_CUSTODY_SUITES = "thecomet.net news item 5326048 (police chiefs summit)"
S_BH_13 = "https://www.dunstabletoday.co.uk/news/four-police-units-join-to-create-ps3m-saving-2393051"
S_BH_ROADS = "https://www.lutontoday.co.uk/news/on-the-road-to-saving-money-2405715"
S_JPS = "https://www.thecomet.net/news/police-point-to-2-5m-benefit-of-sharing-in-the-5316832"
S_HMIC_2014 = "https://hmicfrs.justiceinspectorates.gov.uk/peel-assessments/peel-2014/hertfordshire/efficiency/"
S_WMW = "http://www.publicnet.co.uk/news/2014/09/11/police-reform-through-collaboration-not-structural-change/"
# ---------------------------------------------------------------- forces
# workforce at 31 Mar 2015 (Home Office, bch_force_facts.csv): officers, police staff, PCSOs,
# designated officers (police staff with powers, e.g. detention officers)
FORCES = [
    dict(id="beds", name="Bedfordshire Police", budget=102.8e6, officers=1072.9, staff=813.2,
         pcso=105.2, designated=83.2, lat=52.116, lon=-0.502,
         budget_src=f"Bedfordshire budget GBP 102.8m 2013/14, reported by the PCC: {S_BEDS_BUDGET} "
                    f"(bch_force_facts.csv)"),
    dict(id="cambs", name="Cambridgeshire Constabulary", budget=131.5e6, officers=1362.0, staff=755.1,
         pcso=148.5, designated=28.0, lat=52.329, lon=-0.203,
         budget_src=f"ESTIMATE: no 2013/14 figure found; GBP 131.5m is the 2014/15 nominal budget "
                    f"(PCC precept proposal via press: {S_CAMBS_BUDGET}), used as the nearest year "
                    f"(bch_force_facts.csv)"),
    dict(id="herts", name="Hertfordshire Constabulary", budget=187.5e6, officers=1910.5, staff=1066.7,
         pcso=209.8, designated=203.0, lat=51.793, lon=-0.220,
         budget_src=f"DERIVED: GBP 30m is '16% of the budget' (PCC open letter, {S_HERTS_30M}), "
                    f"so budget = 30 / 0.16 = GBP 187.5m (bch_force_facts.csv; no published 2013/14 "
                    f"Hertfordshire budget was found)"),
]
for f in FORCES:
    f["workforce"] = f["officers"] + f["staff"] + f["pcso"] + f["designated"]
    f["people"] = f["officers"] + f["staff"] + f["designated"]  # officers and police staff
TOTAL_BUDGET = sum(f["budget"] for f in FORCES)
TOTAL_WORKFORCE = sum(f["workforce"] for f in FORCES)
BY_WORKFORCE = {"hr", "training", "ict"}
R, Y, FIRST_YEAR = 0.035, 5, 2014  # horizon 2014/15 .. 2018/19
ALPHA = sum((1 + R) ** -k for k in range(1, Y + 1))

# Hertfordshire: the GBP 30m need of 2014/15-2018/19 (GBP 14m grant reduction + GBP 16m
# pressures) and the part collaboration can be expected to carry: collaboration delivered
# GBP 8m of the GBP 36m Hertfordshire saved in 2011/12-2014/15 (22%); the same share of the
# new need is planned from sharing, the rest from other measures.
HERTS_NEED = 30e6
HERTS_SHARE_FROM_COLLABORATION = 8 / 36
HERTS_OTHER = round(HERTS_NEED * (1 - HERTS_SHARE_FROM_COLLABORATION), -3)

# ---------------------------------------------------------------- functions
# id, name, cost%, officer%, saving rate r (of D, a full three-force unit, before travel),
# fixed share f of D, travel tau, mechanism, go-live (horizon clock: 1 = 1 April 2014)
GO_WAVE1 = 2 + 8 / 12  # 1 December 2015, two thirds into 2015/16
SHAREABLE = [
    ("finance", "Finance (incl. procurement and payroll accounting)", 2.5, 0.1, 0.10, 0.06,
     0.00012, "co_located", 4.0),
    ("fleet", "Fleet (vehicle purchase, maintenance, workshops)", 3.0, 0.1, 0.10, 0.04,
     0.0004, "co_located", 4.0),
    ("estates", "Estates and facilities", 5.5, 0.1, 0.08, 0.03, 0.00015, "co_located", 4.0),
    ("legal", "Legal services", 0.5, 0.0, 0.10, 0.10, 0.0001, "co_located", 4.0),
    ("hr", "Human resources (incl. pensions and payroll administration)", 3.0, 0.9,
     "cal_wave1", 0.06, 0.0001, "co_located", GO_WAVE1),
    ("training", "Training", 2.0, 2.6, "cal_wave1", 0.05, 0.0003, "co_located", GO_WAVE1),
    ("ict", "ICT", 6.5, 0.4, "ict", 0.06, 0.00008, "co_located", 3.0),
    ("firearms_licensing", "Firearms licensing", 0.3, 0.2, 0.10, 0.04, 0.0001, "co_located",
     GO_WAVE1),
    ("custody", "Custody (suites stay in each force; joint management)", 3.0, 1.8, "cal_custody",
     0.02, 0.0, "jointly_managed", 3.0),
    ("crime_recording", "Crime recording and records (crime bureau)", 1.2, 0.4, 0.10, 0.04,
     0.00011, "co_located", 3.0),
    ("criminal_justice", "Criminal justice (case preparation; work stays in each force)", 4.5,
     0.7, "cal_cj", 0.01, 0.0, "jointly_managed", 3.0),
    ("contact_and_control", "Public contact and control rooms (999 calls, tasking)", 7.0, 1.8,
     "cal_control", 0.03, 0.0, "co_located", 4.0),
]
GO_SOURCE = {
    GO_WAVE1: f"HR (with training) and firearms licensing went live on 1 December 2015 ({S_OUTCOMES_2016}); "
              "1 December is two thirds into 2015/16, horizon year 2: 2 + 8/12",
    3.0: f"criminal justice, custody, ICT, records and public contact: savings 'over a three-year "
         f"period from 2016/17' ({S_OUTCOMES_2016}): live from 1 April 2016 (horizon year 3)",
    4.0: "",
}
GO_ESTIMATE = ("ESTIMATE: no go-live was published for the organisational support functions "
               "of the May 2014 MoU that were not in the two announced waves; the model puts them "
               "after both waves, 1 April 2017 (horizon year 4)")
GO_CONTROL = (f"control rooms and public contact: 'GBP 4m a year by March 2017', four sites to two "
              f"({S_CONTROL_2015}): live from 1 April 2017 (horizon year 4)")
RATE_SOURCE = {
    "finance": "ESTIMATE: 10%, the low end of the commonly quoted 10-30% shared-service saving "
               "(no police-specific source: data/police/README.md); procurement was already "
               "tri-force from April 2011, so the low end",
    "fleet": "ESTIMATE: 10%, low end of the 10-30% range (one workshop network and fleet contract)",
    "estates": "ESTIMATE: 8%, below the 10-30% range: the buildings stay local, only the estates "
               "team and facilities contracts are shared",
    "legal": "ESTIMATE: 10%, low end of the 10-30% range",
    "ict": "DERIVED: 10% (low end of the 10-30% range) on Cambridgeshire's part of D only: "
           "Bedfordshire and Hertfordshire already ran one ICT department from December 2010 "
           f"({S_BEDS_UNITS}), so a tri-force unit adds Cambridgeshire's workforce share",
    "firearms_licensing": f"published: the firearms licensing full business case forecast a cost "
                          f"saving of at least 10% from go-live ({S_FL_FBC})",
    "crime_recording": "ESTIMATE: 10%, low end of the 10-30% range",
}
CALIBRATION_SOURCE = {
    "cal_wave1": f"CALIBRATED (one rate for HR and training) so that the plan's HR, training and "
                 f"firearms licensing units save the published GBP 4.5m over the three financial "
                 f"years from December 2015 ({S_OUTCOMES_2016}), before one-off costs",
    "cal_custody": f"CALIBRATED so that the custody unit saves the published GBP 1m a year "
                   f"('within two years of implementation', {S_CUSTODY}), taken in its second live "
                   f"year, 2017/18",
    "cal_cj": f"CALIBRATED so that the criminal justice unit saves the published GBP 0.654m over "
              f"two years ({S_CJ}), 2016/17-2017/18",
    "cal_control": f"CALIBRATED so that the control-room unit and the crime-recording unit "
                   f"together save the published GBP 4m a year by March 2017, in 2017/18: the "
                   f"figure is for 'their public contact functions which include the force "
                   f"control rooms, crime recording teams and support functions' "
                   f"({S_CONTROL_2015}); crime recording keeps its own ESTIMATE rate",
}
WHY = {
    "custody": f"jointly managed: the three forces kept every custody suite ('no plans to change "
               f"the number of custody suites', {S_CUSTODY_SUITES}; 179 cells in 9 suites); the "
               f"saving comes from one management and shared systems, not from moving detainees",
    "criminal_justice": "jointly managed: case files are prepared where the cases are; one "
                        "management team and shared systems across the three forces",
    "contact_and_control": f"co-located: 'four sites to two (Hinchingbrooke; Welwyn Garden City)' "
                           f"({S_CONTROL_2015}); staff of the closing rooms relocate",
}
ONE_OFF_YEARS_OF_SAVING = 1.5  # gross one-offs = 1.5 x the unit's annual saving (see docs)
INNOVATION_FUND = 8e6  # GBP 2m (2013/14) + 6m (2014/15)
SETUP_SHARE = 0.6  # of gross one-offs: the unit's set-up; the rest the members' transition
RELOCATION_SHARE = 0.5  # of a co-located member's transition: relocation, when it moves


def cambs_workforce_share():
    return next(f["workforce"] for f in FORCES if f["id"] == "cambs") / TOTAL_WORKFORCE


# existing units of all three forces: cost% is today's cost (inside the budget); saving is the
# published yearly saving against running it alone, one figure split by budget among the
# three, or a list of (GBP a year, the forces it was published for, source). Last field:
# the years each unit had run by the end of 2014/15 (bench/backtest.py).
EXISTING = [
    ("armed_policing", "Armed policing (tri-force Armed Policing Unit, April 2012)", 2.0, 3.0,
     "hinchingbrooke", 0.542e6,
     f"GBP 0.542m a year forecast for the tri-force firearms unit ({S_HUNTSPOST_3M})",
     f"the unit works from all three headquarters (Hinchingbrooke, Kempston, Welwyn Garden City: "
     f"{S_HUNTSPOST_UNITS}); recorded as a multi-site unit at the three, no figure changes "
     f"because the unit is fixed and has no travel cost", ["kempston", "welwyn_garden_city"], 3.0),
    ("scientific_services", "Scientific services (tri-force Scientific Services Unit, April 2012)",
     2.0, 0.3, "sandy", 1.1e6, f"GBP 1.1m a year ({S_HUNTSPOST_UNITS})",
     f"the unit was established 'at its base in Sandy, Bedfordshire' ({S_HUNTSPOST_UNITS})", [], 3.0),
    ("major_crime", "Major crime (tri-force Major Crime Unit, 2012)", 2.0, 2.5,
     "welwyn_garden_city", 0.700e6,
     f"GBP 0.700m a year forecast for the tri-force major crime unit ({S_HUNTSPOST_3M})",
     f"the unit is based at Hinchingbrooke and Welwyn Garden City ({S_HUNTSPOST_UNITS}): a "
     f"two-site unit", ["hinchingbrooke"], 3.0),
    ("professional_standards", "Professional standards (tri-force unit, January 2012)", 1.0, 1.4,
     "biggleswade", 0.64e6, f"about GBP 640k a year ({S_BBC_PSU})",
     f"tri-force professional standards unit from January 2012 at Biggleswade ({S_BEDS_UNITS})",
     [], 3.25),
    # roads policing, dogs, civil contingencies and operational planning (EXISTING_SHARES)
    ("joint_protective_services", "Joint protective services and Beds+Herts joint units",
     6.0, 5.9, "kempston",
     [(4.0e6, ("beds", "herts"),
       f"Beds+Herts joint collaboration programme: '13 joint units delivering savings totalling "
       f"GBP 4 million per year' (Bedfordshire Police Authority chair, Oct 2011: {S_BH_13}); the "
       f"units from 2007: dogs (Apr 2009), civil contingencies and public order planning (Sep "
       f"2009), pensions payroll and administration (Nov 2010), ICT (Dec 2010), firearms "
       f"licensing (Mar 2011), road policing (Apr 2011: GBP 654k in its first year, almost "
       f"GBP 700k a year after, {S_BH_ROADS}), graphic design and print (Apr 2011), and the "
       f"Beds+Herts predecessors of the 2012 tri-force units ({S_BEDS_UNITS}). No per-unit "
       f"split was published, so the GBP 4m is booked here whole: the 2012 tri-force units "
       f"carry only their 'further GBP 3m' ({S_BH_13}), and the support units' work is costed "
       f"in hr, ict, firearms_licensing and corporate_and_other"),
      (2.5e6, ("beds", "cambs", "herts"),
       f"tri-force Joint Protective Services (roads policing, dogs, armed policing, major crime, "
       f"scientific services): 'GBP 440,000 in the financial year 2013/14 as the changes bedded "
       f"in', 'just under GBP 2.5 million' in the following 12 months (taken as 2014/15), "
       f"GBP 2.24m projected for the next ({S_JPS}); the 2012 units had been forecast at "
       f"GBP 3m a year from 2012, so these are the JPS command's own savings, booked here at "
       f"the 2014/15 level")],
     "the tri-force Joint Protective Services command (2013/14), which took in the Beds+Herts "
     "joint units of 2007-2011",
     f"JPS units work from bases in all three counties ({S_JPS}); recorded as a unit at the three "
     f"headquarters (ESTIMATE): no figure changes because the unit is fixed and has no travel "
     f"cost", ["hinchingbrooke", "welwyn_garden_city"], 4.0),
]
EXISTING_FIXED_FRACTION = 0.10
#: Where an existing unit's spend and officer shares come from, when not a plain estimate.
EXISTING_SHARES = {
    "joint_protective_services": (
        "ESTIMATE: HMIC 2010 policing roads 4% + the non-firearms specialist functions 2% of "
        "workforce time (Bedfordshire budget: road policing 3.9%); officers: Home Office 2025 "
        "Road Policing 2.8% + Operational Support 6.1% less armed policing 3.0%"),
}

LOCAL = [
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
    ("corporate_and_other", "Corporate, PCC office and other", 1.0, 11.3,
     "governance of each force (PCC office, chief officers) is not shareable",
     "HMIC 2010 'other (catering, stores)' 1%; Bedfordshire budget 'corporate and democratic "
     "core' 0.8%",
     "ESTIMATE: Home Office 2025 'Other' 6.9% + 'National Policing' 4.4% (secondments etc.)"),
]
total_cost_pct = sum(r[2] for r in SHAREABLE) + sum(r[2] for r in EXISTING) + sum(r[2] for r in LOCAL)
total_off_pct = sum(r[3] for r in SHAREABLE) + sum(r[3] for r in EXISTING) + sum(r[3] for r in LOCAL)
assert abs(total_cost_pct - 100) < 1e-9, total_cost_pct
assert abs(total_off_pct - 100) < 1e-9, total_off_pct


def rnd(x, step):
    return float(round(x / step) * step)


def pct(x):
    return f"{x:g}%"


def D_of(cpct):
    return cpct / 100 * TOTAL_BUDGET


# ---------------------------------------------------------------- sites
def est(what):
    return f"ESTIMATE: {what}, approximate (~1 km), not geocoded"


SITES = [
    dict(id="kempston", name="Bedfordshire Police HQ, Bridgebury House, Woburn Road, Kempston",
         owner="beds", lat=52.116, lon=-0.502,
         provenance={"name": f"HQ address from the PCC site: {S_BEDS_HQ}",
                     "owner": "Bedfordshire Police headquarters",
                     "lat": est("bch_force_facts.csv"), "lon": est("bch_force_facts.csv")}),
    dict(id="hinchingbrooke", name="Cambridgeshire Constabulary HQ, Hinchingbrooke Park, Huntingdon",
         owner="cambs", lat=52.329, lon=-0.203,
         provenance={"name": f"HQ site: {S_CAMBS_HQ}; a control room of the merged two-site "
                             f"service ({S_CONTROL_2015})",
                     "owner": "Cambridgeshire Constabulary headquarters",
                     "lat": est("bch_force_facts.csv"), "lon": est("bch_force_facts.csv")}),
    dict(id="welwyn_garden_city", name="Hertfordshire Constabulary HQ, Stanborough Road, Welwyn Garden City",
         owner="herts", lat=51.793, lon=-0.220,
         provenance={"name": f"HQ site: {S_HERTS_HQ}; a control room of the merged two-site "
                             f"service ({S_CONTROL_2015})",
                     "owner": "Hertfordshire Constabulary headquarters",
                     "lat": est("bch_force_facts.csv"), "lon": est("bch_force_facts.csv")}),
    dict(id="sandy", name="Sandy, Bedfordshire (base of the tri-force Scientific Services Unit)",
         owner="beds", lat=52.131, lon=-0.297,
         provenance={"name": f"'established at its base in Sandy, Bedfordshire' ({S_HUNTSPOST_UNITS})",
                     "owner": "ESTIMATE: a Bedfordshire Police site (Sandy is in Bedfordshire)",
                     "lat": est("centre of the town of Sandy"), "lon": est("centre of the town of Sandy")}),
    dict(id="biggleswade", name="Biggleswade, Bedfordshire (tri-force Professional Standards Unit)",
         owner="beds", lat=52.086, lon=-0.264,
         provenance={"name": f"tri-force professional standards unit at Biggleswade ({S_BEDS_UNITS})",
                     "owner": "ESTIMATE: a Bedfordshire Police site (Biggleswade is in Bedfordshire)",
                     "lat": est("centre of the town"), "lon": est("centre of the town")}),
    dict(id="monks_wood", name="Monks Wood, Cambridgeshire (firearms licensing office)",
         owner="cambs", lat=52.400, lon=-0.240,
         provenance={"name": f"firearms licensing offices after collaboration: Monks Wood (Cambs) "
                             f"and Harpenden (Herts) ({S_OUTCOMES_2016})",
                     "owner": "ESTIMATE: a Cambridgeshire Constabulary site",
                     "lat": est("Monks Wood near Huntingdon"), "lon": est("Monks Wood near Huntingdon")}),
    dict(id="harpenden", name="Harpenden, Hertfordshire (firearms licensing office)",
         owner="herts", lat=51.815, lon=-0.357,
         provenance={"name": f"firearms licensing offices after collaboration: Monks Wood (Cambs) "
                             f"and Harpenden (Herts) ({S_OUTCOMES_2016})",
                     "owner": "ESTIMATE: a Hertfordshire Constabulary site",
                     "lat": est("centre of Harpenden"), "lon": est("centre of Harpenden")}),
]
HQ = ["kempston", "hinchingbrooke", "welwyn_garden_city"]
CONTROL_SITE_SHARE = 0.5  # of the unit's fixed cost F, per further site of a two-site unit
CONTROL_ONE_SITE_CAPACITY = 0.65  # of D: one existing room extended cannot take all three


def host_list(sid, D, F):
    """Candidate hosts: the three HQs; control rooms also as the two-site Hinchingbrooke +
    Welwyn Garden City unit the forces chose; firearms licensing as its two offices."""
    hosts = [dict(site=h) for h in HQ]
    if sid == "contact_and_control":
        for h in hosts:
            h["capacity"] = rnd(CONTROL_ONE_SITE_CAPACITY * D, 100_000)
        hosts.append(dict(site="hinchingbrooke", also_sites=[dict(
            site="welwyn_garden_city", fixed_cost_gbp=rnd(CONTROL_SITE_SHARE * F, 10_000))]))
        hosts = [h for h in hosts if not (h["site"] == "hinchingbrooke" and "capacity" in h)]
    if sid == "firearms_licensing":
        hosts.append(dict(site="monks_wood", also_sites=[dict(
            site="harpenden", fixed_cost_gbp=rnd(0.5 * F, 1_000))]))
    return hosts


def build(rates):
    """The instance dict for the given saving rate of each shareable function."""
    forces = []
    support_off_pct = sum(r[3] for r in SHAREABLE)
    for f in FORCES:
        L = round(f["officers"] * (1 - support_off_pct / 100), 1)
        prov = {
            "name": "force name",
            "region": "East of England region (forces43_workforce_hq_budget.csv: 'Eastern')",
            "lat": est("headquarters location (bch_force_facts.csv)"),
            "lon": est("headquarters location (bch_force_facts.csv)"),
            "budget_gbp": f["budget_src"],
            "officers_fte": f"police officer FTE at 31 Mar 2015: {S_WORKFORCE}",
            "frontline_officers_fte": (
                f"DERIVED: officers_fte x (1 - {support_off_pct:g}%), the officer share of the "
                f"shareable support functions (ESTIMATE from the Home Office 2025 officer split, "
                f"function_shares.csv) = {f['officers']} x {1 - support_off_pct / 100:g} = {L}; "
                f"'frontline' is every officer outside those functions"),
            "frontline_floor_fte": (
                "the forces' pledge as stated: the agreement will 'protect frontline policing in "
                "each area and help safeguard police officer numbers' (data/background press "
                "release, December 2013): no officer may leave the front line, so the floor is "
                "frontline_officers_fte itself"),
        }
        d = dict(id=f["id"], name=f["name"], region="East of England", lat=f["lat"],
                 lon=f["lon"], budget_gbp=f["budget"], officers_fte=f["officers"],
                 frontline_officers_fte=L, frontline_floor_fte=L)
        if f["id"] == "herts":
            d["savings_need_gbp"] = HERTS_NEED
            d["savings_from_other_measures_gbp"] = HERTS_OTHER
            prov["savings_need_gbp"] = (
                f"Hertfordshire's five-year need 2014/15-2018/19: GBP 14m grant reduction + GBP "
                f"16m spending pressures (PCC open letter, {S_HERTS_30M}; bch_outcomes_2014_2017.csv)")
            prov["savings_from_other_measures_gbp"] = (
                f"DERIVED: collaboration delivered GBP 8m of the GBP 36m Hertfordshire saved in "
                f"2011/12-2014/15 ({S_HERTS_30M}; bch_force_facts.csv), 22.2%; the same share of "
                f"the GBP 30m is planned from sharing and the rest, 30 x (1 - 8/36) = GBP "
                f"{HERTS_OTHER / 1e6:.2f}m, from other measures (Warwickshire-West Mercia 32-47%, "
                f"national range 0-47%: economies_of_scale_evidence.csv); the target for "
                f"sharing is the difference, GBP {(HERTS_NEED - HERTS_OTHER) / 1e6:.2f}m")
        d["provenance"] = prov
        forces.append(d)

    functions, costs = [], []
    nonlocal_cost = {f["id"]: 0.0 for f in FORCES}
    officers_all = sum(f["officers"] for f in FORCES)
    gross_one_off = {sid: ONE_OFF_YEARS_OF_SAVING * rates[sid] * D_of(c)
                     for sid, _, c, *_ in SHAREABLE}
    grant_frac = INNOVATION_FUND / sum(gross_one_off.values())
    for (sid, name, cpct, opct, rate_key, fr, tau, mech, go) in SHAREABLE:
        D = D_of(cpct)
        r = rates[sid]
        F = rnd(fr * D, 10_000)
        v = round(1 - r - fr, 4)
        officers_in_fn = opct / 100 * officers_all
        staff_in_fn = sum(max(0.0, cpct / 100 * f["people"] - opct / 100 * f["officers"])
                          for f in FORCES)
        net_one_off = gross_one_off[sid] * (1 - grant_frac)
        G = rnd(SETUP_SHARE * net_one_off, 10_000)
        t_frac = (1 - SETUP_SHARE) * net_one_off / D  # of each member's own cost
        if isinstance(rate_key, str) and rate_key.startswith("cal"):
            rate_text = f"{CALIBRATION_SOURCE[rate_key]}: r = {r:.4f}"
        elif rate_key == "ict":
            rate_text = f"{RATE_SOURCE['ict']}: 10% x {cambs_workforce_share():.3f} = {r:.4f}"
        else:
            rate_text = f"{RATE_SOURCE[sid]}: r = {r:.4f}"
        go_text = GO_SOURCE.get(go) or (GO_CONTROL if sid == "contact_and_control" else GO_ESTIMATE)
        fn = dict(
            id=sid, name=name, shareable=True, mechanism=mech, go_live_year=round(go, 4),
            variable_cost_gbp_per_unit=v, travel_cost_gbp_per_unit_km=tau,
            officers_per_unit=float(f"{v * officers_in_fn / D:.4g}"),
            staff_per_unit=float(f"{v * staff_in_fn / D:.4g}"),
            unit_fixed_cost_gbp=F, unit_setup_cost_gbp=G,
            unit_capacity=rnd(1.25 * D, 100_000), hosts=host_list(sid, D, F),
            provenance={
                "shareable": f"in the scope of the May 2014 memorandum ({S_MOU})"
                             + ("; the Dec 2013 agreement named it too" if sid not in
                                ("criminal_justice", "contact_and_control") else
                                f"; went live in the waves of 2016-17 ({S_OUTCOMES_2016})"),
                "mechanism": WHY.get(sid, "co-located: one team at the host site; staff who move "
                                          "relocate, work that travels pays tau"),
                "go_live_year": go_text,
                "variable_cost_gbp_per_unit": (
                    f"DERIVED: v = 1 - r - f = 1 - {r:.4f} - {fr:g}, so a unit of all three forces "
                    f"runs at (1 - r) of D = GBP {D / 1e6:.3f}m (the three forces' spend, "
                    f"{pct(cpct)} of their budgets) before travel; r: {rate_text}"),
                "unit_fixed_cost_gbp": (f"ESTIMATE: {fr:.0%} of D (management, systems, premises "
                                        f"of one unit), rounded to GBP 10k"),
                "unit_setup_cost_gbp": (
                    f"ESTIMATE: gross one-offs = {ONE_OFF_YEARS_OF_SAVING:g} years of the unit's "
                    f"saving (r D = GBP {r * D / 1e6:.3f}m; the GBP 8m Innovation Fund against the "
                    f"programme's ~GBP 5.75m a year, GBP 23m over four years, is 1.4 years: "
                    f"{S_INNOV}), less the fund's pro-rata share ({grant_frac:.1%}); "
                    f"{SETUP_SHARE:.0%} of that is set-up, the rest the members' transition"),
                "unit_capacity": "ESTIMATE: 1.25 x D (all three forces with 25% headroom)",
                "travel_cost_gbp_per_unit_km": (
                    "none: the work stays in each force" if mech == "jointly_managed" else
                    f"ESTIMATE: {tau * 40:.2%} of a force's cost a year at 40 km from the host"),
                "officers_per_unit": (f"DERIVED: v x officers in the function / D = {v:g} x "
                                      f"{officers_in_fn:.1f} / {D:.0f}"),
                "staff_per_unit": (f"DERIVED: v x police staff in the function / D = {v:g} x "
                                   f"{staff_in_fn:.1f} / {D:.0f}"),
                "hosts": ("the three force headquarters"
                          + ("; single-site rooms hold at most "
                             f"{CONTROL_ONE_SITE_CAPACITY:.0%} of D (ESTIMATE: one existing room "
                             f"extended), the two-site unit Hinchingbrooke + Welwyn Garden City "
                             f"adds {CONTROL_SITE_SHARE:.0%} of F for its second site (ESTIMATE)"
                             if sid == "contact_and_control" else "")
                          + ("; and the two offices the forces kept, Monks Wood + Harpenden "
                             "(second office: ESTIMATE 50% of F)" if sid == "firearms_licensing"
                             else "")),
            })
        functions.append(fn)
        for fdat in FORCES:
            if sid in BY_WORKFORCE:
                c = rnd(D * fdat["workforce"] / TOTAL_WORKFORCE, 1000)
                ctext = (f"ESTIMATE: D = {pct(cpct)} of the three budgets (GBP {D / 1e6:.3f}m) "
                         f"split by total workforce FTE at 31 Mar 2015 ({fdat['workforce']:g} of "
                         f"{TOTAL_WORKFORCE:g}: {S_WORKFORCE}): the workload follows headcount")
            else:
                c = rnd(cpct / 100 * fdat["budget"], 1000)
                ctext = f"ESTIMATE: {pct(cpct)} of budget_gbp (function split, docs/instances.md)"
            nonlocal_cost[fdat["id"]] += c
            o = round(opct / 100 * fdat["officers"], 1)
            st = round(max(0.0, cpct / 100 * fdat["people"] - o), 1)
            tr = rnd(t_frac * c, 1000)
            row = dict(force=fdat["id"], function=sid, standalone_cost_gbp=c, officers_fte=o,
                       staff_fte=st, provenance={
                           "standalone_cost_gbp": ctext,
                           "officers_fte": f"ESTIMATE: {pct(opct)} of officers_fte (Home Office "
                                           f"2025 officer split, function_shares.csv)",
                           "staff_fte": (f"DERIVED: {pct(cpct)} of the force's officers, police "
                                         f"staff and designated officers ({fdat['people']:.1f} "
                                         f"FTE, 31 Mar 2015: {S_WORKFORCE}) less its officers: "
                                         f"the function's spend share taken as its workforce share"),
                       })
            if mech == "co_located":
                row["transition_cost_gbp"] = rnd((1 - RELOCATION_SHARE) * tr, 1000)
                row["relocation_cost_gbp"] = rnd(RELOCATION_SHARE * tr, 1000)
                row["provenance"]["transition_cost_gbp"] = (
                    "ESTIMATE: the member's pro-rata part of the unit's net one-offs (see the "
                    f"function's unit_setup_cost_gbp), {1 - RELOCATION_SHARE:.0%} retraining and "
                    "systems")
                row["provenance"]["relocation_cost_gbp"] = (
                    f"ESTIMATE: the other {RELOCATION_SHARE:.0%}, paid only when the work moves to "
                    "a site the force does not own (staff relocation, redundancy)")
            else:
                row["transition_cost_gbp"] = tr
                row["provenance"]["transition_cost_gbp"] = (
                    "ESTIMATE: the member's pro-rata part of the unit's net one-offs (systems, "
                    "joint management); nothing moves")
            costs.append(row)

    existing = []
    budget = {f["id"]: f["budget"] for f in FORCES}
    for (sid, name, cpct, opct, host, saving, ssrc, why, also, _since) in EXISTING:
        parts = saving if isinstance(saving, list) else [
            (saving, tuple(f["id"] for f in FORCES), ssrc)]
        saved = {f["id"]: 0.0 for f in FORCES}  # s_i: each published saving split by budget
        for gbp, members, _src in parts:
            for m in members:
                saved[m] += gbp * budget[m] / sum(budget[k] for k in members)
        A = D_of(cpct)
        S = sum(gbp for gbp, _, _ in parts)
        F = rnd(EXISTING_FIXED_FRACTION * A, 10_000)
        v = round((A - F) / A, 4)
        officers_in_fn = opct / 100 * officers_all
        what = "; ".join(src for _, _, src in parts)
        functions.append(dict(
            id=sid, name=name, shareable=True, variable_cost_gbp_per_unit=v,
            travel_cost_gbp_per_unit_km=0.0,
            officers_per_unit=float(f"{officers_in_fn / A:.4g}"), unit_fixed_cost_gbp=F,
            unit_setup_cost_gbp=0.0,
            hosts=[dict(site=host, also_sites=[dict(site=a, fixed_cost_gbp=0.0) for a in also])],
            provenance={
                "shareable": (f"an existing unit: {ssrc if len(parts) > 1 else 'the three forces'} "
                              f"({S_BEDS_UNITS}); fixed in place"),
                "hosts": why,
                "unit_fixed_cost_gbp": (f"ESTIMATE: {EXISTING_FIXED_FRACTION:.0%} of the unit's "
                                        f"cost today A = {pct(cpct)} of the three budgets = "
                                        f"GBP {A / 1e6:.3f}m"),
                "variable_cost_gbp_per_unit": (
                    f"DERIVED: (A - F) / A with demand = each force's cost today (cpct of its "
                    f"budget), so the unit costs A and each member pays its cost today; its "
                    f"cost alone is today's cost plus its part of the published saving "
                    f"(GBP {S / 1e6:.3f}m a year: {what})"),
                "officers_per_unit": "DERIVED: the unit's officers today / A",
                "unit_setup_cost_gbp": "sunk: the unit exists",
                "travel_cost_gbp_per_unit_km": "ESTIMATE: 0 - travel is inside today's budgets",
            }))
        for fdat in FORCES:
            today = cpct / 100 * fdat["budget"]
            nonlocal_cost[fdat["id"]] += today
            c = rnd(today + saved[fdat["id"]], 1000)
            o = round(opct / 100 * fdat["officers"], 1)
            split = ", ".join(f"GBP {gbp / 1e6:g}m x {budget[fdat['id']] / sum(budget[k] for k in m):.3f}"
                              for gbp, m, _ in parts if fdat["id"] in m)
            costs.append(dict(
                force=fdat["id"], function=sid, standalone_cost_gbp=c, demand=rnd(today, 1000),
                officers_fte=o, staff_fte=round(max(0.0, cpct / 100 * fdat["people"] - o), 1),
                transition_cost_gbp=0.0,
                provenance={
                    "standalone_cost_gbp": (f"DERIVED: counterfactual cost alone = {pct(cpct)} "
                                            f"of budget_gbp (today's cost) + the force's part of "
                                            f"the published saving, by budget among the forces "
                                            f"it was published for ({split})"),
                    "demand": f"ESTIMATE: today's cost, {pct(cpct)} of budget_gbp"
                              + (f" ({EXISTING_SHARES[sid]})" if sid in EXISTING_SHARES else ""),
                    "officers_fte": f"ESTIMATE: {pct(opct)} of officers_fte (Home Office 2025)",
                    "staff_fte": "DERIVED as for the shareable functions",
                    "transition_cost_gbp": "sunk: already a member",
                }))
        existing.append(dict(function=sid, site=host, members=[f["id"] for f in FORCES],
                             reoptimisable=False, name=name))

    local_pct = sum(r[2] for r in LOCAL)
    local_scale = {f["id"]: (f["budget"] - nonlocal_cost[f["id"]]) / (local_pct / 100 * f["budget"])
                   for f in FORCES}
    local_sum = {f["id"]: 0.0 for f in FORCES}
    for k, (sid, name, cpct, opct, why, creason, oreason) in enumerate(LOCAL):
        functions.append(dict(id=sid, name=name, shareable=False,
                              provenance={"shareable": f"local: {why}"}))
        last = k == len(LOCAL) - 1
        for fdat in FORCES:
            ks = local_scale[fdat["id"]]
            if last:
                c = fdat["budget"] - nonlocal_cost[fdat["id"]] - local_sum[fdat["id"]]
                ctext = f"DERIVED: the remainder of budget_gbp (about {pct(cpct)} x {ks:.4f}; {creason})"
            else:
                c = rnd(cpct / 100 * fdat["budget"] * ks, 1000)
                ctext = (f"ESTIMATE: {pct(cpct)} of budget_gbp x {ks:.4f} ({creason}); the factor "
                         f"makes the force's functions add up to its budget")
            local_sum[fdat["id"]] += c
            costs.append(dict(
                force=fdat["id"], function=sid, standalone_cost_gbp=float(round(c, 2)),
                officers_fte=round(opct / 100 * fdat["officers"], 1),
                provenance={"standalone_cost_gbp": ctext, "officers_fte": oreason}))

    order = {fn["id"]: k for k, fn in enumerate(functions)}
    forder = {f["id"]: k for k, f in enumerate(FORCES)}
    costs.sort(key=lambda c: (forder[c["force"]], order[c["function"]]))
    inst = dict(
        schema_version=1, name="bch-2013", description=DESCRIPTION, currency="GBP",
        horizon_years=Y, first_financial_year=FIRST_YEAR, discount_rate=R,
        allocation="demand", forces=forces, functions=functions, sites=SITES, costs=costs,
        existing=existing, policy={}, objective={"sense": "min_cost"}, sources=SOURCES)
    return inst, grant_frac


DESCRIPTION = (
    "Bedfordshire, Cambridgeshire and Hertfordshire police, 2014/15-2018/19 (five financial "
    "years, Green Book 3.5% discount rate): which support functions of the December 2013 "
    "agreement and May 2014 memorandum to share, by whom and where. Each function goes live "
    "when the forces' own programme took it live (HR, training and firearms licensing 1 "
    "December 2015; criminal justice, custody, ICT and records 2016/17; control rooms and "
    "public contact 2017/18; the rest an ESTIMATE of 2017/18); before that each force runs it "
    "alone. Custody and criminal justice are jointly managed (every custody suite stays); "
    "the control room can run from two sites (Hinchingbrooke and Welwyn Garden City). "
    "Savings rates are calibrated to the published business cases (bench/backtest.py, "
    "docs/instances.md). Hertfordshire's sharing target is its GBP 30m need less the part "
    "planned from other measures; every force keeps its frontline officers (the pledge to "
    "'safeguard police officer numbers'). The tri-force armed policing, scientific services, "
    "major crime and professional standards units (2012) and joint protective services (roads "
    "policing, dogs, civil contingencies; Beds+Herts units from 2007, tri-force by 2013/14) are "
    "fixed. Budgets and workforce are "
    "published figures; the split by function and every cost of sharing are ESTIMATES (see "
    "each object's provenance).")
SOURCES = [
    f"Bedfordshire budget 2013/14: {S_BEDS_BUDGET}",
    f"Cambridgeshire budget 2014/15: {S_CAMBS_BUDGET}",
    f"Hertfordshire GBP 30m = 16% of budget; GBP 14m + 16m; GBP 8m from collaboration: {S_HERTS_30M}",
    f"Police officer and staff FTE 31 Mar 2015: {S_WORKFORCE}",
    f"HMIC 2010 value for money, workforce time by function: {S_HMIC2010}",
    f"Officer split by function: {S_HO2025}",
    f"Bedfordshire budget split c.2015: {S_BEDS_SPLIT}",
    f"Headquarters: {S_BEDS_HQ}; {S_CAMBS_HQ}; {S_HERTS_HQ}",
    f"Tri-force units, bases and savings: {S_HUNTSPOST_UNITS}; {S_HUNTSPOST_3M}",
    f"Joint units and dates: {S_BEDS_UNITS}",
    f"Professional standards unit (Jan 2012, ~GBP 640k a year): {S_BBC_PSU}",
    f"Custody collaboration GBP 1m: {S_CUSTODY}; suites kept: {S_CUSTODY_SUITES}",
    f"Innovation Fund GBP 2m + 6m; GBP 23m over four years forecast: {S_INNOV}",
    f"Go-lives Dec 2015 and 2016/17, GBP 4.5m and GBP 10m forecasts: {S_OUTCOMES_2016}",
    f"Control rooms and public contact, GBP 4m a year, four sites to two: {S_CONTROL_2015}",
    f"Firearms licensing full business case (>= 10%): {S_FL_FBC}",
    f"Criminal justice GBP 0.654m over two years: {S_CJ}",
    f"May 2014 MoU scope: {S_MOU}",
    f"HM Treasury Green Book discount rate 3.5%: {S_GREEN_BOOK}; {S_GREEN_BOOK_35}",
    "Collected figures with status labels: data/police/*.csv (README.md there)",
]


# ---------------------------------------------------------------- calibration
def initial_rates():
    rates = {}
    for (sid, _, _cpct, _, rate_key, *_rest) in SHAREABLE:
        if rate_key == "ict":
            rates[sid] = round(0.10 * cambs_workforce_share(), 4)
        elif isinstance(rate_key, str):
            rates[sid] = 0.10  # a start; calibrated below
        else:
            rates[sid] = rate_key
    for k, v in P.items():
        if k.endswith(".r"):
            rates[k[:-2]] = float(v)
    return rates


def calibrate(rates, rounds=4):
    """Solve each CALIBRATED rate against its published figure (bench/backtest.py): the
    model's figure moves by D x (live years in the figure's period) per unit of r, so a
    Newton step r += (published - model) / (D x years) converges in a few rounds."""
    import backtest

    cal = {"cal_wave1": "wave1", "cal_custody": "custody", "cal_cj": "criminal_justice",
           "cal_control": "control_rooms"}
    for _ in range(rounds):
        inst, _ = build(rates)
        rows = {r["key"]: r for r in backtest.figures(inst) if "key" in r}
        for key, row_key in cal.items():
            sids = [s[0] for s in SHAREABLE if s[4] == key]
            row = rows[row_key]
            slope = sum(D_of(s[2]) for s in SHAREABLE if s[4] == key) * row["live_years"]
            if slope <= 0:
                continue
            step = (row["published"] - row["model"]) / slope
            for sid in sids:
                rates[sid] = round(max(0.0, rates[sid] + step), 4)
    return rates


def main(argv=None) -> int:
    """Build, validate with the package's loader (every load-time rule), write atomically."""
    import argparse

    from shareplan.models.load import InstanceError, write_loadable_instance

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=OUT, help="output file [instances/bch-2013.json]")
    ap.add_argument("overrides", nargs="*", metavar="NAME=VALUE",
                    help="override a named figure (nocal=1: keep the uncalibrated rates)")
    args = ap.parse_args(argv)
    words = [args.out, *args.overrides]
    out = words[0] if "=" not in words[0] else OUT
    P.update(a.split("=", 1) for a in words if "=" in a)
    rates = calibrate(initial_rates()) if "nocal" not in P else initial_rates()
    inst, grant_frac = build(rates)
    text = json.dumps(inst, indent=2, ensure_ascii=False) + "\n"
    try:
        write_loadable_instance(text, out)
    except InstanceError as exc:
        print(f"not written: {out} would not load:\n{exc}", file=sys.stderr)
        return 2
    print("wrote", out, "alpha", round(ALPHA, 4), "grant_frac", round(grant_frac, 4),
          "rates", rates, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
