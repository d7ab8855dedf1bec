from lendkit.migrations import run_migrations
from notifier.adapters.tables import metadata

run_migrations(metadata)
