"""`python -m console`: serve the operations console."""

from console.settings import Settings
from lendkit.serve import serve

if __name__ == "__main__":
    serve("console.bootstrap:create_app", Settings())
