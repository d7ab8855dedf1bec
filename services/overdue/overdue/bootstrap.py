"""Wires the overdue service: runtime (database, Kafka consumer and outbox relay) and the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lendkit.runtime import ServiceRuntime
from overdue.entrypoints.consumers import CONSUMERS
from overdue.service_layer.unit_of_work import OverdueUnitOfWork
from overdue.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_runtime(settings: Settings | None = None) -> ServiceRuntime[OverdueUnitOfWork]:
    settings = settings or Settings()
    return ServiceRuntime(settings, OverdueUnitOfWork.factory(settings), CONSUMERS)


def create_app(settings: Settings | None = None) -> FastAPI:
    # imported here: the ops command (a runtime without the HTTP app) starts faster
    from lendkit.app import create_service_app
    from overdue.entrypoints.api import router

    return create_service_app(
        create_runtime(settings),
        title="Overdue service",
        description="Detects missed repayments: days past due and buckets, penalties within caps, "
        "cure, escalation stages and the credit-report gate.",
        routers=[router],
    )
