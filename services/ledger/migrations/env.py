from lendkit.migrations import run_migrations
from ledger.adapters.tables import metadata

run_migrations(metadata)
