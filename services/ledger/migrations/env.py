from ledger.adapters.tables import metadata
from lendkit.migrations import run_migrations

run_migrations(metadata)
