"""A due reminder states the product's own penalty rate and credit-report DPD; a product's
stricter notification policy is the one the contact policy enforces."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from lendkit.contracts import ledger
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.events import new_event
from lendkit.testing import unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.domain.policy import Channel, Jurisdiction
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

NEW_YORK = ZoneInfo("America/New_York")


def _product(code: str, quiet_start: str) -> ledger.ProductPublished:
    return ledger.ProductPublished(
        code=code,
        currency="USD",
        annual_rate="0.18",
        day_count="30/360",
        term=12,
        frequency="monthly",
        schedule_type="annuity",
        rounding="half_even",
        allocation_strategy="oldest_first",
        allocation_components=["penalty", "fee", "interest", "principal"],
        reminder_days_before=[3, 1],
        overdue_policy={"penalty_daily_rate": "0.0005", "credit_report_notice_dpd": 30},
        notification_policy={
            "quiet_hours": [{"jurisdiction": "US", "start": quiet_start, "end": "08:00"}]
        },
    )


async def test_reminder_states_the_products_rate_and_its_quiet_hours_apply(
    engine: AsyncEngine,
) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)

    def uow() -> NotifierUnitOfWork:
        return NotifierUnitOfWork(factory, "notifier")

    code, loan, borrower = unique("P"), unique("L"), unique("B")
    events = [
        (handlers.on_product_published, new_event(_product(code, "20:00"), source="/tests/ledger")),
        (
            handlers.on_loan_disbursed,
            new_event(
                ledger.LoanDisbursed(
                    loan_id=loan,
                    borrower_id=borrower,
                    product_code=code,
                    currency="USD",
                    principal_minor=100_000,
                    annual_rate="0.18",
                    disbursed_on=date(2026, 5, 1),
                    timezone="America/New_York",
                    instalments=[
                        InstalmentTerms(
                            seq=1,
                            due_date=date(2026, 6, 1),
                            principal_minor=100_000,
                            interest_minor=1_500,
                        )
                    ],
                ),
                source="/tests/ledger",
            ),
        ),
    ]
    due = ledger.RepaymentDue(
        loan_id=loan,
        borrower_id=borrower,
        seq=1,
        due_date=date(2026, 6, 1),
        amount_due_minor=101_500,
        currency="USD",
        business_date=date(2026, 5, 29),
        balance=InstalmentBalance(
            seq=1,
            due_date=date(2026, 6, 1),
            principal_minor=100_000,
            interest_minor=1_500,
            penalty_minor=0,
            fee_minor=0,
        ),
    )
    # 20:30 in New York: allowed by the default US window (until 21:00), quiet by this product's.
    CLOCK.pinned = datetime(2026, 5, 29, 20, 30, tzinfo=NEW_YORK)
    try:
        async with uow() as u:
            await u.profiles.put(
                borrower,
                "en",
                "America/New_York",
                Jurisdiction.US,
                [(Channel.SMS, "+12125550100", 1)],
            )
            for handler, event in events:
                await handler(u, event)
            await handlers.on_repayment_due(u, new_event(due, source="/tests/ledger"))
            await u.commit()
            history = await u.attempts.history(loan_id=loan)
        assert [(r["state"], r["rule"]) for r in history] == [
            ("decided", None),
            ("deferred", "quiet_hours"),
        ]
        sandbox = SandboxProvider()
        await dispatch(
            uow, {"sms": Failover([sandbox])}, datetime(2026, 5, 30, 8, 0, tzinfo=NEW_YORK)
        )
        [message] = [m for m in sandbox.messages.values() if "$1,015.00" in m.body]
        assert "0.05% of the overdue amount per day" in message.body
        assert "after 30 days overdue" in message.body and "STOP" in message.body
    finally:
        CLOCK.pinned = None
