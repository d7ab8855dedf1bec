"""`python -m notifier`: serve the notifier API (and its consumers and outbox relay)."""

from lendkit.serve import serve
from notifier.settings import Settings

if __name__ == "__main__":
    serve("notifier.bootstrap:create_app", Settings())
