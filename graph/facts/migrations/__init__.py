"""The warning facts' migration history (Alembic revisions, applied by `hub migrate`)."""
