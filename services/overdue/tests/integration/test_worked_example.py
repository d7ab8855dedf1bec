"""The issue's worked example, end to end through Kafka and PostgreSQL.

10,000.00 CNY (1_000_000 minor), 12 months, 18 % a year, annuity of 91_680 minor,
disbursed 2026-01-15. Instalment 1 (due 2026-02-15) is paid; instalment 2 (due
2026-03-15: principal 77_830, interest 13_850) is never paid. Arrears grace 3 days,
penalty grace 0, penalty 0.05 % a day on overdue principal: 77_830 * 0.0005 = 38.915 a
day, booked with the rounding carry; absolute penalty cap 1_000 minor.

    date        DPD  cumulative exact   booked  event(s)
    2026-03-15   0                              (due date: nothing)
    2026-03-16   1     38.915             39    bucket current -> 1-30, stage -> reminder
    2026-03-17   2     77.830             39
    2026-03-18   3    116.745             39
    2026-03-19   4    155.660             39    became overdue (4 > 3), stage -> early
    2026-03-20   5    194.575             39
    2026-03-21   6    233.490             38    (the carry gives one back)
    2026-03-22   7    272.405             39
    ...
    2026-04-09  25    972.875        total 973
    2026-04-10  26                        27    cap: 1_000 - 973 (39 would be due; 12 forgone)
    2026-04-11  27                         0    capped: no penalty event, a penalty day row
"""

from __future__ import annotations

from datetime import date

from aiokafka import TopicPartition

from .conftest import (
    World,
    assert_matches_schema,
    open_worked_example_loan,
    payloads,
    read_overdue_events,
)


async def test_worked_example_through_events_until_the_cap_stops_penalty(
    world: World, overdue_topic_start: dict[TopicPartition, int]
) -> None:
    loan_id, borrower_id, _ = await open_worked_example_loan(world)

    await world.close_days(date(2026, 3, 15), date(2026, 4, 11))
    published = await world.publish_outbox()
    assert published > 0

    events = await read_overdue_events(overdue_topic_start, loan_id, count=30)
    for event in events:
        assert_matches_schema(event)
        assert event.key == loan_id

    penalties = payloads(events, "overdue.penalty.assessed.v1")
    booked = {p["business_date"]: p["amount_minor"] for p in penalties}
    assert [booked[f"2026-03-{d}"] for d in range(16, 23)] == [39, 39, 39, 39, 39, 38, 39]
    assert sum(v for k, v in booked.items() if k <= "2026-04-09") == 973
    assert booked["2026-04-10"] == 27
    assert "2026-04-11" not in booked
    assert sum(booked.values()) == 1_000
    assert len(penalties) == 26  # 2026-03-16 .. 2026-04-10
    assert {p["seq"] for p in penalties} == {2}
    assert {p["base_minor"] for p in penalties} == {77_830}
    assert {p["daily_rate"] for p in penalties} == {"0.0005"}
    assert {p["currency"] for p in penalties} == {"CNY"}
    cap_day = next(p for p in penalties if p["business_date"] == "2026-04-10")
    assert cap_day["cap_applied"] == "absolute_penalty_cap"

    (overdue,) = payloads(events, "overdue.loan.became_overdue.v1")
    assert overdue == {
        "loan_id": loan_id,
        "borrower_id": borrower_id,
        "business_date": "2026-03-19",
        "oldest_unpaid_due_date": "2026-03-15",
        "days_past_due": 4,
        "bucket": "1-30",
        "overdue_minor": 77_830 + 13_850 + 0,
        "currency": "CNY",
    }
    buckets = payloads(events, "overdue.loan.bucket_changed.v1")
    assert [(b["business_date"], b["from_bucket"], b["to_bucket"]) for b in buckets] == [
        ("2026-03-16", "current", "1-30")
    ]
    stages = payloads(events, "overdue.loan.stage_changed.v1")
    assert [(s["business_date"], s["from_stage"], s["to_stage"]) for s in stages] == [
        ("2026-03-16", "current", "reminder"),
        ("2026-03-19", "reminder", "early"),
    ]

    rows = await world.sql(
        "SELECT business_date, booked_minor, cap_applied FROM penalty_days "
        "WHERE loan_id = :loan_id ORDER BY business_date",
        loan_id=loan_id,
    )
    assert len(rows) == 27  # one row per accrued day, capped days included
    assert rows[-1] == (date(2026, 4, 11), 0, "absolute_penalty_cap")


