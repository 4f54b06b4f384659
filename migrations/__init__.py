"""One Alembic history for every agency's database; see `hub.migrate`."""
