"""The console's pages and fragments (Jinja2 templates, htmx for the parts that refresh,
server-sent events for live events). Routes parse the request, call a view and render."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

import lendkit.contracts  # noqa: F401 - registers every event type in the catalogue
from console import i18n, views
from console.adapters.services import ServiceUnavailable
from console.entrypoints.session import (
    COOKIE,
    LANG_COOKIE,
    AdminViewer,
    Locale,
    Refused,
    Viewer,
    principal_of,
)
from console.settings import Settings
from lendkit.auth import Principal, Role
from lendkit.dead_letters import replay
from lendkit.events.catalogue import CATALOGUE
from lendkit.ops.tail import EventLine, TailFilter
from lendkit.problems import ProblemError

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter()
_HEARTBEAT_SECONDS = 15.0
_MAX_FORM_BYTES = 16_384


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def render(
    request: Request,
    template: str,
    locale: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings = _settings(request)
    zone = settings.business_timezone

    def elapsed_ms() -> str:
        return f"{(time.perf_counter() - request.state.started) * 1000:.0f}"

    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "locale": locale,
            "locales": i18n.LOCALES,
            "t": lambda key, **v: i18n.t(key, locale, **v),
            "money": lambda minor, currency: i18n.money(minor, currency, locale),
            "number": lambda value: i18n.number(value, locale),
            "percent": lambda value: i18n.percent(value, locale),
            "seconds": lambda value: i18n.seconds(value, locale),
            "instant": lambda value: i18n.instant(value, zone, locale),
            "day": lambda value: i18n.business_date(value, locale),
            "zone": zone,
            "principal": principal,
            "is_admin": principal is not None and Role.ADMIN in principal.roles,
            "path": request.url.path,
            "elapsed_ms": elapsed_ms,
            "as_json": _script_json,
            **context,
        },
        status_code=status_code,
    )


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    return json.dumps(value, default=str, ensure_ascii=False).replace("<", "\\u003c")


async def form_field(request: Request, name: str) -> str:
    """One field of an ``application/x-www-form-urlencoded`` body (the console's forms)."""
    body = (await request.body())[:_MAX_FORM_BYTES].decode(errors="replace")
    values = parse_qs(body).get(name)
    return values[0] if values else ""


# Login ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, locale: Locale) -> HTMLResponse:
    return render(request, "login.html", locale, None)


@router.post("/login", response_class=HTMLResponse, response_model=None)
async def login(request: Request, locale: Locale) -> Response:
    token = (await form_field(request, "token")).strip()
    try:
        principal = principal_of(request.app.state.tokens, token)
    except Refused:
        return render(request, "login.html", locale, None, 403, error=i18n.t("refused", locale))
    except ProblemError as exc:
        message = f"{i18n.t('bad_token', locale)}: {exc.detail}"
        return render(request, "login.html", locale, None, 401, error=message)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_settings(request).secure_cookies,
        max_age=8 * 3600,
    )
    del principal
    return response


@router.post("/logout")
async def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/lang/{code}")
async def choose_language(code: str, next: str = "/") -> RedirectResponse:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 24 * 3600)
    return response


# Portfolio -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def portfolio_page(
    request: Request,
    principal: Viewer,
    locale: Locale,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    api, settings = request.app.state.api, _settings(request)
    try:
        period = await views.portfolio_period(api, settings, start, end)
    except ServiceUnavailable as exc:
        return render(request, "portfolio.html", locale, principal, unavailable=exc.detail)
    data = None if period is None else await views.portfolio(api, settings, period)
    return render(request, "portfolio.html", locale, principal, data=data, unavailable=None)


# Loans ----------------------------------------------------------------------------------


@router.get("/loans", response_class=HTMLResponse, response_model=None)
async def loans_page(
    request: Request,
    principal: Viewer,
    locale: Locale,
    cursor: str | None = None,
    status: Annotated[str | None, Query(pattern="^(active|settled)$")] = None,
    loan_id: str | None = None,
) -> Response:
    if loan_id:
        return RedirectResponse(f"/loans/{loan_id.strip()}", status_code=303)
    api, settings = request.app.state.api, _settings(request)
    try:
        page = await views.loans_page(api, cursor, settings.loans_page_size, status)
    except ServiceUnavailable as exc:
        return render(request, "loans.html", locale, principal, unavailable=exc.detail)
    return render(
        request, "loans.html", locale, principal, page=page, status=status, unavailable=None
    )


@router.get("/loans/{loan_id}", response_class=HTMLResponse)
async def loan_page(
    request: Request, loan_id: str, principal: Viewer, locale: Locale
) -> HTMLResponse:
    api, settings = request.app.state.api, _settings(request)
    try:
        data = await views.loan(api, settings, loan_id, locale)
    except ServiceUnavailable as exc:
        return render(request, "loan.html", locale, principal, data=None, unavailable=exc.detail)
    status = 200 if data["found"] else 404
    return render(request, "loan.html", locale, principal, status, data=data, unavailable=None)


