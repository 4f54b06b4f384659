"""The warnings store's migration history (Alembic revisions, applied by `hub migrate`)."""
