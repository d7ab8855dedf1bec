"""Message templates: Jinja2 in zh-CN and en, money with Babel, an opt-out line in every text
and email; each template has a version recorded on the attempt."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency
from jinja2 import DictLoader, Environment, StrictUndefined

TEMPLATE_VERSION = "2026-12-02.1"

_TEXTS: dict[str, str] = {
    "en/due_reminder": "Your instalment of {{ amount }} is due on {{ due_date }}."
    "{% if penalty_rate %} A missed payment costs a penalty of {{ penalty_rate }} of the overdue "
    "amount per day, and is reported to the credit bureau after {{ credit_report_dpd }} days "
    "overdue.{% endif %}",
    "zh-CN/due_reminder": "您的 {{ amount }} 还款将于 {{ due_date }} 到期。"
    "{% if penalty_rate %}逾期将按未还金额每日 {{ penalty_rate }} 收取罚息，逾期 {{ credit_report_dpd }} "
    "天后将报送征信。{% endif %}",
    "en/became_overdue": "Your loan {{ loan_id }} is overdue by {{ days }} days: {{ amount }} is unpaid. "
    "Help and restructuring options: {{ help_url }}",
    "zh-CN/became_overdue": "您的贷款 {{ loan_id }} 已逾期 {{ days }} 天，未还金额 {{ amount }}。帮助与重组方案：{{ help_url }}",
    "en/stage_changed": "Your loan {{ loan_id }} has moved to collection stage {{ stage }}. "
    "Help: {{ help_url }}",
    "zh-CN/stage_changed": "您的贷款 {{ loan_id }} 已进入催收阶段 {{ stage }}。帮助：{{ help_url }}",
    "en/credit_report_notice": "Notice: loan {{ loan_id }} is {{ days }} days overdue and may be "
    "reported to the credit bureau. Help: {{ help_url }}",
    "zh-CN/credit_report_notice": "通知：贷款 {{ loan_id }} 已逾期 {{ days }} 天，可能被报送征信。帮助：{{ help_url }}",
    "en/cured": "Thank you: loan {{ loan_id }} is no longer overdue.",
    "zh-CN/cured": "感谢您：贷款 {{ loan_id }} 已不再逾期。",
}
_OPT_OUT = {"en": "Reply STOP to opt out.", "zh-CN": "回复退订或TD退订。"}
_ENV = Environment(loader=DictLoader(_TEXTS), undefined=StrictUndefined, autoescape=False)  # noqa: S701 - plain text (SMS, push, text email), never HTML
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Rendered:
    template: str
    version: str
    body: str


_LOCALES = {"zh-CN": Locale.parse("zh_CN"), "en": Locale.parse("en_US")}


def money(amount_minor: int, currency: str, language: str) -> str:
    locale = _LOCALES.get(language, _LOCALES["en"])  # parsed once, not per message
    return format_currency(Decimal(amount_minor) / 100, currency, locale=locale)


def render(purpose: str, language: str, channel: str, context: dict[str, str]) -> Rendered:
    language = language if language in LANGUAGES else "en"
    name = f"{language}/{purpose}"
    body = _ENV.get_template(name).render(**context)
    if channel in ("sms", "email"):
        body = f"{body} {_OPT_OUT[language]}"
    return Rendered(template=name, version=TEMPLATE_VERSION, body=body)
