"""The batch path writes ChargeBooked JSON by hand: it must be what the contract model writes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema

from ledger.adapters.charge_book import NewCharge, OpenInstalment
from ledger.service_layer.charges import charge_booked_json
from lendkit.contracts.ledger import ChargeBooked

SCHEMA = Path(__file__).resolve().parents[4] / "docs/events/schemas/ledger.charge.booked.v1.json"


def test_hand_built_charge_booked_is_byte_identical_to_the_model_and_fits_the_schema() -> None:
    charge = NewCharge(
        "2f1c1b1e-5a4b-4c7e-9d3e-0a1b2c3d4e5f", 'L-é"1', 2, 123, "CNY", date(2026, 3, 20), "ev-1"
    )
    instalments = [
        OpenInstalment(1, date(2026, 2, 10), 0, 0, 0, 0),  # settled: not listed
        OpenInstalment(2, date(2026, 3, 10), 80_000, 12_000, 123, 0),
        OpenInstalment(3, date(2026, 4, 10), 80_000, 12_000, 0, 5),
    ]
    schema = json.loads(SCHEMA.read_text())
    for version in (None, 42):
        text = charge_booked_json(charge, instalments, version)
        model = ChargeBooked.model_validate_json(text)
        assert model.model_dump_json() == text
        assert [b.seq for b in model.balances] == [2, 3]
        assert model.loan_version == version
        jsonschema.validate(json.loads(text), schema, cls=jsonschema.Draft202012Validator)
