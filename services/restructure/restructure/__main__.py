"""`python -m restructure`: serve the restructure API (and its consumers and outbox relay)."""

from lendkit.serve import serve
from restructure.settings import Settings

if __name__ == "__main__":
    serve("restructure.bootstrap:create_app", Settings())
