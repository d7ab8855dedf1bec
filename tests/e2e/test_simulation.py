"""The portfolio simulator against the real services: a small book (50 loans, 10 business
days) run twice, each time on a private platform of its own (fresh databases, a topic
namespace, consumer groups, the four services as subprocesses as ``scripts/up.sh`` starts
them). Every invariant passes, and the same seed gives the same report. Then headless
Chromium (Debian's package) opens report.html: no console error, every chart drawn, and a
screenshot is saved."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from lendkit.testing import DB_PREFIX
from simulator import local_platform
from simulator.cli import write_report
from simulator.config import load_config
from simulator.html import CHARTS
from simulator.runner import Simulation
from simulator.target import SERVICES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / ".var" / "simulator-e2e" / "report.png"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _simulate(run: int, out: Path) -> dict[str, Any]:
    prefix = f"{DB_PREFIX}simtest{run}_{os.getpid()}"
    target = local_platform.prepare(prefix, ports={s: _free_port() for s in SERVICES})
    try:
        with local_platform.running(target, out / "logs"):
            config = load_config(loans=50, days=10, seed=2024)
            report = asyncio.run(Simulation(config, target).run())
        write_report(report, out)
        return report
    finally:
        asyncio.run(local_platform.delete_topics(target))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, Any], Path]]:
    out = []
    for run in (1, 2):
        path = tmp_path_factory.mktemp(f"simulation{run}")
        out.append((_simulate(run, path), path))
    return out


def test_every_invariant_passes(runs: list[tuple[dict[str, Any], Path]]) -> None:
    for report, _ in runs:
        failed = [i for i in report["invariants"] if not i["passed"]]
        assert failed == [], failed
        names = {i["name"] for i in report["invariants"]}
        assert len(names) == 9
        assert "every accepted plan's ledger schedule equals its quote" in names


def test_the_book_moved(runs: list[tuple[dict[str, Any], Path]]) -> None:
    report, _ = runs[0]
    results = report["results"]
    assert results["events"]["ledger.loan.disbursed.v1"] == 50
    assert results["events"]["ledger.business_day.closed.v1"] > 0
    assert results["behaviour"]["payments"] > 0
    assert sum(results["bucket_distribution"]["loans"]["current"]) > 0


def test_the_same_seed_gives_the_same_report(runs: list[tuple[dict[str, Any], Path]]) -> None:
    (first, _), (second, _) = runs
    assert first["results"] == second["results"]
    assert first["results_digest"] == second["results_digest"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
def test_report_html_renders_every_chart(runs: list[tuple[dict[str, Any], Path]]) -> None:
    from playwright.sync_api import sync_playwright

    _, path = runs[0]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Offline: any request leaving the file is refused, so the page must be whole.
            page.route("http*://**", lambda route: route.abort())
            page.goto((path / "report.html").as_uri())
            page.wait_for_function(
                f"document.querySelectorAll('.chart .js-plotly-plot').length === {len(CHARTS)}"
            )
            for name in CHARTS:
                chart = page.locator(f"#chart-{name} .js-plotly-plot")
                assert chart.count() == 1, name
                box = chart.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100, name
                assert page.locator(f"#chart-{name} .main-svg").count() > 0, name
                # a trace group (scatter, bar, pie) or a heatmap's image
                drawn = page.locator(f"#chart-{name} .main-svg .trace, #chart-{name} .main-svg .hm")
                assert drawn.count() > 0, f"{name}: no trace drawn"
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert SCREENSHOT.stat().st_size > 10_000
    shutil.copy(SCREENSHOT, path / "report.png")
