"""Build shareplan/reports/data/police_force_areas.json from an ONS police force area set.

Input: the ONS "Police Force Areas (December 2020) EW BUC" boundaries as GeoJSON
(WGS84; properties PFA20CD, PFA20NM), Office for National Statistics, Open Government
Licence v3.0. Output: each area simplified with shapely (Douglas-Peucker, tolerance in
degrees; topology is not kept, which a small overview map does not need), coordinates
rounded to 3 decimals (about 100 m), with the attribution the licence requires.

    python tools/simplify_boundaries.py SOURCE.geojson [--tolerance 0.01]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shapely.geometry import mapping, shape

OUT = Path(__file__).resolve().parents[1] / "shareplan" / "reports" / "data" / "police_force_areas.json"
ATTRIBUTION = ("Source: Office for National Statistics licensed under the Open Government "
               "Licence v.3.0. Contains OS data © Crown copyright and database right 2020.")


def _rounded(coords, dp: int):
    if isinstance(coords[0], int | float):
        return [round(coords[0], dp), round(coords[1], dp)]
    return [_rounded(c, dp) for c in coords]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--dp", type=int, default=3)
    args = ap.parse_args()
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
    OUT.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n",
                   encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(areas)} areas)")


if __name__ == "__main__":
    main()
