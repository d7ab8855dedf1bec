"""`python -m overdue`: serve the overdue API (and its consumers and outbox relay)."""

from lendkit.serve import serve
from overdue.settings import Settings

if __name__ == "__main__":
    serve("overdue.bootstrap:create_app", Settings())
