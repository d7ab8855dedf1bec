"""`python -m ledger`: serve the ledger API (and its consumers and outbox relay)."""

from ledger.settings import Settings
from lendkit.serve import serve

if __name__ == "__main__":
    serve("ledger.bootstrap:create_app", Settings())
