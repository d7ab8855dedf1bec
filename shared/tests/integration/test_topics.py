"""Topics exist with their declared partition counts; loan-keyed ones have at least 6."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from lendkit.contracts.topics import LOAN_PARTITIONS, TOPICS
from lendkit.testing import KAFKA, create_platform_topics, unique
from lendkit.topic_admin import ensure_topics


async def test_platform_topics_are_created_once_with_explicit_partitions() -> None:
    namespace = unique("topics") + "."
    await create_platform_topics(namespace)
    assert await ensure_topics(KAFKA, namespace=namespace) == [], "second run creates nothing"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        described = await admin.describe_topics([namespace + t.name for t in TOPICS])
    finally:
        await admin.close()
    partitions = {d["topic"].removeprefix(namespace): len(d["partitions"]) for d in described}
    assert partitions == {t.name: t.partitions for t in TOPICS}
    for loan_topic in ("ledger.loans", "overdue.loans", "notifier.contacts", "restructure.plans"):
        assert partitions[loan_topic] >= LOAN_PARTITIONS
