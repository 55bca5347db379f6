"""The report's pictures as inline SVG (matplotlib, no files, no fonts fetched).

* savings against target per force (horizon figures, as the briefing counts them);
* cost per function a year, before and after;
* a map of England and Wales: police force areas (ONS, simplified; see
  ``data/police_force_areas.json``), the instance's forces coloured, each shared
  unit's host marked, lines from each member's headquarters to its hosts.
"""

from __future__ import annotations

import io
import json
import math
import re
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "police_force_areas.json"
PALETTE = ["#1b6ca8", "#e07b1f", "#2e9e44", "#c0392b", "#8e44ad", "#7f5539", "#d35ca3",
           "#5f6c7b", "#a3a31d", "#17a2b8"]
STOP_WORDS = {"police", "constabulary", "service", "force", "the"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "shareplan",
                         "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


@cache
def boundaries() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def name_key(name: str) -> frozenset[str]:
    """'Devon & Cornwall Police' and 'Devon and Cornwall' -> the same key."""
    words = re.findall(r"[a-z]+", name.lower().replace("&", " and "))
    return frozenset(w for w in words if w not in STOP_WORDS)


def match_areas(forces) -> dict[str, dict]:
    """force id -> its police force area (by name), for the forces that have one."""
    by_key = {name_key(a["name"]): a for a in boundaries()["areas"]}
    out = {}
    for f in forces:
        area = by_key.get(name_key(f.name or f.id)) or by_key.get(name_key(f.id))
        if area is not None:
            out[f.id] = area
    return out


def _xy(lon: float, lat: float) -> tuple[float, float]:
    return lon * math.cos(math.radians(52.5)), lat


def _rings(geometry) -> list[list]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [poly[0] for poly in geometry["coordinates"]]


def map_svg(inst, briefing_units: list[dict], plan: dict) -> tuple[str, dict]:
    """The map and what it shows: {matched, unmatched, hosts}."""
    from matplotlib.patches import Polygon

    plt = _pyplot()
    areas = boundaries()["areas"]
    matched = match_areas(inst.forces)
    colour = {f.id: PALETTE[k % len(PALETTE)] for k, f in enumerate(inst.forces)}
    sites = {h.id: h for h in inst.sites}
    forces = {f.id: f for f in inst.forces}
    all_pts = [_xy(lon, lat) for a in areas for ring in _rings(a["geometry"])
               for lon, lat in ring]
    xs, ys = zip(*all_pts)
    focus = [p for fid, a in matched.items() for ring in _rings(a["geometry"])
             for p in (_xy(lon, lat) for lon, lat in ring)]
    focus += [_xy(o.lon, o.lat) for o in [*inst.forces, *inst.sites]
              if o.lat is not None and o.lon is not None]
    if focus:
        fx, fy = zip(*focus)
        pad = max(0.15, 0.08 * max(max(fx) - min(fx), max(fy) - min(fy)))
        box = (min(fx) - pad, max(fx) + pad, min(fy) - pad, max(fy) + pad)
    else:
        box = (min(xs), max(xs), min(ys), max(ys))
    whole = (box[1] - box[0]) * (box[3] - box[2]) >= 0.5 * (max(xs) - min(xs)) * (
        max(ys) - min(ys))
    if whole:  # the plan spans the country: one large map
        fig, ax1 = plt.subplots(figsize=(9, 9.5))
        axes = [ax1]
    else:  # the country, and the plan's forces zoomed
        fig, axes = plt.subplots(1, 2, figsize=(11, 6.6),
                                 gridspec_kw={"width_ratios": [1, 1.2]})
    for ax in axes:
        for a in areas:
            mine = next((fid for fid, m in matched.items() if m is a), None)
            for ring in _rings(a["geometry"]):
                ax.add_patch(Polygon([_xy(lon, lat) for lon, lat in ring], closed=True,
                                     linewidth=0.4, edgecolor="white",
                                     facecolor=colour[mine] if mine else "#d9dde3",
                                     alpha=0.55 if mine else 1.0))
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    axes[0].set_xlim(min(xs) - 0.1, max(xs) + 0.1)
    axes[0].set_ylim(min(ys) - 0.1, max(ys) + 0.1)
    axes[0].set_title("England and Wales" + (": forces, hosts and members" if whole else ""),
                      loc="left")
    if not whole:
        axes[1].set_xlim(box[0], box[1])
        axes[1].set_ylim(box[2], box[3])
        axes[1].set_title("The forces of this plan, hosts and members", loc="left")
        axes[0].add_patch(plt.Rectangle((box[0], box[2]), box[1] - box[0], box[3] - box[2],
                                        fill=False, edgecolor="#333", linewidth=1))
    crowded = len(inst.forces) > 12
    links: dict[tuple[str, str], int] = {}
    for u in plan.get("units", []):
        for m in u["members"]:
            links[(m["force"], u["site"])] = links.get((m["force"], u["site"]), 0) + 1
    ax = axes[-1]
    for (fid, sid), n in sorted(links.items()):
        f, h = forces.get(fid), sites.get(sid)
        if f is None or h is None or None in (f.lat, f.lon, h.lat, h.lon):
            continue
        (x0, y0), (x1, y1) = _xy(f.lon, f.lat), _xy(h.lon, h.lat)
        ax.plot([x0, x1], [y0, y1], color=colour[fid], linewidth=0.8 + 0.5 * n, alpha=0.8,
                zorder=3, gid=f"link-{fid}-{sid}")
    for f in inst.forces:
        if f.lat is not None and f.lon is not None:
            x, y = _xy(f.lon, f.lat)
            ax.plot([x], [y], "o", color=colour[f.id], markeredgecolor="black", markersize=7,
                    zorder=4, gid=f"force-{f.id}")
            if not crowded:
                ax.annotate(f.name or f.id, (x, y), xytext=(6, -10),
                            textcoords="offset points", fontsize=8, zorder=5)
    hosts: dict[str, int] = {}
    for u in plan.get("units", []):
        hosts[u["site"]] = hosts.get(u["site"], 0) + 1
    for k, (sid, n) in enumerate(sorted(hosts.items(), key=lambda kv: -kv[1])):
        h = sites.get(sid)
        if h is None or h.lat is None or h.lon is None:
            continue
        x, y = _xy(h.lon, h.lat)
        offset = [(6, 6), (6, 16), (-10, 18), (6, -22)][k % 4]
        ax.plot([x], [y], "*", color="#111", markersize=(11 if not crowded else 6) + min(n, 10),
                zorder=6, gid=f"host-{sid}")
        if crowded:  # many hosts: the count alone, the units table names them
            ax.annotate(str(n), (x, y), xytext=(5, 3), textcoords="offset points",
                        fontsize=7, fontweight="bold", zorder=7)
            continue
        ax.annotate(f"{(h.name or sid).split(',')[0]}: hosts {n} unit" + ("s" if n > 1 else ""),
                    (x, y), xytext=offset, textcoords="offset points", fontsize=8,
                    fontweight="bold", zorder=7)
    fig.text(0.01, 0.01, boundaries()["attribution"], fontsize=6.5, color="#444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    info = {"matched": sorted(matched), "unmatched": sorted(
        f.id for f in inst.forces if f.id not in matched), "hosts": sorted(hosts)}
    return _svg(fig), info


