"""The notifier's repositories: loans, contact profiles and the append-only attempt record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.adapters.tables import (
    contact_attempts,
    contact_channels,
    contact_profiles,
    contact_strategies,
    loan_stages,
    loans,
    notifier_clock,
    products,
)
from notifier.domain.clock import SimulatedTime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.domain.profile import ChannelSetting, ContactProfile
from notifier.domain.strategy import DEFAULT_STRATEGY, ContactStrategy, StageStrategy


class LoanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, loan_id: str, borrower_id: str, product_code: str, currency: str, timezone: str | None
    ) -> None:
        await self.session.execute(
            pg_insert(loans)
            .values(
                loan_id=loan_id,
                borrower_id=borrower_id,
                product_code=product_code,
                currency=currency,
                timezone=timezone,
            )
            .on_conflict_do_nothing()
        )

    async def borrower_of(self, loan_id: str) -> str | None:
        found = await self.session.execute(
            select(loans.c.borrower_id).where(loans.c.loan_id == loan_id)
        )
        return found.scalar_one_or_none()

    async def borrowers_of(self, loan_ids: Iterable[str]) -> dict[str, str]:
        """The borrower of each known loan among ``loan_ids`` (unknown loans left out)."""
        found = await self.session.execute(
            text(
                "SELECT loan_id, borrower_id FROM loans WHERE loan_id = ANY(CAST(:ids AS text[]))"
            ),
            {"ids": sorted(set(loan_ids))},
        )
        return {r.loan_id: r.borrower_id for r in found}


@dataclass(frozen=True, slots=True)
class ProductTerms:
    penalty_daily_rate: str
    credit_report_notice_dpd: int
    notification_policy: dict[str, Any]


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, code: str, terms: ProductTerms) -> None:
        values = {
            "penalty_daily_rate": terms.penalty_daily_rate,
            "credit_report_notice_dpd": terms.credit_report_notice_dpd,
            "notification_policy": terms.notification_policy,
        }
        await self.session.execute(
            pg_insert(products)
            .values(product_code=code, **values)
            .on_conflict_do_update(index_elements=["product_code"], set_=values)
        )


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, borrower_id: str) -> ContactProfile | None:
        profile = (
            await self.session.execute(
                select(contact_profiles).where(contact_profiles.c.borrower_id == borrower_id)
            )
        ).one_or_none()
        if profile is None:
            return None
        rows = (
            await self.session.execute(
                select(contact_channels).where(contact_channels.c.borrower_id == borrower_id)
            )
        ).all()
        return ContactProfile(
            borrower_id=borrower_id,
            language=profile.language,
            timezone=profile.timezone,
            jurisdiction=Jurisdiction(profile.jurisdiction),
            channels=tuple(
                ChannelSetting(Channel(r.channel), r.address_id, r.priority, r.opted_out)
                for r in rows
            ),
        )

    async def put(
        self,
        borrower_id: str,
        language: str,
        timezone: str | None,
        jurisdiction: Jurisdiction,
        channels: list[tuple[Channel, str, int]],
    ) -> None:
        """Create or replace a profile; ``channels`` are (channel, address, priority)."""
        await self.session.execute(
            pg_insert(contact_profiles)
            .values(
                borrower_id=borrower_id,
                language=language,
                timezone=timezone,
                jurisdiction=jurisdiction.value,
            )
            .on_conflict_do_update(
                index_elements=["borrower_id"],
                set_={
                    "language": language,
                    "timezone": timezone,
                    "jurisdiction": jurisdiction.value,
                    "updated_at": func.now(),
                },
            )
        )
        for channel, address, priority in channels:
            await self.session.execute(
                pg_insert(contact_channels)
                .values(
                    borrower_id=borrower_id,
                    channel=channel.value,
                    address=address,
                    address_id=f"{borrower_id}:{channel.value}",
                    priority=priority,
                )
                .on_conflict_do_update(
                    index_elements=["borrower_id", "channel"],
                    set_={"address": address, "priority": priority},
                )
            )

    async def opt_out(self, borrower_id: str, channel: Channel, at: datetime) -> bool:
        done = await self.session.execute(
            contact_channels.update()
            .where(
                and_(
                    contact_channels.c.borrower_id == borrower_id,
                    contact_channels.c.channel == channel.value,
                )
            )
            .values(opted_out=True, opted_out_at=at)
        )
        return bool(getattr(done, "rowcount", 0))

    async def set_preferences(
        self, borrower_id: str, language: str | None, opted_out: frozenset[Channel], at: datetime
    ) -> None:
        if language is not None:
            await self.session.execute(
                contact_profiles.update()
                .where(contact_profiles.c.borrower_id == borrower_id)
                .values(language=language, updated_at=func.now())
            )
        for channel in Channel:
            out = channel in opted_out
            await self.session.execute(
                contact_channels.update()
                .where(
                    contact_channels.c.borrower_id == borrower_id,
                    contact_channels.c.channel == channel.value,
                    contact_channels.c.opted_out.is_not(out),
                )
                .values(opted_out=out, opted_out_at=at if out else None)
            )

    async def borrower_by_address(self, channel: Channel, address: str) -> str | None:
        found = await self.session.execute(
            select(contact_channels.c.borrower_id).where(
                contact_channels.c.channel == channel.value, contact_channels.c.address == address
            )
        )
        return found.scalars().first()


@dataclass(frozen=True, slots=True)
class AttemptState:
    attempt_id: str
    trigger_key: str
    borrower_id: str
    loan_id: str | None
    purpose: str
    mandatory: bool
    state: str
    channel: str | None
    address_id: str | None
    template: str | None
    template_version: str | None
    context: dict[str, str]


#: One dispatching round at a time per database ("dispatch"); the relay's lock is another.
DISPATCH_LOCK = 0x6469737061746368


class AttemptRepository:
    """Append-only: ``start`` and ``append`` insert rows, nothing is ever updated."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lead_dispatch(self) -> bool:
        """Take the database's dispatching lock for this transaction (False: another
        process's dispatcher holds it). Held while the transaction stays open, released when
        it ends or its connection dies, so a crashed dispatcher never blocks the next."""
        taken = await self.session.execute(
            text("SELECT pg_try_advisory_xact_lock(:lock)"), {"lock": DISPATCH_LOCK}
        )
        return bool(taken.scalar())

    async def append(self, first: AttemptState, state: str, **fields: Any) -> None:
        row = {
            "attempt_id": first.attempt_id,
            "trigger_key": first.trigger_key,
            "borrower_id": first.borrower_id,
            "loan_id": first.loan_id,
            "purpose": first.purpose,
            "mandatory": first.mandatory,
            "channel": first.channel,
            "address_id": first.address_id,
            "template": first.template,
            "template_version": first.template_version,
            "context": first.context,
            "state": state,
        }
        row.update(fields)
        await self.session.execute(insert(contact_attempts).values(**row))
        await _keep_send_queue(self.session, [(first.attempt_id, state)])

    async def latest(self, attempt_id: str) -> AttemptState | None:
        row = (
            await self.session.execute(
                select(contact_attempts)
                .where(contact_attempts.c.attempt_id == attempt_id)
                .order_by(contact_attempts.c.id.desc())
                .limit(1)
            )
        ).one_or_none()
        return None if row is None else _state(row)

    async def ready_to_send(self, now: datetime, limit: int = 500) -> list[AttemptState]:
        """Attempts whose latest row is ``queued`` (a crash after recording leaves them here,
        so they are sent after a restart), in queueing order, from ``send_queue``."""
        rows = (
            await self.session.execute(
                text(
                    "SELECT a.* FROM (SELECT attempt_id, seq FROM send_queue ORDER BY seq"
                    " LIMIT :limit) q CROSS JOIN LATERAL (SELECT * FROM contact_attempts c"
                    " WHERE c.attempt_id = q.attempt_id ORDER BY c.id DESC LIMIT 1) a"
                    " WHERE a.state = 'queued' ORDER BY q.seq"
                ),
                {"limit": limit},
            )
        ).all()
        return [_state(r) for r in rows]

    async def take_due(self, now: datetime, limit: int = 500) -> list[str]:
        """Deferred sends that are due, removed from the queue (in the caller's transaction)."""
        rows = await self.session.execute(
            text(
                "DELETE FROM deferred_sends WHERE attempt_id IN (SELECT attempt_id FROM deferred_sends "
                "WHERE due_at <= :now ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED) "
                "RETURNING attempt_id"
            ),
            {"now": now, "limit": limit},
        )
        return [r[0] for r in rows]

    async def history(
        self, *, loan_id: str | None = None, borrower_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(contact_attempts).order_by(contact_attempts.c.id)
        if loan_id is not None:
            query = query.where(contact_attempts.c.loan_id == loan_id)
        if borrower_id is not None:
            query = query.where(contact_attempts.c.borrower_id == borrower_id)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]


