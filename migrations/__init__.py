"""Alembic migrations for togglsync's SQLite schema.

A package only so the installed wheel carries it (as `togglsync.migrations`,
see pyproject.toml); alembic itself loads these files by path.
"""
