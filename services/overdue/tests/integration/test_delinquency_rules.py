"""Delinquency rules through real events: markers, duplicates, cure, partial payment,
credit-report gate, pause/resume and waivers. The loan is the worked example's (instalment
2 of 77_830 principal + 13_850 interest due 2026-03-15 and unpaid; 38.915 a day)."""

from __future__ import annotations

from datetime import date

from aiokafka import TopicPartition

from lendkit.contracts import ledger, notifier, restructure
from lendkit.contracts.money import InstalmentBalance
from lendkit.events import new_event
from lendkit.testing import unique
from overdue.service_layer.close_of_business import close_business_days_in_chunks

from .conftest import (
    SOURCE,
    World,
    assert_matches_schema,
    balances_from,
    open_worked_example_loan,
    payloads,
    payment_allocated,
    read_overdue_events,
)


async def penalty_rows(world: World, loan_id: str) -> list[tuple[date, int]]:
    rows = await world.sql(
        "SELECT business_date, booked_minor FROM penalty_days WHERE loan_id = :l ORDER BY 1",
        l=loan_id,
    )
    return [(r[0], r[1]) for r in rows]


async def test_no_duplicate_penalty_under_redelivered_markers_or_a_repeated_close(
    world: World,
) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    markers = [
        new_event(
            ledger.BusinessDayClosed(business_date=date(2026, 3, 16), partition=p, partitions=6),
            source=SOURCE,
            partition=p,
        )
        for p in range(6)
    ]
    for marker in markers:
        await world.send(marker, partition=marker.partition)
    await world.drain()
    # redelivery: the very same events again, then new marker events for the same date
    for marker in markers:
        await world.send(marker, partition=marker.partition)
    await world.close_day(date(2026, 3, 16))
    # and the ops command for the same date
    again = await close_business_days_in_chunks(
        world.runtime.uow, date(2026, 3, 16), trigger="test"
    )
    assert again == [(date(2026, 3, 16), None)]

    assert await penalty_rows(world, loan_id) == [(date(2026, 3, 16), 39)]
    outbox = await world.sql(
        "SELECT count(*) FROM outbox WHERE event_type = 'overdue.penalty.assessed.v1' "
        "AND message_key = :l",
        l=loan_id,
    )
    assert outbox[0][0] == 1


async def test_close_of_business_waits_for_markers_from_all_partitions(world: World) -> None:
    """Five of six markers for 2026-03-19: nothing is closed. The payment that clears
    instalment 2 arrives before the sixth marker, so the loan never becomes overdue."""
    loan_id, _, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 18))
    for p in range(5):
        marker = ledger.BusinessDayClosed(
            business_date=date(2026, 3, 19), partition=p, partitions=6
        )
        await world.send(new_event(marker, source=SOURCE, partition=p), partition=p)
    await world.drain()
    assert await world.sql("SELECT 1 FROM cob_runs WHERE business_date = '2026-03-19'") == []

    await world.publish(
        payment_allocated(
            loan_id, date(2026, 3, 19), 91_680 + 117, balances_from(terms, first_open=3)
        )
    )
    last = ledger.BusinessDayClosed(business_date=date(2026, 3, 19), partition=5, partitions=6)
    await world.send(new_event(last, source=SOURCE, partition=5), partition=5)
    await world.drain()

    assert len(await world.sql("SELECT 1 FROM cob_runs WHERE business_date = '2026-03-19'")) == 1
    types = await world.sql("SELECT event_type FROM outbox WHERE message_key = :l", l=loan_id)
    assert ("overdue.loan.became_overdue.v1",) not in types
    assert [d for d, _ in await penalty_rows(world, loan_id)] == [
        date(2026, 3, 16),
        date(2026, 3, 17),
        date(2026, 3, 18),
    ]


