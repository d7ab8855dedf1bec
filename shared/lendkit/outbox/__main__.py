"""``python -m lendkit.outbox quarantine list|show|retry|discard``: see
:mod:`lendkit.outbox.quarantine`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

import asyncpg

from lendkit.db import asyncpg_dsn
from lendkit.outbox import quarantine


async def _run(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(args.database_url))
    try:
        if args.action == "list":
            rows = await quarantine.list_quarantined(conn)
            for r in rows:
                print(
                    f"{r['id']}\t{r['event_type']}\tkey={r['message_key']}\t{r['bytes']} bytes"
                    f"\tholds {r['held']} later row(s)\t{r['quarantined_at']:%Y-%m-%dT%H:%M:%S}"
                    f"\t{r['reason'][:200]}"
                )
            print(f"{len(rows)} quarantined row(s)")
        elif args.action == "show":
            row = await quarantine.show(conn, args.id)
            if row is None:
                raise SystemExit(f"outbox row {args.id} is not quarantined")
            for name in ("id", "event_id", "topic", "message_key", "partition", "event_type"):
                print(f"{name}: {row[name]}")
            print(f"created_at: {row['created_at']}\nquarantined_at: {row['quarantined_at']}")
            print(f"headers: {row['headers']}\npayload: {len(row['payload'])} bytes")
            print(f"reason: {row['reason']}")
        elif args.action == "retry":
            if not args.ids and not args.all:
                raise SystemExit("retry: give outbox ids or --all")
            moved = await quarantine.retry(conn, args.ids, everything=args.all)
            print(f"moved back to the outbox: {', '.join(map(str, moved)) or 'none'}")
        else:
            dropped = await quarantine.discard(conn, args.ids)
            print(f"discarded (never published): {', '.join(map(str, dropped)) or 'none'}")
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.outbox")
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quarantine", help="outbox rows the broker refused for good")
    q.add_argument("--database-url", required=True, help="the service's database")
    actions = q.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="quarantined rows, their reasons and the rows they hold")
    show = actions.add_parser("show", help="one quarantined row")
    show.add_argument("id", type=int)
    retry = actions.add_parser("retry", help="move rows back into the outbox to publish them")
    retry.add_argument("ids", type=int, nargs="*")
    retry.add_argument("--all", action="store_true", help="every quarantined row")
    discard = actions.add_parser("discard", help="drop rows for good (their keys flow again)")
    discard.add_argument("ids", type=int, nargs="+")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
