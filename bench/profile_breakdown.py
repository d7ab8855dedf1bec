"""Where a profiled ledger process spent its CPU: py-spy's raw (collapsed) stacks, per step.

    py-spy record --pid <ledger pid> -d 20 -r 200 -f raw -o ledger.raw --nonblocking
    .venv/bin/python bench/profile_breakdown.py ledger.raw --per 1500

py-spy samples only threads on the CPU, so the samples are CPU time. Each stack is charged
to the first step (outermost first) it passes through, so a step's share includes the ORM,
driver and validation work done for it; a second table charges each stack to the library
of its innermost frame. ``--per N`` divides by the payments made while sampling (CPU ms a
payment at the sampling rate ``--rate``).
"""

from __future__ import annotations

import argparse
import collections

#: (step, substrings of a frame) in the order a stack is matched, innermost step first
#: (a stack in ``stamp_versions`` under ``emit_all`` under ``record_payment`` is "events").
STEPS: list[tuple[str, tuple[str, ...]]] = [
    ("idempotency record", ("lendkit/idempotency.py",)),
    ("events: version stamps + outbox", ("lendkit/outbox/", "loan_versions.py", "emit_all")),
    ("events: building CloudEvents", ("new_event", "lendkit/events/", "allocated_event")),
    ("journal + settlement write", ("save_settlement", "_journal_params", "payment_entry")),
    ("allocation (domain)", ("ledger/domain/",)),
    ("payment row insert", ("add_payment", "book_direct")),
    ("loan lock + position load", ("LoanRepository.load", "last_closed", "visible", "lock_loans")),
    ("commit + notify", ("UnitOfWork.commit", "AsyncSession.commit", "commit_batch")),
    ("transaction begin/close, pool", ("__aenter__", "__aexit__", "pool/", "AsyncSession.close")),
    ("auth (JWT)", ("lendkit/auth.py", "jwt/")),
    ("request validation (pydantic/FastAPI)", ("fastapi/dependencies", "pydantic", "_validate")),
    ("other ledger/lendkit code", ("ledger/", "lendkit/")),
    ("web layer (uvicorn/starlette/fastapi)", ("uvicorn/", "starlette/", "fastapi/", "httptools")),
    ("kafka client (relay/consumer)", ("aiokafka", "kafka/")),
]

LIBRARIES: list[tuple[str, tuple[str, ...]]] = [
    ("SQLAlchemy (ORM/Core)", ("sqlalchemy/",)),
    ("asyncpg driver", ("asyncpg/",)),
    ("pydantic", ("pydantic",)),
    ("web (uvicorn/starlette/fastapi/httptools)", ("uvicorn/", "starlette/", "fastapi/", "h11")),
    ("JSON (orjson/json)", ("orjson", "json/")),
    ("ledger domain", ("ledger/domain/",)),
    ("ledger other", ("ledger/",)),
    ("lendkit", ("lendkit/",)),
    ("asyncio/uvloop", ("asyncio/", "uvloop")),
    ("aiokafka", ("aiokafka",)),
]


def classify(frames: list[str], table: list[tuple[str, tuple[str, ...]]], inner: bool) -> str:
    order = list(reversed(frames)) if inner else frames
    for name, needles in table:
        for frame in order:
            if any(n in frame for n in needles):
                return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--per", type=int, default=0, help="payments made while sampling")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    args = parser.parse_args()
    steps: collections.Counter[str] = collections.Counter()
    libs: collections.Counter[str] = collections.Counter()
    total = 0
    with open(args.raw) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            total += n
            # steps: the innermost matching step wins (most specific)
            steps[classify_step(frames)] += n
            libs[classify(frames, LIBRARIES, inner=True)] += n
    for title, counter in (("by step", steps), ("by library (innermost frame)", libs)):
        print(f"\n{title}: {total} samples = {total / args.rate:.1f} CPU s")
        for name, n in counter.most_common():
            per = f"  {n / args.rate * 1000 / args.per:6.3f} ms/payment" if args.per else ""
            print(f"  {name:<44} {n / total:6.1%}{per}")


def classify_step(frames: list[str]) -> str:
    """The first step of :data:`STEPS` any frame of the stack belongs to."""
    for name, needles in STEPS:
        if any(n in frame for frame in frames for n in needles):
            return name
    return "other"


if __name__ == "__main__":
    main()