def _gbp_axis(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"£{v / 1e6:,.1f}m" if abs(v) >= 1e5 else f"£{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def savings_svg(forces_rows: list[dict], basis: str) -> str:
    plt = _pyplot()
    names = [r["name"] for r in forces_rows]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(names) + 1.4))
    ys = range(len(names))
    ax.barh(list(ys), [r["savings_gbp"] for r in forces_rows], color="#1b6ca8",
            label="savings under the plan")
    tx = [(k, r["target_gbp"]) for k, r in enumerate(forces_rows) if r["target_gbp"] is not None]
    if tx:
        ax.scatter([t for _, t in tx], [k for k, _ in tx], marker="|", s=500, color="#c0392b",
                   linewidths=3, zorder=3, label="savings target")
    ax.set_yticks(list(ys), names)
    ax.invert_yaxis()
    _gbp_axis(ax)
    top = max([r["savings_gbp"] for r in forces_rows] + [t for _, t in tx] + [1.0])
    ax.set_xlim(min(0.0, min(r["savings_gbp"] for r in forces_rows)), top * 1.18)
    for k, r in enumerate(forces_rows):
        ax.annotate(f"£{r['savings_gbp'] / 1e6:,.2f}m", (max(r["savings_gbp"], 0), k),
                    xytext=(4, -3), textcoords="offset points", fontsize=8)
    ax.set_xlabel(f"GBP over the horizon ({basis})")
    ax.set_title("Savings against target, per force", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return _svg(fig)


def functions_svg(fn_rows: list[dict]) -> str:
    plt = _pyplot()
    rows = [r for r in fn_rows]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.4))
    ys = list(range(len(rows)))
    h = 0.4
    ax.barh([y - h / 2 for y in ys], [r["before_a_year_gbp"] for r in rows], height=h,
            color="#9aa5b1", label="before (today)")
    ax.barh([y + h / 2 for y in ys], [r["after_a_year_gbp"] for r in rows], height=h,
            color="#2e9e44", label="after (the plan, once running)")
    ax.set_yticks(ys, [r["name"].split("(")[0].strip()[:40] for r in rows])
    ax.invert_yaxis()
    _gbp_axis(ax)
    ax.set_xlabel("GBP a year, all forces together (cash)")
    ax.set_title("Cost per function a year, before and after", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    return _svg(fig)
