"""Tokens: a strong secret outside development mode, one audience per service, claims of the
right type."""

from __future__ import annotations

import time

import jwt
import pytest

from lendkit.auth import InsecureJwtSecret, Role, TokenCodec
from lendkit.problems import ProblemError
from lendkit.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings

STRONG = "a-production-secret-of-at-least-32-bytes"


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "short-secret"])
def test_default_or_short_jwt_secret_is_refused_outside_development_mode(secret: str) -> None:
    with pytest.raises(InsecureJwtSecret, match="JWT_SECRET"):
        TokenCodec(ServiceSettings(development_mode=False, jwt_secret=secret))
    TokenCodec(ServiceSettings(development_mode=True, jwt_secret=secret))  # development


def test_a_strong_secret_is_accepted_outside_development_mode() -> None:
    codec = TokenCodec(ServiceSettings(development_mode=False, jwt_secret=STRONG))
    assert codec.decode(codec.issue("op-1", [Role.OPS])).subject == "op-1"


def test_each_service_has_its_own_audience() -> None:
    ledger = TokenCodec(ServiceSettings(service_name="ledger", jwt_secret=STRONG))
    overdue = TokenCodec(ServiceSettings(service_name="overdue", jwt_secret=STRONG))
    token = ledger.issue("op-1", [Role.OPS])
    assert ledger.decode(token).subject == "op-1"
    with pytest.raises(ProblemError) as refused:
        overdue.decode(token)
    assert refused.value.status == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": 5},
        {"roles": None},
        {"roles": "ops"},
        {"roles": {"ops": True}},
        {"roles": [1]},
        {"borrower_id": 7},
    ],
    ids=["number", "null", "string", "object", "number-in-list", "borrower-id-number"],
)
def test_claims_of_the_wrong_type_are_401_not_500(claims: dict[str, object]) -> None:
    settings = ServiceSettings(service_name="ledger", jwt_secret=STRONG)
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": "x",
            "roles": ["borrower"],
            "iss": settings.jwt_issuer,
            "aud": settings.token_audience,
            "iat": now,
            "exp": now + 60,
            **claims,
        },
        STRONG,
        algorithm="HS256",
    )
    with pytest.raises(ProblemError) as refused:
        TokenCodec(settings).decode(token)
    assert refused.value.status == 401
