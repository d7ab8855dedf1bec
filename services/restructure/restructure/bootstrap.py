"""Wires the restructure service: runtime (database, Kafka consumer and outbox relay) and the
FastAPI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lendkit.runtime import ServiceRuntime
from restructure.entrypoints.consumers import CONSUMERS
from restructure.service_layer.unit_of_work import RestructureUnitOfWork
from restructure.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_runtime(settings: Settings | None = None) -> ServiceRuntime[RestructureUnitOfWork]:
    settings = settings or Settings()
    return ServiceRuntime(settings, RestructureUnitOfWork.factory(settings), CONSUMERS)


def create_app(settings: Settings | None = None) -> FastAPI:
    from lendkit.app import create_service_app
    from restructure.entrypoints.api import router

    return create_service_app(
        create_runtime(settings),
        title="Restructure service",
        description="Flexible repayment plans: eligibility, quotes, offers, acceptance, "
        "activation and monitoring.",
        routers=[router],
    )
