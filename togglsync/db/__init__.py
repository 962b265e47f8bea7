"""The local SQLite database: schema (models), engines, migrations, bulk writes.

`open_database(target, mode)` in `togglsync.db.open` is the one way in.
"""
