"""Wires the ledger service: runtime (database, Kafka, loops, consumers) and the FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from ledger.entrypoints.api import router
from ledger.entrypoints.consumers import CONSUMERS
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from ledger.settings import Settings
from lendkit.app import create_service_app
from lendkit.runtime import ServiceRuntime


def create_runtime(settings: Settings | None = None) -> ServiceRuntime[LedgerUnitOfWork]:
    return ServiceRuntime(settings or Settings(), LedgerUnitOfWork, CONSUMERS)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        create_runtime(settings),
        title="Ledger service",
        description="System of record for money: products, loans, schedules, payments and "
        "allocation, charges, double-entry journal, statements, close of business.",
        routers=[router],
    )