async def test_explanation_shows_both_graces_and_every_penalty_day(world: World) -> None:
    loan_id, borrower_id, _ = await open_worked_example_loan(
        world,
        overdue_policy={
            "arrears_grace_days": 3,
            "penalty_grace_days": 1,
            "penalty_daily_rate": "0.0005",
        },
    )
    await world.close_days(date(2026, 3, 15), date(2026, 3, 20))

    async with world.client(roles=["borrower"], borrower_id=borrower_id) as borrower:
        response = await borrower.get(
            f"/loans/{loan_id}/explanation", params={"as_of": "2026-03-20", "locale": "en"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["days_past_due"] == 5
    assert body["bucket"] == "1-30"
    assert body["arrears_grace"] == {"days": 3, "ends_on": "2026-03-18"}
    assert body["penalty_grace"] == {"days": 1, "ends_on": "2026-03-16"}
    assert body["overdue_from"] == "2026-03-19"
    assert body["penalty_from"] == "2026-03-17"
    # penalty grace 1: DPD 1 (03-16) is free; 03-17..03-20 carry 38.915 a day:
    # round(38.915)=39, round(77.83)=78 -> 39, round(116.745)=117 -> 39, round(155.66)=156 -> 39
    days = [
        (d["business_date"], d["base_minor"], d["rate"], d["booked_minor"])
        for d in body["penalty_days"]
    ]
    assert days == [
        ("2026-03-17", 77_830, "0.0005", 39),
        ("2026-03-18", 77_830, "0.0005", 39),
        ("2026-03-19", 77_830, "0.0005", 39),
        ("2026-03-20", 77_830, "0.0005", 39),
    ]
    assert body["penalty_booked_minor"] == 156
    assert "3-day grace period ended on 2026-03-18" in body["text"]
    assert "0.05% a day" in body["text"]
    assert "宽限期" in body["texts"]["zh-CN"]

    async with world.client(roles=["borrower"], borrower_id="someone-else") as stranger:
        hidden = await stranger.get(f"/loans/{loan_id}/explanation")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")


async def test_ops_views_list_overdue_loans_and_portfolio(world: World) -> None:
    loan_ids = [(await open_worked_example_loan(world))[0] for _ in range(3)]
    await world.close_days(date(2026, 3, 15), date(2026, 3, 19))

    async with world.client(roles=["ops"]) as ops:
        first = await ops.get("/overdue-loans", params={"bucket": "1-30", "limit": 2})
        assert first.status_code == 200, first.text
        page1 = first.json()
        second = await ops.get(
            "/overdue-loans", params={"bucket": "1-30", "limit": 2, "cursor": page1["next_cursor"]}
        )
        summary = await ops.get("/portfolio/summary")
        rolls = await ops.get(
            "/portfolio/roll-rates", params={"from": "2026-03-15", "to": "2026-03-19"}
        )
        cure = await ops.get(
            "/portfolio/cure-rate", params={"from": "2026-03-19", "to": "2026-03-19"}
        )
        bad = await ops.get("/overdue-loans", params={"cursor": "not-a-cursor"})

    listed = [i["loan_id"] for i in page1["items"] + second.json()["items"]]
    assert listed == sorted(loan_ids)
    assert {i["days_past_due"] for i in page1["items"]} == {4}
    assert page1["items"][0]["overdue_minor"] == 77_830 + 13_850
    assert second.json()["next_cursor"] is None
    (row,) = [b for b in summary.json()["buckets"] if b["bucket"] == "1-30"]
    assert row["loans"] == 3 and row["past_due_minor"] == 3 * (77_830 + 13_850)
    assert rolls.json()["counts"]["current"]["1-30"] == 3
    assert cure.json()["cure_rate"] == "0.000000"
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
