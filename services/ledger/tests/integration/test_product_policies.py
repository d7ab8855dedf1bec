"""Product policies are validated where they enter: POST /products refuses an unknown key
(naming it), a float rate or amount, and a day count out of range, with a 422 problem and no
product; a valid product is published with every policy block written out in full."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from ledger.adapters.repository import ProductRepository
from lendkit.auth import Role
from lendkit.contracts.policies import OverduePolicySpec
from lendkit.testing import read_events, unique

if TYPE_CHECKING:
    from conftest import Ledger


async def _post_product(ledger: Ledger, **fields: Any) -> tuple[str, Any]:
    code = unique("P")
    body = {"code": code, "currency": "CNY", "annual_rate": "0.12", "term": 3, **fields}
    r = await ledger.client.post(
        "/products",
        json=body,
        headers={**ledger.auth(Role.ADMIN), "Idempotency-Key": unique("k")},
    )
    return code, r


async def _assert_refused(ledger: Ledger, code: str, r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    async with ledger.runtime.session_factory() as session:
        assert await ProductRepository(session).get(code) is None
    problem: dict[str, Any] = r.json()
    return problem


async def test_unknown_policy_keys_are_refused_with_a_422_naming_them(ledger: Ledger) -> None:
    code, r = await _post_product(
        ledger,
        overdue_policy={"penalty_rate": "0.001", "arrears_grace_days": 3},
        notification_policy={"quiet_hour": []},
        restructure_policy={"allowed_options": ["term_extension"], "max_term": 12},
    )
    problem = await _assert_refused(ledger, code, r)
    assert "overdue_policy.penalty_rate" in problem["detail"]
    assert "notification_policy.quiet_hour" in problem["detail"]
    assert "restructure_policy.max_term" in problem["detail"]
    unknown = {tuple(e["loc"]) for e in problem["errors"] if e["type"] == "extra_forbidden"}
    assert unknown == {
        ("body", "overdue_policy", "penalty_rate"),
        ("body", "notification_policy", "quiet_hour"),
        ("body", "restructure_policy", "max_term"),
    }


@pytest.mark.parametrize(
    ("policy", "where"),
    [
        ({"penalty_daily_rate": 0.0005}, ["body", "overdue_policy", "penalty_daily_rate"]),
        ({"annual_cost_ceiling": 0.24}, ["body", "overdue_policy", "annual_cost_ceiling"]),
        (
            {"absolute_penalty_cap_minor": 1000.0},
            ["body", "overdue_policy", "absolute_penalty_cap_minor"],
        ),
        ({"arrears_grace_days": True}, ["body", "overdue_policy", "arrears_grace_days"]),
        ({"arrears_grace_days": "3"}, ["body", "overdue_policy", "arrears_grace_days"]),
    ],
)
async def test_float_rates_and_money_in_a_policy_are_refused(
    ledger: Ledger, policy: dict[str, Any], where: list[str]
) -> None:
    code, r = await _post_product(ledger, overdue_policy=policy)
    problem = await _assert_refused(ledger, code, r)
    assert [e["loc"] for e in problem["errors"]] == [where]


@pytest.mark.parametrize(
    "fields",
    [
        {"reminder_days_before": [3650]},
        {"reminder_days_before": [-1]},
        {"reminder_days_before": list(range(11))},
        {"overdue_policy": {"arrears_grace_days": 91}},
        {"overdue_policy": {"credit_report_wait_days": 366}},
        {"overdue_policy": {"escalation": {"legal_dpd": 100_000}}},
        {"overdue_policy": {"penalty_daily_rate": "0.5"}},
        {"notification_policy": {"max_call_attempts_per_7_days": 8}},
        {"notification_policy": {"quiet_hours": [{"jurisdiction": "US", "start": "25:00"}]}},
        {"restructure_policy": {"offer_expiry_days": 0}},
        {"restructure_policy": {"min_dpd": 90, "max_dpd": 30}},
        {"restructure_policy": {"on_break": "forgive_everything"}},
    ],
)
async def test_reminder_days_and_policy_day_counts_are_bounded(
    ledger: Ledger, fields: dict[str, Any]
) -> None:
    code, r = await _post_product(ledger, **fields)
    await _assert_refused(ledger, code, r)


async def test_a_valid_policy_is_accepted_and_published_in_full(ledger: Ledger) -> None:
    overdue = {
        "arrears_grace_days": 5,
        "penalty_daily_rate": "0.0003",
        "absolute_penalty_cap_minor": 50_000,
    }
    code, r = await _post_product(
        ledger,
        reminder_days_before=[7, 1],
        overdue_policy=overdue,
        notification_policy={"channels": ["push", "sms"], "max_call_attempts_per_7_days": 3},
        restructure_policy={"min_dpd": 1, "max_dpd": 90, "allowed_options": ["term_extension"]},
    )
    assert r.status_code == 201, r.text
    full = OverduePolicySpec.model_validate(overdue).model_dump(mode="json")
    assert r.json()["overdue_policy"] == full
    assert full["annual_cost_ceiling"] == "0.24"  # a default, written out

    (event,) = await read_events(["ledger.products"], count=1, keys=[code])
    payload = json.loads(event.data)
    assert payload["overdue_policy"] == full
    assert payload["notification_policy"]["channels"] == ["push", "sms"]
    assert payload["notification_policy"]["quiet_hours"] == [
        {"jurisdiction": "US", "start": "21:00", "end": "08:00"},
        {"jurisdiction": "CN", "start": "22:00", "end": "08:00"},
    ]
    assert payload["restructure_policy"] == {
        "min_dpd": 1,
        "max_dpd": 90,
        "max_restructures_in_12_months": 1,
        "offer_expiry_days": 7,
        "allowed_options": ["term_extension"],
        # the restructure service's eligibility, maker-checker and promise knobs, written out
        "min_payments_made": 0,
        "hardship_reason_required_for": [],
        "max_discount_bps": 0,
        "max_extension_periods": 12,
        "max_holiday_periods": 3,
        "deferred_interest": "capitalise",
        "approval_threshold_minor": 0,
        "plan_grace_days": 5,
        "on_break": "resume_collections",
        "promise_grace_days": 2,
        "promise_amount_threshold_minor": 0,
    }


async def test_the_openapi_of_post_products_shows_the_policy_schemas(ledger: Ledger) -> None:
    spec = (await ledger.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    product = schemas["ProductIn"]["properties"]
    for block, name in (
        ("overdue_policy", "OverduePolicySpec"),
        ("notification_policy", "NotificationPolicySpec"),
        ("restructure_policy", "RestructurePolicySpec"),
    ):
        assert product[block]["$ref"] == f"#/components/schemas/{name}"
        assert schemas[name]["additionalProperties"] is False
    rate = schemas["OverduePolicySpec"]["properties"]["penalty_daily_rate"]
    assert rate["type"] == "string"
