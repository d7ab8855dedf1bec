"""Command line: ``python -m ledger.entrypoints.cli close-of-business 2026-03-15`` and
``python -m ledger.entrypoints.cli reconcile`` (exit status 1 when the books do not reconcile).

Close of business closes every unclosed day up to D, oldest first; it exits 2 when the
business clock refuses the date (before its first closed day, or too long a catch-up)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date

from ledger import views
from ledger.bootstrap import create_runtime
from ledger.service_layer.close_of_business import close_business_day
from ledger.service_layer.errors import Conflict, Invalid
from ledger.settings import Settings


async def _close(business_date: date) -> int:
    settings = Settings()
    runtime = create_runtime(settings)  # the running service's outbox relay publishes the events
    try:
        async with runtime.uow() as uow:
            try:
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
    runtime = create_runtime()
    try:
        async with runtime.session_factory() as session:
            report = await views.reconciliation(session)
        print(json.dumps(report, indent=2))
        return 0 if report["ok"] else 1
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
    args = parser.parse_args(argv)
    if args.command == "close-of-business":
        return asyncio.run(_close(args.business_date))
    return asyncio.run(_reconcile())


if __name__ == "__main__":
    sys.exit(main())
