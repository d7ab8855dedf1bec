"""Create the platform's topics with their partition counts: ``python -m lendkit.topic_admin``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import replace

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from lendkit.contracts.topics import TOPICS, TopicSpec


async def ensure_topics(
    bootstrap: str, specs: Sequence[TopicSpec] = TOPICS, namespace: str = ""
) -> list[str]:
    """Create the topics (prefixed by ``namespace``) that do not exist yet; returns those created."""
    specs = [replace(s, name=namespace + s.name) for s in specs]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        num_partitions=s.partitions,
                        replication_factor=1,
                        topic_configs={"retention.ms": str(s.retention_ms)}
                        if s.retention_ms
                        else {},
                    )
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.topic_admin")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--namespace", default="", help="prefix of every topic name")
    args = parser.parse_args(argv)
    created = asyncio.run(ensure_topics(args.bootstrap, namespace=args.namespace))
    print(f"topics ready ({len(TOPICS)}); created: {', '.join(created) or 'none'}")


if __name__ == "__main__":
    main()
