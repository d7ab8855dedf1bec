"""The console in a real browser: Playwright (PyPI) driving Debian's chromium over the
running platform. Log in, open every page (no console errors, charts drawn, a screenshot
at 1440x900 of each), see a payment arrive live within 2 s, filter by loan id, replay a
dead letter as admin, be refused as a borrower.

Run alone with ``pytest -m browser services/console/tests``. Screenshots are written to
``.var/artefacts/console/``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from lendkit.auth import Role
from lendkit.ops.dead_letters import list_dead_letters
from lendkit.testing import KAFKA, eventually

ARTEFACTS = Path(__file__).resolve().parents[4] / ".var" / "artefacts" / "console"
Seeded = Any  # the ``seeded`` fixture of conftest.py
pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAS_CHROMIUM = Path(CHROMIUM).exists()
VIEWPORT = {"width": 1440, "height": 900}
DOCS = Path(__file__).resolve().parents[4] / "docs" / "console"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAS_CHROMIUM:
        pytest.fail(f"{CHROMIUM} missing: scripts/setup.sh installs Debian's chromium")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)


async def new_page(browser: Browser) -> Watched:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = await context.new_page()
    watched = Watched(page)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            watched.errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"page error: {exc}"))
    return watched


async def log_in(watched: Watched, seeded: Seeded, roles: list[Role], subject: str) -> None:
    page = watched.page
    await page.goto(seeded.platform.console + "/")
    assert page.url.endswith("/login"), "a visitor without a token is sent to the login form"
    await page.get_by_label("访问令牌（JWT）").fill(
        seeded.platform.token("console", roles, subject)
    )
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(seeded.platform.console + "/")


#: Screenshots also kept in the repository (docs/console/).
IN_DOCS = frozenset(
    {"portfolio", "loan", "events-live", "dead-letters-replayed", "contacts", "plans"}
)


async def screenshot(page: Page, name: str) -> None:
    await asyncio.to_thread(ARTEFACTS.mkdir, parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    if name in IN_DOCS:
        await asyncio.to_thread(DOCS.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, path, DOCS / f"{name}.png")


async def charts_drawn(page: Page) -> None:
    canvases = page.locator("canvas[data-chart]")
    count = await canvases.count()
    for i in range(count):
        await canvases.nth(i).wait_for(state="visible")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => c.dataset.drawn === 'true' && c.width > 0 && c.height > 0)"
    )


async def test_ops_log_in_and_open_every_page_without_console_errors(
    seeded: Seeded, browser: Browser
) -> None:
    watched = await new_page(browser)
    page = watched.page
    await log_in(watched, seeded, [Role.OPS], "ops-alice")

    await page.get_by_role("link", name="English").click()
    await page.get_by_role("heading", name="Portfolio", level=1).wait_for()
    await charts_drawn(page)
    assert await page.locator("canvas[data-chart]").count() == 5, "five portfolio charts"
    assert "1-30" in await page.locator("#h-today ~ .pair table").inner_text()
    await screenshot(page, "portfolio")

    await page.get_by_role("link", name="Loans", exact=True).click()
    await page.get_by_role("heading", name="Loans", level=1).wait_for()
    assert await page.locator("#loans-table tbody tr").count() == 50
    await page.locator("#next-page").click()
    await page.locator("#loans-table").wait_for()
    await screenshot(page, "loans")

    loan_id = seeded.loans["overdue"]
    await page.get_by_label("Find a loan").fill(loan_id)
    await page.get_by_label("Find a loan").press("Enter")
    await page.wait_for_url(f"**/loans/{loan_id}")
    await page.locator("#schedule").wait_for()
    assert int(await page.locator("#dpd").inner_text()) > 0
    assert "ledger.loan.disbursed.v1" in await page.locator("#timeline").inner_text()
    assert await page.locator("#charges tbody tr").count() > 0, "penalty charges shown"
    assert "Feb 20, 2026" in await page.locator("#promises").inner_text(), "the promise"
    await screenshot(page, "loan")

    for path, heading, name in (
        ("/events", "Live events", "events"),
        ("/contacts", "Contacts", "contacts"),
        ("/plans", "Plans", "plans"),
    ):
        await page.get_by_role("link", name=heading, exact=True).click()
        await page.get_by_role("heading", name=heading, level=1).wait_for()
        assert page.url.endswith(path)
        await charts_drawn(page)
        if name == "events":
            await page.locator("#lag-table").wait_for()
            await page.locator("#live-events[data-connected='true']").wait_for()
        if name == "contacts":  # from the notifier's /ops/suppressions
            rules = page.get_by_role("table", name="Deferrals and suppressions by rule")
            assert "no_address" in await rules.inner_text()
        if name == "plans":  # from the restructure service's lists and /rates
            waiting = page.get_by_role("table", name="Offers awaiting a checker's approval")
            assert seeded.loans["overdue"] in await waiting.inner_text()
            assert "CON-CASH-3" in await page.locator("#rates table").inner_text()
        await screenshot(page, name)

    await page.get_by_role("link", name="中文").click()  # back on the same page, in Chinese
    await page.get_by_role("heading", name="还款计划", level=1).wait_for()
    await page.get_by_role("link", name="资产组合").click()
    await page.get_by_role("heading", name="资产组合", level=1).wait_for()
    await charts_drawn(page)
    await screenshot(page, "portfolio-zh")
    assert watched.errors == []


async def test_keyboard_reaches_the_skip_link_and_the_navigation_first(
    seeded: Seeded, browser: Browser
) -> None:
    watched = await new_page(browser)
    page = watched.page
    await log_in(watched, seeded, [Role.OPS], "ops-keys")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.getAttribute('href')") == "/"
    for field_id in ("from", "to"):  # every input has its label
        assert await page.locator(f"label[for='{field_id}']").count() == 1
    assert watched.errors == []


async def test_a_payment_appears_live_within_two_seconds_filtered_by_loan(
    seeded: Seeded, browser: Browser
) -> None:
    watched = await new_page(browser)
    page = watched.page
    await log_in(watched, seeded, [Role.OPS], "ops-live")
    await page.goto(seeded.platform.console + "/events")
    watched_loan, other_loan = seeded.loans["current"], seeded.loans["usd"]
    await page.locator("#f-loan").fill(watched_loan)
    await page.locator("#f-loan").press("Enter")
    await page.wait_for_url(f"**/events?loan_id={watched_loan}")
    await page.locator("#live-events[data-connected='true']").wait_for()

    other = await seeded.platform.pay(other_loan, 1_000, date(2026, 2, 14))
    started = time.monotonic()
    mine = await seeded.platform.pay(watched_loan, 1_234, date(2026, 2, 14))
    row = page.locator("#live-events tbody tr", has_text=mine["payment_id"]).first
    await row.wait_for(timeout=5_000)
    seen_after = time.monotonic() - started
    assert seen_after < 2.0, f"the payment appeared after {seen_after:.2f}s"
    await screenshot(page, "events-live")

    loans_shown = await page.locator("#live-events tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.loan)"
    )
    assert set(loans_shown) == {watched_loan}, "only the filtered loan's events are shown"
    assert await page.locator("#live-events", has_text=other["payment_id"]).count() == 0
    await row.locator("summary").click()
    assert '"amount_minor": 1234' in await row.locator("pre").inner_text()
    assert watched.errors == []


async def _poison(namespace: str, loan_id: str) -> None:
    """A ``ledger.loan.disbursed.v1`` whose payload is not JSON: every consumer of it parks
    it on its dead-letter topic with the reason."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        await producer.send_and_wait(
            namespace + "ledger.loans",
            b"{not json",
            key=loan_id.encode(),
            headers=[
                ("ce_specversion", b"1.0"),
                ("ce_id", f"poison-{loan_id}".encode()),
                ("ce_type", b"ledger.loan.disbursed.v1"),
                ("ce_source", b"/tests/console"),
                ("ce_time", b"2026-02-14T00:00:00+00:00"),
            ],
        )
    finally:
        await producer.stop()


