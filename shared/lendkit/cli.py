"""The ops CLI: ``python -m lendkit.cli tail|lag|dead-letters``.

    python -m lendkit.cli tail                          # every event topic, from now on
    python -m lendkit.cli tail --type overdue.loan. --loan L-1 --since 2026-12-01T08:00
    python -m lendkit.cli tail ledger.loans --last 20 --no-follow
    python -m lendkit.cli lag                           # every service's group, per partition
    python -m lendkit.cli dead-letters list --group overdue
    python -m lendkit.cli dead-letters replay --group overdue [--parked]

``--namespace`` (or ``LENDKIT_TOPIC_NAMESPACE``) reads a namespaced copy of the topics;
``--bootstrap`` (or ``LENDKIT_KAFKA_BOOTSTRAP``) another cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lendkit.contracts.topics import CONSUMER_GROUPS, kafka_group_id
from lendkit.dead_letters import replay
from lendkit.ops.dead_letters import list_dead_letters
from lendkit.ops.lag import consumer_lags
from lendkit.ops.tail import EventLine, TailFilter, loan_topics, tail

app = typer.Typer(add_completion=False, help="Operations: tail topics, consumer lag, dead letters.")
dead_letters = typer.Typer(help="Dead letters: list with reasons, replay.")
app.add_typer(dead_letters, name="dead-letters")

Bootstrap = Annotated[
    str, typer.Option(envvar="LENDKIT_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers")
]
Namespace = Annotated[
    str, typer.Option(envvar="LENDKIT_TOPIC_NAMESPACE", help="topic namespace (prefix)")
]
Group = Annotated[str, typer.Option(help=f"consumer group: one of {', '.join(CONSUMER_GROUPS)}")]
out = Console()


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _print_line(line: EventLine, *, payload: bool) -> None:
    out.print(
        f"[dim]{line.time.isoformat(timespec='seconds')}[/] "
        f"[bold cyan]{line.type}[/] [yellow]{line.key or '-'}[/] "
        f"{line.summary} [dim]{line.topic}/{line.partition}@{line.offset}[/]",
        highlight=False,
    )
    if payload and line.payload is not None:
        out.print_json(json.dumps(line.payload, default=str))


@app.command("tail")
def tail_command(
    topics: Annotated[
        list[str] | None, typer.Argument(help="topics (default: every event topic)")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="event type, or a prefix ending in '.' or '*'; repeatable"),
    ] = None,
    loan: Annotated[str | None, typer.Option(help="only this loan id")] = None,
    since: Annotated[
        str | None, typer.Option(help="from this time (ISO 8601; UTC when no offset)")
    ] = None,
    last: Annotated[
        int | None, typer.Option(help="start this many records back on each partition")
    ] = None,
    follow: Annotated[bool, typer.Option(help="wait for more (Ctrl-C stops)")] = True,
    limit: Annotated[int | None, typer.Option(help="stop after this many lines")] = None,
    payload: Annotated[bool, typer.Option(help="print each payload as JSON too")] = False,
    bootstrap: Bootstrap = "127.0.0.1:19092",
    namespace: Namespace = "",
) -> None:
    """Readable CloudEvents: time, type, key, payload summary, where it is."""
    names = [namespace + t for t in topics] if topics else loan_topics(namespace)
    where = TailFilter(tuple(type_ or ()), loan, _since(since))

    async def run() -> None:
        async for line in tail(
            bootstrap, names, where=where, last=last, follow=follow, limit=limit
        ):
            _print_line(line, payload=payload)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@app.command("lag")
def lag_command(
    group: Annotated[
        list[str] | None, typer.Option(help="groups (default: every service's)")
    ] = None,
    bootstrap: Bootstrap = "127.0.0.1:19092",
    namespace: Namespace = "",
) -> None:
    """Consumer lag per group and partition (end offset minus the committed offset)."""
    groups = list(group or CONSUMER_GROUPS)
    lags = asyncio.run(consumer_lags(bootstrap, [kafka_group_id(namespace, g) for g in groups]))
    table = Table("group", "topic", "partition", "committed", "end", "lag")
    for p in lags:
        if namespace and not p.topic.startswith(namespace):
            continue
        table.add_row(
            p.group,
            p.topic,
            str(p.partition),
            "-" if p.committed is None else str(p.committed),
            str(p.end),
            f"[red]{p.lag}[/]" if p.lag else "0",
        )
    out.print(table)
    out.print(f"total lag: {sum(p.lag for p in lags if p.topic.startswith(namespace))}")


@dead_letters.command("list")
def dead_letters_list(
    group: Annotated[
        list[str] | None, typer.Option(help="groups (default: every service's)")
    ] = None,
    limit: Annotated[int, typer.Option(help="newest this many per group")] = 50,
    bootstrap: Bootstrap = "127.0.0.1:19092",
    namespace: Namespace = "",
) -> None:
    """Dead letters with their reasons, oldest first."""
    table = Table("group", "failed at", "type", "key", "from", "attempts", "state", "reason")
    count = 0
    for g in group or CONSUMER_GROUPS:
        for d in asyncio.run(list_dead_letters(bootstrap, g, namespace=namespace, limit=limit)):
            count += 1
            state = "parked" if d.parked else ("replayed" if d.replayed else "waiting")
            table.add_row(
                g,
                d.failed_at or "-",
                d.type,
                d.key or "-",
                f"{d.original_topic}/{d.original_partition}@{d.original_offset}",
                str(d.attempts or "-"),
                state,
                d.reason,
            )
    out.print(table)
    out.print(f"{count} dead letter(s)")


@dead_letters.command("replay")
def dead_letters_replay(
    group: Group,
    limit: Annotated[int | None, typer.Option(help="replay at most this many")] = None,
    parked: Annotated[
        bool, typer.Option(help="replay the parked ones (failed again after a replay)")
    ] = False,
    bootstrap: Bootstrap = "127.0.0.1:19092",
    namespace: Namespace = "",
) -> None:
    """Send a group's dead letters back to their original topics and partitions."""
    result = asyncio.run(replay(bootstrap, namespace + group, limit=limit, parked=parked))
    out.print(
        f"replayed {result.replayed} {'parked' if parked else 'unparked'} message(s) from "
        f"{namespace}{group}.dlt; {result.skipped} left alone"
    )


if __name__ == "__main__":
    app()
