"""zh-CN and en: the console's words, money per currency and dates in the business timezone.

Money arrives in minor units with an ISO currency; it is shown with the currency's own
number of decimals (CNY and USD 2, JPY 0; Babel's CLDR data) as an exact ``Decimal``,
never a float. Instants are shown in the business timezone, business dates as dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

LOCALES = ("zh-CN", "en")
_BABEL = {"zh-CN": "zh_Hans_CN", "en": "en_US"}

MESSAGES: dict[str, dict[str, str]] = {
    "app": {"en": "Operations console", "zh-CN": "运营控制台"},
    "skip": {"en": "Skip to content", "zh-CN": "跳到正文"},
    "portfolio": {"en": "Portfolio", "zh-CN": "资产组合"},
    "loans": {"en": "Loans", "zh-CN": "贷款"},
    "loan": {"en": "Loan", "zh-CN": "贷款"},
    "events": {"en": "Live events", "zh-CN": "实时事件"},
    "contacts": {"en": "Contacts", "zh-CN": "联络"},
    "plans": {"en": "Plans", "zh-CN": "还款计划"},
    "login": {"en": "Sign in", "zh-CN": "登录"},
    "logout": {"en": "Sign out", "zh-CN": "退出"},
    "token": {"en": "Access token (JWT)", "zh-CN": "访问令牌（JWT）"},
    "token_help": {
        "en": "A platform token with the ops or admin role for the console.",
        "zh-CN": "平台签发的、具有 ops 或 admin 角色的控制台令牌。",
    },
    "refused": {
        "en": "This token may not use the console: it needs the ops or admin role.",
        "zh-CN": "此令牌无权使用控制台：需要 ops 或 admin 角色。",
    },
    "bad_token": {"en": "The token was not accepted", "zh-CN": "令牌无效"},
    "language": {"en": "Language", "zh-CN": "语言"},
    "as_of": {"en": "As of", "zh-CN": "截至"},
    "from": {"en": "From", "zh-CN": "起"},
    "to": {"en": "To", "zh-CN": "止"},
    "show": {"en": "Show", "zh-CN": "显示"},
    "bucket": {"en": "Bucket", "zh-CN": "逾期分组"},
    "currency": {"en": "Currency", "zh-CN": "币种"},
    "count": {"en": "Loans", "zh-CN": "笔数"},
    "times": {"en": "Count", "zh-CN": "次数"},
    "past_due": {"en": "Past due", "zh-CN": "逾期金额"},
    "outstanding_principal": {"en": "Outstanding principal", "zh-CN": "未偿本金"},
    "by_bucket": {
        "en": "Loans and amounts per bucket today",
        "zh-CN": "当日各逾期分组的笔数与金额",
    },
    "over_time": {"en": "Bucket distribution over time", "zh-CN": "逾期分组分布趋势"},
    "roll_rates": {"en": "Roll-rate matrix", "zh-CN": "迁徙率矩阵"},
    "roll_from": {
        "en": "From bucket (row) to bucket (column)",
        "zh-CN": "从分组（行）到分组（列）",
    },
    "cure_rate": {"en": "Cure rate", "zh-CN": "治愈率"},
    "penalty_income": {"en": "Penalty income", "zh-CN": "罚息收入"},
    "penalty_source": {
        "en": "Penalty charges booked by the ledger (ledger.charge.booked events), per business day.",
        "zh-CN": "账务服务入账的罚息（ledger.charge.booked 事件），按营业日汇总。",
    },
    "date": {"en": "Date", "zh-CN": "日期"},
    "amount": {"en": "Amount", "zh-CN": "金额"},
    "no_data": {"en": "Nothing to show yet.", "zh-CN": "暂无数据。"},
    "unavailable": {"en": "Unavailable", "zh-CN": "暂不可用"},
    "loan_id": {"en": "Loan id", "zh-CN": "贷款编号"},
    "borrower": {"en": "Borrower", "zh-CN": "借款人"},
    "product": {"en": "Product", "zh-CN": "产品"},
    "principal": {"en": "Principal", "zh-CN": "本金"},
    "interest": {"en": "Interest", "zh-CN": "利息"},
    "penalty": {"en": "Penalty", "zh-CN": "罚息"},
    "fee": {"en": "Fees", "zh-CN": "费用"},
    "credit": {"en": "Credit", "zh-CN": "溢缴款"},
    "total": {"en": "Total", "zh-CN": "合计"},
    "status": {"en": "Status", "zh-CN": "状态"},
    "disbursed_on": {"en": "Disbursed", "zh-CN": "放款日"},
    "next": {"en": "Next page", "zh-CN": "下一页"},
    "first": {"en": "First page", "zh-CN": "第一页"},
    "open": {"en": "Open", "zh-CN": "打开"},
    "find_loan": {"en": "Find a loan", "zh-CN": "查找贷款"},
    "schedule": {"en": "Schedule", "zh-CN": "还款计划表"},
    "balances": {"en": "Balances", "zh-CN": "余额"},
    "due_date": {"en": "Due date", "zh-CN": "到期日"},
    "settled_on": {"en": "Settled", "zh-CN": "结清日"},
    "payments": {"en": "Payments", "zh-CN": "还款"},
    "value_date": {"en": "Value date", "zh-CN": "起息日"},
    "reference": {"en": "Reference", "zh-CN": "外部流水号"},
    "reversed": {"en": "Reversed", "zh-CN": "已冲正"},
    "charges": {"en": "Charges (journal)", "zh-CN": "费用（分录）"},
    "memo": {"en": "Memo", "zh-CN": "摘要"},
    "dpd": {"en": "Days past due", "zh-CN": "逾期天数"},
    "explanation": {"en": "DPD and explanation", "zh-CN": "逾期天数与说明"},
    "stage": {"en": "Stage", "zh-CN": "催收阶段"},
    "attempts": {"en": "Contact attempts and decisions", "zh-CN": "联络尝试与策略决定"},
    "channel": {"en": "Channel", "zh-CN": "渠道"},
    "purpose": {"en": "Purpose", "zh-CN": "目的"},
    "state": {"en": "State", "zh-CN": "状态"},
    "rule": {"en": "Rule", "zh-CN": "规则"},
    "provider": {"en": "Provider", "zh-CN": "服务商"},
    "recorded_at": {"en": "Recorded", "zh-CN": "记录时间"},
    "plans_promises": {"en": "Plans and promises", "zh-CN": "还款计划与承诺"},
    "timeline": {"en": "Timeline of the loan's events", "zh-CN": "贷款事件时间线"},
    "type": {"en": "Type", "zh-CN": "类型"},
    "time": {"en": "Time", "zh-CN": "时间"},
    "summary": {"en": "Summary", "zh-CN": "摘要"},
    "payload": {"en": "Payload", "zh-CN": "内容"},
    "filter": {"en": "Filter", "zh-CN": "筛选"},
    "event_type": {
        "en": "Event type (or prefix, e.g. ledger.)",
        "zh-CN": "事件类型（或前缀，如 ledger.）",
    },
    "live_help": {
        "en": "New events appear at the top as they are published.",
        "zh-CN": "新事件发布后会显示在最上方。",
    },
    "connected": {"en": "Connected", "zh-CN": "已连接"},
    "lag": {"en": "Consumer lag", "zh-CN": "消费延迟"},
    "group": {"en": "Group", "zh-CN": "消费组"},
    "topic": {"en": "Topic", "zh-CN": "主题"},
    "partition": {"en": "Partition", "zh-CN": "分区"},
    "committed": {"en": "Committed", "zh-CN": "已提交"},
    "end": {"en": "End", "zh-CN": "末端"},
    "dead_letters": {"en": "Dead letters", "zh-CN": "死信"},
    "reason": {"en": "Reason", "zh-CN": "原因"},
    "failed_at": {"en": "Failed at", "zh-CN": "失败时间"},
    "replay": {"en": "Replay", "zh-CN": "重放"},
    "replay_admin": {"en": "Replay needs the admin role.", "zh-CN": "重放需要 admin 角色。"},
    "replayed": {"en": "Replayed", "zh-CN": "已重放"},
    "parked": {"en": "Parked", "zh-CN": "已搁置"},
    "waiting": {"en": "Waiting", "zh-CN": "待处理"},
    "none": {"en": "None", "zh-CN": "无"},
    "refresh": {"en": "Refresh", "zh-CN": "刷新"},
    "empty_service": {
        "en": "The {service} service does not serve this yet; nothing to show.",
        "zh-CN": "{service} 服务尚未提供此数据，暂无内容。",
    },
    "from_events": {
        "en": "Counted from the {topic} topic (the newest records).",
        "zh-CN": "根据 {topic} 主题（最新记录）统计。",
    },
    "contacts_by_channel": {
        "en": "Contacts by channel and outcome",
        "zh-CN": "按渠道与结果统计的联络",
    },
    "suppressions": {"en": "Deferrals and suppressions by rule", "zh-CN": "按规则统计的推迟与抑制"},
    "delivery_rate": {"en": "Delivery rate", "zh-CN": "送达率"},
    "undeliverable": {"en": "Undeliverable mandatory notices", "zh-CN": "无法送达的法定通知"},
    "plans_by_type": {"en": "Plan events by type", "zh-CN": "按类型统计的计划事件"},
    "lookup": {"en": "Look up a loan's record", "zh-CN": "查询贷款记录"},
    "page_time": {"en": "Page served in {ms} ms", "zh-CN": "页面耗时 {ms} 毫秒"},
    "not_found": {"en": "No such loan.", "zh-CN": "没有这笔贷款。"},
    "provisional": {"en": "provisional", "zh-CN": "暂定"},
    "arrears_grace": {"en": "Arrears grace", "zh-CN": "逾期宽限期"},
    "penalty_grace": {"en": "Penalty grace", "zh-CN": "罚息宽限期"},
    "days": {"en": "days", "zh-CN": "天"},
    "attempt_count": {"en": "Attempts", "zh-CN": "尝试次数"},
    "window": {
        "en": "Recorded from {since} until before {until} (UTC days)",
        "zh-CN": "记录于 {since} 至 {until} 之前（UTC 日）",
    },
    "state_suppressed": {"en": "suppressed", "zh-CN": "已抑制"},
    "state_deferred": {"en": "deferred", "zh-CN": "已推迟"},
    "state_undeliverable": {"en": "undeliverable", "zh-CN": "无法送达"},
    "state_sent": {"en": "Sent", "zh-CN": "已发送"},
    "state_delivered": {"en": "Delivered", "zh-CN": "已送达"},
    "state_failed": {"en": "Failed", "zh-CN": "失败"},
    "delivery_by_provider": {
        "en": "Delivery and time to receipt by channel and provider",
        "zh-CN": "按渠道与服务商统计的送达率与回执时间",
    },
    "median_receipt": {"en": "Median time to receipt", "zh-CN": "回执时间中位数"},
    "p90_receipt": {"en": "90th percentile time to receipt", "zh-CN": "回执时间 90 分位"},
    "more_rows": {
        "en": "Showing the oldest 100; more are recorded.",
        "zh-CN": "仅显示最早的 100 条，另有更多记录。",
    },
    "by_status": {
        "en": "Requests, offers and plans by status",
        "zh-CN": "按状态统计的申请、方案与计划",
    },
    "hardship_requests": {"en": "Hardship requests", "zh-CN": "困难申请"},
    "hardship_offers": {"en": "Offers", "zh-CN": "方案"},
    "hardship_plans": {"en": "Plans", "zh-CN": "还款计划"},
    "awaiting_checker": {
        "en": "Offers awaiting a checker's approval",
        "zh-CN": "待复核人批准的方案",
    },
    "offer": {"en": "Offer", "zh-CN": "方案"},
    "made_by": {"en": "Made by", "zh-CN": "制单人"},
    "forgiven": {"en": "Forgiven", "zh-CN": "减免金额"},
    "expires_on": {"en": "Expires on", "zh-CN": "失效日"},
    "plan_rates": {
        "en": "Uptake, completion, break and promise-kept rates",
        "zh-CN": "接受率、完成率、违约率与承诺兑现率",
    },
    "offers_made": {"en": "Offers made", "zh-CN": "已提供方案"},
    "uptake": {"en": "Uptake", "zh-CN": "接受率"},
    "completion": {"en": "Completion", "zh-CN": "完成率"},
    "break_rate": {"en": "Break rate", "zh-CN": "违约率"},
    "promise_kept": {"en": "Promises kept", "zh-CN": "承诺兑现率"},
    "plan": {"en": "Plan", "zh-CN": "计划"},
    "accepted_on": {"en": "Accepted on", "zh-CN": "接受日"},
    "activated_on": {"en": "Activated on", "zh-CN": "生效日"},
    "closed_on": {"en": "Closed on", "zh-CN": "结束日"},
    "forbearance": {"en": "Forbearance", "zh-CN": "宽容期"},
    "promises": {"en": "Promises to pay", "zh-CN": "还款承诺"},
    "made_on": {"en": "Made on", "zh-CN": "承诺日"},
    "promised_on": {"en": "Promised for", "zh-CN": "承诺还款日"},
    "matched": {"en": "Paid against it", "zh-CN": "已匹配还款"},
    "source": {"en": "Source", "zh-CN": "来源"},
}


def t(key: str, locale: str, **values: object) -> str:
    entry = MESSAGES.get(key)
    text = key if entry is None else entry.get(locale) or entry["en"]
    return text.format(**values) if values else text


def babel_locale(locale: str) -> str:
    return _BABEL.get(locale, "en_US")


def minor_to_major(minor: int, currency: str) -> Decimal:
    """Exact: 123456 CNY -> Decimal('1234.56')."""
    digits = get_currency_precision(currency)
    return Decimal(minor).scaleb(-digits)


def money(minor: int | None, currency: str, locale: str) -> str:
    if minor is None:
        return "-"
    return format_currency(minor_to_major(minor, currency), currency, locale=babel_locale(locale))


def number(value: int | Decimal | None, locale: str) -> str:
    return "-" if value is None else format_decimal(value, locale=babel_locale(locale))


def percent(value: str | Decimal | None, locale: str) -> str:
    if value is None:
        return "-"
    return format_percent(Decimal(value), "#,##0.0%", locale=babel_locale(locale))


def instant(value: str | datetime | None, zone: str, locale: str) -> str:
    """An instant in the business timezone, e.g. 2026年12月2日 12:30:05 (Asia/Shanghai)."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(zone), locale=babel_locale(locale))


def business_date(value: str | date | None, locale: str) -> str:
    if value is None:
        return "-"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, "medium", locale=babel_locale(locale))


def seconds(value: float | None, locale: str) -> str:
    """A duration, e.g. 3 sec / 3秒 (Babel's CLDR units)."""
    if value is None:
        return "-"
    return format_timedelta(
        timedelta(seconds=value), threshold=1.0, format="short", locale=babel_locale(locale)
    )
