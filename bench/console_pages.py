"""Benchmark: the console's loans list over a 100,000-loan book.

    .venv/bin/python bench/console_pages.py                 # needs scripts/infra/start.sh first
    .venv/bin/python bench/console_pages.py --port 8190 --runs 5 --loans 100000

The goal (issue 13): every page of the loans list answers in under 300 ms by the console's
own timing (its ``X-Console-Time-Ms`` header: from the request reaching the console to the
rendered page, the ledger's REST read included).

The platform runs as the console's e2e tests run it (``lendkit.testing.platform``): the
four services and the console as processes (``python -m``), fresh ``*_console_bench``
databases, a private topic namespace, the tests' small portfolio plus ``--loans`` bulk
loans in the ledger. Ports: the console on ``--port``, the services on the next four.

Measured, interleaved (one request per page per round, ``--runs`` rounds, after one
warm-up round), each figure the median of the rounds:

* the loans list: first page; page 10 (reached through the pages' next links); a deep page
  in the middle of the book and the last page (cursors after ``BULK-<n/2>`` and near the
  end); the status filter's first page and a deep filtered page;
* baseline in the same run: the console's ``/healthz`` (its floor: middleware only) and
  the sign-in page ``/login`` (a rendered page of the same templates, no service read);
  the ratio is each page's median over the sign-in page's.

The load generator shares the machine's cores with the console, the services and
PostgreSQL; the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from lendkit.auth import Role
from lendkit.pagination import encode_cursor
from lendkit.testing.platform import (
    BULK_LOANS,
    ROOT,
    add_bulk_loans,
    bulk_loan_id,
    running_platform,
    seed_portfolio,
)

TIMING = "X-Console-Time-Ms"
GOAL_MS = 300.0
LOGS = ROOT / ".var" / "bench" / "console_pages"
NEXT = re.compile(r'id="next-page" rel="next" href="([^"]+)"')
ROW = re.compile(r'<th scope="row"><a href="/loans/')


@dataclass
class Target:
    label: str
    path: str
    loans_page: bool
    console_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


def cursor_page(after: str, status: str | None = None) -> str:
    params = {"cursor": encode_cursor({"after": after})}
    if status:
        params["status"] = status
    return "/loans?" + urlencode(params)


async def page_ten(c: httpx.AsyncClient) -> str:
    path = "/loans"
    for _ in range(9):
        r = await c.get(path)
        found = NEXT.search(r.text)
        assert r.status_code == 200 and found, (path, r.status_code)
        path = html.unescape(found.group(1))
    return path


async def measure(c: httpx.AsyncClient, target: Target, record: bool) -> None:
    started = time.perf_counter()
    r = await c.get(target.path)
    wall = (time.perf_counter() - started) * 1000
    assert r.status_code == 200, (target.path, r.status_code, r.text[:300])
    if target.loans_page:
        assert ROW.search(r.text), (target.path, "a loans page without loans")
    if record:
        target.console_ms.append(float(r.headers[TIMING]))
        target.wall_ms.append(wall)


def table(targets: list[Target], baseline: Target, runs: int, loans: int) -> str:
    base = statistics.median(baseline.console_ms)
    load = os.getloadavg()
    lines = [
        f"console loans list, {loans + 4:,} loans in the ledger, median of {runs} runs per row "
        f"(load average {load[0]:.2f} / {load[1]:.2f} on {os.cpu_count()} cores)",
        "",
        "| page | console ms (median) | min-max | client ms (median) | x sign-in page | goal < 300 ms |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in targets:
        median = statistics.median(t.console_ms)
        verdict = ("met" if median < GOAL_MS else "MISSED") if t.loans_page else "(baseline)"
        lines.append(
            f"| {t.label} | {median:.1f} | {min(t.console_ms):.1f}-{max(t.console_ms):.1f} "
            f"| {statistics.median(t.wall_ms):.1f} | x{median / base:.1f} | {verdict} |"
        )
    pages = [t for t in targets if t.loans_page]
    worst = max(pages, key=lambda t: statistics.median(t.console_ms))
    worst_ms = statistics.median(worst.console_ms)
    met = worst_ms < GOAL_MS
    lines += [
        "",
        f"Goal: every loans-list page < {GOAL_MS:.0f} ms by the console's own timing "
        f"({TIMING}, median of {runs}): {'MET' if met else 'NOT MET'} "
        f"(slowest: {worst.label}, {worst_ms:.1f} ms).",
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    async with running_platform(LOGS, args.port, "console_bench") as platform:
        loans = await seed_portfolio(platform)
        await add_bulk_loans(platform, args.loans, loans["current"])
        print(
            f"platform up and seeded in {time.perf_counter() - started:.0f}s "
            f"(logs in {LOGS.relative_to(ROOT)})",
            file=sys.stderr,
        )
        token = platform.token("console", [Role.OPS], "bench")
        async with httpx.AsyncClient(
            base_url=platform.console, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c:
            middle, near_end = bulk_loan_id(args.loans // 2), bulk_loan_id(args.loans - 20)
            healthz = Target("/healthz (floor)", "/healthz", loans_page=False)
            sign_in = Target("/login sign-in page (baseline)", "/login", loans_page=False)
            targets = [
                healthz,
                sign_in,
                Target("loans, first page", "/loans", loans_page=True),
                Target("loans, page 10 (next links)", await page_ten(c), loans_page=True),
                Target(f"loans, deep page after {middle}", cursor_page(middle), True),
                Target(f"loans, last page (after {near_end})", cursor_page(near_end), True),
                Target("loans, status=active, first page", "/loans?status=active", True),
                Target(
                    f"loans, status=active, after {middle}", cursor_page(middle, "active"), True
                ),
            ]
            for round_ in range(args.runs + 1):
                for target in targets:
                    await measure(c, target, record=round_ > 0)
    print(table(targets, sign_in, args.runs, args.loans))
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8095, help="the console (services: +1..+4)")
    parser.add_argument("--runs", type=int, default=5, help="rounds per page (median)")
    parser.add_argument("--loans", type=int, default=BULK_LOANS, help="bulk loans in the ledger")
    args = parser.parse_args()
    if args.runs < 1 or args.loans < 200:
        parser.error("--runs at least 1, --loans at least 200")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(arguments())))
