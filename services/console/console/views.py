"""The read side of the console: what each page shows, gathered from the services' REST
APIs (``adapters.services``) and the topics (``lendkit.ops``). No HTML here: templates
render these dictionaries and the charts read their ``chart`` parts as JSON."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from console.adapters.services import PlatformApi, ServiceUnavailable
from console.settings import Settings
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    NOTIFIER_CONTACTS,
    RESTRUCTURE_PLANS,
    kafka_group_id,
)
from lendkit.ops.dead_letters import DeadLetter, all_dead_letters
from lendkit.ops.lag import PartitionLag, consumer_lags
from lendkit.ops.tail import EventLine, loan_events, loan_topics, read_lines

T = TypeVar("T")
#: At most this many points on a chart over time (the days are sampled evenly beyond it).
MAX_POINTS = 31
_PARALLEL = 6


@dataclass(frozen=True)
class Panel:
    """One part of a page: its data, or why it is missing."""

    data: Any = None
    unavailable: str | None = None


async def panel(call: Awaitable[T]) -> Panel:
    try:
        return Panel(await call)
    except ServiceUnavailable as exc:
        return Panel(None, exc.detail)


def sampled(days: Sequence[date], most: int = MAX_POINTS) -> list[date]:
    """At most ``most`` of ``days``, evenly spread, always with the first and the last."""
    if len(days) <= most:
        return list(days)
    step = (len(days) - 1) / (most - 1)
    return sorted({days[round(i * step)] for i in range(most)})


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


async def _gather_limited(calls: Sequence[Awaitable[T]]) -> list[T]:
    gate = asyncio.Semaphore(_PARALLEL)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(c) for c in calls)))


# Portfolio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date


async def portfolio_period(
    api: PlatformApi, settings: Settings, start: date | None, end: date | None
) -> Period | None:
    """The period asked for, within the closed business days (default: the last
    ``portfolio_days`` closed days). None when no day is closed yet."""
    clock = await api.get("overdue", "/business-clock")
    first, last = clock.get("first_closed_day"), clock.get("last_closed_day")
    if not first or not last:
        return None
    first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    end = min(end or last_day, last_day)
    start = max(start or end - timedelta(days=settings.portfolio_days - 1), first_day)
    return Period(min(start, end), end)


async def portfolio(api: PlatformApi, settings: Settings, period: Period) -> dict[str, Any]:
    today, over_time, rolls, cures, penalties = await asyncio.gather(
        panel(api.get("overdue", "/portfolio/summary", as_of=period.end.isoformat())),
        panel(bucket_history(api, period)),
        panel(
            api.get(
                "overdue",
                "/portfolio/roll-rates",
                **{"from": period.start.isoformat(), "to": period.end.isoformat()},
            )
        ),
        panel(cure_rates(api, period)),
        penalty_income(settings),
    )
    return {
        "period": period,
        "today": today,
        "over_time": over_time,
        "rolls": rolls,
        "cures": cures,
        "penalties": penalties,
    }


async def bucket_history(api: PlatformApi, period: Period) -> dict[str, Any]:
    """Loans per bucket on each (sampled) closed day: the chart's series and the table."""
    days = sampled(days_between(period.start, period.end))
    answers = await _gather_limited(
        [api.get("overdue", "/portfolio/summary", as_of=d.isoformat()) for d in days]
    )
    buckets: list[str] = []
    per_day: list[Counter[str]] = []
    for answer in answers:
        counts: Counter[str] = Counter()
        for row in (answer or {}).get("buckets", []):
            counts[row["bucket"]] += row["loans"]
            if row["bucket"] not in buckets:
                buckets.append(row["bucket"])
        per_day.append(counts)
    return {
        "days": [d.isoformat() for d in days],
        "buckets": buckets,
        "series": {b: [c.get(b, 0) for c in per_day] for b in buckets},
    }


