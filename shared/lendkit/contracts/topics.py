"""Every Kafka topic of the platform. Loan-keyed topics have at least 6 partitions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    description: str
    retention_ms: int | None = None


LOAN_PARTITIONS = 6

LEDGER_LOANS = "ledger.loans"
LEDGER_PRODUCTS = "ledger.products"
OVERDUE_LOANS = "overdue.loans"
NOTIFIER_CONTACTS = "notifier.contacts"
RESTRUCTURE_PLANS = "restructure.plans"

#: Consumer groups, one per service; each has a dead-letter topic ``<group>.dlt``.
CONSUMER_GROUPS = ("ledger", "overdue", "notifier", "restructure")


def kafka_group_id(namespace: str, group: str) -> str:
    """The group id a consumer joins on the broker: the topic namespace, then the group.
    Environments that share a cluster under different namespaces then never share (and
    rebalance) a group; the group's own name (its dead-letter topic ``<group>.dlt`` under
    the namespace, its rows in ``processed_events``) stays as the service names it."""
    return namespace + group


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        LEDGER_LOANS,
        LOAN_PARTITIONS,
        "Everything the ledger knows about a loan's money: disbursement, due dates, payments, "
        "allocations, charges, schedule rewrites; plus close-of-business markers on every partition.",
    ),
    TopicSpec(
        LEDGER_PRODUCTS,
        3,
        "Loan product definitions and their policy settings (key = product code).",
    ),
    TopicSpec(
        OVERDUE_LOANS,
        LOAN_PARTITIONS,
        "Delinquency facts: overdue, buckets, penalties, cure, stages, credit-report gate.",
    ),
    TopicSpec(
        NOTIFIER_CONTACTS,
        LOAN_PARTITIONS,
        "Contact attempts and delivery receipts (ids only, no personal data).",
    ),
    TopicSpec(
        RESTRUCTURE_PLANS,
        LOAN_PARTITIONS,
        "Restructuring quotes, offers, acceptances, activations, broken plans.",
    ),
    *(
        TopicSpec(
            f"{group}.dlt",
            1,
            f"Dead letters of the {group} consumer group, with dlt_* reason headers.",
            30 * 24 * 3600 * 1000,
        )
        for group in CONSUMER_GROUPS
    ),
)
