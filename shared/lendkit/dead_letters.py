"""Dead-letter topics: naming, the reason headers, and replay.

A consumer group ``G`` parks what it cannot apply on ``G.dlt`` with the original key,
value and headers, plus ``dlt_*`` headers saying why, from where and after how many
attempts. ``python -m lendkit.dead_letters replay --group G`` sends parked messages back
to their original topics (idempotent consumers absorb any that were applied meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

DLT_SUFFIX = ".dlt"
H_REASON = "dlt_reason"
H_ERROR = "dlt_error_type"
H_TOPIC = "dlt_original_topic"
H_PARTITION = "dlt_original_partition"
H_OFFSET = "dlt_original_offset"
H_GROUP = "dlt_consumer_group"
H_ATTEMPTS = "dlt_attempts"
H_FAILED_AT = "dlt_failed_at"
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


async def replay(
    bootstrap: str, group: str, *, limit: int | None = None, idle_timeout_ms: int = 3000
) -> int:
    """Send every parked message of ``group`` back to its original topic. Returns the count.

    Progress is kept by the ``G.dlt.replay`` consumer group, so a message is replayed once.
    """
    topic = dead_letter_topic(group)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=topic + ".replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    count = 0
    try:
        while limit is None or count < limit:
            batch = await consumer.getmany(timeout_ms=idle_timeout_ms, max_records=100)
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    headers = list(record.headers)
                    original = header_value(headers, H_TOPIC)
                    if original is None:
                        continue
                    kept = [(k, v) for k, v in headers if not k.startswith("dlt_")]
                    kept.append(
                        ("dlt_replayed_from", f"{tp.topic}:{tp.partition}:{record.offset}".encode())
                    )
                    await (
                        await producer.send(
                            original, value=record.value, key=record.key, headers=kept
                        )
                    )
                    count += 1
                    await consumer.commit(
                        {TopicPartition(tp.topic, tp.partition): record.offset + 1}
                    )
                    if limit is not None and count >= limit:
                        break
    finally:
        await consumer.stop()
        await producer.stop()
    return count


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.dead_letters")
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="send parked messages back to their original topics")
    rp.add_argument("--group", required=True, help="consumer group whose dead letters to replay")
    rp.add_argument("--bootstrap", default="127.0.0.1:19092")
    rp.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    n = asyncio.run(replay(args.bootstrap, args.group, limit=args.limit))
    print(f"replayed {n} message(s) from {dead_letter_topic(args.group)}")


if __name__ == "__main__":
    main()
