"""Benchmark: quoting a hardship request (every plan type, exactly), the restructure domain alone.

    .venv/bin/python bench/hardship_quotes.py --runs 5

A hardship request (``POST /loans/{id}/hardship-requests``) quotes every plan type on the
loan's position and reads each quote's effective annual cost three times (stored, published,
answered). Timed in one process, no database: ``quote_options`` for a 12-instalment and a
36-instalment loan, 14 days past due, with a penalty and a fee, every plan type allowed.

Baseline in the same run: the effective annual cost of the same quotes solved the textbook
way (each payment discounted by its own fractional power, ``tests/unit/test_cost.py``), so
the ratio shows what the solver costs against the formula it must agree with. Printed:
medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "services" / "restructure" / "tests" / "unit"))

from positions import position  # noqa: E402  (the restructure tests' position builder)
from test_cost import textbook  # noqa: E402

from restructure.domain.eligibility import EligibilityRules, LoanFacts  # noqa: E402
from restructure.domain.options import PlanDefaults, quote_options  # noqa: E402
from restructure.domain.plans import PlanType  # noqa: E402

RULES = EligibilityRules(allowed=frozenset(PlanType), max_discount_bps=1_000)


def quote_once(term: int) -> tuple[float, float, int]:
    """(seconds quoting, seconds for the textbook costs of the same quotes, quotes)."""
    p = position(term=term, penalty=2_000, fee=500)
    facts = LoanFacts(as_of=p.as_of, dpd=p.dpd, remaining_instalments=len(p.remaining))
    started = time.perf_counter()
    options = quote_options(p, facts, RULES, PlanDefaults(), hardship_reason="illness")
    quotes = [o.quote for o in options.eligible if o.quote is not None]
    for _ in range(3):  # stored, published, answered
        costs = [q.effective_annual_cost for q in quotes]
    quoting = time.perf_counter() - started
    started = time.perf_counter()
    reference = [textbook(_financed(q), q.as_of, q.payments()) for q in quotes]
    baseline = time.perf_counter() - started
    assert costs == reference, (costs, reference)
    return quoting, baseline, len(quotes)


def _financed(q: object) -> int:
    return (
        q.new_principal  # type: ignore[attr-defined]
        + q.written_off_principal  # type: ignore[attr-defined]
        - sum(q.capitalised.values())  # type: ignore[attr-defined]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'instalments':>11} | {'quotes':>6} | {'quoting ms':>10} | {'textbook ms':>11} | ratio")
    for term in (12, 36):
        runs = [quote_once(term) for _ in range(args.runs)]
        quoting = statistics.median(r[0] for r in runs) * 1000
        baseline = statistics.median(r[1] for r in runs) * 1000
        print(
            f"{term:>11} | {runs[0][2]:>6} | {quoting:>10.1f} | {baseline:>11.1f} | "
            f"x{quoting / baseline:.3f}"
        )
    print(
        f"medians of {args.runs} runs; quoting = every plan type quoted, each cost read 3 times; "
        "textbook = the same quotes' costs solved once each, term by term (same answers, checked)"
    )


if __name__ == "__main__":
    main()
