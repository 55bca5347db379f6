"""The board report: one self-contained HTML file (briefing, charts, map), nothing fetched.

Rendered with jinja2 from ``templates/report.html.j2``; pictures are inline SVG from
:mod:`.charts`; a Content-Security-Policy forbids every network request, so the file
opens the same offline. Sections for alternatives or cost shares appear when the plan
dict holds them (``alternatives``, ``shares``: lists of row dicts).
"""

from __future__ import annotations

from pathlib import Path

from ..formats.extras import need
from .briefing import Briefing

EXTRA_SECTIONS = {"alternatives": "Alternatives", "shares": "Cost shares"}


def render_report(inst, plan: dict, b: Briefing) -> str:
    jinja2 = need("jinja2", "report")
    need("matplotlib", "report")
    from ..report import format_value
    from . import charts

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = format_value
    pictures = {}
    map_info = {"matched": [], "unmatched": [], "hosts": []}
    if b.has_solution:
        units = b.table("units").rows
        pictures["map"], map_info = charts.map_svg(inst, units, plan)
        pictures["savings"] = charts.savings_svg(b.table("forces").rows,
                                                 b.accounting["horizon_basis"])
        fn_rows = b.table("functions").rows
        if fn_rows:
            pictures["functions"] = charts.functions_svg(fn_rows)
    extras = []
    for key, title in EXTRA_SECTIONS.items():
        rows = plan.get(key)
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            cols = list(dict.fromkeys(k for r in rows for k in r))
            extras.append({"title": title, "columns": cols, "rows": rows})
    forces = {f.id: f.name or f.id for f in inst.forces}
    return env.get_template("report.html.j2").render(
        b=b, plan=plan, pictures=pictures, extras=extras,
        unmatched=[forces[f] for f in map_info["unmatched"]],
        attribution=charts.boundaries()["attribution"],
        boundary_source=charts.boundaries()["source"])


def write_report(inst, plan: dict, b: Briefing, path: str | Path) -> int:
    """Write the report atomically; returns its size in bytes."""
    from ..io import atomic_write_text

    html = render_report(inst, plan, b)
    atomic_write_text(path, html)
    return len(html.encode("utf-8"))
