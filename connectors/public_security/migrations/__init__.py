"""public_security's migration history (Alembic revisions, applied by `hub migrate`)."""
