"""Operations commands.

``python -m overdue.entrypoints.cli close-of-business 2026-03-20`` closes a business date
directly (normally the ledger's markers trigger it; see ``service_layer.business_day``).
It commits chunk by chunk (the relay publishes the first chunks while later ones are
computed) and is idempotent: a date already closed is reported and left alone, and a run
interrupted mid-way resumes with the loans it had not reviewed yet. No day is skipped: a
day the clock has not closed yet before D is closed first, oldest first; a date before the
first closed day is refused (exit status 2). The events go to the
outbox; the running service's relay publishes them (or pass ``--publish`` to publish here).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date

from lendkit.business_clock import BusinessClockError
from lendkit.runtime import tune_gc
from overdue.bootstrap import create_runtime
from overdue.service_layer.close_of_business import (
    CloseOfBusinessResult,
    close_business_days_in_chunks,
)
from overdue.settings import Settings


async def close_of_business(business_date: date, *, publish: bool) -> list[str]:
    runtime = create_runtime(Settings())
    tune_gc()
    try:
        results = await close_business_days_in_chunks(
            runtime.uow, business_date, trigger="ops command"
        )
        if publish:
            await runtime.start(background=False)
            await runtime.relay().publish_pending()
    finally:
        await runtime.stop()
    return [_report(day, result) for day, result in results]


def _report(day: date, result: CloseOfBusinessResult | None) -> str:
    if result is None:
        return f"{day}: already closed, nothing done"
    return (
        f"{day}: closed; {result.loans_examined} due or overdue loans examined, "
        f"{result.events_emitted} events written to the outbox, "
        f"{result.loans_blocked} blocked without a valid product policy"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m overdue.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    cob = commands.add_parser("close-of-business", help="close a business date now")
    cob.add_argument("business_date", type=date.fromisoformat)
    cob.add_argument("--publish", action="store_true", help="also publish the outbox now")
    args = parser.parse_args(argv)
    if args.command == "close-of-business":
        try:
            lines = asyncio.run(close_of_business(args.business_date, publish=args.publish))
        except BusinessClockError as exc:
            print(f"close of business refused: {exc}", file=sys.stderr)
            return 2
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
