"""Shapes shared by several event payloads."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

# Money is a JSON integer, strictly: ``true``, ``1.0`` and ``"100"`` are refused, not read
# as 1, 1 and 100 minor units.
MinorUnits = Annotated[int, Strict(), Field(description="amount in minor units (fen, cents)")]
NonNegativeMinor = Annotated[
    int, Strict(), Field(ge=0, description="amount in minor units (fen, cents)")
]
PositiveMinor = Annotated[
    int, Strict(), Field(gt=0, description="amount in minor units (fen, cents)")
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Rate = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", description="decimal rate, e.g. 0.18")]


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class InstalmentTerms(Shape):
    seq: int = Field(ge=1)
    due_date: date
    principal_minor: NonNegativeMinor
    interest_minor: NonNegativeMinor


class InstalmentBalance(Shape):
    """What is still owed on one instalment, by component, after the event."""

    seq: int = Field(ge=1)
    due_date: date
    principal_minor: NonNegativeMinor
    interest_minor: NonNegativeMinor
    penalty_minor: NonNegativeMinor
    fee_minor: NonNegativeMinor


class AllocationLine(Shape):
    seq: int = Field(ge=1)
    component: Component
    amount_minor: NonNegativeMinor
