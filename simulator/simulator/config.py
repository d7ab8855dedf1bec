"""The behaviour model's configuration: ``default.yaml`` beside this module, overridden by a
run's own file (YAML or TOML, same keys) and by the command line's flags."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductSpec(_Model):
    code: str
    currency: str
    schedule_type: str
    frequency: str
    term: int = Field(ge=1)
    annual_rate: Decimal
    weight: float = Field(gt=0)
    principal: tuple[int, int]
    #: The overdue policy's absolute per-loan penalty cap (minor units); None: only the
    #: annual cost ceiling caps penalties.
    absolute_penalty_cap_minor: int | None = None


class RegionSpec(_Model):
    timezone: str
    language: str
    jurisdiction: str
    weight: float = Field(gt=0)


class OnTime(_Model):
    weight: float = Field(ge=0)


class Forgetful(_Model):
    weight: float = Field(ge=0)
    pay_on_due: float = Field(ge=0, le=1)
    pay_daily: float = Field(ge=0, le=1)
    reminder_boost: dict[str, float] = Field(default_factory=dict)


class Hardship(_Model):
    weight: float = Field(ge=0)
    pay_daily: float = Field(ge=0, le=1)
    partial_share: float = Field(gt=0, le=1)
    partial_daily: float = Field(ge=0, le=1)
    asks_plan_after_dpd: int = Field(ge=1)
    keeps_plan: float = Field(ge=0, le=1)


class Promiser(_Model):
    weight: float = Field(ge=0)
    promise_after_dpd: int = Field(ge=1)
    promise_in_days: int = Field(ge=1)
    keeps_promise: float = Field(ge=0, le=1)
    pay_daily: float = Field(ge=0, le=1)


class Defaulter(_Model):
    weight: float = Field(ge=0)
    pay_daily: float = Field(default=0.0, ge=0, le=1)


class Archetypes(_Model):
    on_time: OnTime
    forgetful: Forgetful
    hardship: Hardship
    promiser: Promiser
    defaulter: Defaulter

    def weights(self) -> dict[str, float]:
        return {name: getattr(self, name).weight for name in type(self).model_fields}


class Reversals(_Model):
    share: float = Field(ge=0, le=1)
    after_days: tuple[int, int] = (1, 5)


class SimulationConfig(_Model):
    seed: int
    loans: int = Field(ge=1)
    days: int = Field(ge=1)
    start_date: date
    disbursement_days: int = Field(ge=1)
    vintage_days: int = Field(ge=1)
    products: list[ProductSpec] = Field(min_length=1)
    regions: list[RegionSpec] = Field(min_length=1)
    channels: dict[str, float]
    no_channel: float = Field(ge=0, le=1)
    archetypes: Archetypes
    reversals: Reversals
    concurrency: int = Field(default=16, ge=1, le=256)

    @model_validator(mode="after")
    def _disbursed_within_the_run(self) -> SimulationConfig:
        if self.disbursement_days > self.days:
            object.__setattr__(self, "disbursement_days", self.days)
        return self


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return tomllib.loads(text)
    loaded = yaml.safe_load(text) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: a mapping of settings expected")
    return loaded


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def default_settings() -> dict[str, Any]:
    # Beside this module, not ``importlib.resources.files("simulator")``: run from the
    # repository's root (``scripts/run.sh``), the project folder ``simulator/`` is on the
    # path first and names a namespace package ``simulator`` without the file.
    text = Path(__file__).with_name("default.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def load_config(path: Path | None = None, **overrides: Any) -> SimulationConfig:
    """Defaults, then ``path`` (YAML or TOML), then the non-None ``overrides``."""
    settings = default_settings()
    if path is not None:
        settings = _merge(settings, _read(path))
    settings = _merge(settings, {k: v for k, v in overrides.items() if v is not None})
    return SimulationConfig.model_validate(settings)
