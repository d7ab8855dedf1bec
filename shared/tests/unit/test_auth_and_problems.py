"""JWT roles, borrower scoping and RFC 9457 problem documents."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from lendkit.auth import Principal, Role, TokenCodec, ensure_may_see, require_roles
from lendkit.pagination import decode_cursor, encode_cursor
from lendkit.problems import ProblemError, install_problem_handlers
from lendkit.settings import ServiceSettings

SETTINGS = ServiceSettings()
CODEC = TokenCodec(SETTINGS)


class Body(BaseModel):
    amount_minor: int


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.tokens = CODEC
    install_problem_handlers(app)

    @app.get("/loans/{borrower_id}")
    async def loans(
        borrower_id: str, who: Principal = Depends(require_roles(Role.BORROWER, Role.OPS))
    ) -> dict[str, str]:
        ensure_may_see(who, borrower_id)
        return {"borrower": borrower_id}

    @app.post("/pay")
    async def pay(
        body: Body, who: Principal = Depends(require_roles(Role.BORROWER))
    ) -> dict[str, int]:
        if body.amount_minor <= 0:
            raise ProblemError(422, "Amount must be positive", f"got {body.amount_minor}")
        return {"paid": body.amount_minor}

    return app


client = TestClient(make_app())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_token_is_401_problem_json() -> None:
    r = client.get("/loans/B-1")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Unauthorized"
    assert "WWW-Authenticate" in r.headers


def test_borrower_sees_only_their_own_loans() -> None:
    token = CODEC.issue("B-1", [Role.BORROWER])
    assert client.get("/loans/B-1", headers=auth(token)).status_code == 200
    other = client.get("/loans/B-2", headers=auth(token))
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


def test_ops_sees_any_borrower() -> None:
    assert (
        client.get("/loans/B-2", headers=auth(CODEC.issue("op-1", [Role.OPS]))).status_code == 200
    )


def test_wrong_role_is_403() -> None:
    r = client.post("/pay", json={"amount_minor": 1}, headers=auth(CODEC.issue("op-1", [Role.OPS])))
    assert r.status_code == 403
    assert r.json()["status"] == 403


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        TokenCodec(ServiceSettings(jwt_secret="another-secret-of-enough-length-xx")).issue(
            "B-1", ["borrower"]
        ),
        CODEC.issue("B-1", [Role.BORROWER], ttl_seconds=-10),
    ],
    ids=["garbage", "wrong-key", "expired"],
)
def test_bad_tokens_are_refused(token: str) -> None:
    assert client.get("/loans/B-1", headers=auth(token)).status_code == 401


def test_validation_errors_are_422_problems_listing_fields() -> None:
    token = CODEC.issue("B-1", [Role.BORROWER])
    r = client.post("/pay", json={"amount_minor": "ten"}, headers=auth(token))
    assert r.status_code == 422
    body = r.json()
    assert body["type"].endswith("/validation")
    assert body["errors"][0]["loc"] == ["body", "amount_minor"]


def test_domain_problem_carries_title_and_detail() -> None:
    token = CODEC.issue("B-1", [Role.BORROWER])
    r = client.post("/pay", json={"amount_minor": -5}, headers=auth(token))
    assert (r.status_code, r.json()["title"], r.json()["detail"]) == (
        422,
        "Amount must be positive",
        "got -5",
    )


def test_unknown_route_is_404_problem() -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_cursor_round_trip_and_tampering() -> None:
    assert decode_cursor(encode_cursor({"id": "L-9", "n": 3})) == {"id": "L-9", "n": 3}
    assert decode_cursor(None) is None
    with pytest.raises(ProblemError):
        decode_cursor("%%%not-base64")


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    import time

    codec = TokenCodec(SETTINGS)
    token = codec.issue("B-9", [Role.BORROWER], ttl_seconds=1)
    assert codec.decode(token).borrower_id == "B-9"  # verified and remembered
    time.sleep(1.6)
    with pytest.raises(ProblemError) as refused:
        codec.decode(token)
    assert refused.value.status == 401


def test_cursor_carrying_a_nul_character_is_refused() -> None:
    import base64

    for raw in (b'{"after": "L\\u0000x"}', b'{"after": "L\x00x"}'):
        forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        with pytest.raises(ProblemError):
            decode_cursor(forged)
