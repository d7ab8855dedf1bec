"""The aiokafka API the kit relies on (aiokafka is pinned in shared/pyproject.toml).

The outbox relay packs records per partition (``create_batch`` / ``send_batch``) and so
chooses partitions itself: with ``partitions_for`` (all partitions),
``client.cluster.available_partitions_for_topic`` and ``aiokafka.partitioner.DefaultPartitioner``,
all public. An upgrade that renames or changes any of them fails here, not in production.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from aiokafka import AIOKafkaProducer
from aiokafka.cluster import ClusterMetadata
from aiokafka.partitioner import DefaultPartitioner, murmur2


def pinned_aiokafka() -> str:
    from pathlib import Path

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    for line in pyproject.read_text().splitlines():
        if '"aiokafka==' in line:
            return line.split("==")[1].split('"')[0]
    raise AssertionError("aiokafka is not pinned in shared/pyproject.toml")


def test_installed_aiokafka_is_the_pinned_one() -> None:
    assert version("aiokafka") == pinned_aiokafka(), (
        "aiokafka changed: re-check the relay's partitioning (lendkit.outbox.relay.send)"
    )


def test_producer_surface_the_relay_uses() -> None:
    for name in ("partitions_for", "create_batch", "send_batch", "send"):
        assert callable(getattr(AIOKafkaProducer, name, None)), name
    assert inspect.iscoroutinefunction(AIOKafkaProducer.partitions_for)
    assert "partition" in inspect.signature(AIOKafkaProducer.send_batch).parameters
    assert "partitioner" in inspect.signature(AIOKafkaProducer.__init__).parameters
    assert callable(getattr(ClusterMetadata, "available_partitions_for_topic", None))


def test_default_partitioner_is_murmur2_of_the_key_over_sorted_partitions() -> None:
    partitions = list(range(6))
    for key in (b"L-1", b"L-2", b"loan-0001", b""):
        expected = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
        assert DefaultPartitioner()(key, partitions, partitions) == expected
    # the Java client's murmur2 (what every Kafka client agrees on for keyed records)
    assert murmur2(b"21") & 0xFFFFFFFF == -973932308 & 0xFFFFFFFF