class StrategyRepository:
    """The per-stage contact strategy: one row per version, the newest is in force."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> ContactStrategy:
        row = (
            await self.session.execute(
                select(contact_strategies.c.version, contact_strategies.c.spec)
                .order_by(contact_strategies.c.version.desc())
                .limit(1)
            )
        ).one_or_none()
        return DEFAULT_STRATEGY if row is None else strategy_from(row.version, dict(row.spec))

    async def add(self, spec: dict[str, Any], created_by: str) -> int:
        """Store ``spec`` as the next version (serialised by a lock on the table)."""
        await self.session.execute(text("LOCK TABLE contact_strategies IN EXCLUSIVE MODE"))
        latest = (
            await self.session.execute(select(func.max(contact_strategies.c.version)))
        ).scalar_one_or_none()
        version = (latest or 0) + 1
        await self.session.execute(
            insert(contact_strategies).values(version=version, spec=spec, created_by=created_by)
        )
        return version


def strategy_from(version: int, spec: dict[str, Any]) -> ContactStrategy:
    """A stored spec (``{"stages": {stage: {channels, call, cadence_days}}}``) as the domain's."""
    stages = {
        name: StageStrategy(
            channels=tuple(Channel(c) for c in stage.get("channels", [])),
            call=bool(stage.get("call", False)),
            cadence_days=int(stage.get("cadence_days", 0)),
        )
        for name, stage in spec.get("stages", {}).items()
    }
    return ContactStrategy(version=version, stages=stages)


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A loan whose stage's cadence says it is time to contact the borrower again."""

    loan_id: str
    borrower_id: str
    stage: str


