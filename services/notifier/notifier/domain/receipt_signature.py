"""Signed delivery receipts: a provider signs the raw request body with HMAC-SHA256 under its
own secret and sends ``X-Notifier-Signature: sha256=<hex digest>``. The comparison is
constant-time (``hmac.compare_digest``)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Notifier-Signature"
_SCHEME = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value a provider sends for ``body``."""
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str | None, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``; False without a
    secret (an unconfigured provider) or without a header."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())
