"""Wires the restructure service: runtime (database, Kafka, loops) and the FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from lendkit.app import create_service_app
from lendkit.db import UnitOfWork
from lendkit.runtime import ServiceRuntime
from restructure.entrypoints import api
from restructure.settings import Settings


def create_runtime(settings: Settings | None = None) -> ServiceRuntime[UnitOfWork]:
    return ServiceRuntime(settings or Settings(), UnitOfWork)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        create_runtime(settings),
        title="Restructure service",
        description="Flexible repayment plans: eligibility, quotes, offers, acceptance, activation and monitoring.",
        routers=[api.router],
    )
