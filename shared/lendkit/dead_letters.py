"""Dead-letter topics: naming, the reason headers, and replay.

A consumer group ``G`` parks what it cannot apply on ``G.dlt`` with the original key,
value and headers, plus ``dlt_*`` headers saying why, from where and after how many
attempts (``dlt_*`` headers describe one failure: they are replaced when the message is
dead-lettered again). ``python -m lendkit.dead_letters replay --group G`` sends dead
letters back to their original topics and partitions, in order (idempotent consumers absorb
any that were applied meanwhile), and always ends:

- it reads each dead-letter partition only up to the end offset captured when it starts,
  so what it replays and fails again is not replayed a second time by the same run;
- each replay increments the ``lendkit_replays`` header, which is not a ``dlt_*`` header and
  so survives re-dead-lettering. A dead letter whose count is 1 or more failed again after
  a replay: it is *parked*, and a plain replay skips it (progress group ``G.dlt.replay``).
  ``--parked`` replays the parked ones, and only those (progress group
  ``G.dlt.replay-parked``), once the cause is fixed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition

DLT_SUFFIX = ".dlt"
H_REASON = "dlt_reason"
H_ERROR = "dlt_error_type"
H_TOPIC = "dlt_original_topic"
H_PARTITION = "dlt_original_partition"
H_OFFSET = "dlt_original_offset"
H_GROUP = "dlt_consumer_group"
H_ATTEMPTS = "dlt_attempts"
H_FAILED_AT = "dlt_failed_at"
#: Set on the copy a replay sends (this delivery is a replay; dropped if it fails again).
H_REPLAYED_FROM = "dlt_replayed_from"
#: How many times the message was replayed; kept across re-dead-lettering.
H_REPLAYS = "lendkit_replays"
#: Set when the broker refused the dead letter with its value (a record at the broker's
#: size limit, grown over it by the ``dlt_*`` headers): the value's size and the refusal.
#: The dead letter then carries no value; the original is still on its topic at
#: ``dlt_original_topic`` / ``dlt_original_partition`` / ``dlt_original_offset``.
H_VALUE_DROPPED = "dlt_value_dropped"
MAX_REASON = 2000


def dead_letter_topic(group: str) -> str:
    return group + DLT_SUFFIX


def dead_letter_headers(
    original: Sequence[tuple[str, bytes]],
    *,
    reason: str,
    error_type: str,
    topic: str,
    partition: int,
    offset: int,
    group: str,
    attempts: int,
) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in original if not k.startswith("dlt_")]
    extra = {
        H_REASON: reason[:MAX_REASON],
        H_ERROR: error_type,
        H_TOPIC: topic,
        H_PARTITION: str(partition),
        H_OFFSET: str(offset),
        H_GROUP: group,
        H_ATTEMPTS: str(attempts),
        H_FAILED_AT: datetime.now(UTC).isoformat(),
    }
    return kept + [(k, v.encode()) for k, v in extra.items()]


def header_value(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode()
    return None


def replay_count(headers: Sequence[tuple[str, bytes]]) -> int:
    value = header_value(headers, H_REPLAYS)
    return int(value) if value is not None and value.isdigit() else 0


@dataclass(frozen=True)
class ReplayResult:
    replayed: int
    #: Dead letters left alone: parked ones on a plain run, unparked ones on a ``--parked`` run.
    skipped: int


async def replay(
    bootstrap: str,
    group: str,
    *,
    limit: int | None = None,
    parked: bool = False,
    idle_timeout_ms: int = 3000,
) -> ReplayResult:
    """Send ``group``'s dead letters back to their original topics, up to the end offsets
    of the dead-letter topic as it starts: unparked ones, or with ``parked`` the parked ones.

    Progress is kept by a consumer group per mode, so a dead letter is replayed once.
    """
    topic = dead_letter_topic(group)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=topic + (".replay-parked" if parked else ".replay"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    replayed = skipped = 0
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))
        ]
        if not partitions:
            return ReplayResult(0, 0)
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while remaining and (limit is None or replayed < limit):
            batch = await consumer.getmany(*remaining, timeout_ms=idle_timeout_ms, max_records=100)
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp] or (limit is not None and replayed >= limit):
                        remaining.discard(tp)
                        break
                    if _is_replayed(record, parked):
                        await _send_back(producer, record)
                        replayed += 1
                    else:
                        skipped += 1
                    await consumer.commit({tp: record.offset + 1})
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
        await producer.stop()
    return ReplayResult(replayed, skipped)


def _is_replayed(record: ConsumerRecord, parked: bool) -> bool:
    """Whether this run sends ``record`` back: a dead letter from a known topic, parked (it
    failed again after a replay) exactly when the run is for parked ones."""
    headers = list(record.headers)
    if header_value(headers, H_TOPIC) is None:
        return False
    return (replay_count(headers) > 0) == parked


async def _send_back(producer: AIOKafkaProducer, record: ConsumerRecord) -> None:
    headers = list(record.headers)
    original = header_value(headers, H_TOPIC)
    partition = header_value(headers, H_PARTITION)
    kept = [(k, v) for k, v in headers if not k.startswith("dlt_") and k != H_REPLAYS]
    kept.append((H_REPLAYS, str(replay_count(headers) + 1).encode()))
    kept.append((H_REPLAYED_FROM, f"{record.topic}:{record.partition}:{record.offset}".encode()))
    await (
        await producer.send(
            original,
            value=record.value,
            key=record.key,
            headers=kept,
            partition=int(partition) if partition is not None and partition.isdigit() else None,
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.dead_letters")
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="send dead letters back to their original topics")
    rp.add_argument("--group", required=True, help="consumer group whose dead letters to replay")
    rp.add_argument("--bootstrap", default="127.0.0.1:19092")
    rp.add_argument("--limit", type=int, default=None)
    rp.add_argument(
        "--parked",
        action="store_true",
        help="replay the parked dead letters (failed again after a replay) instead",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(replay(args.bootstrap, args.group, limit=args.limit, parked=args.parked))
    kind = "parked" if args.parked else "unparked"
    left = "unparked" if args.parked else "parked (use --parked)"
    print(
        f"replayed {result.replayed} {kind} message(s) from {dead_letter_topic(args.group)}; "
        f"{result.skipped} {left} left alone"
    )


if __name__ == "__main__":
    main()
