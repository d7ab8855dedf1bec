"""Set-based reads and writes of the attempt record for many triggers at once (the consumer's
batch mode and the dispatcher): a handful of statements per batch instead of several per
trigger. Same rows and the same append-only discipline as ``repository.AttemptRepository``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.db import among
from notifier.adapters.repository import ProductTerms, _keep_send_queue
from notifier.adapters.tables import (
    contact_attempts,
    contact_channels,
    contact_profiles,
    deferred_sends,
    loan_stages,
    loans,
    products,
)
from notifier.domain.policy import CallOutcome, Channel, Jurisdiction, PastCall
from notifier.domain.profile import ChannelSetting, ContactProfile, Whereabouts

#: Rows per multi-row statement (PostgreSQL takes at most 32,767 bind parameters).
ROWS_PER_STATEMENT = 1_000


def _chunks(rows: Sequence[Any], size: int = ROWS_PER_STATEMENT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_START_MANY = text(
    """
    INSERT INTO contact_attempts
        (attempt_id, trigger_key, borrower_id, loan_id, purpose, mandatory, context, state)
    SELECT a, k, b, l, p, m, c::jsonb, 'decided'
    FROM unnest(CAST(:attempt_id AS text[]), CAST(:trigger_key AS text[]),
                CAST(:borrower_id AS text[]), CAST(:loan_id AS text[]), CAST(:purpose AS text[]),
                CAST(:mandatory AS boolean[]), CAST(:context AS text[]))
         WITH ORDINALITY AS t(a, k, b, l, p, m, c, n)
    ORDER BY n
    ON CONFLICT (trigger_key) WHERE state = 'decided' DO NOTHING
    RETURNING attempt_id
    """
)

#: Every column a state row carries (``id`` and ``recorded_at`` come from the database).
_APPEND_COLUMNS = (
    "attempt_id", "trigger_key", "borrower_id", "loan_id", "purpose", "mandatory", "state",
    "channel", "address_id", "rule", "reasons", "context", "until", "template",
    "template_version", "provider", "occurred_at",
)  # fmt: skip
_APPEND_MANY = text(
    """
    INSERT INTO contact_attempts
        (attempt_id, trigger_key, borrower_id, loan_id, purpose, mandatory, state, channel,
         address_id, rule, reasons, context, until, template, template_version, provider,
         occurred_at)
    SELECT a, k, b, l, p, m, s, ch, ad, r, re::jsonb, c::jsonb, u, t, tv, pr, o
    FROM unnest(CAST(:attempt_id AS text[]), CAST(:trigger_key AS text[]),
                CAST(:borrower_id AS text[]), CAST(:loan_id AS text[]), CAST(:purpose AS text[]),
                CAST(:mandatory AS boolean[]), CAST(:state AS text[]), CAST(:channel AS text[]),
                CAST(:address_id AS text[]), CAST(:rule AS text[]), CAST(:reasons AS text[]),
                CAST(:context AS text[]), CAST(:until AS timestamptz[]), CAST(:template AS text[]),
                CAST(:template_version AS text[]), CAST(:provider AS text[]),
                CAST(:occurred_at AS timestamptz[]))
         WITH ORDINALITY AS x(a, k, b, l, p, m, s, ch, ad, r, re, c, u, t, tv, pr, o, n)
    ORDER BY n
    """
)


class BatchRecord:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start_many(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """First rows (state ``decided``) of many attempts; the attempt ids started now (a
        trigger decided before, or twice in ``rows``, is not among them). One statement per
        column array (``unnest``), not one bind parameter per value."""
        if not rows:
            return set()
        done = await self.session.execute(
            _START_MANY,
            {
                "attempt_id": [r["attempt_id"] for r in rows],
                "trigger_key": [r["trigger_key"] for r in rows],
                "borrower_id": [r["borrower_id"] for r in rows],
                "loan_id": [r["loan_id"] for r in rows],
                "purpose": [r["purpose"] for r in rows],
                "mandatory": [r["mandatory"] for r in rows],
                "context": [json.dumps(r["context"]) for r in rows],
            },
        )
        return set(done.scalars())

    async def append_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """New state rows, in order; ``send_queue`` follows them."""
        if not rows:
            return
        params: dict[str, list[Any]] = {c: [r.get(c) for r in rows] for c in _APPEND_COLUMNS}
        for c in ("context", "reasons"):
            params[c] = [json.dumps(r.get(c) or ({} if c == "context" else [])) for r in rows]
        await self.session.execute(_APPEND_MANY, params)
        await _keep_send_queue(self.session, [(r["attempt_id"], r["state"]) for r in rows])

    async def defer_many(self, due: Sequence[tuple[str, datetime]]) -> None:
        for chunk in _chunks(due):
            statement = pg_insert(deferred_sends).values(
                [{"attempt_id": a, "due_at": at, "payload": {}} for a, at in chunk]
            )
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["attempt_id"], set_={"due_at": statement.excluded.due_at}
                )
            )

    async def profiles(self, borrowers: Iterable[str]) -> dict[str, ContactProfile]:
        wanted = sorted(set(borrowers))
        heads = (
            await self.session.execute(
                select(contact_profiles).where(among(contact_profiles.c.borrower_id, wanted))
            )
        ).all()
        channels: dict[str, list[ChannelSetting]] = defaultdict(list)
        for r in (
            await self.session.execute(
                select(
                    contact_channels.c.borrower_id,
                    contact_channels.c.channel,
                    contact_channels.c.address_id,
                    contact_channels.c.priority,
                    contact_channels.c.opted_out,
                ).where(among(contact_channels.c.borrower_id, wanted))
            )
        ).all():
            channels[r.borrower_id].append(
                ChannelSetting(Channel(r.channel), r.address_id, r.priority, r.opted_out)
            )
        return {
            h.borrower_id: ContactProfile(
                borrower_id=h.borrower_id,
                language=h.language,
                timezone=h.timezone,
                jurisdiction=Jurisdiction(h.jurisdiction),
                channels=tuple(channels[h.borrower_id]),
            )
            for h in heads
        }

    async def past_calls(
        self, borrowers: Iterable[str], since: datetime
    ) -> dict[str, tuple[PastCall, ...]]:
        """Call outcomes since ``since``, at the moment they happened on the notifier's clock
        (``occurred_at``; the database time for rows written before it existed)."""
        found: dict[str, list[PastCall]] = defaultdict(list)
        c = contact_attempts.c
        at = func.coalesce(c.occurred_at, c.recorded_at)
        for r in (
            await self.session.execute(
                select(contact_attempts, at.label("at")).where(
                    among(c.borrower_id, borrowers),
                    c.channel == Channel.CALL.value,
                    c.call_outcome.is_not(None),
                    at >= since,
                )
            )
        ).all():
            found[r.borrower_id].append(
                PastCall(
                    at=r.at,
                    debt_id=r.loan_id or "",
                    number_id=r.address_id or "",
                    outcome=CallOutcome(r.call_outcome),
                    automated=r.automated,
                    borrower_initiated=r.borrower_initiated,
                )
            )
        return {b: tuple(calls) for b, calls in found.items()}

    async def last_messages(self, loan_ids: Iterable[str]) -> dict[str, datetime]:
        """When a message (not a call) about each loan was last sent, on the notifier's clock
        when known (``occurred_at``), else the database time; loans never messaged are left
        out."""
        c = contact_attempts.c
        at = func.max(func.coalesce(c.occurred_at, c.recorded_at))
        rows = await self.session.execute(
            select(c.loan_id, at)
            .where(
                among(c.loan_id, loan_ids),
                c.state == "sent",
                c.channel != Channel.CALL.value,
            )
            .group_by(c.loan_id)
        )
        return {r[0]: r[1] for r in rows.all()}

    async def stages_of(self, loan_ids: Iterable[str]) -> dict[str, str]:
        """Each loan's collection stage as the overdue service last reported it (loans without
        one are left out)."""
        rows = await self.session.execute(
            select(loan_stages.c.loan_id, loan_stages.c.stage).where(
                among(loan_stages.c.loan_id, loan_ids)
            )
        )
        return {r[0]: r[1] for r in rows.all()}

    async def terms_of_loans(self, loan_ids: Iterable[str]) -> dict[str, ProductTerms]:
        rows = (
            await self.session.execute(
                select(
                    loans.c.loan_id,
                    products.c.penalty_daily_rate,
                    products.c.credit_report_notice_dpd,
                    products.c.notification_policy,
                )
                .join(products, loans.c.product_code == products.c.product_code)
                .where(among(loans.c.loan_id, loan_ids))
            )
        ).all()
        return {r[0]: ProductTerms(r[1], r[2], dict(r[3])) for r in rows}

    async def addresses(self, address_ids: Iterable[str]) -> dict[str, str]:
        """Addresses for the providers, after commit (the one other place they are read)."""
        rows = await self.session.execute(
            select(contact_channels.c.address_id, contact_channels.c.address).where(
                among(contact_channels.c.address_id, address_ids)
            )
        )
        return {r[0]: r[1] for r in rows.all()}

    async def whereabouts(self, borrowers: Iterable[str]) -> dict[str, Whereabouts]:
        """Each borrower's language, zone and jurisdiction (no channels): what sending a
        queued message needs of the profile (its text, and whether the hour is quiet)."""
        p = contact_profiles.c
        rows = await self.session.execute(
            select(p.borrower_id, p.language, p.timezone, p.jurisdiction).where(
                among(p.borrower_id, borrowers)
            )
        )
        return {r[0]: Whereabouts(r[1], r[2], Jurisdiction(r[3])) for r in rows.all()}
