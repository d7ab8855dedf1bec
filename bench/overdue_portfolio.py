"""The overdue read model of a benchmark portfolio, seeded with set-based SQL; used by
``overdue_close_of_business.py`` and ``close_of_business_chain.py``.

N active loans of 1,000,000.00 CNY with 4 monthly instalments of 2,500.00 principal and
120.00 interest. On business date D: 8 % are overdue (DPD 1..60), with bucket, stage,
arrears flag, penalty accrual date and credit-report gate as of D-1 (the state the close of
D-1 left); 3 % fall due on D; the rest fall due 1..28 days later.
"""

from __future__ import annotations

from datetime import date

POLICY = '{"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"}'

# Loan i's oldest unpaid due date (the ledger seed uses it too).
DUE_DATE = """CASE
    WHEN i % 100 < 8 THEN CAST(:d AS date) - (1 + i % 60)
    WHEN i % 100 < 11 THEN CAST(:d AS date)
    ELSE CAST(:d AS date) + (1 + i % 28)
END"""

OVERDUE_SEED = [
    f"""
    INSERT INTO products (code, currency, overdue_policy) VALUES ('BENCH', 'CNY', '{POLICY}')
    """,
    f"""
    INSERT INTO loans (loan_id, borrower_id, product_code, currency, principal_minor,
                       disbursed_on, timezone, oldest_unpaid_due_date, bucket, stage,
                       in_arrears, last_accrued_on, gate_status, notice_due_on)
    SELECT 'L' || lpad(i::text, 8, '0'), 'B' || i, 'BENCH', 'CNY', 1000000,
           DATE '2025-09-20', 'Asia/Shanghai', s.due,
           CASE WHEN s.dpd_before <= 0 THEN 'current' WHEN s.dpd_before <= 30 THEN '1-30'
                ELSE '31-60' END,
           CASE WHEN s.dpd_before <= 0 THEN 'current' WHEN s.dpd_before < 4 THEN 'reminder'
                WHEN s.dpd_before < 31 THEN 'early' ELSE 'mid' END,
           s.dpd_before > 3,
           CASE WHEN s.dpd_before > 0 THEN CAST(:d AS date) - 1 END,
           -- the credit-report notice fell due on the day the loan reached DPD 30 (the
           -- default credit_report_notice_dpd), and no delivery has been seen since
           CASE WHEN s.dpd_before >= 30 THEN 'notice_due' ELSE 'not_due' END,
           CASE WHEN s.dpd_before >= 30 THEN s.due + 30 END
    FROM generate_series(1, CAST(:n AS int)) AS i
    CROSS JOIN LATERAL (
        SELECT due, (CAST(:d AS date) - 1) - due AS dpd_before FROM (SELECT {DUE_DATE} AS due) x
    ) s
    """,
    """
    INSERT INTO instalments (loan_id, seq, due_date, scheduled_interest_minor,
                             principal_minor, interest_minor)
    SELECT l.loan_id, k, (l.oldest_unpaid_due_date + make_interval(months => k - 1))::date,
           12000, 250000, 12000
    FROM loans l CROSS JOIN generate_series(1, 4) AS k
    """,
    "ANALYZE",
]


def bound(statement: str, loans: int, business_date: date) -> str:
    """``statement`` with the portfolio size and D written in (no parameters needed)."""
    return statement.replace("CAST(:d AS date)", f"DATE '{business_date.isoformat()}'").replace(
        "CAST(:n AS int)", str(int(loans))
    )
