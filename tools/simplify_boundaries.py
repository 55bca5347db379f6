"""Build shareplan/reports/data/police_force_areas.json from an ONS police force area set.

Input: the ONS "Police Force Areas (December 2020) EW BUC" boundaries as GeoJSON
(WGS84; properties PFA20CD, PFA20NM), Office for National Statistics, Open Government
Licence v3.0. Output: each area simplified with shapely (Douglas-Peucker, tolerance in
degrees; topology is not kept, which a small overview map does not need), coordinates
rounded to 3 decimals (about 100 m), with the attribution the licence requires.

    python tools/simplify_boundaries.py SOURCE.geojson [--tolerance 0.01] [--out FILE]

The output is checked before it is written (:func:`problems`): 43 areas with codes,
names and polygons in England and Wales, and every force of the national instance
finds its area by name the way the report's map looks it up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "shareplan" / "reports" / "data" / "police_force_areas.json"
N_AREAS = 43  # police force areas of England and Wales (City of London included)
ATTRIBUTION = ("Source: Office for National Statistics licensed under the Open Government "
               "Licence v.3.0. Contains OS data © Crown copyright and database right 2020.")


def _rounded(coords, dp: int):
    if isinstance(coords[0], int | float):
        return [round(coords[0], dp), round(coords[1], dp)]
    return [_rounded(c, dp) for c in coords]


def _points(coords):
    if isinstance(coords[0], int | float):
        yield coords
    else:
        for c in coords:
            yield from _points(c)


def problems(doc: dict) -> list[str]:
    """What is wrong with a boundaries document, as the report's map reads it."""
    from shareplan.models.load import load_instance
    from shareplan.reports.charts import name_key

    areas = doc.get("areas") or []
    out = [] if len(areas) == N_AREAS else [f"{len(areas)} areas, not {N_AREAS}"]
    for a in areas:
        geom = a.get("geometry") or {}
        if not a.get("code") or not a.get("name"):
            out.append(f"an area without code or name: {a.get('code')!r} {a.get('name')!r}")
        elif geom.get("type") not in ("Polygon", "MultiPolygon") or not geom.get("coordinates"):
            out.append(f"{a['name']}: geometry {geom.get('type')!r} is not a polygon")
        elif any(not (-7 <= x <= 3 and 49 <= y <= 56) for x, y in _points(geom["coordinates"])):
            out.append(f"{a['name']}: a point outside England and Wales (lon, lat expected)")
    if not doc.get("attribution"):
        out.append("no attribution: the Open Government Licence requires it")
    keys = {name_key(a["name"]) for a in areas if a.get("name")}
    inst, _ = load_instance(ROOT / "instances" / "england-wales-43.json")
    out += [f"force {f.id} ({f.name}) finds no area by name" for f in inst.forces
            if name_key(f.name or f.id) not in keys and name_key(f.id) not in keys]
    return out


def main(argv=None) -> int:
    from shapely.geometry import mapping, shape

    from shareplan.io import atomic_write_text

    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--dp", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = json.loads(Path(args.source).read_text(encoding="utf-8"))
    areas = []
    for feat in data["features"]:
        props = feat["properties"]
        geom = shape(feat["geometry"]).simplify(args.tolerance, preserve_topology=True)
        geom = geom.buffer(0) if not geom.is_valid else geom
        areas.append({"code": props["PFA20CD"], "name": props["PFA20NM"],
                      "geometry": {"type": mapping(geom)["type"],
                                   "coordinates": _rounded(mapping(geom)["coordinates"],
                                                           args.dp)}})
    areas.sort(key=lambda a: a["code"])
    out = {"name": "Police Force Areas (December 2020) in England and Wales, simplified",
           "source": "ONS Open Geography Portal, Police Force Areas (December 2020) EW BUC",
           "licence": "Open Government Licence v3.0 "
                      "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)",
           "attribution": ATTRIBUTION,
           "simplified": f"shapely simplify, tolerance {args.tolerance} degrees, "
                         f"{args.dp} decimals (tools/simplify_boundaries.py)",
           "areas": areas}
    bad = problems(out)
    if bad:
        print(f"not written: {args.out}:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 2
    atomic_write_text(args.out, json.dumps(out, ensure_ascii=False, separators=(",", ":"))
                      + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(areas)} areas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
