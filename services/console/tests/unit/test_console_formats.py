"""The console's formatting and sampling rules, with no server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from console import i18n
from console.views import days_between, sampled
from lendkit.ops.tail import EventLine, TailFilter, summarise


def test_money_uses_the_currencys_own_decimals_exactly() -> None:
    assert i18n.minor_to_major(123456, "CNY") == Decimal("1234.56")
    assert i18n.minor_to_major(123456, "JPY") == Decimal("123456")
    assert i18n.money(123456, "USD", "en") == "$1,234.56"
    assert i18n.money(123456, "CNY", "zh-CN") == "¥1,234.56"
    assert i18n.money(5, "JPY", "en") == "¥5"
    # one minor unit more is always visible: no float rounding
    assert i18n.money(900_719_925_474_099_3, "CNY", "en").endswith(".93")


def test_instants_are_shown_in_the_business_timezone() -> None:
    moment = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # 04:30 the next day in Shanghai
    assert i18n.instant(moment, "Asia/Shanghai", "zh-CN").startswith("2026年12月2日 04:30")
    assert "3:30" in i18n.instant(moment, "America/New_York", "en")
    assert i18n.business_date("2026-02-05", "en") == "Feb 5, 2026"


def test_every_word_exists_in_both_languages() -> None:
    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == {"en", "zh-CN"}, key
    assert i18n.t("portfolio", "zh-CN") == "资产组合"
    assert i18n.t("empty_service", "en", service="notifier").startswith("The notifier service")


def test_a_long_period_is_sampled_evenly_with_both_ends() -> None:
    days = days_between(date(2026, 1, 1), date(2026, 12, 31))
    picked = sampled(days, 31)
    assert len(picked) == 31
    assert picked[0] == date(2026, 1, 1) and picked[-1] == date(2026, 12, 31)
    assert sampled(days[:10], 31) == days[:10]


def _line(type_: str, key: str | None, payload: object) -> EventLine:
    return EventLine("t", 0, 0, type_, key, datetime.now(UTC), "id", summarise(payload), payload)


def test_a_filter_keeps_types_by_name_or_prefix_and_one_loan() -> None:
    paid = _line("ledger.payment.received.v1", "L-1", {"loan_id": "L-1", "amount_minor": 5})
    cured = _line("overdue.loan.cured.v1", "L-2", {"loan_id": "L-2"})
    assert TailFilter(("ledger.",)).keeps(paid) and not TailFilter(("ledger.",)).keeps(cured)
    assert TailFilter(("overdue.loan.cured.v1",)).keeps(cured)
    assert TailFilter(loan_id="L-1").keeps(paid) and not TailFilter(loan_id="L-1").keeps(cured)
    assert paid.summary == "amount_minor=5"
