"""Command line: ``python -m ledger.entrypoints.cli close-of-business 2026-03-15``,
``python -m ledger.entrypoints.cli reconcile`` (exit status 1 when the books do not reconcile)
and ``python -m ledger.entrypoints.cli repair-value-dates [--apply]``.

Close of business closes every unclosed day up to D, oldest first; it exits 2 when the
business clock refuses the date (before its first closed day, too long a catch-up, or after
today in the business timezone on the real clock).

``repair-value-dates`` lists the live payments valued after today on the business clock (or
at infinity); with ``--apply`` it reverses them (``ledger.service_layer.repair``). Exit 1
when it listed some without ``--apply``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date

from ledger import views
from ledger.bootstrap import create_runtime
from ledger.domain.clock import LedgerClock
from ledger.service_layer.close_of_business import close_business_day
from ledger.service_layer.repair import reverse_misdated_payments
from ledger.settings import Settings
from lendkit.errors import Conflict, Invalid


async def _close(business_date: date) -> int:
    settings = Settings()
    runtime = create_runtime(settings)  # the running service's outbox relay publishes the events
    try:
        async with runtime.uow() as uow:
            try:
                LedgerClock.from_settings(settings).ensure_may_close(business_date)
                result = await close_business_day(
                    uow, business_date, max_catch_up_days=settings.max_catch_up_days
                )
            except (Conflict, Invalid) as exc:
                print(f"close of business refused: {exc}", file=sys.stderr)
                return 2
            await uow.commit()
        print(
            json.dumps(
                {
                    **result.__dict__,
                    "business_date": business_date.isoformat(),
                    "caught_up": [day.isoformat() for day in result.caught_up],
                }
            )
        )
        return 0
    finally:
        await runtime.stop()


async def _reconcile() -> int:
    settings = Settings()
    runtime = create_runtime(settings)
    try:
        async with runtime.session_factory() as session:
            report = await views.reconciliation(session, settings.reconciliation_loans_listed)
        print(json.dumps(report, indent=2))
        return 0 if report["ok"] else 1
    finally:
        await runtime.stop()


async def _repair(apply: bool) -> int:
    settings = Settings()
    runtime = create_runtime(settings)  # the running service's outbox relay publishes the events
    try:
        async with runtime.uow() as uow:
            found = await reverse_misdated_payments(
                uow, LedgerClock.from_settings(settings), apply=apply
            )
            await uow.commit()
        print(
            json.dumps(
                {
                    "applied": apply,
                    "payments": [
                        {**p.__dict__, "reversed_on": p.reversed_on.isoformat()} for p in found
                    ],
                },
                indent=2,
            )
        )
        return 0 if apply or not found else 1
    finally:
        await runtime.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    cob = commands.add_parser(
        "close-of-business", help="close the business day D (and any unclosed day before it)"
    )
    cob.add_argument("business_date", type=date.fromisoformat)
    commands.add_parser("reconcile", help="prove debits equal credits and balances match")
    repair = commands.add_parser(
        "repair-value-dates", help="list (or --apply: reverse) payments valued after today"
    )
    repair.add_argument("--apply", action="store_true", help="reverse them (audited)")
    args = parser.parse_args(argv)
    if args.command == "close-of-business":
        return asyncio.run(_close(args.business_date))
    if args.command == "repair-value-dates":
        return asyncio.run(_repair(args.apply))
    return asyncio.run(_reconcile())


if __name__ == "__main__":
    sys.exit(main())
