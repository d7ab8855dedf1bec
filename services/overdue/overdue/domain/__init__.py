"""The overdue service's domain: pure rules, no I/O.

Modules, each named after the business concept it holds:

- ``policy``: a loan product's overdue settings (``OverduePolicy``); ``invalid_policy`` its error.
- ``arrears``: what is past due on a loan (``OverdueBreakdown``, ``Arrears``).
- ``delinquency``: days past due, arrears grace, ``Buckets``.
- ``penalty``: daily penalty accrual with rounding carry and caps.
- ``escalation``: collection stages by DPD.
- ``credit_report``: the gate that keeps negative reporting behind a delivered notice.
- ``cure``: cured / partially cured / no change after a payment.
- ``explain``: what a borrower is told about why they owe what they owe.
- ``portfolio``: roll-rate matrix and cure rate for operations.

Money is integer minor units; rates are ``Decimal``; business dates are ``datetime.date``.
"""
