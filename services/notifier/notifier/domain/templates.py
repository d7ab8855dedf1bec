"""Message templates: Jinja2 in zh-CN and en, money with Babel, an opt-out line in every text
and email; each template has a version recorded on the attempt."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency
from jinja2 import DictLoader, Environment, StrictUndefined

TEMPLATE_VERSION = "2026-12-03.1"

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
    "en/collection_reminder": "Your loan {{ loan_id }} is still overdue (collection stage "
    "{{ stage }}). Please pay, or see help and restructuring options: {{ help_url }}",
    "zh-CN/collection_reminder": "您的贷款 {{ loan_id }} 仍处于逾期（催收阶段 {{ stage }}）。请尽快还款，或查看帮助与重组方案：{{ help_url }}",
    "en/cured": "Thank you: loan {{ loan_id }} is no longer overdue.",
    "zh-CN/cured": "感谢您：贷款 {{ loan_id }} 已不再逾期。",
    "en/upcoming_reminder": "Reminder: your instalment of {{ amount }} is due on {{ due_date }}."
    "{% if penalty_rate %} A missed payment costs a penalty of {{ penalty_rate }} of the overdue "
    "amount per day, and is reported to the credit bureau after {{ credit_report_dpd }} days "
    "overdue.{% endif %}",
    "zh-CN/upcoming_reminder": "温馨提示：您的 {{ amount }} 还款将于 {{ due_date }} 到期。"
    "{% if penalty_rate %}逾期将按未还金额每日 {{ penalty_rate }} 收取罚息，逾期 {{ credit_report_dpd }} "
    "天后将报送征信。{% endif %}",
    "en/opt_out_confirmation": "You will receive no more messages on this channel. "
    "Notices the law requires may still reach you another way.",
    "zh-CN/opt_out_confirmation": "您已退订，此渠道将不再向您发送消息。法律要求的通知可能通过其他方式送达。",
    "en/digest": "Your loan updates today:",
    "zh-CN/digest": "您今天的贷款提醒：",
    "en/restructure_offer": "An offer to restructure loan {{ loan_id }} is waiting for you until "
    "{{ expires_on }}. Details: {{ help_url }}",
    "zh-CN/restructure_offer": "贷款 {{ loan_id }} 的重组方案已为您准备，有效期至 {{ expires_on }}。详情：{{ help_url }}",
    "en/plan_broken": "The repayment plan of loan {{ loan_id }} was broken on {{ broken_on }}. "
    "Help: {{ help_url }}",
    "zh-CN/plan_broken": "贷款 {{ loan_id }} 的还款计划已于 {{ broken_on }} 中断。帮助：{{ help_url }}",
    "en/promise_due": "Reminder: you promised a payment on loan {{ loan_id }} by "
    "{{ promised_on }}; {{ amount }} of it is still to pay.",
    "zh-CN/promise_due": "温馨提示：您承诺于 {{ promised_on }} 前为贷款 {{ loan_id }} 还款，尚需还款 {{ amount }}。",
}
#: Purposes whose text is not followed by the opt-out line (the confirmation of an opt-out).
_NO_OPT_OUT_LINE = frozenset({"opt_out_confirmation"})
_OPT_OUT = {"en": "Reply STOP to opt out.", "zh-CN": "回复退订或TD退订。"}
_ENV = Environment(loader=DictLoader(_TEXTS), undefined=StrictUndefined, autoescape=False)  # noqa: S701 - plain text (SMS, push, text email), never HTML
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Rendered:
    template: str
    version: str
    body: str


_LOCALES = {"zh-CN": Locale.parse("zh_CN"), "en": Locale.parse("en_US")}


@lru_cache(maxsize=65_536)
def money(amount_minor: int, currency: str, language: str) -> str:
    """An amount in the language's currency format (Babel). Cached: a day's messages repeat
    the same instalment and arrears amounts, and Babel's pattern application is most of a
    message's rendering time."""
    locale = _LOCALES.get(language, _LOCALES["en"])  # parsed once, not per message
    return format_currency(Decimal(amount_minor) / 100, currency, locale=locale)


def render(
    purpose: str, language: str, channel: str, context: dict[str, str], *, opt_out_line: bool = True
) -> Rendered:
    """One message; an amount given as ``amount_minor`` + ``currency`` is written in the
    borrower's language (Babel), whatever the trigger wrote in ``amount``."""
    language = language if language in LANGUAGES else "en"
    name = f"{language}/{purpose}"
    values = dict(context)
    if values.get("amount_minor", "").isdigit() and values.get("currency"):
        values["amount"] = money(int(values["amount_minor"]), values["currency"], language)
    body = _ENV.get_template(name).render(**values)
    if opt_out_line and channel in ("sms", "email") and purpose not in _NO_OPT_OUT_LINE:
        body = f"{body} {_OPT_OUT[language]}"
    return Rendered(template=name, version=TEMPLATE_VERSION, body=body)


def render_digest(parts: list[tuple[str, dict[str, str]]], language: str, channel: str) -> Rendered:
    """Several triggers of one day as one message: a heading, each part's text, one opt-out
    line. ``parts`` are (purpose, context)."""
    heading = render("digest", language, channel, {}, opt_out_line=False)
    bodies = [render(p, language, channel, c, opt_out_line=False).body for p, c in parts]
    language = language if language in LANGUAGES else "en"
    body = " ".join([heading.body, *(f"({n}) {b}" for n, b in enumerate(bodies, 1))])
    if channel in ("sms", "email"):
        body = f"{body} {_OPT_OUT[language]}"
    return Rendered(template=heading.template, version=TEMPLATE_VERSION, body=body)