# Live events ---------------------------------------------------------------------------------


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    principal: Viewer,
    locale: Locale,
    type: str | None = None,
    loan_id: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "events.html",
        locale,
        principal,
        type_filter=type or "",
        loan_filter=loan_id or "",
        event_types=_known_types(),
    )


def _known_types() -> list[str]:
    return sorted(spec.type for spec in CATALOGUE)


def _line_json(line: EventLine, zone: str, locale: str) -> str:
    body = line.as_dict()
    body["local_time"] = i18n.instant(line.time, zone, locale)
    return json.dumps(body, default=str, ensure_ascii=False)


@router.get("/events/stream")
async def event_stream(
    request: Request,
    _: Viewer,
    locale: Locale,
    type: str | None = None,
    loan_id: str | None = None,
) -> StreamingResponse:
    """Server-sent events: each CloudEvent as it arrives, as one JSON ``data`` line."""
    hub = request.app.state.hub
    zone = _settings(request).business_timezone
    types = tuple(t.strip() for t in (type or "").split(",") if t.strip())
    where = TailFilter(types, (loan_id or "").strip() or None)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        watch = hub.watch(where)
        try:
            while not await request.is_disconnected():
                try:
                    line = await asyncio.wait_for(watch.next(), _HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                ident = f"{line.topic}:{line.partition}:{line.offset}"
                yield f"id: {ident}\nevent: cloudevent\ndata: {_line_json(line, zone, locale)}\n\n"
        finally:
            watch.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/events/lag", response_class=HTMLResponse)
async def lag_fragment(request: Request, principal: Viewer, locale: Locale) -> HTMLResponse:
    try:
        lags, error = await views.lags(_settings(request)), None
    except Exception as exc:  # the broker is down: the fragment says so
        lags, error = [], f"{type(exc).__name__}: {exc}"
    return render(request, "partials/lag.html", locale, principal, lags=lags, error=error)


@router.get("/events/dead-letters", response_class=HTMLResponse)
async def dead_letters_fragment(
    request: Request, principal: Viewer, locale: Locale, message: str | None = None
) -> HTMLResponse:
    try:
        letters, error = await views.dead_letters(_settings(request)), None
    except Exception as exc:  # the broker is down: the fragment says so
        letters, error = [], f"{type(exc).__name__}: {exc}"
    return render(
        request,
        "partials/dead_letters.html",
        locale,
        principal,
        letters=letters,
        error=error,
        message=message,
        groups=_settings(request).consumer_groups,
    )


@router.post("/events/dead-letters/replay", response_class=HTMLResponse)
async def replay_dead_letters(
    request: Request,
    principal: AdminViewer,
    locale: Locale,
) -> HTMLResponse:
    """Admins only; from the page (htmx sends ``HX-Request``, which a cross-site form cannot)."""
    settings = _settings(request)
    group = await form_field(request, "group")
    if request.headers.get("hx-request") != "true":
        raise ProblemError(403, "Forbidden", "Replay is started from the console page")
    if group not in settings.consumer_groups:
        raise ProblemError(422, "Unknown group", f"{group!r} is not a consumer group shown here")
    result = await replay(settings.kafka_bootstrap_servers, settings.topic_namespace + group)
    message = (
        f"{i18n.t('replayed', locale)}: {result.replayed} ({group}); "
        f"{i18n.t('parked', locale)}: {result.skipped}"
    )
    return await dead_letters_fragment(request, principal, locale, message)


# Contacts and plans ---------------------------------------------------------------------------


@router.get("/contacts", response_class=HTMLResponse)
async def contacts_page(
    request: Request, principal: Viewer, locale: Locale, loan_id: str | None = None
) -> HTMLResponse:
    settings, api = _settings(request), request.app.state.api
    summary, reports = await asyncio.gather(
        views.topic_panel(views.contacts(settings)), views.contact_reports(api)
    )
    record = None
    if loan_id:
        record = await views.panel(
            api.get("notifier", f"/loans/{loan_id.strip()}/contact-attempts", limit=100)
        )
    return render(
        request,
        "contacts.html",
        locale,
        principal,
        summary=summary,
        reports=reports,
        record=record,
        loan_filter=loan_id or "",
    )


@router.get("/plans", response_class=HTMLResponse)
async def plans_page(request: Request, principal: Viewer, locale: Locale) -> HTMLResponse:
    summary, reports = await asyncio.gather(
        views.topic_panel(views.plans(_settings(request))),
        views.plan_reports(request.app.state.api),
    )
    return render(request, "plans.html", locale, principal, summary=summary, reports=reports)
