"""Wires the notifier service: runtime (database, Kafka, loops) and the FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from lendkit.app import create_service_app
from lendkit.runtime import ServiceRuntime
from notifier.entrypoints.api import router
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings


def create_runtime(settings: Settings | None = None) -> ServiceRuntime[NotifierUnitOfWork]:
    return ServiceRuntime(settings or Settings(), NotifierUnitOfWork, CONSUMERS)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        create_runtime(settings),
        title="Notifier service",
        description="Contacts borrowers: channels, templates, preferences and opt-outs, contact policy, delivery receipts.",
        routers=[router],
    )
