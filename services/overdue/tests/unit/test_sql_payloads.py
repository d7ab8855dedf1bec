"""What close of business writes to the outbox with SQL is each contract model's own JSON.

The overdue service builds no payload in SQL (no ``jsonb_build_object``): close of business
reviews loans in Python and hands ``adapters.close_of_business`` the contract models, whose
JSON (``lendkit.outbox.writer.prebuilt``) the ``INSERT ... SELECT FROM unnest`` writes as is.
Here every kind of event a close emits is checked field by field against its model in
``lendkit.contracts.overdue``, and the service's SQL is checked to build no JSON itself.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from lendkit.contracts import overdue as contract
from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.outbox.writer import prebuilt
from overdue.adapters.records import LoanDayInput, TrackedLoan
from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate
from overdue.domain.penalty import PenaltyState
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.loan_day import review_loan_day

PACKAGE = Path(__file__).resolve().parents[2] / "overdue"
POLICY = OverduePolicy(
    arrears_grace_days=3, penalty_daily_rate=Decimal("0.0005"), absolute_penalty_cap_minor=1_000
)


def _day() -> LoanDayInput:
    """The worked example's loan: instalment 2 (due 2026-03-15) unpaid, never reviewed."""
    loan = TrackedLoan(
        loan_id="L1",
        borrower_id="B1",
        product_code="P",
        currency="CNY",
        principal_minor=1_000_000,
        disbursed_on=date(2026, 1, 15),
        oldest_unpaid_due_date=date(2026, 3, 15),
        bucket="current",
        stage="current",
        in_arrears=False,
        charge_off_candidate=False,
        paused=False,
        pause_reason=None,
        penalty=PenaltyState(),
        fees_charged_minor=0,
        gate=CreditReportGate(),
    )
    return LoanDayInput(
        loan=loan,
        overdue=OverdueBreakdown(principal_minor=77_830, interest_minor=13_850),
        oldest_unpaid_seq=2,
        interest_charged_minor=28_850,
    )


def _close_of_business_events() -> list[EventPayload]:
    """Closes 4 days and ``credit_report_notice_dpd`` days past due: every kind of event
    close of business emits but the reportable one (it needs a delivered notice)."""
    events: list[EventPayload] = []
    for dpd in (4, POLICY.credit_report_notice_dpd):
        events += review_loan_day(_day(), date(2026, 3, 15) + timedelta(days=dpd), POLICY).events
    return events


def test_close_of_business_emits_each_kind_of_event() -> None:
    kinds = {type(e) for e in _close_of_business_events()}
    assert kinds == {
        contract.LoanBecameOverdue,
        contract.BucketChanged,
        contract.StageChanged,
        contract.PenaltyAssessed,
        contract.CreditReportNoticeDue,
    }


def test_the_json_written_by_sql_is_the_contract_models_field_by_field() -> None:
    for payload in _close_of_business_events():
        model = type(payload)
        written_model, key, written = prebuilt(payload)
        body = json.loads(written)
        assert written_model is model
        assert set(body) == set(model.model_fields), model.__name__
        for name, value in body.items():
            expected = json.loads(payload.model_dump_json(include={name}))[name]
            assert value == expected, (model.__name__, name)
        assert model.model_validate(body) == payload
        key_field = CATALOGUE.spec_for_model(model).key_field
        assert key == (None if key_field is None else body[key_field])


def test_no_payload_is_built_in_the_services_sql() -> None:
    """A payload built in SQL would need its own field-by-field test against the model."""
    builders = re.compile(r"jsonb?_build_object|to_jsonb?\(|row_to_json", re.IGNORECASE)
    found = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if builders.search(path.read_text())
    ]
    assert found == []