class StageRepository:
    """Each loan's collection stage as the overdue service last reported it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set(self, loan_id: str, stage: str, on: date) -> None:
        await self.session.execute(
            pg_insert(loan_stages)
            .values(loan_id=loan_id, stage=stage, changed_on=on)
            .on_conflict_do_update(
                index_elements=["loan_id"],
                set_={"stage": stage, "changed_on": on},
                where=loan_stages.c.changed_on <= on,
            )
        )

    async def set_many(self, changes: Sequence[tuple[str, str, date]]) -> None:
        """``set`` for many distinct loans in one statement: (loan id, stage, day)."""
        if not changes:
            return
        statement = pg_insert(loan_stages).values(
            [{"loan_id": loan, "stage": stage, "changed_on": on} for loan, stage, on in changes]
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["loan_id"],
                set_={
                    "stage": statement.excluded.stage,
                    "changed_on": statement.excluded.changed_on,
                },
                where=loan_stages.c.changed_on <= statement.excluded.changed_on,
            )
        )

    async def pause(self, loan_id: str, paused: bool) -> None:
        """The overdue service paused (or resumed) the loan's delinquency."""
        await self.session.execute(
            update(loan_stages).where(loan_stages.c.loan_id == loan_id).values(paused=paused)
        )

    async def due_for_reminder(self, cadences: Mapping[str, int], on: date) -> list[DueReminder]:
        """Loans not paused in a stage of ``cadences`` (stage -> days) whose stage began, or
        whose last cadence reminder was, that many days or more before ``on``; each is marked
        reminded on ``on`` in the same statement (set-based: one statement for the book)."""
        if not cadences:
            return []
        rows = await self.session.execute(
            text(
                "UPDATE loan_stages s SET reminded_on = :on"
                " FROM unnest(CAST(:stages AS text[]), CAST(:days AS int[])) AS c(stage, days),"
                " loans l"
                " WHERE s.stage = c.stage AND l.loan_id = s.loan_id AND NOT s.paused"
                " AND greatest(s.changed_on, coalesce(s.reminded_on, s.changed_on))"
                " <= CAST(:on AS date) - c.days"
                " RETURNING s.loan_id, l.borrower_id, s.stage"
            ),
            {"on": on, "stages": list(cadences), "days": list(cadences.values())},
        )
        return [DueReminder(r.loan_id, r.borrower_id, r.stage) for r in rows.all()]


