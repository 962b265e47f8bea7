"""The local SQLite database: schema (models), engines, migrations, bulk writes.

`open_database()` in `togglsync.db.migrate` is the way in for the application.
"""
