"""Delivery receipts are signed: HMAC-SHA256 of the raw body under the provider's secret."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from notifier.domain.receipt_signature import sign, signature_matches

pytestmark = pytest.mark.unit

BODY = b'{"attempt_id":"6f1c","status":"delivered"}'


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    expected = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", BODY) == f"sha256={expected}"
    assert signature_matches("s3cret", BODY, f"sha256={expected}")


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        ("other", BODY, sign("s3cret", BODY)),  # another provider's secret
        ("s3cret", BODY + b" ", sign("s3cret", BODY)),  # a changed body
        ("s3cret", BODY, None),  # unsigned
        (None, BODY, sign("s3cret", BODY)),  # a provider without a configured secret
        ("s3cret", BODY, sign("s3cret", BODY).upper()),
    ],
)
def test_anything_else_is_refused(secret: str | None, body: bytes, header: str | None) -> None:
    assert not signature_matches(secret, body, header)