async def test_payment_clearing_arrears_cures_with_the_previous_bucket(
    world: World, overdue_topic_start: dict[TopicPartition, int]
) -> None:
    loan_id, _, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 20))  # DPD 5, bucket 1-30
    await world.publish(
        payment_allocated(loan_id, date(2026, 3, 21), 91_680, balances_from(terms, first_open=3))
    )
    await world.drain()
    await world.close_day(date(2026, 3, 21))
    await world.publish_outbox()

    events = await read_overdue_events(overdue_topic_start, loan_id, count=10)
    for event in events:
        assert_matches_schema(event)
    (cured,) = payloads(events, "overdue.loan.cured.v1")
    assert cured == {
        "loan_id": loan_id,
        "business_date": "2026-03-21",
        "previous_bucket": "1-30",
        "previous_days_past_due": 6,
    }
    back = payloads(events, "overdue.loan.bucket_changed.v1")[-1]
    assert (back["from_bucket"], back["to_bucket"]) == ("1-30", "current")
    # nothing accrues after the cure
    assert max(d for d, _ in await penalty_rows(world, loan_id)) == date(2026, 3, 20)


async def test_partial_payment_reduces_arrears_without_curing(world: World) -> None:
    """40_000 paid on 2026-03-20 (interest 13_850 first, then 26_150 principal): principal
    77_830 - 26_150 = 51_680 stays overdue; the next day's base is 51_680 and its exact
    penalty 25.84. Cumulative 5 * 38.915 + 25.84 = 220.415 -> 220, 195 booked so far -> 25."""
    loan_id, _, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 20))
    rest = balances_from(terms, first_open=2)
    rest[0] = InstalmentBalance(
        seq=2,
        due_date=date(2026, 3, 15),
        principal_minor=51_680,
        interest_minor=0,
        penalty_minor=0,
        fee_minor=0,
    )
    await world.publish(payment_allocated(loan_id, date(2026, 3, 20), 40_000, rest))
    await world.drain()
    await world.close_day(date(2026, 3, 21))

    types = await world.sql("SELECT event_type FROM outbox WHERE message_key = :l", l=loan_id)
    assert ("overdue.loan.cured.v1",) not in types
    (loan,) = await world.sql("SELECT in_arrears, bucket FROM loans WHERE loan_id = :l", l=loan_id)
    assert loan == (True, "1-30")
    day = await world.sql(
        "SELECT base_minor, exact, booked_minor FROM penalty_days "
        "WHERE loan_id = :l AND business_date = '2026-03-21'",
        l=loan_id,
    )
    assert [(b, str(e), k) for b, e, k in day] == [(51_680, "25.8400", 25)]


async def test_credit_report_is_never_reportable_without_a_delivered_notice(
    world: World,
) -> None:
    """Notice due at DPD 5 (2026-03-20), wait 2 days after delivery. Without a delivered
    notice nothing is reportable however long the loan stays overdue; delivered on
    2026-03-26 it becomes reportable on 2026-03-28."""
    policy = {"arrears_grace_days": 3, "credit_report_notice_dpd": 5, "credit_report_wait_days": 2}
    loan_id, _, _ = await open_worked_example_loan(world, overdue_policy=policy)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 25))

    async def types() -> list[str]:
        rows = await world.sql(
            "SELECT event_type FROM outbox WHERE message_key = :l ORDER BY id", l=loan_id
        )
        return [r[0] for r in rows]

    assert (await types()).count("overdue.credit_report.notice_due.v1") == 1
    assert "overdue.credit_report.reportable.v1" not in await types()

    # a receipt for another purpose does not count
    await world.publish(
        notifier.MessageDelivered(
            loan_id=loan_id,
            message_id=unique("m"),
            purpose="overdue_reminder",
            channel="sms",
            delivered_on=date(2026, 3, 25),
        )
    )
    await world.drain()
    await world.close_day(date(2026, 3, 26))
    assert "overdue.credit_report.reportable.v1" not in await types()

    await world.publish(
        notifier.MessageDelivered(
            loan_id=loan_id,
            message_id=unique("m"),
            purpose="credit_report_notice",
            channel="sms",
            delivered_on=date(2026, 3, 26),
        )
    )
    await world.drain()
    await world.close_day(date(2026, 3, 27))
    assert "overdue.credit_report.reportable.v1" not in await types()
    await world.close_day(date(2026, 3, 28))
    assert (await types()).count("overdue.credit_report.reportable.v1") == 1
    (row,) = await world.sql(
        "SELECT payload FROM outbox WHERE message_key = :l "
        "AND event_type = 'overdue.credit_report.reportable.v1'",
        l=loan_id,
    )
    assert b'"notice_delivered_on":"2026-03-26"' in bytes(row[0])
    assert b'"business_date":"2026-03-28"' in bytes(row[0])


