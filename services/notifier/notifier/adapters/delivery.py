"""The delivery side of the attempt record: the sent row a receipt refers to, the receipt's
own row (append-only, like every state change), and set-based ops reads (suppressions by
rule, delivery rate and time to receipt by channel and provider, undeliverable notices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.adapters.repository import AttemptState, _state
from notifier.adapters.tables import contact_attempts

RECEIPT_STATES = ("delivered", "failed")


@dataclass(frozen=True, slots=True)
class SentRecord:
    attempt: AttemptState
    provider: str
    sent_at: datetime


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, attempt_id: str) -> bool:
        found = await self.session.execute(
            select(contact_attempts.c.id)
            .where(contact_attempts.c.attempt_id == attempt_id)
            .limit(1)
        )
        return found.first() is not None

    async def sent(self, attempt_id: str, provider: str | None = None) -> SentRecord | None:
        """The attempt's latest ``sent`` row (by ``provider``, when given: a failed-over attempt
        has one per provider), with its provider and when it was recorded."""
        query = select(contact_attempts).where(
            contact_attempts.c.attempt_id == attempt_id, contact_attempts.c.state == "sent"
        )
        if provider is not None:
            query = query.where(contact_attempts.c.provider == provider)
        row = (
            await self.session.execute(query.order_by(contact_attempts.c.id.desc()).limit(1))
        ).one_or_none()
        if row is None:
            return None
        return SentRecord(_state(row), row.provider or "", row.recorded_at)

    async def outcome_after(self, sent: SentRecord) -> str | None:
        """A delivered or failed state already recorded for the attempt by the provider that
        sent it, since it was sent."""
        found = await self.session.execute(
            select(contact_attempts.c.state)
            .where(
                contact_attempts.c.attempt_id == sent.attempt.attempt_id,
                contact_attempts.c.provider == sent.provider,
                contact_attempts.c.state.in_(RECEIPT_STATES),
                contact_attempts.c.recorded_at >= sent.sent_at,
            )
            .order_by(contact_attempts.c.id)
            .limit(1)
        )
        return found.scalar_one_or_none()

    async def append_receipt(
        self, sent: SentRecord, state: str, reasons: list[str], provider_reference: str | None
    ) -> datetime:
        """The receipt as a new row; its ``recorded_at`` (the database's clock, like the sent
        row's, so the time to receipt is one clock's difference)."""
        a = sent.attempt
        done = await self.session.execute(
            insert(contact_attempts)
            .values(
                attempt_id=a.attempt_id,
                trigger_key=a.trigger_key,
                borrower_id=a.borrower_id,
                loan_id=a.loan_id,
                purpose=a.purpose,
                mandatory=a.mandatory,
                channel=a.channel,
                address_id=a.address_id,
                template=a.template,
                template_version=a.template_version,
                context=a.context,
                state=state,
                provider=sent.provider,
                reasons=reasons + ([f"receipt {provider_reference}"] if provider_reference else []),
            )
            .returning(contact_attempts.c.recorded_at)
        )
        recorded_at: datetime = done.scalar_one()
        return recorded_at


_SUPPRESSIONS = text(
    """
    SELECT coalesce(rule, 'none') AS rule, state, count(*) AS attempts
    FROM contact_attempts
    WHERE state IN ('suppressed', 'deferred', 'undeliverable')
      AND recorded_at >= :since AND recorded_at < :until
    GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
    """
)

_DELIVERY = text(
    """
    WITH sent AS (
        SELECT attempt_id, channel, provider, min(recorded_at) AS sent_at
        FROM contact_attempts
        WHERE state = 'sent' AND recorded_at >= :since AND recorded_at < :until
        GROUP BY 1, 2, 3
    ), outcome AS (
        -- per provider: a failed-over attempt has a sent row and a receipt for each
        SELECT DISTINCT ON (a.attempt_id, a.provider) a.attempt_id, a.provider, a.state,
               a.recorded_at
        FROM contact_attempts a
        JOIN sent s ON s.attempt_id = a.attempt_id AND s.provider = a.provider
        WHERE a.state IN ('delivered', 'failed') AND a.recorded_at >= s.sent_at
        ORDER BY a.attempt_id, a.provider, a.id
    )
    SELECT s.channel, s.provider,
           count(*) AS sent,
           count(*) FILTER (WHERE o.state = 'delivered') AS delivered,
           count(*) FILTER (WHERE o.state = 'failed') AS failed,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM o.recorded_at - s.sent_at)
           ) FILTER (WHERE o.state = 'delivered') AS median_s,
           percentile_cont(0.9) WITHIN GROUP (
               ORDER BY extract(epoch FROM o.recorded_at - s.sent_at)
           ) FILTER (WHERE o.state = 'delivered') AS p90_s
    FROM sent s LEFT JOIN outcome o ON o.attempt_id = s.attempt_id AND o.provider = s.provider
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)


async def suppressions(session: AsyncSession, since: datetime, until: datetime) -> list[Any]:
    return list((await session.execute(_SUPPRESSIONS, {"since": since, "until": until})).all())


async def delivery(session: AsyncSession, since: datetime, until: datetime) -> list[Any]:
    return list((await session.execute(_DELIVERY, {"since": since, "until": until})).all())


async def undeliverable_notices(
    session: AsyncSession, *, after: int | None, limit: int
) -> list[Any]:
    """Mandatory notices recorded undeliverable (no allowed channel left), oldest first."""
    c = contact_attempts.c
    query = (
        select(c.id, c.attempt_id, c.borrower_id, c.loan_id, c.purpose, c.rule, c.reasons)
        .add_columns(c.recorded_at)
        .where(c.state == "undeliverable", c.mandatory.is_(True))
        .order_by(c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(c.id > after)
    return list((await session.execute(query)).all())
