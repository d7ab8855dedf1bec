"""The notifier's Prometheus metrics (exported on the kit's ``/metrics``). Labels are
provider, channel and outcome names only: never an address, borrower or attempt id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TIME_TO_RECEIPT = Histogram(
    "notifier_time_to_receipt_seconds",
    "From a message's send to its provider's delivery receipt",
    ["provider", "channel", "status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400),
)
RECEIPTS_REJECTED = Counter(
    "notifier_receipts_rejected_total",
    "Delivery receipts refused for a missing or wrong signature",
    ["provider"],
)
