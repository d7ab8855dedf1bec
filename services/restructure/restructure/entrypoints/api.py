"""REST routes of the restructure service.

``POST /loan-quotes``: a prospective borrower's quote (schedule, total interest, effective
annual cost, penalty terms in plain language) from the schedule math the ledger books
with. It changes no state, so it takes no Idempotency-Key.
"""

from __future__ import annotations

from decimal import Decimal

from lendkit.auth import Anyone
from lendkit.openapi import AUTH, problems, service_router
from restructure.domain.loan_quote import PenaltyTerms, quote_loan
from restructure.entrypoints.schemas import InstalmentOut, LoanQuoteOut, LoanQuoteRequest

router = service_router("restructure")


@router.post(
    "/loan-quotes",
    summary="Quote a new loan before borrowing",
    responses={200: {"model": LoanQuoteOut}, **problems(400, *AUTH)},
)
async def post_loan_quote(body: LoanQuoteRequest, _: Anyone) -> LoanQuoteOut:
    """The exact schedule the ledger would book, its total interest and effective annual
    cost, and the penalty terms in plain language (en or zh-CN)."""
    quote = quote_loan(
        body.principal_minor,
        body.currency,
        annual_rate=Decimal(body.annual_rate),
        term=body.term,
        disbursed_on=body.disbursed_on,
        first_due_date=body.first_due_date,
        schedule_type=body.schedule_type,
        frequency=body.frequency,
        day_count=body.day_count,
        rounding=body.rounding,
        penalty=PenaltyTerms(
            Decimal(body.penalty_daily_rate), body.penalty_grace_days, Decimal(body.annual_cost_cap)
        ),
        locale=body.locale,
    )
    return LoanQuoteOut(
        currency=quote.currency,
        principal_minor=quote.principal,
        instalments=[
            InstalmentOut(
                seq=i.seq,
                due_date=i.due_date,
                principal_minor=i.principal,
                interest_minor=i.interest,
                total_minor=i.total,
            )
            for i in quote.instalments
        ],
        total_interest_minor=quote.total_interest,
        total_payment_minor=quote.total_payment,
        effective_annual_cost=str(quote.effective_annual_cost),
        penalty_terms=quote.penalty_text,
    )
