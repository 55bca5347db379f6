"""Open an HTML file in headless Chromium (the system's, through playwright) and record
what a person would see: console messages, page errors, network requests, a screenshot,
and the size of each picture on the page."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", "--no-first-run"]


def chromium() -> str | None:
    for p in CHROMIUM_PATHS:
        if Path(p).exists():
            return p
    return shutil.which("chromium")


def open_page(html_path: Path, screenshot: Path, width: int = 1200) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"console": [], "errors": [], "requests": [], "boxes": {}}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as home:
        browser = p.chromium.launch(executable_path=chromium(), args=FLAGS,
                                    env={**os.environ, "HOME": home})
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: out["console"].append((m.type, m.text)))
        page.on("pageerror", lambda e: out["errors"].append(str(e)))
        page.on("request", lambda r: out["requests"].append(r.url))
        url = html_path.resolve().as_uri()
        page.goto(url, wait_until="load")
        for sel in ("#map svg", "#chart-savings svg", "#chart-functions svg"):
            el = page.query_selector(sel)
            out["boxes"][sel] = el.bounding_box() if el else None
        out["map_paths"] = page.eval_on_selector_all("#map svg path", "els => els.length")
        out["text"] = page.inner_text("body")
        page.screenshot(path=str(screenshot), full_page=True)
        out["requests"] = [u for u in out["requests"] if u != url]
        browser.close()
    return out