@dataclass(frozen=True, slots=True)
class ClockState:
    simulated: bool
    business_date: date | None
    time_of_day: time | None
    timezone: str

    def simulated_time(self) -> SimulatedTime | None:
        if not self.simulated or self.business_date is None or self.time_of_day is None:
            return None
        return SimulatedTime(self.business_date, self.time_of_day, self.timezone)


class ClockRepository:
    """The one row of the simulated clock (persisted: it survives restarts)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self) -> ClockState | None:
        row = (
            await self.session.execute(select(notifier_clock).where(notifier_clock.c.id == 1))
        ).one_or_none()
        if row is None:
            return None
        return ClockState(row.simulated, row.business_date, row.time_of_day, row.timezone)

    async def put(self, state: ClockState) -> None:
        values = {
            "simulated": state.simulated,
            "business_date": state.business_date,
            "time_of_day": state.time_of_day,
            "timezone": state.timezone,
            "updated_at": func.now(),
        }
        await self.session.execute(
            pg_insert(notifier_clock)
            .values(id=1, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )

    async def business_day_closed(self, business_date: date, timezone: str) -> None:
        """The platform closed ``business_date``: the clock's business date moves forward to
        it (never back)."""
        await self.session.execute(
            pg_insert(notifier_clock)
            .values(id=1, simulated=False, business_date=business_date, timezone=timezone)
            .on_conflict_do_update(
                index_elements=["id"],
                set_={"business_date": business_date, "updated_at": func.now()},
                where=func.coalesce(notifier_clock.c.business_date, business_date) <= business_date,
            )
        )


async def _keep_send_queue(session: AsyncSession, changes: list[tuple[str, str]]) -> None:
    """``send_queue`` follows the record: an attempt is in it while its latest row is queued."""
    queued = [a for a, state in changes if state == "queued"]
    settled = [a for a, state in changes if state != "queued"]
    if queued:
        await session.execute(
            text(
                "INSERT INTO send_queue (attempt_id) SELECT a FROM unnest(CAST(:a AS text[]))"
                " WITH ORDINALITY AS q(a, n) ORDER BY n ON CONFLICT DO NOTHING"
            ),
            {"a": queued},
        )
    if settled:
        await session.execute(
            text("DELETE FROM send_queue WHERE attempt_id = ANY(CAST(:a AS text[]))"),
            {"a": settled},
        )


def _state(row: Any) -> AttemptState:
    return AttemptState(
        attempt_id=row.attempt_id,
        trigger_key=row.trigger_key,
        borrower_id=row.borrower_id,
        loan_id=row.loan_id,
        purpose=row.purpose,
        mandatory=row.mandatory,
        state=row.state,
        channel=row.channel,
        address_id=row.address_id,
        template=row.template,
        template_version=row.template_version,
        context=dict(row.context or {}),
    )
