"""Prometheus metrics every service exports on /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import PlainTextResponse, Response

from lendkit.auth import Role, require_roles

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published", ["service"])
CONSUMER_LAG = Gauge(
    "consumer_lag", "Messages behind the partition end", ["group", "topic", "partition"]
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["group", "type", "outcome"]
)
DEAD_LETTERS = Counter(
    "dead_letters_total", "Messages sent to a dead-letter topic", ["group", "topic", "reason"]
)
PARKED_KEYS = Counter(
    "parked_keys_total", "Keys parked behind a dead-lettered event of theirs", ["group"]
)
OUTBOX_QUARANTINED = Counter(
    "outbox_quarantined_total",
    "Outbox rows the broker refused for good, moved to outbox_quarantine",
    ["service"],
)
OUTBOX_QUARANTINE = Gauge(
    "outbox_quarantine_rows", "Rows waiting in outbox_quarantine (retry or discard)", ["service"]
)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (bearer token with the ops, admin or service role)",
    dependencies=[Depends(require_roles(Role.OPS, Role.ADMIN, Role.SERVICE))],
    # The Prometheus text format, documented as what it is (schemathesis found the document
    # promising application/json).
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
