"""Schema revisions, one file each (alembic skips this file)."""
