"""Operations commands.

``python -m overdue.entrypoints.cli close-of-business 2026-03-20`` closes a business date
directly (normally the ledger's markers trigger it; see ``service_layer.business_day``).
It commits chunk by chunk (the relay publishes the first chunks while later ones are
computed) and is idempotent: a date already closed is reported and left alone, and a run
interrupted mid-way resumes with the loans it had not reviewed yet. The events go to the
outbox; the running service's relay publishes them (or pass ``--publish`` to publish here).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import date

from lendkit.runtime import tune_gc
from overdue.bootstrap import create_runtime
from overdue.service_layer.close_of_business import close_business_day_in_chunks
from overdue.settings import Settings


async def close_of_business(business_date: date, *, publish: bool) -> str:
    runtime = create_runtime(Settings())
    tune_gc()
    try:
        result = await close_business_day_in_chunks(
            runtime.uow, business_date, trigger="ops command"
        )
        if publish:
            await runtime.start(background=False)
            await runtime.relay().publish_pending()
    finally:
        await runtime.stop()
    if result is None:
        return f"{business_date}: already closed, nothing done"
    return (
        f"{business_date}: closed; {result.loans_examined} due or overdue loans examined, "
        f"{result.events_emitted} events written to the outbox"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m overdue.entrypoints.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    cob = commands.add_parser("close-of-business", help="close a business date now")
    cob.add_argument("business_date", type=date.fromisoformat)
    cob.add_argument("--publish", action="store_true", help="also publish the outbox now")
    args = parser.parse_args(argv)
    if args.command == "close-of-business":
        print(asyncio.run(close_of_business(args.business_date, publish=args.publish)))


if __name__ == "__main__":
    main()
