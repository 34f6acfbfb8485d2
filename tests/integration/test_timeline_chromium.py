"""The timeline page as a browser shows it: headless Chromium opens what ``greenflow timeline`` wrote.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)
and selenium (the ``dev`` extra); skips, saying which is missing, otherwise.
Set ``GREENFLOW_TIMELINE_SCREENSHOT=path.png`` to keep the screenshot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenflow.persistence import fetch_backend

CHROMIUM = os.environ.get("GREENFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GREENFLOW_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
# What Chromium needs to start as root on a machine with no network and no screen.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1500",
)
ENTRY_POINT = shutil.which("greenflow", path=str(Path(sys.executable).parent)) or shutil.which("greenflow")
FAILURE_FILL = "rgb(198, 40, 40)"  # COLOURS["failure"], as the browser reports it


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found: apt-get install {package}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo batch (gevent, SQLite) and the timeline page it wrote."""
    assert ENTRY_POINT is not None, "the greenflow entry point is not installed here (pip install -e .)"
    where = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k != "GREENFLOW_HUB"}
    proc = subprocess.run(
        [ENTRY_POINT, "demo", "--workflows", "200", "--concurrency", "100", "--latency-ms", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=where,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return where / "greenflow-demo-timeline.html", f"sqlite:///{where}/greenflow-demo.db"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _atom_counts(url: str) -> dict[str, int]:
    backend = fetch_backend(url)
    try:
        return {fd.uuid: len(fd) for book in backend.get_connection().get_logbooks() for fd in book}
    finally:
        backend.close()


def test_timeline_shows_one_row_per_atom_bars_in_time_order_failures_in_red(demo_page, browser, tmp_path):
    page, url = demo_page
    browser.get(page.as_uri())
    assert browser.title == "greenflow timeline: 200 flows"
    shot = tmp_path / "timeline.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep = os.environ.get("GREENFLOW_TIMELINE_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)

    # What the browser laid out, read in one call.
    flows = browser.execute_script(
        """
        return Array.from(document.querySelectorAll('div.flow')).map(flow => ({
          uuid: flow.dataset.flow,
          state: flow.dataset.state,
          rows: Array.from(flow.querySelectorAll('g.atom-row')).map(row => ({
            atom: row.dataset.atom,
            bars: Array.from(row.querySelectorAll('rect.bar')).map(bar => ({
              kind: bar.dataset.kind,
              start: parseFloat(bar.dataset.start),
              x: bar.getBoundingClientRect().left,
              width: bar.getBoundingClientRect().width,
              fill: getComputedStyle(bar).fill,
              tip: bar.querySelector('title').textContent,
            })),
          })),
        }));
        """
    )
    recorded = _atom_counts(url)
    assert len(recorded) == 200
    assert 10 <= len(flows) <= 40, "a batch is sampled, not drawn whole"
    assert browser.find_element("css selector", "p.sampled").text.startswith(f"Showing {len(flows)} of 200")
    kinds: set[str] = set()
    named_failures = 0
    for flow in flows:
        assert len(flow["rows"]) == recorded[flow["uuid"]], "one row per atom of the flow"
        firsts = [row["bars"][0]["start"] for row in flow["rows"] if row["bars"]]
        assert firsts == sorted(firsts), "rows are ordered by when each atom first started"
        for row in flow["rows"]:
            bars = row["bars"]
            assert [b["start"] for b in bars] == sorted(b["start"] for b in bars)
            assert [b["x"] for b in bars] == sorted(b["x"] for b in bars), "later bars further right"
            for bar in bars:
                kinds.add(bar["kind"])
                assert bar["width"] >= 1.5 and row["atom"] in bar["tip"]
                if bar["kind"] == "failure":
                    assert bar["fill"] == FAILURE_FILL
                    named = "BootError: boot on host-" in bar["tip"]
                    named_failures += named
                    # A retry that recovered keeps its history: each failure it saw is named.
                    assert named or flow["state"] != "SUCCESS", bar["tip"]
                else:
                    assert bar["fill"] != FAILURE_FILL
    assert {"execute", "retry", "failure", "revert"} <= kinds
    assert named_failures > 0
    assert {f["state"] for f in flows} == {"SUCCESS", "REVERTED"}

    peaks = browser.execute_script(
        "return Array.from(document.querySelectorAll('g.chart')).map(g => parseInt(g.dataset.peak));"
    )
    flows_peak, atoms_peak = peaks
    assert 1 <= flows_peak <= 100, "never more flows in flight than the concurrency bound"
    assert atoms_peak >= flows_peak, "three attach atoms of each flow run at once"
