from lendkit.migrations import run_migrations
from overdue.adapters.tables import metadata

run_migrations(metadata)
