"""Topic partitions from the broker, through the admin client's public API.

A plain consumer learns a topic's partitions only once it has fetched metadata for it, and
aiokafka offers no public way to force that; ``describe_topics`` asks the broker directly.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> dict[str, list[int]]:
    """Each existing topic's partition numbers, sorted; a topic that does not exist is left
    out."""
    names = list(dict.fromkeys(topics))
    if not names:
        return {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await described_partitions(admin, names)
    finally:
        await admin.close()


async def described_partitions(
    admin: AIOKafkaAdminClient, topics: Iterable[str]
) -> dict[str, list[int]]:
    """``topic_partitions`` through an admin client the caller keeps open."""
    names = list(dict.fromkeys(topics))
    if not names:
        return {}
    described = await admin.describe_topics(names)
    return {
        t["topic"]: sorted(p["partition"] for p in t["partitions"])
        for t in described
        if t["error_code"] == 0 and t["partitions"]
    }
