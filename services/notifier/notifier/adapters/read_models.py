"""Set-based reads for the REST views: attempts and decisions per loan or borrower."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.adapters.tables import contact_attempts, contact_channels, contact_profiles


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: int
    attempt_id: str
    borrower_id: str
    loan_id: str | None
    purpose: str
    state: str
    channel: str | None
    rule: str | None
    reasons: list[str]
    until: datetime | None
    template: str | None
    template_version: str | None
    provider: str | None
    recorded_at: datetime


async def attempts(
    session: AsyncSession,
    *,
    loan_id: str | None = None,
    borrower_id: str | None = None,
    after: int | None,
    limit: int,
) -> list[AttemptRow]:
    c = contact_attempts.c
    query = (
        select(
            c.id,
            c.attempt_id,
            c.borrower_id,
            c.loan_id,
            c.purpose,
            c.state,
            c.channel,
            c.rule,
            c.reasons,
            c.until,
            c.template,
            c.template_version,
            c.provider,
            c.recorded_at,
        )
        .order_by(c.id)
        .limit(limit)
    )
    if loan_id is not None:
        query = query.where(c.loan_id == loan_id)
    if borrower_id is not None:
        query = query.where(c.borrower_id == borrower_id)
    if after is not None:
        query = query.where(c.id > after)
    return [AttemptRow(**dict(r._mapping)) for r in (await session.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class CallTaskRow:
    id: int
    call_id: str
    loan_id: str | None
    borrower_id: str
    purpose: str
    phone: str
    language: str
    opened_at: datetime


async def open_call_tasks(
    session: AsyncSession, *, after: int | None, limit: int
) -> list[CallTaskRow]:
    """Call tasks whose latest row is ``task_open`` (no outcome yet), oldest first, with the
    number to call (for the call centre only)."""
    c = contact_attempts.c
    latest = select(func.max(c.id).label("id")).group_by(c.attempt_id).subquery()
    query = (
        select(
            c.id,
            c.attempt_id.label("call_id"),
            c.loan_id,
            c.borrower_id,
            c.purpose,
            contact_channels.c.address.label("phone"),
            contact_profiles.c.language,
            c.recorded_at.label("opened_at"),
        )
        .join(latest, latest.c.id == c.id)
        .join(contact_channels, contact_channels.c.address_id == c.address_id)
        .join(contact_profiles, contact_profiles.c.borrower_id == c.borrower_id)
        .where(c.state == "task_open")
        .order_by(c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(c.id > after)
    return [CallTaskRow(**dict(r._mapping)) for r in (await session.execute(query)).all()]
