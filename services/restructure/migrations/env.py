from lendkit.migrations import run_migrations
from restructure.adapters.tables import metadata

run_migrations(metadata)
