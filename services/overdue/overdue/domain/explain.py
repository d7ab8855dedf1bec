"""Why a borrower owes what they owe: the numbers and short texts in zh-CN and en.

The explanation shows both grace windows (the arrears grace decides when the loan
counts as overdue; the penalty grace decides when penalty starts), every penalty day
with its base, rate, exact and booked amount and any cap applied, and a plain summary
a mobile app can show. Amounts are minor units in the data and major units with two
decimals in the texts.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.delinquency import arrears_grace_ends_on, days_past_due, is_in_arrears
from overdue.domain.escalation import Stage, stage_for
from overdue.domain.penalty import CapApplied, PenaltyDay
from overdue.domain.policy import OverduePolicy, PenaltyBase

MINOR_PER_MAJOR = 100  # the texts assume a two-decimal currency (CNY, USD, EUR, ...)

_BASE_EN = {
    PenaltyBase.OVERDUE_PRINCIPAL: "the overdue principal",
    PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST: "the overdue principal and interest",
}
_BASE_ZH = {
    PenaltyBase.OVERDUE_PRINCIPAL: "逾期本金",
    PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST: "逾期本息",
}
_CAP_EN = {
    CapApplied.ANNUAL_COST_CEILING: "the legal limit on the total cost of the loan",
    CapApplied.ABSOLUTE_PENALTY_CAP: "the maximum late-payment interest for this loan",
}
_CAP_ZH = {
    CapApplied.ANNUAL_COST_CEILING: "借款综合成本已达法定上限",
    CapApplied.ABSOLUTE_PENALTY_CAP: "罚息已达本借款上限",
}


@dataclass(frozen=True)
class LoanFacts:
    """What the explanation needs to know about the loan on ``as_of``."""

    loan_id: str
    currency: str
    oldest_unpaid_due_date: date | None
    overdue: OverdueBreakdown = field(default_factory=OverdueBreakdown)
    penalty_waived_minor: int = 0


@dataclass(frozen=True)
class GraceWindow:
    """``days`` of grace after the due date; ``ends_on`` is its last day (the due date
    itself when ``days`` is 0), ``None`` when nothing is unpaid."""

    days: int
    ends_on: date | None


@dataclass(frozen=True)
class Explanation:
    loan_id: str
    as_of: date
    currency: str
    oldest_unpaid_due_date: date | None
    dpd: int
    bucket: str
    stage: Stage
    in_arrears: bool
    overdue: OverdueBreakdown
    arrears_grace: GraceWindow
    penalty_grace: GraceWindow
    overdue_from: date | None
    """First day the loan counts as overdue (day after the arrears grace)."""
    penalty_from: date | None
    """First day penalty accrues (day after the penalty grace)."""
    penalty_rate: Decimal
    penalty_base: PenaltyBase
    penalty_days: tuple[PenaltyDay, ...]
    penalty_booked_minor: int
    penalty_waived_minor: int
    capped_since: date | None
    """Start of the current run of capped days, when the latest penalty day was capped."""
    cap_applied: CapApplied | None
    text_zh_cn: str
    text_en: str

    @property
    def penalty_owed_minor(self) -> int:
        return self.penalty_booked_minor - self.penalty_waived_minor

    def text(self, locale: str) -> str:
        """``"zh-CN"`` (or any ``zh*``) or ``"en"`` (any other)."""
        return self.text_zh_cn if locale.lower().startswith("zh") else self.text_en


def format_major(amount_minor: int, currency: str) -> str:
    """``123456, "CNY"`` -> ``"1,234.56 CNY"``; exact integer arithmetic, no float."""
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), MINOR_PER_MAJOR)
    return f"{sign}{major:,}.{minor:02d} {currency}"


def format_rate_percent(rate: Decimal) -> str:
    """``Decimal("0.0005")`` -> ``"0.05%"``."""
    return f"{format((rate * 100).normalize(), 'f')}%"


def explain(
    loan: LoanFacts, as_of: date, policy: OverduePolicy, penalty_days: Iterable[PenaltyDay]
) -> Explanation:
    """Explain the loan on ``as_of``; penalty days after ``as_of`` are left out."""
    due = loan.oldest_unpaid_due_date
    dpd = days_past_due(due, as_of)
    days = tuple(sorted((d for d in penalty_days if d.on <= as_of), key=lambda d: d.on))
    booked = sum(d.booked_minor for d in days)
    capped_since, cap = _current_cap(days)
    arrears_grace = GraceWindow(
        policy.arrears_grace_days, None if due is None else arrears_grace_ends_on(due, policy)
    )
    penalty_grace = GraceWindow(
        policy.penalty_grace_days,
        None if due is None else due + timedelta(days=policy.penalty_grace_days),
    )
    explanation = Explanation(
        loan_id=loan.loan_id,
        as_of=as_of,
        currency=loan.currency,
        oldest_unpaid_due_date=due,
        dpd=dpd,
        bucket=policy.buckets.bucket_for(dpd).name,
        stage=stage_for(dpd, policy.escalation),
        in_arrears=is_in_arrears(dpd, policy),
        overdue=loan.overdue,
        arrears_grace=arrears_grace,
        penalty_grace=penalty_grace,
        overdue_from=_day_after(arrears_grace.ends_on),
        penalty_from=_day_after(penalty_grace.ends_on),
        penalty_rate=policy.penalty_daily_rate,
        penalty_base=policy.penalty_base,
        penalty_days=days,
        penalty_booked_minor=booked,
        penalty_waived_minor=loan.penalty_waived_minor,
        capped_since=capped_since,
        cap_applied=cap,
        text_zh_cn="",
        text_en="",
    )
    return _with_texts(explanation)


def _day_after(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


def _current_cap(days: tuple[PenaltyDay, ...]) -> tuple[date | None, CapApplied | None]:
    if not days or days[-1].cap_applied is None:
        return None, None
    cap = days[-1].cap_applied
    since = days[-1].on
    for day in reversed(days):
        if day.cap_applied is not cap:
            break
        since = day.on
    return since, cap


def _with_texts(e: Explanation) -> Explanation:
    return replace(e, text_en=_text_en(e), text_zh_cn=_text_zh(e))


def _days_en(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _text_en(e: Explanation) -> str:
    due, grace = e.oldest_unpaid_due_date, e.arrears_grace
    if e.dpd == 0 or due is None or grace.ends_on is None:
        return f"Nothing on your loan is overdue as of {e.as_of.isoformat()}."
    overdue_amount = format_major(e.overdue.total_minor, e.currency)
    if e.in_arrears:
        parts = [
            f"Your payment due on {due.isoformat()} is {_days_en(e.dpd)} overdue; "
            f"the {grace.days}-day grace period ended on {grace.ends_on.isoformat()}. "
            f"Overdue amount: {overdue_amount}."
        ]
    else:
        parts = [
            f"Your payment due on {due.isoformat()} is {_days_en(e.dpd)} late. "
            f"You are within the {grace.days}-day grace period, which ends on "
            f"{grace.ends_on.isoformat()}. Amount due: {overdue_amount}."
        ]
    rate, base = format_rate_percent(e.penalty_rate), _BASE_EN[e.penalty_base]
    if e.penalty_from is not None and e.penalty_from > e.as_of:
        parts.append(
            f"Late-payment interest of {rate} a day on {base} starts on "
            f"{e.penalty_from.isoformat()} if it is still unpaid."
        )
    elif e.penalty_from is not None:
        owed = format_major(e.penalty_owed_minor, e.currency)
        sentence = (
            f"Late-payment interest of {rate} a day on {base} applies from "
            f"{e.penalty_from.isoformat()}; owed so far: {owed}"
        )
        if e.penalty_waived_minor:
            sentence += f" ({format_major(e.penalty_waived_minor, e.currency)} waived)"
        parts.append(sentence + ".")
    if e.cap_applied is not None and e.capped_since is not None:
        parts.append(
            f"Since {e.capped_since.isoformat()} it has been limited by {_CAP_EN[e.cap_applied]}."
        )
    return " ".join(parts)


def _text_zh(e: Explanation) -> str:
    due, grace = e.oldest_unpaid_due_date, e.arrears_grace
    if e.dpd == 0 or due is None or grace.ends_on is None:
        return f"截至{e.as_of.isoformat()}，您的借款没有逾期款项。"
    overdue_amount = format_major(e.overdue.total_minor, e.currency)
    if e.in_arrears:
        parts = [
            f"您于{due.isoformat()}到期的还款已逾期{e.dpd}天，"
            f"{grace.days}天宽限期已于{grace.ends_on.isoformat()}结束。"
            f"逾期金额：{overdue_amount}。"
        ]
    else:
        parts = [
            f"您于{due.isoformat()}到期的还款已晚{e.dpd}天，"
            f"目前处于{grace.days}天宽限期内，宽限期至{grace.ends_on.isoformat()}结束。"
            f"应还金额：{overdue_amount}。"
        ]
    rate, base = format_rate_percent(e.penalty_rate), _BASE_ZH[e.penalty_base]
    if e.penalty_from is not None and e.penalty_from > e.as_of:
        parts.append(f"如仍未还款，自{e.penalty_from.isoformat()}起按{base}每日{rate}计收罚息。")
    elif e.penalty_from is not None:
        owed = format_major(e.penalty_owed_minor, e.currency)
        sentence = f"自{e.penalty_from.isoformat()}起按{base}每日{rate}计收罚息，目前应付罚息{owed}"
        if e.penalty_waived_minor:
            sentence += f"（已减免{format_major(e.penalty_waived_minor, e.currency)}）"
        parts.append(sentence + "。")
    if e.cap_applied is not None and e.capped_since is not None:
        parts.append(f"自{e.capped_since.isoformat()}起，因{_CAP_ZH[e.cap_applied]}，罚息受限。")
    return "".join(parts)