async def test_an_admin_replays_a_dead_letter_and_ops_may_not(
    seeded: Seeded, browser: Browser
) -> None:
    ns = seeded.platform.namespace
    await _poison(ns, "CON-POISON-1")

    async def dead_lettered() -> bool:
        return any(
            d.key == "CON-POISON-1" for d in await list_dead_letters(KAFKA, "overdue", namespace=ns)
        )

    await eventually(dead_lettered, timeout=60)

    ops = await new_page(browser)
    await log_in(ops, seeded, [Role.OPS], "ops-bob")
    await ops.page.goto(seeded.platform.console + "/events")
    await ops.page.locator("#dead-letter-table").wait_for()
    assert await ops.page.locator("#replay-button").count() == 0, "no replay for ops"

    admin = await new_page(browser)
    page = admin.page
    await log_in(admin, seeded, [Role.ADMIN], "admin-carol")
    await page.goto(seeded.platform.console + "/events")
    table = page.locator("#dead-letter-table")
    await table.wait_for()
    row = table.locator("tr", has_text="CON-POISON-1").first
    assert "ledger.loan.disbursed.v1" in await row.inner_text()
    assert "invalid" in (await row.locator(".reason").inner_text()).lower()
    await page.locator("#replay-group").select_option("overdue")
    await page.locator("#replay-button").click()
    result = page.locator("#replay-result")
    await result.wait_for()
    assert "Replayed: 1 (overdue)" in (await result.inner_text()).replace("已重放", "Replayed")
    await screenshot(page, "dead-letters-replayed")
    assert ops.errors == [] and admin.errors == []


async def test_a_borrower_token_is_refused(seeded: Seeded, browser: Browser) -> None:
    watched = await new_page(browser)
    page = watched.page
    await page.goto(seeded.platform.console + "/login")
    token = seeded.platform.token("console", [Role.BORROWER], "B-1", borrower="B-1")
    await page.get_by_label("访问令牌（JWT）").fill(token)
    async with page.expect_response("**/login") as answer:
        await page.get_by_role("button", name="登录").click()
    assert (await answer.value).status == 403
    assert "ops" in await page.locator("#login-error").inner_text()
    await page.goto(seeded.platform.console + "/")
    assert page.url.endswith("/login"), "no session was opened"
    await screenshot(page, "borrower-refused")
    # A 403 answer is the only console message: the document load itself.
    assert all("403" in e for e in watched.errors)
