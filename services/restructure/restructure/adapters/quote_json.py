"""A quote (and the position it was quoted on) as stored JSON (``quotes.quote``,
``offers.quote``) and back, exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from lendkit.schedules import DayCount, Frequency, Rounding, ScheduledInstalment, ScheduleType
from restructure.domain.plans import PlanType, Quote
from restructure.domain.position import LoanPosition, LoanTerms


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def instalments_to_json(instalments: tuple[ScheduledInstalment, ...]) -> list[dict[str, Any]]:
    return [
        {
            "seq": i.seq,
            "due_date": i.due_date.isoformat(),
            "principal_minor": i.principal,
            "interest_minor": i.interest,
        }
        for i in instalments
    ]


def instalments_from_json(rows: list[dict[str, Any]]) -> tuple[ScheduledInstalment, ...]:
    return tuple(
        ScheduledInstalment(
            int(r["seq"]),
            date.fromisoformat(r["due_date"]),
            int(r["principal_minor"]),
            int(r["interest_minor"]),
        )
        for r in rows
    )


def quote_to_json(quote: Quote) -> dict[str, Any]:
    return {
        "plan_type": quote.plan_type.value,
        "loan_id": quote.loan_id,
        "currency": quote.currency,
        "as_of": quote.as_of.isoformat(),
        "annual_rate": str(quote.annual_rate),
        "instalments": instalments_to_json(quote.instalments),
        "capitalised": dict(quote.capitalised),
        "carried": dict(quote.carried),
        "waived": dict(quote.waived),
        "written_off_principal": quote.written_off_principal,
        "settlement_deadline": None
        if quote.settlement_deadline is None
        else quote.settlement_deadline.isoformat(),
        "promise_date": None if quote.promise_date is None else quote.promise_date.isoformat(),
        "promise_amount": quote.promise_amount,
        "rewrites_schedule": quote.rewrites_schedule,
    }


def quote_from_json(doc: dict[str, Any]) -> Quote:
    return Quote(
        plan_type=PlanType(doc["plan_type"]),
        loan_id=doc["loan_id"],
        currency=doc["currency"],
        as_of=date.fromisoformat(doc["as_of"]),
        annual_rate=Decimal(doc["annual_rate"]),
        instalments=instalments_from_json(doc["instalments"]),
        capitalised={k: int(v) for k, v in doc["capitalised"].items()},
        carried={k: int(v) for k, v in doc["carried"].items()},
        waived={k: int(v) for k, v in doc["waived"].items()},
        written_off_principal=int(doc["written_off_principal"]),
        settlement_deadline=_day(doc["settlement_deadline"]),
        promise_date=_day(doc["promise_date"]),
        promise_amount=int(doc["promise_amount"]),
        rewrites_schedule=bool(doc["rewrites_schedule"]),
    )


def position_to_json(position: LoanPosition) -> dict[str, Any]:
    t = position.terms
    return {
        "loan_id": position.loan_id,
        "as_of": position.as_of.isoformat(),
        "terms": {
            "currency": t.currency,
            "annual_rate": str(t.annual_rate),
            "schedule_type": t.schedule_type.value,
            "frequency": t.frequency.value,
            "day_count": t.day_count.value,
            "rounding": t.rounding.value,
        },
        "unpaid": instalments_to_json(position.unpaid),
        "penalty": position.penalty,
        "fee": position.fee,
        "dpd": position.dpd,
    }


def position_from_json(doc: dict[str, Any]) -> LoanPosition:
    t = doc["terms"]
    return LoanPosition(
        loan_id=doc["loan_id"],
        as_of=date.fromisoformat(doc["as_of"]),
        terms=LoanTerms(
            t["currency"],
            Decimal(t["annual_rate"]),
            ScheduleType(t["schedule_type"]),
            Frequency(t["frequency"]),
            DayCount(t["day_count"]),
            Rounding(t["rounding"]),
        ),
        unpaid=instalments_from_json(doc["unpaid"]),
        penalty=int(doc["penalty"]),
        fee=int(doc["fee"]),
        dpd=int(doc["dpd"]),
    )
