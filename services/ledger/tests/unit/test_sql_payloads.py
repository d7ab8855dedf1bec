"""Payloads the ledger writes without its contract models, checked field by field against
them: ``ChargeBooked`` built by hand on the penalty batch path, and ``RepaymentUpcoming`` and
``RepaymentDue`` built by PostgreSQL (``jsonb_build_object``) at close of business."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import jsonschema
from pydantic import BaseModel

from ledger.adapters.close_of_business import DUE_ROWS, UPCOMING_ROWS
from ledger.adapters.penalty_batch import NewCharge, OpenInstalment, charge_booked_json
from lendkit.contracts.ledger import ChargeBooked, RepaymentDue, RepaymentUpcoming
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.money import InstalmentBalance

SCHEMA = Path(__file__).resolve().parents[4] / "docs/events/schemas/ledger.charge.booked.v1.json"

CHARGE = NewCharge(
    "2f1c1b1e-5a4b-4c7e-9d3e-0a1b2c3d4e5f", 'L-é"1', 2, 123, "CNY", date(2026, 3, 20), "ev-1"
)
INSTALMENTS = [
    OpenInstalment(1, date(2026, 2, 10), 0, 0, 0, 0),  # settled: not listed
    OpenInstalment(2, date(2026, 3, 10), 80_000, 12_000, 123, 0),
    OpenInstalment(3, date(2026, 4, 10), 80_000, 12_000, 0, 5),
]


def test_hand_built_charge_booked_is_byte_identical_to_the_model_and_fits_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    for version in (None, 42):
        text = charge_booked_json(CHARGE, INSTALMENTS, version)
        model = ChargeBooked.model_validate_json(text)
        assert model.model_dump_json() == text
        assert [b.seq for b in model.balances] == [2, 3]
        assert model.loan_version == version
        jsonschema.validate(json.loads(text), schema, cls=jsonschema.Draft202012Validator)


def test_hand_built_charge_booked_has_every_field_of_the_model_in_its_order() -> None:
    data = json.loads(charge_booked_json(CHARGE, INSTALMENTS, 7))
    assert list(data) == list(ChargeBooked.model_fields)
    for balance in data["balances"]:
        assert list(balance) == list(InstalmentBalance.model_fields)
    built = ChargeBooked(
        loan_id=CHARGE.loan_id,
        charge_id=CHARGE.charge_id,
        source_event_id=CHARGE.source_event_id,
        seq=CHARGE.seq,
        component=ContractComponent.PENALTY,
        amount_minor=CHARGE.amount,
        currency=CHARGE.currency,
        business_date=CHARGE.business_date,
        balances=[
            InstalmentBalance(
                seq=i.seq,
                due_date=i.due_date,
                principal_minor=i.principal,
                interest_minor=i.interest,
                penalty_minor=i.penalty,
                fee_minor=i.fee,
            )
            for i in INSTALMENTS
            if i.owed > 0
        ],
        loan_version=7,
    )
    for name in ChargeBooked.model_fields:
        assert data[name] == built.model_dump(mode="json")[name], name


def _objects(sql: str) -> list[list[str]]:
    """The keys of each ``jsonb_build_object(...)`` in ``sql``, outermost first: the string
    literal of every key position (even arguments at the call's own nesting level)."""
    found: list[list[str]] = []
    for start in (m.end() for m in re.finditer(r"jsonb_build_object\(", sql)):
        depth, args, current = 0, [], ""
        i = start
        while True:
            ch = sql[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    args.append(current.strip())
                    break
                depth -= 1
            if ch == "," and depth == 0:
                args.append(current.strip())
                current = ""
            else:
                current += ch
            i += 1
        keys = args[0::2]
        assert all(re.fullmatch(r"'[a-z_]+'", k) for k in keys), keys
        found.append([k.strip("'") for k in keys])
    return found


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_repayment_upcoming_payload_in_sql_has_exactly_the_contract_fields() -> None:
    (keys,) = _objects(UPCOMING_ROWS)
    assert len(keys) == len(set(keys))
    assert set(keys) == _fields(RepaymentUpcoming)


def test_repayment_due_payload_in_sql_has_exactly_the_contract_fields() -> None:
    outer, balance = _objects(DUE_ROWS)
    assert len(outer) == len(set(outer))
    assert set(outer) == _fields(RepaymentDue)
    assert set(balance) == _fields(InstalmentBalance)
    assert RepaymentDue.model_fields["balance"].annotation is InstalmentBalance
