"""What a borrower reads about plan types and refusals, in en and zh-CN."""

from __future__ import annotations

from typing import Literal

Locale = Literal["en", "zh-CN"]

PLAN_NAMES: dict[str, dict[Locale, str]] = {
    "payment_holiday": {"en": "Payment holiday", "zh-CN": "延期还款"},
    "term_extension": {"en": "Term extension", "zh-CN": "延长还款期限"},
    "re_amortisation": {"en": "Re-amortisation", "zh-CN": "重新分摊逾期金额"},
    "rate_reduction": {"en": "Rate reduction", "zh-CN": "降低利率"},
    "penalty_waiver": {"en": "Penalty and fee waiver", "zh-CN": "减免罚息和费用"},
    "discounted_settlement": {"en": "Discounted settlement", "zh-CN": "折扣结清"},
    "promise_to_pay": {"en": "Promise to pay", "zh-CN": "承诺还款"},
    "current_terms": {"en": "Current terms", "zh-CN": "当前条款"},
}

REASONS: dict[str, dict[Locale, str]] = {
    "type_not_offered": {"en": "This product does not offer it.", "zh-CN": "该产品不提供此方案。"},
    "dpd_below_minimum": {
        "en": "The loan is not yet late enough.",
        "zh-CN": "贷款逾期天数未达到要求。",
    },
    "dpd_above_maximum": {
        "en": "The loan is too far overdue.",
        "zh-CN": "贷款逾期天数超过上限。",
    },
    "too_many_restructures": {
        "en": "The loan was restructured too often in the last 12 months.",
        "zh-CN": "过去12个月内重组次数已达上限。",
    },
    "charged_off": {"en": "The loan is charged off.", "zh-CN": "贷款已核销。"},
    "active_plan": {"en": "The loan already has a plan.", "zh-CN": "贷款已有还款计划。"},
    "pending_request": {
        "en": "A request for this loan is pending.",
        "zh-CN": "该贷款已有待处理的申请。",
    },
    "too_few_payments": {
        "en": "Not enough instalments have been paid yet.",
        "zh-CN": "已还期数不足。",
    },
    "hardship_reason_required": {
        "en": "A hardship reason is required.",
        "zh-CN": "需要说明困难原因。",
    },
    "discount_too_large": {
        "en": "The discount is larger than allowed.",
        "zh-CN": "折扣超过允许范围。",
    },
    "no_remaining_instalments": {
        "en": "The loan has no remaining instalments to spread over.",
        "zh-CN": "贷款没有剩余期数可分摊。",
    },
}


def locale_of(lang: str | None, accept_language: str | None) -> Locale:
    """``lang`` if given, else the first of Accept-Language we have; en by default."""
    for candidate in [lang or "", *(accept_language or "").split(",")]:
        tag = candidate.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def plan_name(plan_type: str, locale: Locale) -> str:
    return PLAN_NAMES.get(plan_type, {}).get(locale, plan_type)


def reason_text(reason: str, locale: Locale) -> str:
    return REASONS.get(reason, {}).get(locale, reason)
