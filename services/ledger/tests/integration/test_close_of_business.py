"""Close of business: reminders T-3 / T-1, due events, interest recognised, once per date."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from ledger.entrypoints import cli
from lendkit.testing import read_events, unique

UPCOMING = "ledger.repayment.upcoming.v1"
DUE = "ledger.repayment.due.v1"

if TYPE_CHECKING:
    from conftest import Ledger


@pytest.fixture(scope="module")
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    return clock_ledger


async def _close(ledger: Ledger, day: str) -> dict[str, object]:
    r = await ledger.client.post(
        "/close-of-business",
        json={"business_date": day},
        headers={**ledger.auth(), "Idempotency-Key": unique("cob")},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_close_of_business_twice_for_a_date_publishes_once(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product(), disbursed_on=date(2031, 1, 10))

    first = await _close(ledger, "2031-02-07")  # instalment 1 falls due 2031-02-10: T-3
    second = await _close(ledger, "2031-02-07")

    assert first["already_closed"] is False and first["upcoming"] >= 1
    assert second["already_closed"] is True
    events = await read_events(
        ["ledger.loans"], count=2, keys=[loan_id], types=[UPCOMING], timeout=6
    )
    assert len(events) == 1
    assert b'"days_before":3' in events[0].data.replace(b" ", b"")
    async with ledger.runtime.engine.connect() as conn:
        markers = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE event_type = 'ledger.business_day.closed.v1' "
                "AND convert_from(payload, 'UTF8')::jsonb->>'business_date' = '2031-02-07'"
            )
        )
        partitions = await conn.scalar(
            text(
                "SELECT count(DISTINCT partition) FROM outbox "
                "WHERE event_type = 'ledger.business_day.closed.v1'"
            )
        )
    assert markers == 6 and partitions == 6


async def test_due_date_publishes_repayment_due_and_recognises_interest(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product(), disbursed_on=date(2031, 5, 10))
    await _close(ledger, "2031-05-31")  # the simulated clock's today is 2031-06-01
    paid = await ledger.pay(loan_id, 1_000, date(2031, 6, 1))  # 10.00 of #1's 30.00 interest
    assert paid.status_code == 201, paid.text

    await _close(ledger, "2031-06-06")
    await _close(ledger, "2031-06-09")  # T-1, after closing the skipped 06-07 (T-3) and 06-08
    result = await _close(ledger, "2031-06-10")  # due date

    assert result["due"] >= 1
    due = await read_events(["ledger.loans"], count=1, keys=[loan_id], types=[DUE])
    assert b'"amount_due_minor":102000' in due[0].data.replace(b" ", b"")
    # T-3 (2031-06-07, closed on the way to 06-09) and T-1.
    upcoming = await read_events(["ledger.loans"], count=2, keys=[loan_id], types=[UPCOMING])
    days_before = [json.loads(e.data)["days_before"] for e in upcoming]
    assert days_before == [3, 1]
    journal = (await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())).json()
    interest = [e for e in journal["items"] if e["memo"] == "interest due"]
    assert len(interest) == 1
    assert interest[0]["lines"][0] == {
        "account": "INTEREST_RECEIVABLE",
        "debit_minor": 3_000,
        "credit_minor": 0,
    }
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def _outbox_days(ledger: Ledger, event_type: str, loan_id: str | None = None) -> list[str]:
    """The business dates of ``event_type`` rows in the outbox, in the order written."""
    async with ledger.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT convert_from(payload, 'UTF8')::jsonb->>'business_date' FROM outbox "
                "WHERE event_type = :type AND (CAST(:loan AS text) IS NULL OR message_key = :loan)"
                " ORDER BY id"
            ),
            {"type": event_type, "loan": loan_id},
        )
        return [str(day) for (day,) in rows]


async def test_skipped_days_are_closed_first_and_in_order(ledger: Ledger) -> None:
    # 3 months equal principal, disbursed 2031-07-05: instalment 1 falls due 2031-08-05.
    loan_id = await ledger.loan(await ledger.product(), disbursed_on=date(2031, 7, 5))
    await _close(ledger, "2031-08-03")

    result = await _close(ledger, "2031-08-06")  # 08-04 and 08-05 were never closed

    assert result["caught_up"] == ["2031-08-04", "2031-08-05"]
    assert result["business_date"] == "2031-08-06" and result["already_closed"] is False
    # The due date was not lost: RepaymentDue for 2031-08-05 went out, dated that day.
    due = await read_events(["ledger.loans"], count=1, keys=[loan_id], types=[DUE])
    assert b'"business_date":"2031-08-05"' in due[0].data.replace(b" ", b"")
    # Every day has its end-of-day marker on all six partitions, days in order, and the
    # due event sits between 08-04's markers and 08-05's.
    markers = await _outbox_days(ledger, "ledger.business_day.closed.v1")
    tail = markers[markers.index("2031-08-04") :]
    assert tail == ["2031-08-04"] * 6 + ["2031-08-05"] * 6 + ["2031-08-06"] * 6
    async with ledger.runtime.engine.connect() as conn:
        ids = dict(
            (
                await conn.execute(
                    text(
                        "SELECT event_type || ':' || (convert_from(payload, 'UTF8')::jsonb"
                        "->>'business_date'), max(id) FROM outbox WHERE (message_key = :loan "
                        "AND event_type = :due) OR event_type = 'ledger.business_day.closed.v1'"
                        " GROUP BY 1"
                    ),
                    {"loan": loan_id, "due": DUE},
                )
            ).all()
        )
        first_0805_marker = await conn.scalar(
            text(
                "SELECT min(id) FROM outbox WHERE event_type = 'ledger.business_day.closed.v1' "
                "AND convert_from(payload, 'UTF8')::jsonb->>'business_date' = '2031-08-05'"
            )
        )
    assert ids["ledger.business_day.closed.v1:2031-08-04"] < ids[f"{DUE}:2031-08-05"]
    assert ids[f"{DUE}:2031-08-05"] < first_0805_marker


async def _clock_state(ledger: Ledger) -> tuple[int, int]:
    async with ledger.runtime.engine.connect() as conn:
        runs = await conn.scalar(text("SELECT count(*) FROM cob_runs"))
        outbox = await conn.scalar(text("SELECT count(*) FROM outbox"))
    return int(runs or 0), int(outbox or 0)


async def test_a_day_the_clock_can_no_longer_close_is_refused_and_changes_nothing(
    ledger: Ledger,
) -> None:
    await _close(ledger, "2031-09-01")  # the clock has run (whatever ran before)
    async with ledger.runtime.engine.connect() as conn:
        first = await conn.scalar(text("SELECT min(business_date) FROM cob_runs"))
    assert first is not None
    before = await _clock_state(ledger)

    too_early = await ledger.client.post(
        "/close-of-business",
        json={"business_date": (first - timedelta(days=1)).isoformat()},
        headers={**ledger.auth(), "Idempotency-Key": unique("cob")},
    )
    too_far = await ledger.client.post(
        "/close-of-business",
        json={"business_date": "2033-09-01"},  # 731 days ahead; at most 366 at once
        headers={**ledger.auth(), "Idempotency-Key": unique("cob")},
    )

    assert too_early.status_code == 409, too_early.text
    assert "before the business clock's first closed day" in too_early.json()["detail"]
    assert too_far.status_code == 422, too_far.text
    assert "at most 366" in too_far.json()["detail"]
    for response in (too_early, too_far):
        assert response.headers["content-type"] == "application/problem+json"
    assert await _clock_state(ledger) == before


def test_the_command_line_catches_up_and_refuses_like_the_api(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", ledger.runtime.settings.database_url)
    monkeypatch.setenv("LEDGER_SIMULATED_CLOCK", "true")
    assert cli.main(["close-of-business", "2031-10-01"]) == 0
    assert cli.main(["close-of-business", "2031-10-04"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed[-1]["business_date"] == "2031-10-04"
    assert printed[-1]["caught_up"] == ["2031-10-02", "2031-10-03"]

    assert cli.main(["close-of-business", "2001-01-01"]) == 2
    assert "before the business clock's first closed day" in capsys.readouterr().err


async def test_each_day_caught_up_is_committed_before_the_day_asked_for(ledger: Ledger) -> None:
    from ledger.service_layer.close_of_business import close_business_day

    await _close(ledger, "2031-12-01")
    async with ledger.runtime.uow() as uow:
        result = await close_business_day(uow, date(2031, 12, 4))
        assert result.caught_up == (date(2031, 12, 2), date(2031, 12, 3))
        # The run has not committed: the days it caught up already have, for everyone.
        async with ledger.runtime.session_factory() as other:
            seen = await other.execute(
                text(
                    "SELECT business_date::text FROM cob_runs "
                    "WHERE business_date > '2031-12-01' ORDER BY 1"
                )
            )
            assert list(seen.scalars()) == ["2031-12-02", "2031-12-03"]
        await uow.commit()