async def cure_rates(api: PlatformApi, period: Period, windows: int = 6) -> list[dict[str, Any]]:
    """The cure rate over the period, and over up to ``windows`` consecutive parts of it."""
    days = days_between(period.start, period.end)
    size = max(len(days) // windows, 1)
    parts = [(days[i], days[min(i + size, len(days)) - 1]) for i in range(0, len(days), size)]
    parts = [(period.start, period.end), *parts] if len(parts) > 1 else parts
    answers = await _gather_limited(
        [
            api.get(
                "overdue", "/portfolio/cure-rate", **{"from": a.isoformat(), "to": b.isoformat()}
            )
            for a, b in parts
        ]
    )
    return [
        {"from": a.isoformat(), "to": b.isoformat(), "cure_rate": (r or {}).get("cure_rate")}
        for (a, b), r in zip(parts, answers, strict=True)
    ]


async def penalty_income(settings: Settings) -> Panel:
    """Penalty the ledger booked per business day and currency (waivers are negative), from
    the newest ``ledger.charge.booked`` events: the ledger serves no portfolio total."""
    try:
        lines = await read_lines(
            settings.kafka_bootstrap_servers,
            [settings.topic_namespace + LEDGER_LOANS],
            last=settings.history_records,
        )
    except Exception as exc:  # the broker is down: say so on the panel
        return Panel(None, f"{type(exc).__name__}: {exc}")
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        p = line.payload
        if (
            line.type == "ledger.charge.booked.v1"
            and isinstance(p, dict)
            and p.get("component") == "penalty"
        ):
            totals[(str(p["business_date"]), str(p["currency"]))] += int(p["amount_minor"])
    days = sorted({d for d, _ in totals})
    currencies = sorted({c for _, c in totals})
    return Panel(
        {
            "days": days,
            "currencies": currencies,
            "series": {c: [totals.get((d, c), 0) for d in days] for c in currencies},
            "rows": [(d, c, totals[(d, c)]) for d in days for c in currencies if (d, c) in totals],
        }
    )


# Loans ---------------------------------------------------------------------------------


async def loans_page(
    api: PlatformApi, cursor: str | None, limit: int, status: str | None
) -> dict[str, Any]:
    page = await api.get("ledger", "/loans", cursor=cursor, limit=limit, status=status)
    return {"items": page["items"], "next_cursor": page.get("next_cursor")}


async def loan(api: PlatformApi, settings: Settings, loan_id: str, locale: str) -> dict[str, Any]:
    detail = await api.get("ledger", f"/loans/{loan_id}")
    if detail is None:
        return {"found": False, "loan_id": loan_id}
    payments, journal, explanation, attempts, restructuring, timeline = await asyncio.gather(
        panel(api.get("ledger", f"/loans/{loan_id}/payments")),
        panel(api.get("ledger", f"/loans/{loan_id}/journal")),
        panel(api.get("overdue", f"/loans/{loan_id}/explanation", locale=locale)),
        panel(api.get("notifier", f"/loans/{loan_id}/contact-attempts", limit=100)),
        panel(api.get("restructure", f"/loans/{loan_id}/restructuring")),
        topic_panel(
            loan_events(
                settings.kafka_bootstrap_servers,
                loan_topics(settings.topic_namespace),
                loan_id,
                last=settings.history_records,
            )
        ),
    )
    events: list[EventLine] = timeline.data or []
    charges = [e for e in events if e.type == "ledger.charge.booked.v1"]
    plans = [e for e in events if e.type.startswith("restructure.")]
    return {
        "found": True,
        "loan_id": loan_id,
        "detail": detail,
        "payments": payments,
        "journal": journal,
        "explanation": explanation,
        "attempts": attempts,
        "restructuring": restructuring,
        "timeline": timeline,
        "charges": charges,
        "plans": plans,
    }


async def topic_panel(call: Awaitable[T]) -> Panel:
    try:
        return Panel(await call)
    except Exception as exc:  # the broker is down: say so on the panel
        return Panel(None, f"{type(exc).__name__}: {exc}")


# Live events: lag and dead letters --------------------------------------------------------


async def lags(settings: Settings) -> list[PartitionLag]:
    ns = settings.topic_namespace
    found = await consumer_lags(
        settings.kafka_bootstrap_servers, [kafka_group_id(ns, g) for g in settings.consumer_groups]
    )
    return [p for p in found if p.topic.startswith(ns)] if ns else found


async def dead_letters(settings: Settings) -> list[DeadLetter]:
    return await all_dead_letters(
        settings.kafka_bootstrap_servers,
        settings.consumer_groups,
        namespace=settings.topic_namespace,
    )


# Contacts and plans --------------------------------------------------------------------------


async def contacts(settings: Settings) -> dict[str, Any]:
    """Contact outcomes by channel, suppressions by rule, delivery rate per channel and the
    undeliverable messages (failed, or suppressed as undeliverable), from the newest records
    of the notifier's topic."""
    lines = await read_lines(
        settings.kafka_bootstrap_servers,
        [settings.topic_namespace + NOTIFIER_CONTACTS],
        last=settings.history_records,
    )
    outcome: Counter[tuple[str, str]] = Counter()
    rules: Counter[str] = Counter()
    failed: list[EventLine] = []
    for line in lines:
        p = line.payload if isinstance(line.payload, dict) else {}
        kind = line.type.removeprefix("notifier.message.").rsplit(".v", 1)[0]
        outcome[(str(p.get("channel") or "-"), kind)] += 1
        if kind == "suppressed":
            rules[str(p.get("rule") or "-")] += 1
        if kind == "failed" or p.get("undeliverable") is True:
            failed.append(line)
    channels = sorted({c for c, _ in outcome})
    kinds = sorted({k for _, k in outcome})
    delivery = {
        c: (outcome[(c, "delivered")] / outcome[(c, "sent")]) if outcome[(c, "sent")] else None
        for c in channels
    }
    return {
        "channels": channels,
        "kinds": kinds,
        "outcome": {c: {k: outcome[(c, k)] for k in kinds} for c in channels},
        "rules": dict(rules.most_common()),
        "delivery": delivery,
        "failed": failed[-50:],
        "seen": len(lines),
    }


async def plans(settings: Settings) -> dict[str, Any]:
    lines = await read_lines(
        settings.kafka_bootstrap_servers,
        [settings.topic_namespace + RESTRUCTURE_PLANS],
        last=settings.history_records,
    )
    by_type = Counter(line.type for line in lines)
    return {"by_type": dict(by_type.most_common()), "recent": lines[-50:], "seen": len(lines)}


# Contacts and plans from the services' REST ---------------------------------------------------

#: At most this many pages of a list are read to count it by status (500 rows a page).
MAX_PAGES = 20
_PAGE = 500


async def all_items(api: PlatformApi, service: str, path: str, **params: Any) -> list[Any]:
    """Every item of a paginated list (``items``/``next_cursor``), at most ``MAX_PAGES``."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await api.get(service, path, cursor=cursor, limit=_PAGE, **params)
        if page is None:
            break
        items.extend(page.get("items", []))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


def _rate(value: float | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def contact_reports(api: PlatformApi) -> dict[str, Panel]:
    """The notifier's ops reports: suppressions by rule, delivery and time to receipt per
    channel and provider, and the mandatory notices it could not deliver."""
    suppressions, delivery, undeliverable = await asyncio.gather(
        panel(api.get("notifier", "/ops/suppressions")),
        panel(api.get("notifier", "/ops/delivery")),
        panel(api.get("notifier", "/ops/undeliverable-notices", limit=100)),
    )
    if delivery.data is not None:
        rows = [
            {**r, "delivery_rate": _rate(r.get("delivery_rate"))}
            for r in delivery.data.get("by_channel_and_provider", [])
        ]
        delivery = Panel({**delivery.data, "by_channel_and_provider": rows})
    return {"suppressions": suppressions, "delivery": delivery, "undeliverable": undeliverable}


def by_status(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(str(i.get("status")) for i in items).most_common())


async def plan_reports(api: PlatformApi) -> dict[str, Panel]:
    """Requests, offers and plans by status, offers awaiting a checker, and the rates by
    product and plan type, from the restructure service."""
    requests, offers, plans_, rates = await asyncio.gather(
        panel(all_items(api, "restructure", "/hardship-requests")),
        panel(all_items(api, "restructure", "/offers")),
        panel(all_items(api, "restructure", "/plans")),
        panel(api.get("restructure", "/rates")),
    )
    counts = {
        name: Panel(None if p.data is None else by_status(p.data), p.unavailable)
        for name, p in (("requests", requests), ("offers", offers), ("plans", plans_))
    }
    waiting = Panel(
        None
        if offers.data is None
        else [o for o in offers.data if o.get("status") == "pending_approval"],
        offers.unavailable,
    )
    if rates.data is not None:
        keys = ("uptake", "completion", "break_rate", "promise_kept")
        rates = Panel([{**r, **{k: _rate(r.get(k)) for k in keys}} for r in rates.data])
    return {**counts, "waiting": waiting, "rates": rates}
