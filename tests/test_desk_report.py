"""The board report: one self-contained file, opened in headless Chromium as a person would.

The browser test runs wherever Chromium is installed (``.ci/run`` installs it in CI,
where it must run); elsewhere it is skipped. Screenshots go to $SHAREPLAN_SCREENSHOTS
when set (else the test's temporary directory).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from browser import chromium, open_page
from helpers import run_cli as run
from helpers import two_forces

from shareplan.models.load import load_instance
from shareplan.reports.charts import match_areas

ROOT = Path(__file__).resolve().parents[1]
BCH = ROOT / "instances" / "bch-2013.json"
NATIONAL = ROOT / "instances" / "england-wales-43.json"


def _browser_or_skip():
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs chromium")
        pytest.skip("no chromium installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install shareplan[test] (playwright)")
        pytest.skip("playwright is not installed")


def _shots(tmp_path) -> Path:
    out = Path(os.environ.get("SHAREPLAN_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_every_force_of_the_national_instance_has_its_area():
    inst, _ = load_instance(NATIONAL)
    assert len(match_areas(inst.forces)) == 43


def test_report_is_one_offline_file(tmp_path):
    html = tmp_path / "report.html"
    result = run("report", BCH, "--html", html, "--shadow-budget", "0")
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)  # nothing fetched
    assert "default-src 'none'" in text
    assert "Open Government Licence" in text  # the boundary set's attribution
    assert text.count("<svg") >= 3
    assert len(text.encode()) < 1_500_000


def test_report_of_an_infeasible_instance_explains_and_exits_3(tmp_path):
    html = tmp_path / "inf.html"
    result = run("report", ROOT / "instances" / "tiny-infeasible.json", "--html", html)
    assert result.exit_code == 3
    text = html.read_text(encoding="utf-8")
    assert "infeasible" in text and "can save at most" in text


def test_report_of_a_given_plan_must_check_out(tmp_path):
    inst = tmp_path / "two.json"
    inst.write_text(json.dumps(two_forces()), encoding="utf-8")
    plan = tmp_path / "plan.json"
    assert run(inst, "--out", plan, "--quiet").exit_code == 0
    html = tmp_path / "r.html"
    assert run("report", inst, plan, "--html", html, "--shadow-budget", "0").exit_code == 0
    broken = json.loads(plan.read_text())
    broken["forces"][0]["savings_gbp"] += 1000.0
    plan.write_text(json.dumps(broken))
    result = run("report", inst, plan, "--html", html, "--shadow-budget", "0")
    assert result.exit_code == 5 and "does not check out" in result.output


@pytest.mark.parametrize("instance", [BCH, "two"], ids=["bch-2013", "no-boundaries"])
def test_report_in_a_real_browser(instance, tmp_path):
    _browser_or_skip()
    if instance == "two":  # forces with no police force area: the map shows points only
        data = two_forces()
        data["forces"] = [{"id": "A", "name": "North force", "lat": 52.0, "lon": -1.0},
                          {"id": "B", "name": "South force", "lat": 51.6, "lon": -0.8}]
        data["sites"] = [{"id": "hA", "owner": "A", "lat": 52.0, "lon": -1.0},
                         {"id": "hB", "owner": "B", "lat": 51.6, "lon": -0.8}]
        instance = tmp_path / "two.json"
        instance.write_text(json.dumps(data), encoding="utf-8")
    html = tmp_path / "report.html"
    result = run("report", instance, "--html", html)
    assert result.exit_code == 0, result.output
    shot = _shots(tmp_path) / f"report-{Path(instance).stem}.png"
    seen = open_page(html, shot)
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    assert seen["requests"] == []
    for sel, box in seen["boxes"].items():
        assert box is not None and box["width"] > 300 and box["height"] > 150, sel
    assert seen["map_paths"] > 40  # the area outlines are drawn
    assert "savings over the horizon" in seen["text"]
    assert shot.exists() and shot.stat().st_size > 50_000
