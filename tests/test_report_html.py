"""``autonews report``: the HTML report of the seven-run crawl (tests/test_health_crawl.py) in a real
headless Chromium, with the network switched off: no console error, every chart drawn, both
healthy and degraded sources shown with the reasons. A screenshot is kept in ``test-artifacts/``
(or ``$AUTONEWS_TEST_ARTIFACTS``).

Chromium and its driver come from Debian (``chromium``, ``chromium-driver``; the README's test
command installs them): a machine without them fails here, it does not skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import REPO, run_cli

CHARTS_PER_SOURCE = 5
ARTIFACTS = Path(os.environ.get("AUTONEWS_TEST_ARTIFACTS") or REPO / "test-artifacts")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Debian's headless Chromium through its chromedriver, offline (no Selenium Manager, no download)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def report_file(seven_runs_output: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``autonews report -o FILE`` over the seven-run output."""
    target = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("report", "--output", str(seven_runs_output), "-o", str(target), cwd=target.parent)
    assert result.returncode == 0, result.stderr
    assert f"report written to {target}" in result.stderr
    return target


def load_offline(browser: webdriver.Chrome, path: Path) -> list[str]:
    """Open ``path`` with the network emulated offline; return every URL the page requested."""
    browser.get_log("performance")  # drop what earlier pages logged
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions",
                            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    browser.get(path.as_uri())
    events = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    return [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]


def test_report_renders_offline_in_chromium(report_file: Path, browser: webdriver.Chrome) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html  # one file: nothing to fetch
    requested = load_offline(browser, report_file)
    assert requested == [report_file.as_uri()]  # the file itself, nothing else
    severe = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert severe == []

    charts: list[dict[str, Any]] = browser.execute_script("""
        return [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
            source: gd.closest('section').id,
            title: (gd.layout.title && gd.layout.title.text) || '',
            traces: gd.querySelectorAll('g.trace').length,
            marks: gd.querySelectorAll('g.trace path').length,
            height: gd.getBoundingClientRect().height,
            data: gd.data.map(t => ({name: t.name, y: t.y}))}));""")
    assert len(charts) == 3 * CHARTS_PER_SOURCE
    for chart in charts:  # every chart was drawn, with something in it
        assert chart["traces"] >= 1 and chart["marks"] >= 1 and chart["height"] > 100, chart
    # the coverage chart of the fading source shows dates falling from 100% to 0% in the last run
    coverage = next(c for c in charts if c["source"] == "source-fading" and c["title"].startswith("Field coverage"))
    published = next(t for t in coverage["data"] if t["name"] == "published")
    assert published["y"][:6] == [100] * 6 and published["y"][-1] == 0
    written = next(c for c in charts if c["source"] == "source-steady" and c["title"].startswith("Articles"))
    assert sum(written["data"][0]["y"]) == 21  # 3 articles a run, 7 runs

    rows = browser.execute_script("""return [...document.querySelectorAll('#sources tbody tr')].map(
        tr => [tr.dataset.source, tr.dataset.status, tr.innerText])""")
    assert [r[:2] for r in rows] == [["fading", "degraded"], ["stale", "degraded"], ["steady", "ok"]]  # worst first
    assert "published coverage 100% → 0%" in rows[0][2] and "authors coverage 100% → 0%" in rows[0][2]
    assert "no new entry for 3 runs" in rows[1][2]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 50_000  # a page of charts, not a blank one
    (ARTIFACTS / "report-chromium.png").write_bytes(png)


def test_days_limits_the_period(seven_runs_output: Path, tmp_path: Path) -> None:
    # an earlier run, moved 30 days back: in the report of 60 days, not in that of 7
    shutil.copytree(seven_runs_output / "runs", tmp_path / "runs")
    first = sorted((tmp_path / "runs").glob("*.json"))[0]
    report = json.loads(first.read_text(encoding="utf-8"))
    report["start"] = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat(timespec="seconds")
    first.write_text(json.dumps(report), encoding="utf-8")
    week = run_cli("report", "--output", str(tmp_path), cwd=tmp_path)
    assert week.returncode == 0, week.stderr
    assert "· 6 run(s) ·" in (tmp_path / "report.html").read_text(encoding="utf-8")  # default: OUTPUT/report.html
    run_cli("report", "--output", str(tmp_path), "--days", "60", "-o", str(tmp_path / "r60.html"), cwd=tmp_path)
    assert "· 7 run(s) ·" in (tmp_path / "r60.html").read_text(encoding="utf-8")


def test_report_without_runs_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("report", "--output", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 2 and "no run reports" in result.stderr
    assert run_cli("report", "--days", "0", cwd=tmp_path).returncode == 2