async def test_pause_stops_accrual_and_resume_continues(world: World) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 17))
    async with world.client(roles=["ops"]) as ops:
        missing_key = await ops.post(f"/loans/{loan_id}/pause", json={"reason": "dispute"})
        paused = await ops.post(
            f"/loans/{loan_id}/pause", json={"reason": "dispute"}, headers={"Idempotency-Key": "k1"}
        )
        again = await ops.post(
            f"/loans/{loan_id}/pause", json={"reason": "dispute"}, headers={"Idempotency-Key": "k1"}
        )
    assert missing_key.status_code == 400
    assert paused.status_code == 200 and paused.json()["changed"] is True
    assert again.json() == paused.json()

    await world.close_days(date(2026, 3, 18), date(2026, 3, 20))
    assert [d for d, _ in await penalty_rows(world, loan_id)] == [
        date(2026, 3, 16),
        date(2026, 3, 17),
    ]

    async with world.client(roles=["ops"]) as ops:
        resumed = await ops.post(
            f"/loans/{loan_id}/resume",
            json={"reason": "resolved"},
            headers={"Idempotency-Key": "k2"},
        )
    assert resumed.status_code == 200
    await world.close_day(date(2026, 3, 21))
    # 2026-03-21: cumulative 3 * 38.915 = 116.745 -> 117, 78 booked -> 39; paused days never charged
    assert await penalty_rows(world, loan_id) == [
        (date(2026, 3, 16), 39),
        (date(2026, 3, 17), 39),
        (date(2026, 3, 21), 39),
    ]
    types = await world.sql(
        "SELECT event_type FROM outbox WHERE message_key = :l ORDER BY id", l=loan_id
    )
    flat = [t[0] for t in types]
    assert flat.count("overdue.loan.delinquency_paused.v1") == 1
    assert flat.count("overdue.loan.delinquency_resumed.v1") == 1


async def test_accepted_restructuring_plan_pauses_accrual(world: World) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await world.close_day(date(2026, 3, 16))
    await world.publish(
        restructure.PlanAccepted(
            plan_id=unique("plan"),
            loan_id=loan_id,
            option="term_extension",
            effective_date=date(2026, 3, 17),
            first_due_date=date(2026, 4, 15),
            new_term=18,
            new_annual_rate="0.18",
        )
    )
    await world.drain()
    await world.close_days(date(2026, 3, 17), date(2026, 3, 19))
    assert [d for d, _ in await penalty_rows(world, loan_id)] == [date(2026, 3, 16)]


async def test_penalty_waiver_is_audited_and_emitted(world: World) -> None:
    loan_id, _, _ = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 17))  # 78 assessed
    async with world.client(roles=["ops"]) as ops:
        too_much = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 79, "reason": "goodwill"},
            headers={"Idempotency-Key": "w0"},
        )
        waived = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 50, "reason": "goodwill"},
            headers={"Idempotency-Key": "w1"},
        )
    assert too_much.status_code == 422
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert waived.status_code == 201, waived.text
    assert waived.json()["penalty_owed_minor"] == 28
    audit = await world.sql(
        "SELECT amount_minor, reason, waived_by FROM penalty_waivers WHERE loan_id = :l", l=loan_id
    )
    assert audit == [(50, "goodwill", "ops-1")]
    (row,) = await world.sql(
        "SELECT payload FROM outbox WHERE message_key = :l AND event_type = 'overdue.penalty.waived.v1'",
        l=loan_id,
    )
    assert b'"amount_minor":50' in bytes(row[0])
