"""Who is looking: the platform's JWT (audience ``console``), kept in an HttpOnly cookie
after the login form, or sent as a bearer header. Ops and admin may use the console; a
token without either role (a borrower's) is refused. Replay needs admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from console.i18n import LOCALES
from lendkit.auth import Principal, Role, TokenCodec
from lendkit.problems import ProblemError

COOKIE = "console_session"
LANG_COOKIE = "console_lang"
CONSOLE_ROLES = frozenset({Role.OPS, Role.ADMIN})


class LoginRequired(Exception):
    """No valid token: the page sends the browser to the login form."""


class Refused(Exception):
    """A valid token without the ops or admin role."""


def token_of(request: Request) -> str | None:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    return request.cookies.get(COOKIE)


def principal_of(codec: TokenCodec, token: str) -> Principal:
    """The token's principal if it may use the console (:class:`Refused` otherwise);
    a token the codec rejects raises its 401 problem."""
    principal = codec.decode(token)
    if not principal.roles & CONSOLE_ROLES:
        raise Refused(principal.subject)
    return principal


def viewer(request: Request) -> Principal:
    token = token_of(request)
    if token is None:
        raise LoginRequired
    try:
        return principal_of(request.app.state.tokens, token)
    except ProblemError as exc:
        raise LoginRequired from exc
    # Refused (a valid token without ops or admin) goes on: the app answers 403.


def admin(principal: Annotated[Principal, Depends(viewer)]) -> Principal:
    if Role.ADMIN not in principal.roles:
        raise ProblemError(403, "Forbidden", "Replaying dead letters needs the admin role")
    return principal


Viewer = Annotated[Principal, Depends(viewer)]
AdminViewer = Annotated[Principal, Depends(admin)]


def locale_of(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return str(chosen)
    return str(request.app.state.settings.default_locale)


Locale = Annotated[str, Depends(locale_of)]
