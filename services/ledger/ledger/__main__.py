"""`python -m ledger`: serve the ledger API (and its consumers and outbox relay)."""

from lendkit.serve import serve
from ledger.settings import Settings

if __name__ == "__main__":
    serve("ledger.bootstrap:create_app", Settings())
