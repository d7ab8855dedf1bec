"""The Contacts and Plans pages' reports from the notifier's and restructure's REST (a fake
API answering the routes' documented shapes), and every word a template uses exists in both
languages."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from console import i18n, views
from console.adapters.services import ServiceUnavailable

pytestmark = pytest.mark.unit

TEMPLATES = Path(views.__file__).resolve().parent / "templates"


class FakeApi:
    def __init__(self, answers: dict[tuple[str, str], Any], down: set[str] = frozenset()):
        self.answers = answers
        self.down = down
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def get(self, service: str, path: str, **params: Any) -> Any:
        self.calls.append((service, path, params))
        if service in self.down:
            raise ServiceUnavailable(service, "ConnectError")
        answer = self.answers.get((service, path))
        return answer(params) if callable(answer) else answer


def _offer(offer_id: str, status: str) -> dict[str, Any]:
    return {
        "offer_id": offer_id,
        "loan_id": "L-1",
        "plan_type": "penalty_waiver",
        "status": status,
        "made_by": "ops-a",
        "needs_approval": status == "pending_approval",
        "forgiven_minor": 5_000,
        "expires_on": "2026-03-01",
        "quote": {"currency": "CNY", "name": "Penalty waiver"},
    }


async def test_plans_count_every_page_by_status_and_list_offers_awaiting_a_checker() -> None:
    offers = [_offer("O-1", "open"), _offer("O-2", "pending_approval"), _offer("O-3", "open")]

    def offers_page(params: dict[str, Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        return {
            "items": offers[start : start + 2],
            "next_cursor": str(start + 2) if start + 2 < len(offers) else None,
        }

    api = FakeApi(
        {
            ("restructure", "/hardship-requests"): {
                "items": [{"request_id": "R-1", "status": "pending"}],
                "next_cursor": None,
            },
            ("restructure", "/offers"): offers_page,
            ("restructure", "/plans"): {"items": [], "next_cursor": None},
            ("restructure", "/rates"): [
                {
                    "product_code": "P",
                    "plan_type": "payment_holiday",
                    "uptake": "0.5000",
                    "completion": None,
                    "break_rate": None,
                    "promise_kept": "1",
                }
            ],
        }
    )
    reports = await views.plan_reports(api)  # type: ignore[arg-type]
    assert reports["requests"].data == {"pending": 1}
    assert reports["offers"].data == {"open": 2, "pending_approval": 1}
    assert reports["plans"].data == {}
    assert [o["offer_id"] for o in reports["waiting"].data] == ["O-2"]
    assert reports["rates"].data[0]["uptake"] == Decimal("0.5000")
    assert reports["rates"].data[0]["completion"] is None


async def test_a_service_down_makes_its_panels_unavailable_not_the_page() -> None:
    api = FakeApi({}, down={"restructure", "notifier"})
    plans = await views.plan_reports(api)  # type: ignore[arg-type]
    contacts = await views.contact_reports(api)  # type: ignore[arg-type]
    assert all(p.unavailable for p in [*plans.values(), *contacts.values()])


async def test_contact_reports_keep_the_rates_exact() -> None:
    api = FakeApi(
        {
            ("notifier", "/ops/suppressions"): {"by_rule": [], "since": "x", "until": "y"},
            ("notifier", "/ops/delivery"): {
                "since": "x",
                "until": "y",
                "by_channel_and_provider": [
                    {
                        "channel": "sms",
                        "provider": "fake",
                        "sent": 3,
                        "delivered": 2,
                        "failed": 1,
                        "delivery_rate": 0.6666666666666666,
                        "median_seconds_to_receipt": 1.5,
                        "p90_seconds_to_receipt": 2.0,
                    }
                ],
            },
            ("notifier", "/ops/undeliverable-notices"): {"items": [], "next_cursor": None},
        }
    )
    reports = await views.contact_reports(api)  # type: ignore[arg-type]
    [row] = reports["delivery"].data["by_channel_and_provider"]
    assert row["delivery_rate"] == Decimal("0.6666666666666666")
    assert i18n.percent(row["delivery_rate"], "en") == "66.7%"
    assert (i18n.seconds(3.0, "en"), i18n.seconds(3.0, "zh-CN")) == ("3 sec", "3秒")
    assert i18n.seconds(None, "zh-CN") == "-"


def test_every_word_a_template_uses_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"\bt\(['\"]([a-z0-9_]+)['\"]\s*[,)]", template.read_text()))
    used |= {f"state_{s}" for s in ("suppressed", "undeliverable")}
    used |= {f"hardship_{n}" for n in ("requests", "offers", "plans")}
    missing = sorted(k for k in used if set(i18n.MESSAGES.get(k, {})) != {"en", "zh-CN"})
    assert not missing
